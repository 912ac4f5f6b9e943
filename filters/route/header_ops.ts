// Applying the engine's header operations through the ABI, in the engine's order: remove, then
// set (overwrite), then add (append). `set` / `add` / CORS lists are flattened name/value pairs.
import { addHeader, HeaderPair, MapType, removeHeader, replaceHeader } from "../abi/index";
import { HeaderOps } from "../../engine/route/index";

export function applyHeaderOps(map: MapType, ops: HeaderOps): void {
  const remove = ops.remove;
  for (let i = 0, n = remove.length; i < n; i++) removeHeader(map, unchecked(remove[i]));
  const set = ops.set;
  for (let i = 0, n = set.length; i + 1 < n; i += 2) replaceHeader(map, unchecked(set[i]), unchecked(set[i + 1]));
  const add = ops.add;
  for (let i = 0, n = add.length; i + 1 < n; i += 2) addHeader(map, unchecked(add[i]), unchecked(add[i + 1]));
}

/** Sets each name/value pair (CORS response headers). */
export function setPairs(map: MapType, flat: string[]): void {
  for (let i = 0, n = flat.length; i + 1 < n; i += 2) replaceHeader(map, unchecked(flat[i]), unchecked(flat[i + 1]));
}

/** The headers of a locally generated response: `ops.set` (later sets of a name win), then
 *  `ops.add`, then `extra` pairs (CORS) which replace any same-named header. */
export function localResponseHeaders(ops: HeaderOps, extra: string[], out: HeaderPair[]): HeaderPair[] {
  const set = ops.set;
  for (let i = 0, n = set.length; i + 1 < n; i += 2) put(out, unchecked(set[i]), unchecked(set[i + 1]));
  const add = ops.add;
  for (let i = 0, n = add.length; i + 1 < n; i += 2) out.push(new HeaderPair(unchecked(add[i]), unchecked(add[i + 1])));
  for (let i = 0, n = extra.length; i + 1 < n; i += 2) put(out, unchecked(extra[i]), unchecked(extra[i + 1]));
  return out;
}

function put(out: HeaderPair[], name: string, value: string): void {
  for (let i = out.length - 1; i >= 0; i--) {
    if (unchecked(out[i]).key == name) out.splice(i, 1);
  }
  out.push(new HeaderPair(name, value));
}
