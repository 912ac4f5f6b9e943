// Arguments of `halyard x check`: which config, which proxy, who is calling, and the request to decide.
import { isIP } from "node:net";

export const XCHECK_USAGE =
  "usage: halyard x check -f <file|dir>... [--from <namespace>/<serviceaccount>] [--labels k=v,...] " +
  "[--gateway <namespace>/<name>] [--from-principal <td>/ns/<ns>/sa/<sa>] [--jwt <token>] [--source-ip <ip>] " +
  "[-H 'name: value']... [--samples N] [-o json] METHOD URL";

export const MAX_SAMPLES = 1_000_000;

export interface XCheckRequest {
  method: string;
  scheme: "http" | "https";
  /** host[:port] as the client sends it (the URL's, unless a Host header overrides it). */
  authority: string;
  /** Path with query. */
  path: string;
  /** Destination (listener) port: the URL's port, else the scheme's default. */
  port: number;
  /** Lower-case names, in the order given. */
  headers: [string, string][];
}

export interface XCheckArgs {
  paths: string[];
  namespace: string;
  serviceAccount: string;
  labels: Record<string, string>;
  gateway?: string;
  samples?: number;
  json: boolean;
  request: XCheckRequest;
  /**
   * The caller's mTLS identity (`<td>/ns/<ns>/sa/<sa>`, as AuthorizationPolicy principals are written): the
   * --from-principal, else `cluster.local/ns/<ns>/sa/<sa>` from --from (sidecar callers always present one;
   * a gateway's external callers only when --from or --from-principal is given).
   */
  principal?: string;
  /** The downstream peer address (source.address): --source-ip, default 127.0.0.1. */
  sourceIp: string;
}

const METHOD = /^[A-Za-z]+$/;
/** SPIFFE path of an Istio workload identity: `<trust domain>/ns/<namespace>/sa/<service account>`. */
const PRINCIPAL = /^[^/\s]+\/ns\/[^/\s]+\/sa\/[^/\s]+$/;
const JWT_TEXT = /^[A-Za-z0-9_\-.=]+$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

export function parseXCheckArgs(argv: readonly string[]): XCheckArgs | { error: string } {
  const paths: string[] = [];
  const headers: [string, string][] = [];
  const positional: string[] = [];
  let from = "default/default";
  let labelsText = "";
  let gateway: string | undefined;
  let samplesText: string | undefined;
  let output = "";
  let fromGiven = false;
  let fromPrincipal: string | undefined;
  let jwt: string | undefined;
  let sourceIp = "127.0.0.1";
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const takesValue = [
      "-f", "--filename", "--from", "--labels", "--gateway", "-H", "--header", "--samples", "-o", "--output", "--from-principal", "--jwt", "--source-ip",
    ].includes(flag);
    if (!takesValue) {
      if (arg === "-h" || arg === "--help") return { error: XCHECK_USAGE };
      if (arg.startsWith("-") && arg !== "-") return { error: `unknown option ${arg}; ${XCHECK_USAGE}` };
      positional.push(arg);
      continue;
    }
    let value: string;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) return { error: `${flag} needs a value; ${XCHECK_USAGE}` };
      value = argv[++i]!;
    }
    switch (flag) {
      case "-f":
      case "--filename":
        paths.push(value);
        break;
      case "--from":
        from = value;
        fromGiven = true;
        break;
      case "--from-principal":
        fromPrincipal = value;
        break;
      case "--jwt":
        jwt = value;
        break;
      case "--source-ip":
        sourceIp = value;
        break;
      case "--labels":
        labelsText = labelsText ? `${labelsText},${value}` : value;
        break;
      case "--gateway":
        gateway = value;
        break;
      case "-H":
      case "--header": {
        const colon = value.indexOf(":", value.startsWith(":") ? 1 : 0);
        const name = colon > 0 ? value.slice(0, colon).trim().toLowerCase() : "";
        if (!name || !HEADER_NAME.test(name.startsWith(":") ? name.slice(1) : name)) return { error: `-H ${JSON.stringify(value)}: expected 'name: value'` };
        headers.push([name, value.slice(colon + 1).trim()]);
        break;
      }
      case "--samples":
        samplesText = value;
        break;
      default:
        output = value;
    }
  }
  if (paths.length === 0) return { error: `no config given (-f <file|dir>); ${XCHECK_USAGE}` };
  if (output !== "" && output !== "json") return { error: `-o ${JSON.stringify(output)}: only json is supported` };
  const slash = from.indexOf("/");
  if (slash <= 0 || slash === from.length - 1 || from.indexOf("/", slash + 1) >= 0) {
    return { error: `--from ${JSON.stringify(from)}: expected <namespace>/<serviceaccount>` };
  }
  const labels = parseLabels(labelsText);
  if (typeof labels === "string") return { error: labels };
  if (gateway !== undefined && !/^[^/]+\/[^/]+$/.test(gateway)) return { error: `--gateway ${JSON.stringify(gateway)}: expected <namespace>/<name>` };
  let samples: number | undefined;
  if (samplesText !== undefined) {
    samples = /^\d+$/.test(samplesText) ? Number(samplesText) : NaN;
    if (!(samples >= 1 && samples <= MAX_SAMPLES)) return { error: `--samples ${JSON.stringify(samplesText)}: expected an integer from 1 to ${MAX_SAMPLES}` };
  }
  if (positional.length !== 2) return { error: `expected METHOD URL, got ${positional.length === 0 ? "nothing" : positional.map((p) => JSON.stringify(p)).join(" ")}; ${XCHECK_USAGE}` };
  if (fromPrincipal !== undefined && !PRINCIPAL.test(fromPrincipal)) {
    return { error: `--from-principal ${JSON.stringify(fromPrincipal)}: expected <trust domain>/ns/<namespace>/sa/<serviceaccount>` };
  }
  if (jwt !== undefined) {
    if (!JWT_TEXT.test(jwt)) return { error: "--jwt: expected a token (base64url sections separated by dots), without the Bearer prefix" };
    if (headers.some(([n]) => n === "authorization")) return { error: "--jwt: the request already has an Authorization header (-H); give one or the other" };
    headers.push(["authorization", `Bearer ${jwt}`]);
  }
  if (!isIP(sourceIp)) return { error: `--source-ip ${JSON.stringify(sourceIp)}: expected an IPv4 or IPv6 address` };
  const request = parseRequest(positional[0]!, positional[1]!, headers);
  if (typeof request === "string") return { error: request };
  const namespace = from.slice(0, slash);
  const serviceAccount = from.slice(slash + 1);
  const principal = fromPrincipal ?? (gateway === undefined || fromGiven ? `cluster.local/ns/${namespace}/sa/${serviceAccount}` : undefined);
  return {
    paths,
    namespace,
    serviceAccount,
    labels,
    ...(gateway !== undefined ? { gateway } : {}),
    ...(samples !== undefined ? { samples } : {}),
    json: output === "json",
    request,
    ...(principal !== undefined ? { principal } : {}),
    sourceIp,
  };
}

function parseLabels(text: string): Record<string, string> | string {
  const labels: Record<string, string> = {};
  for (const part of text.split(",")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    if (eq <= 0) return `--labels ${JSON.stringify(part)}: expected key=value`;
    labels[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return labels;
}

function parseRequest(method: string, url: string, headers: [string, string][]): XCheckRequest | string {
  if (!METHOD.test(method)) return `method ${JSON.stringify(method)}: expected a token such as GET or POST`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `URL ${JSON.stringify(url)}: not an absolute http:// or https:// URL`;
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") return `URL ${JSON.stringify(url)}: scheme must be http or https`;
  const scheme = parsed.protocol === "https:" ? "https" : "http";
  const port = parsed.port ? Number(parsed.port) : scheme === "https" ? 443 : 80;
  // A Host (or :authority) header replaces the URL's authority, as it does for curl.
  const hostHeader = headers.find(([n]) => n === "host" || n === ":authority");
  const rest = headers.filter(([n]) => n !== "host" && n !== ":authority");
  for (const [n] of rest) if (n.startsWith(":")) return `-H ${n}: pseudo-headers other than :authority come from METHOD and URL`;
  return {
    method: method.toUpperCase(),
    scheme,
    authority: hostHeader ? hostHeader[1] : parsed.host,
    path: `${parsed.pathname}${parsed.search}`,
    port,
    headers: rest,
  };
}
