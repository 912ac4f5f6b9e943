// Raw field and element reads for the per-request matchers (see raw.ts for why they avoid
// managed locals). Offsets come from offsetof<>, so they follow the class definitions.

@inline export function ptrField(obj: usize, offset: usize): usize {
  return load<usize>(obj + offset);
}

/** UTF-16 length of a string object (the runtime header's rtSize / 2). */
@inline export function rawLength(s: usize): i32 {
  return <i32>(load<u32>(s - 4) >>> 1);
}

/** Length of an Array<managed> at `a`. */
@inline export function arrayLength(a: usize): i32 {
  return load<i32>(a + offsetof<Array<usize>>("length_"));
}

/** Element i of an Array<managed> at `a`, as a pointer. */
@inline export function arrayAt(a: usize, i: i32): usize {
  return load<usize>(load<usize>(a + offsetof<Array<usize>>("dataStart")) + (<usize>i << alignof<usize>()));
}
