// Request mirroring (Istio `mirrors`, Envoy request_mirror_policies): a fire-and-forget copy of
// the request, as the router will send it, to each mirror cluster; the responses are ignored.
// Like Envoy's shadow writer, the copy's authority gets "-shadow" (before any port); headers the
// router consumes (cluster, timeouts, retries) are not copied. The calls are made on behalf of
// the root context so they outlive the request (Envoy cancels a stream context's calls when the
// stream ends).
import {
  getHeaderMapPairs, HeaderPair, httpCall, logDebug, MapType, setEffectiveContext,
} from "../abi/index";
import { isRouterInput } from "./control_headers";

const NO_PAIRS: HeaderPair[] = [];
/** Used when the route has no timeout (Envoy's shadow would then wait forever). */
export const MIRROR_DEFAULT_TIMEOUT_MS: u32 = 15000;

/** `host-shadow`, `host-shadow:port`, `[v6]-shadow:port` (Envoy's shadowAppendedHost). */
export function shadowAuthority(authority: string): string {
  const colon = authority.lastIndexOf(":");
  const bracket = authority.lastIndexOf("]");
  if (colon < 0 || bracket > colon) return authority + "-shadow";
  return authority.substring(0, colon) + "-shadow" + authority.substring(colon);
}

/** The request headers to mirror: the current map without router inputs, :authority shadowed. */
export function mirrorHeaders(): HeaderPair[] {
  const all = getHeaderMapPairs(MapType.HttpRequestHeaders);
  const out = new Array<HeaderPair>();
  for (let i = 0, n = all.length; i < n; i++) {
    const h = unchecked(all[i]);
    if (isRouterInput(h.key)) continue;
    if (h.key == ":authority") out.push(new HeaderPair(":authority", shadowAuthority(h.value)));
    else out.push(h);
  }
  return out;
}

/** Sends the copy to every cluster from the root context, then makes `streamContextId`
 *  effective again. */
export function sendMirrors(
  rootContextId: u32, streamContextId: u32, clusters: string[], headers: HeaderPair[], body: ArrayBuffer | null, timeoutMs: u32,
): void {
  setEffectiveContext(rootContextId);
  for (let i = 0, n = clusters.length; i < n; i++) {
    const cluster = unchecked(clusters[i]);
    const call = httpCall(cluster, headers, body, NO_PAIRS, timeoutMs);
    if (!call.ok) logDebug("halyard.route: mirror to " + cluster + " not sent (status " + (<u32>call.status).toString() + ")");
  }
  setEffectiveContext(streamContextId);
}

/** Request body chunks kept for the mirror until the end of the stream. */
export class BodyCopy {
  private chunks: ArrayBuffer[] = [];
  private size: i32 = 0;

  append(chunk: ArrayBuffer): void {
    if (chunk.byteLength == 0) return;
    this.chunks.push(chunk);
    this.size += chunk.byteLength;
  }

  /** The whole body, or null when empty. */
  take(): ArrayBuffer | null {
    const chunks = this.chunks;
    if (this.size == 0) return null;
    if (chunks.length == 1) return unchecked(chunks[0]);
    const out = new ArrayBuffer(this.size);
    let at: usize = 0;
    for (let i = 0, n = chunks.length; i < n; i++) {
      const c = unchecked(chunks[i]);
      memory.copy(changetype<usize>(out) + at, changetype<usize>(c), c.byteLength);
      at += c.byteLength;
    }
    this.chunks = [];
    this.size = 0;
    return out;
  }
}
