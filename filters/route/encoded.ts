// Hostcalls with names encoded once: the route filter writes the same header names and property
// keys on every request, so they are kept as UTF-8 buffers instead of being re-encoded per call.
import { proxy_call_foreign_function, proxy_replace_header_map_value, proxy_set_property } from "../abi/imports";
import { VALUE_SCRATCH } from "../abi/scratch";
import { MapType } from "../abi/types";

export class EncodedName {
  readonly bytes: ArrayBuffer;
  constructor(public readonly name: string) {
    this.bytes = String.UTF8.encode(name);
  }
}

export function replaceHeaderNamed(map: MapType, name: EncodedName, value: string): u32 {
  const v = VALUE_SCRATCH.encode(value);
  return proxy_replace_header_map_value(map, changetype<usize>(name.bytes), name.bytes.byteLength, v, VALUE_SCRATCH.length);
}

/** replaceHeaderNamed with a number, written in decimal (no string per call). */
export function replaceHeaderNamedI64(map: MapType, name: EncodedName, value: i64): u32 {
  const v = VALUE_SCRATCH.encodeI64(value);
  return proxy_replace_header_map_value(map, changetype<usize>(name.bytes), name.bytes.byteLength, v, VALUE_SCRATCH.length);
}

/** proxy_set_property with a one-segment path. */
export function setPropertyNamed(key: EncodedName, value: string): u32 {
  const v = VALUE_SCRATCH.encode(value);
  return proxy_set_property(changetype<usize>(key.bytes), key.bytes.byteLength, v, VALUE_SCRATCH.length);
}

const RESULT_PTR: usize = memory.data(8);
const RESULT_SIZE: usize = memory.data(8);

/** Calls a foreign function without arguments, discarding (freeing) any result; returns the status. */
export function callForeignNamed(name: EncodedName): u32 {
  store<usize>(RESULT_PTR, 0);
  store<usize>(RESULT_SIZE, 0);
  const status = proxy_call_foreign_function(changetype<usize>(name.bytes), name.bytes.byteLength, 0, 0, RESULT_PTR, RESULT_SIZE);
  const result = load<usize>(RESULT_PTR);
  if (result) heap.free(result);
  return status;
}
