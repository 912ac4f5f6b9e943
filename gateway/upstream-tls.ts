// Which TLS an endpoint gets, and whether a server certificate's SANs satisfy the matchers. Envoy's rules:
// transport_socket_matches are tried in order against the endpoint's `envoy.transport_socket_match` metadata, then
// its locality's; every key of a match must be present with an equal value (an empty match takes any endpoint);
// the first that matches decides, else the cluster's transport_socket. Portable.
import type { ClusterConfig, EndpointConfig, JsonValue, SanMatcherConfig, UpstreamTlsConfig } from "./bootstrap/types.js";

/** The TLS to use for `endpoint` of `cluster`; undefined: plain text. */
export function endpointTls(cluster: Pick<ClusterConfig, "tls" | "transportSocketMatches">, endpoint: EndpointConfig): UpstreamTlsConfig | undefined {
  for (const m of cluster.transportSocketMatches ?? []) {
    if (labelsMatch(m.match, endpoint.socketMatch?.endpoint) || labelsMatch(m.match, endpoint.socketMatch?.locality)) return m.tls;
  }
  return cluster.tls;
}

function labelsMatch(match: Record<string, JsonValue>, metadata: Record<string, JsonValue> | undefined): boolean {
  for (const [k, v] of Object.entries(match)) {
    if (!metadata || !(k in metadata) || !jsonEqual(metadata[k]!, v)) return false;
  }
  return true;
}

function jsonEqual(a: JsonValue, b: JsonValue): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]!));
  }
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => k in b && jsonEqual(a[k]!, b[k]!));
}

export interface PeerSan {
  type: "DNS" | "URI" | "IP_ADDRESS" | "EMAIL" | "OTHER";
  value: string;
}

/**
 * The SANs of a certificate from Node's `subjectaltname` text ("DNS:a, URI:spiffe://x, IP Address:1.2.3.4,
 * email:a@b"); values with special characters come JSON-quoted.
 */
export function parseSubjectAltName(text: string | undefined): PeerSan[] {
  if (!text) return [];
  const out: PeerSan[] = [];
  const re = /(DNS|URI|IP Address|email|[A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)(?:, |$)/g;
  for (let m = re.exec(text); m !== null && m[0] !== ""; m = re.exec(text)) {
    let value = m[2]!;
    if (value.startsWith('"')) {
      try {
        value = JSON.parse(value) as string;
      } catch {
        continue;
      }
    }
    const label = m[1]!;
    const type = label === "DNS" ? "DNS" : label === "URI" ? "URI" : label === "IP Address" ? "IP_ADDRESS" : label === "email" ? "EMAIL" : "OTHER";
    out.push({ type, value });
  }
  return out;
}

/** True when some SAN satisfies some matcher (no matchers: true). */
export function sansMatch(sans: readonly PeerSan[], matchers: readonly SanMatcherConfig[]): boolean {
  if (matchers.length === 0) return true;
  return matchers.some((m) => sans.some((s) => (m.sanType === "ANY" ? s.type !== "OTHER" : s.type === m.sanType) && valueMatches(s, m)));
}

function valueMatches(san: PeerSan, m: SanMatcherConfig): boolean {
  const value = m.ignoreCase ? san.value.toLowerCase() : san.value;
  const want = m.ignoreCase ? m.value.toLowerCase() : m.value;
  switch (m.kind) {
    case "exact":
      // A wildcard DNS certificate (*.example.com) stands for one label, as Envoy's DNS SAN matching has it.
      return value === want || (san.type === "DNS" && wildcardMatches(value, want));
    case "prefix":
      return value.startsWith(want);
    case "suffix":
      return value.endsWith(want);
    case "contains":
      return value.includes(want);
  }
}

function wildcardMatches(pattern: string, name: string): boolean {
  if (!pattern.startsWith("*.")) return false;
  const dot = name.indexOf(".");
  return dot > 0 && name.slice(dot).toLowerCase() === pattern.slice(1).toLowerCase();
}

/** One line naming what the certificate had and what was expected. */
export function sanMismatchMessage(sans: readonly PeerSan[], matchers: readonly SanMatcherConfig[]): string {
  const had = sans.length ? sans.map((s) => `${s.type}:${s.value}`).join(", ") : "none";
  const want = matchers.map((m) => `${m.sanType} ${m.kind} "${m.value}"`).join(" or ");
  return `upstream certificate SANs (${had}) match none of: ${want}`;
}
