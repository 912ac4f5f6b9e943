// Finds halyard.route's {routes, digest} in the bytes of the `xds.route_metadata` property: a serialized
// envoy.config.core.v3.Metadata, walked in place over the protobuf wire format (no decoding into objects):
//   Metadata.filter_metadata (1, map entry {1: key, 2: Struct}) -> key "halyard.route"
//   -> Struct.fields (1, map entry {1: key, 2: Value}) -> "routes" / "digest" -> Value.string_value (3).
// Malformed input (truncated varints, lengths past the end, group wire types) is reported, never trapped on.

const WIRE_VARINT: u32 = 0;
const WIRE_FIXED64: u32 = 1;
const WIRE_LEN: u32 = 2;
const WIRE_FIXED32: u32 = 5;

const FILTER_KEY = String.UTF8.encode("halyard.route");
const ROUTES_KEY = String.UTF8.encode("routes");
const DIGEST_KEY = String.UTF8.encode("digest");

/** Where the two strings are inside the walked buffer (offsets stay valid while the buffer lives). */
export class RouteMetadata {
  routesPtr: usize = 0;
  routesLen: i32 = -1;
  digestPtr: usize = 0;
  digestLen: i32 = -1;
  /** Why the walk failed ("" when it found both strings). */
  error: string = "";

  reset(): RouteMetadata {
    this.routesPtr = 0;
    this.routesLen = -1;
    this.digestPtr = 0;
    this.digestLen = -1;
    this.error = "";
    return this;
  }

  digest(): string {
    return this.digestLen < 0 ? "" : String.UTF8.decodeUnsafe(this.digestPtr, <usize>this.digestLen);
  }
}

/** A bounded reader over [pos, end); `ok` turns false on the first malformed byte and stays false. */
class Wire {
  ok: bool = true;
  constructor(public pos: usize, public end: usize) {}

  varint(): u64 {
    let result: u64 = 0;
    for (let shift: u64 = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) break;
      const b = <u64>load<u8>(this.pos++);
      result |= (b & 0x7f) << shift;
      if ((b & 0x80) == 0) return result;
    }
    this.ok = false;
    return 0;
  }

  /** A length-delimited payload: its start; this.pos moves past it. Returns 0 (ok = false) if it overruns. */
  span(): usize {
    const n = this.varint();
    if (!this.ok || n > <u64>(this.end - this.pos)) {
      this.ok = false;
      return 0;
    }
    const start = this.pos;
    this.pos += <usize>n;
    this.lastLen = <i32>n;
    return start;
  }
  lastLen: i32 = 0;

  skip(wireType: u32): void {
    if (wireType == WIRE_VARINT) this.varint();
    else if (wireType == WIRE_LEN) this.span();
    else if (wireType == WIRE_FIXED64) this.advance(8);
    else if (wireType == WIRE_FIXED32) this.advance(4);
    else this.ok = false; // groups (3, 4) and undefined types never appear in these messages
  }

  private advance(n: usize): void {
    if (this.end - this.pos < n) this.ok = false;
    else this.pos += n;
  }
}

function sameBytes(ptr: usize, len: i32, key: ArrayBuffer): bool {
  return len == key.byteLength && memory.compare(ptr, changetype<usize>(key), <usize>len) == 0;
}

/** One map entry {1: key (string), 2: value (message)} at [start, start+len): the value's span, or -1. */
class Entry {
  keyPtr: usize = 0;
  keyLen: i32 = 0;
  valuePtr: usize = 0;
  valueLen: i32 = 0;
}

function readEntry(start: usize, len: i32, out: Entry): bool {
  const w = new Wire(start, start + <usize>len);
  out.keyLen = 0;
  out.valueLen = 0;
  while (w.ok && w.pos < w.end) {
    const tag = <u32>w.varint();
    if (!w.ok) break;
    const field = tag >>> 3;
    const wt = tag & 7;
    if ((field == 1 || field == 2) && wt == WIRE_LEN) {
      const p = w.span();
      if (!w.ok) break;
      if (field == 1) {
        out.keyPtr = p;
        out.keyLen = w.lastLen;
      } else {
        out.valuePtr = p;
        out.valueLen = w.lastLen;
      }
    } else w.skip(wt);
  }
  return w.ok;
}

/** Value.string_value (field 3) of a Value message; -1 length when the Value holds something else. */
function stringValue(ptr: usize, len: i32, out: Entry): bool {
  const w = new Wire(ptr, ptr + <usize>len);
  out.keyLen = -1;
  while (w.ok && w.pos < w.end) {
    const tag = <u32>w.varint();
    if (!w.ok) break;
    const wt = tag & 7;
    if (tag >>> 3 == 3 && wt == WIRE_LEN) {
      out.keyPtr = w.span();
      out.keyLen = w.ok ? w.lastLen : -1;
    } else {
      w.skip(wt);
      out.keyLen = -1; // a later oneof member replaces an earlier string
    }
  }
  return w.ok;
}

function malformed(out: RouteMetadata, what: string): bool {
  out.error = "malformed " + what + " in the route metadata (not a valid envoy.config.core.v3.Metadata)";
  return false;
}

/** Walks the Metadata bytes at [ptr, ptr+len) into `out`; false with out.error set when something is missing. */
export function findRouteMetadata(ptr: usize, len: usize, out: RouteMetadata): bool {
  out.reset();
  const w = new Wire(ptr, ptr + len);
  const entry = new Entry();
  let structPtr: usize = 0;
  let structLen: i32 = -1;
  while (w.ok && w.pos < w.end) {
    const tag = <u32>w.varint();
    if (!w.ok) break;
    const wt = tag & 7;
    if (tag >>> 3 == 1 && wt == WIRE_LEN) {
      const p = w.span();
      if (!w.ok) break;
      if (!readEntry(p, w.lastLen, entry)) return malformed(out, "filter_metadata entry");
      // A repeated map key: the last entry wins (protobuf map semantics).
      if (sameBytes(entry.keyPtr, entry.keyLen, FILTER_KEY)) {
        structPtr = entry.valuePtr;
        structLen = entry.valueLen;
      }
    } else w.skip(wt);
  }
  if (!w.ok) return malformed(out, "Metadata");
  if (structLen < 0) {
    out.error = "the route metadata has no filter_metadata[\"halyard.route\"]";
    return false;
  }
  const s = new Wire(structPtr, structPtr + <usize>structLen);
  const value = new Entry();
  while (s.ok && s.pos < s.end) {
    const tag = <u32>s.varint();
    if (!s.ok) break;
    const wt = tag & 7;
    if (tag >>> 3 == 1 && wt == WIRE_LEN) {
      const p = s.span();
      if (!s.ok) break;
      if (!readEntry(p, s.lastLen, entry)) return malformed(out, "Struct field");
      const isRoutes = sameBytes(entry.keyPtr, entry.keyLen, ROUTES_KEY);
      if (!isRoutes && !sameBytes(entry.keyPtr, entry.keyLen, DIGEST_KEY)) continue;
      if (!stringValue(entry.valuePtr, entry.valueLen, value)) return malformed(out, "Struct value");
      if (isRoutes) {
        out.routesPtr = value.keyPtr;
        out.routesLen = value.keyLen;
      } else {
        out.digestPtr = value.keyPtr;
        out.digestLen = value.keyLen;
      }
    } else s.skip(wt);
  }
  if (!s.ok) return malformed(out, "Struct");
  if (out.routesLen < 0) {
    out.error = "filter_metadata[\"halyard.route\"] has no string field \"routes\"";
    return false;
  }
  if (out.digestLen <= 0) {
    out.error = "filter_metadata[\"halyard.route\"] has no non-empty string field \"digest\"";
    return false;
  }
  return true;
}
