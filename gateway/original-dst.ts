// Envoy's ORIGINAL_DST cluster (Istio's PassthroughCluster) for a gateway that has no iptables original destination:
// each request's destination is
//   1. the `original_dst_lb_config.use_http_header` header (x-envoy-original-dst-host unless renamed) when the
//      cluster configures it and the request carries it: an IP:port, as Envoy requires (anything else: 503 UH);
//   2. else the request's authority (host[:port], default port by scheme) — for an HTTP-proxy client the HCM has
//      already taken it from the absolute-form request target.
// A name is resolved like Envoy's dynamic forward proxy resolves it (the transport's `resolve`: node:dns lookup on
// Node; Workers have none and fetch() the authority as named). A destination is a host of its own, so it gets its
// own keep-alive pool (the transport pools per host key) and the cluster's connect timeout and circuit breakers.
// Loopback and unspecified addresses (127.0.0.0/8, ::1, 0.0.0.0, ::) are accepted only when the client named them
// (an IP literal, or `localhost`): a name that DNS turns into one is refused, so a caller cannot reach the proxy's
// own local services through someone else's DNS. As in Envoy, the header is not stripped from external requests
// (Envoy's docs warn that it lets any client pick the destination): only enable use_http_header behind a trusted hop.
// Hosts unused for a cleanup interval (Envoy's cleanup_interval, 5 s) are dropped. Portable.
import type { HeaderMap } from "../wasm/host/index.js";
import type { OriginalDstConfig, SocketAddr } from "./bootstrap/types.js";
import type { Host } from "./clusters.js";
import { parseIp } from "./internal-address.js";

/** Resolves a host name to IP addresses (first preferred), rejecting when it cannot. */
export type HostResolver = (name: string) => Promise<string[]>;

export type OriginalDstFailure = { kind: "invalid"; reason: string } | { kind: "refused"; reason: string } | { kind: "dns"; reason: string };

const CLEANUP_INTERVAL_MS = 5_000;

export class OriginalDstHosts {
  private readonly hosts = new Map<string, { host: Host; usedMs: number }>();
  private lastSweepMs = 0;

  constructor(
    readonly config: OriginalDstConfig,
    private readonly makeHost: (address: SocketAddr) => Host,
    private readonly now: () => number = Date.now,
  ) {}

  /** Hosts currently known (for admin views and tests). */
  get size(): number {
    return this.hosts.size;
  }

  /** The host one request goes to, or why there is none. */
  async hostFor(headers: HeaderMap, resolve: HostResolver | undefined): Promise<Host | OriginalDstFailure> {
    const target = await this.destination(headers, resolve);
    if ("kind" in target) return target;
    const key = `${target.address}:${target.port}`;
    const now = this.now();
    this.sweep(now);
    let entry = this.hosts.get(key);
    if (!entry) {
      entry = { host: this.makeHost(target), usedMs: now };
      this.hosts.set(key, entry);
    }
    entry.usedMs = now;
    return entry.host;
  }

  close(): void {
    this.hosts.clear();
  }

  private async destination(headers: HeaderMap, resolve: HostResolver | undefined): Promise<SocketAddr | OriginalDstFailure> {
    let scheme = "http";
    let authority = "";
    let override: string | undefined;
    for (const [k, v] of headers) {
      if (k === ":authority") authority = v;
      else if (k === ":scheme") scheme = v;
      else if (this.config.httpHeader !== undefined && k === this.config.httpHeader && override === undefined) override = v;
    }
    if (override !== undefined) {
      const hp = splitHostPort(override.trim(), 0);
      if (!hp || hp.port === 0 || !parseIp(hp.host)) return { kind: "invalid", reason: `${this.config.httpHeader}: "${override}" is not an IP:port` };
      return { address: unbracket(hp.host), port: hp.port };
    }
    const hp = splitHostPort(authority.trim(), scheme === "https" ? 443 : 80);
    if (!hp || hp.host === "") return { kind: "invalid", reason: `no destination in the authority "${authority}"` };
    const host = unbracket(hp.host);
    if (parseIp(host)) return { address: host, port: hp.port };
    const name = host.toLowerCase().replace(/\.$/, "");
    if (name === "localhost" || name.endsWith(".localhost")) return { address: "127.0.0.1", port: hp.port };
    if (!resolve) return { address: name, port: hp.port };
    let addresses: string[];
    try {
      addresses = await resolve(name);
    } catch (e) {
      return { kind: "dns", reason: `${name}: ${e instanceof Error ? e.message : String(e)}` };
    }
    const first = addresses[0];
    if (first === undefined) return { kind: "dns", reason: `${name}: no addresses` };
    if (isLocalOrUnspecified(first)) return { kind: "refused", reason: `${name} resolves to ${first}, a local address the client did not name` };
    return { address: first, port: hp.port };
  }

  // Envoy's cleanup timer, run lazily: hosts neither used since the last sweep nor busy are forgotten.
  private sweep(now: number): void {
    if (now - this.lastSweepMs < CLEANUP_INTERVAL_MS) return;
    for (const [key, { host, usedMs }] of this.hosts) {
      if (usedMs < this.lastSweepMs && host.activeRequests === 0 && host.waiting.length === 0) this.hosts.delete(key);
    }
    this.lastSweepMs = now;
  }
}

/** `host`, `host:port`, `[v6]`, `[v6]:port`; a bare IPv6 literal has no port. undefined when malformed. */
export function splitHostPort(text: string, defaultPort: number): { host: string; port: number } | undefined {
  if (text === "") return undefined;
  let host = text;
  let portText: string | undefined;
  if (text.startsWith("[")) {
    const end = text.indexOf("]");
    if (end < 0) return undefined;
    host = text.slice(0, end + 1);
    const rest = text.slice(end + 1);
    if (rest !== "") {
      if (!rest.startsWith(":")) return undefined;
      portText = rest.slice(1);
    }
  } else {
    const colon = text.lastIndexOf(":");
    if (colon >= 0 && text.indexOf(":") === colon) {
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
    }
  }
  if (portText === undefined) return { host, port: defaultPort };
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) return undefined;
  return { host, port: Number(portText) };
}

function unbracket(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

function isLocalOrUnspecified(address: string): boolean {
  const ip = parseIp(address);
  if (!ip) return false;
  if (ip.length === 4) return ip[0] === 127 || ip.every((b) => b === 0);
  const zeroHead = ip.subarray(0, 15).every((b) => b === 0);
  if (zeroHead && (ip[15] === 0 || ip[15] === 1)) return true;
  // IPv4-mapped ::ffff:a.b.c.d
  const mapped = ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff;
  return mapped && (ip[12] === 127 || ip.subarray(12).every((b) => b === 0));
}
