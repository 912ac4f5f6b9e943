// Envoy's x-envoy-* request header sanitizing (ConnectionManagerUtility::mutateRequestHeaders), run by the HCM
// before any filter: a request is internal when, after use_remote_address / XFF handling, exactly one address
// stands for the client and internal_address_config lists it. Internal requests get `x-envoy-internal: true`;
// external ones lose the headers that steer the router (timeouts, retries) so a caller cannot set them, and edge
// requests (external with use_remote_address) also lose the ones naming a downstream service and get
// x-envoy-external-address. Unset internal_address_config: no address is internal (current Envoy,
// envoy.reloadable_features.explicit_internal_address_config; list 10.0.0.0/8 etc. to get the old RFC 1918 rule).
// Not stripped, as in Envoy: x-envoy-original-dst-host (see gateway/original-dst.ts) and x-envoy-original-path
// (halyard.route writes it itself). Portable.
import type { HeaderMap } from "../wasm/host/index.js";
import type { CidrRangeConfig, SocketAddr } from "./bootstrap/types.js";

/** Stripped from every external request (Envoy's cleanInternalHeaders). */
export const EXTERNAL_STRIPPED_HEADERS: readonly string[] = [
  "x-envoy-retriable-status-codes",
  "x-envoy-retriable-header-names",
  "x-envoy-retry-on",
  "x-envoy-retry-grpc-on",
  "x-envoy-max-retries",
  "x-envoy-upstream-alt-stat-name",
  "x-envoy-upstream-rq-timeout-ms",
  "x-envoy-upstream-rq-per-try-timeout-ms",
  "x-envoy-upstream-rq-timeout-alt-response",
  "x-envoy-expected-rq-timeout-ms",
  "x-envoy-force-trace",
  "x-envoy-ip-tags",
  "x-envoy-original-url",
  "x-envoy-hedge-on-per-try-timeout",
];

/** Also stripped from edge requests. */
export const EDGE_STRIPPED_HEADERS: readonly string[] = ["x-envoy-decorator-operation", "x-envoy-downstream-service-cluster", "x-envoy-downstream-service-node"];

export interface SanitizeInput {
  useRemoteAddress: boolean;
  internalAddresses: readonly CidrRangeConfig[] | undefined;
  remote: SocketAddr;
}

/**
 * Sanitizes `headers` in place (call before x-forwarded-for is appended); returns whether the request is internal.
 */
export function sanitizeEnvoyHeaders(headers: HeaderMap, input: SanitizeInput): boolean {
  // This runs on every request: one forward pass finds XFF and whether any x-envoy-* header is there at all (most
  // requests carry none, and then there is nothing to strip).
  let xff: string | undefined;
  let envoyHeaders = false;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    const k = h[0];
    if (k === "x-forwarded-for") xff = xff === undefined ? h[1] : `${xff},${h[1]}`;
    else if (!envoyHeaders && k.startsWith("x-envoy-")) envoyHeaders = true;
  }
  let client: string | undefined;
  let single: boolean;
  if (input.useRemoteAddress) {
    client = input.remote.address;
    single = xff === undefined;
  } else if (xff === undefined) {
    client = undefined;
    single = false;
  } else {
    const parts = xff.split(",").map((s) => s.trim()).filter(Boolean);
    client = parts.length > 0 && parseIp(parts[parts.length - 1]!) ? parts[parts.length - 1] : undefined;
    single = parts.length === 1;
  }
  const internal = single && client !== undefined && isInternalAddress(client, input.internalAddresses);
  const edge = !internal && input.useRemoteAddress;
  for (let i = envoyHeaders ? headers.length - 1 : -1; i >= 0; i--) {
    const k = headers[i]![0];
    if (!k.startsWith("x-envoy-")) continue;
    if (k === "x-envoy-internal" || (!internal && (EXTERNAL_STRIPPED.has(k) || (edge && (EDGE_STRIPPED.has(k) || k === "x-envoy-external-address"))))) {
      headers.splice(i, 1);
    }
  }
  if (internal) headers.push(["x-envoy-internal", "true"]);
  // The peer of a socket is always an IP address (Workers may not know it: "").
  else if (edge && input.remote.address !== "") headers.push(["x-envoy-external-address", input.remote.address]);
  return internal;
}

const EXTERNAL_STRIPPED = new Set(EXTERNAL_STRIPPED_HEADERS);
const EDGE_STRIPPED = new Set(EDGE_STRIPPED_HEADERS);

export function isInternalAddress(address: string, ranges: readonly CidrRangeConfig[] | undefined): boolean {
  if (!ranges || ranges.length === 0) return false;
  let ip = parseIp(address);
  if (!ip) return false;
  // An IPv4 client on a dual-stack socket shows up as ::ffff:a.b.c.d.
  if (ip.length === 16 && ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff) ip = ip.slice(12);
  return ranges.some((r) => {
    const prefix = parseIp(r.addressPrefix);
    return prefix !== undefined && prefix.length === ip.length && prefixMatches(ip, prefix, r.prefixLen);
  });
}

/** A CIDR range's problem (for the builder), or undefined when it is valid. */
export function cidrProblem(r: CidrRangeConfig): string | undefined {
  const ip = parseIp(r.addressPrefix);
  if (!ip) return `"${r.addressPrefix}" is not an IPv4 or IPv6 address`;
  const max = ip.length * 8;
  if (!Number.isInteger(r.prefixLen) || r.prefixLen < 0 || r.prefixLen > max) return `prefix_len ${r.prefixLen} is out of range for "${r.addressPrefix}" (0-${max})`;
  return undefined;
}

function prefixMatches(ip: Uint8Array, prefix: Uint8Array, bits: number): boolean {
  for (let i = 0; i < ip.length && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (prefix[i]! & mask)) return false;
  }
  return true;
}

/** IPv4 (4 bytes) or IPv6 (16 bytes; IPv4-mapped forms too); undefined for anything else. */
export function parseIp(text: string): Uint8Array | undefined {
  const t = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  return t.includes(":") ? parseIpv6(t) : parseIpv4(t);
}

function parseIpv4(t: string): Uint8Array | undefined {
  const parts = t.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p.startsWith("0")) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

function parseIpv6(t: string): Uint8Array | undefined {
  const zone = t.indexOf("%");
  if (zone >= 0) t = t.slice(0, zone);
  const halves = t.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    const items = s.split(":");
    for (let i = 0; i < items.length; i++) {
      const g = items[i]!;
      if (i === items.length - 1 && g.includes(".")) {
        const v4 = parseIpv4(g);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}
