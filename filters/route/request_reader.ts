// Reads the request header map into the route engine's Request in one hostcall: the serialized
// pairs are walked in place and each name/value decoded straight from UTF-8 (no per-header
// hostcalls, no HeaderPair objects). Client-sent control headers are left out of the Request and
// reported, so both filters match on the same view and the route filter can strip them.
import { proxy_get_header_map_pairs, proxy_get_property } from "../abi/imports";
import { MapType, WasmResult } from "../abi/types";
import { Request } from "../../engine/route/index";
import { isControlHeader, maybeControlHeader } from "./control_headers";

const RET_PTR: usize = memory.data(8);
const RET_SIZE: usize = memory.data(8);
const DESTINATION_PORT = String.UTF8.encode("destination\0port");

// Pseudo-headers are told apart by length and the letter after ':', without decoding the name.
const COLON: u8 = 0x3a;

// Regular headers (name, value, ...) collected during the walk; reused across requests.
const pending: string[] = [];

/** What readRequest found besides the Request itself. */
export class RequestScan {
  /** Control headers the client sent (lower-case names), to be removed by the route filter. */
  controlHeaders: string[] = [];

  reset(): RequestScan {
    this.controlHeaders.length = 0;
    return this;
  }
}

/** The listener (destination) port from the `destination.port` property (int64 LE), 0 if absent. */
export function destinationPort(): i32 {
  store<usize>(RET_PTR, 0);
  store<usize>(RET_SIZE, 0);
  const r = proxy_get_property(changetype<usize>(DESTINATION_PORT), DESTINATION_PORT.byteLength, RET_PTR, RET_SIZE);
  const ptr = load<usize>(RET_PTR);
  if (r != WasmResult.Ok || !ptr) return 0;
  const size = load<usize>(RET_SIZE);
  const port = size >= 8 ? <i32>load<i64>(ptr) : 0;
  heap.free(ptr);
  return port < 0 || port > 65535 ? 0 : port;
}

/**
 * Fills `req` (reset first) from the request headers. `port` is the destination port (0 when the
 * configuration never looks at it). Returns Ok, the host's status when it refuses the map, or
 * SerializationFailure when the serialized map is inconsistent.
 */
export function readRequest(req: Request, port: i32, scan: RequestScan): WasmResult {
  scan.reset();
  req.reset("GET", "http", "", "/", port);
  store<usize>(RET_PTR, 0);
  store<usize>(RET_SIZE, 0);
  const status = <WasmResult>proxy_get_header_map_pairs(MapType.HttpRequestHeaders, RET_PTR, RET_SIZE);
  if (status != WasmResult.Ok) return status;
  const base = load<usize>(RET_PTR);
  const size = load<usize>(RET_SIZE);
  if (!base) return WasmResult.Ok;
  const ok = walkPairs(base, size, req, scan);
  heap.free(base);
  return ok ? WasmResult.Ok : WasmResult.SerializationFailure;
}

function walkPairs(base: usize, size: usize, req: Request, scan: RequestScan): bool {
  if (size < 4) return size <= 1;
  const n = <usize>load<u32>(base);
  if (n > (size - 4) / 8) return false;
  pending.length = 0;
  const end = base + size;
  let sizes = base + 4;
  let data = base + 4 + n * 8;
  let method = "GET", scheme = "http", authority = "", path = "/";
  for (let i: usize = 0; i < n; i++) {
    const kl = <usize>load<u32>(sizes);
    const vl = <usize>load<u32>(sizes, 4);
    sizes += 8;
    if (kl > end - data || vl > end - data - kl || data + kl + vl + 2 > end) return false;
    const valuePtr = data + kl + 1;
    if (kl > 1 && load<u8>(data) == COLON) {
      const value = String.UTF8.decodeUnsafe(valuePtr, vl);
      const c = load<u8>(data + 1);
      if (kl == 7 && c == 0x6d /* :method */) method = value;
      else if (kl == 7 && c == 0x73 /* :scheme */) scheme = value;
      else if (kl == 10 && c == 0x61 /* :authority */) authority = value;
      else if (kl == 5 && c == 0x70 /* :path */) path = value;
    } else {
      const key = String.UTF8.decodeUnsafe(data, kl);
      if (maybeControlHeader(data, <i32>kl) && isControlHeader(key)) {
        if (!scan.controlHeaders.includes(key)) scan.controlHeaders.push(key);
      } else {
        pending.push(key);
        pending.push(String.UTF8.decodeUnsafe(valuePtr, vl));
      }
    }
    data = valuePtr + vl + 1;
  }
  // The request line is only known once every pair is read; reset() derives the path fields.
  req.reset(method, scheme, authority, path, req.port);
  const h = req.headers;
  for (let i = 0, m = pending.length; i < m; i++) h.push(unchecked(pending[i]));
  pending.length = 0;
  return true;
}
