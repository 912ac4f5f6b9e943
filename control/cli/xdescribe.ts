// `halyard x describe --node <id> -f <file|dir>... [--cert <pem> | --sds-socket <path>]`: what the mesh's security
// config means for one workload: the mTLS mode of each inbound port and the PeerAuthentication that decided it
// (level, age, why), the AuthorizationPolicies that apply (workload selector, namespace-wide, or mesh-wide from the
// root namespace), and the SPIFFE ID and expiry of the workload certificate: from a file (--cert), or the one the
// workload's `halyard agent` serves right now (--sds-socket: SDS FetchSecrets `default` on its Unix socket).
import { X509Certificate } from "node:crypto";
import { readFile } from "node:fs/promises";
import { buildConfigSet } from "../config/config-set.js";
import { formatError } from "../config/errors.js";
import type { AuthorizationPolicy } from "../config/types.js";
import { loadAndValidate } from "../config/validate.js";
import { buildRegistry } from "../registry/registry.js";
import { modeForPort, resolvePeerAuthentication, type ModeDecision } from "../translate/peer-authentication.js";
import { DEFAULT_ROOT_NAMESPACE, selectAuthorizationPolicies } from "../translate/security.js";
import { inboundPorts } from "../translate/xds/clusters.js";
import { proxyContext } from "../translate/xds/node.js";

const USAGE = "usage: halyard x describe --node <id> -f <file|dir>... [--cert <workload-cert.pem> | --sds-socket <agent socket>]";

export interface DescribeArgs {
  nodeId: string;
  paths: string[];
  cert?: string;
  /** The agent's SDS socket to read the current `default` certificate from. */
  sdsSocket?: string;
}

export function parseDescribeArgs(argv: readonly string[]): DescribeArgs | { error: string } {
  const out: DescribeArgs = { nodeId: "", paths: [] };
  let takingPaths = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const [flag, inline] = eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = () => inline ?? argv[++i];
    if (flag === "-h" || flag === "--help") return { error: USAGE };
    if (flag === "-f" || flag === "--filename") {
      if (inline !== undefined) out.paths.push(inline);
      else takingPaths = true;
      continue;
    }
    if (flag.startsWith("-")) takingPaths = false;
    if (flag === "--node" || flag === "--cert" || flag === "--sds-socket") {
      const v = value();
      if (!v) return { error: `${flag} needs a value; ${USAGE}` };
      if (flag === "--node") out.nodeId = v;
      else if (flag === "--cert") out.cert = v;
      else out.sdsSocket = v;
    } else if (flag.startsWith("-")) return { error: `unknown option ${flag}; ${USAGE}` };
    else if (takingPaths) out.paths.push(arg);
    else return { error: `unexpected argument ${JSON.stringify(arg)}; ${USAGE}` };
  }
  if (!out.nodeId) return { error: `--node is required; ${USAGE}` };
  if (out.paths.length === 0) return { error: `no config given (-f); ${USAGE}` };
  if (out.cert && out.sdsSocket) return { error: `give --cert or --sds-socket, not both; ${USAGE}` };
  return out;
}

const age = (created: string | undefined, now: number) => {
  if (!created) return "no creationTimestamp";
  const days = Math.floor((now - Date.parse(created)) / 86_400_000);
  return `created ${created}, ${days} day${days === 1 ? "" : "s"} old`;
};

function decisionLine(port: number | "*", d: ModeDecision, now: number): string {
  const by = d.policy ? `${d.policy.namespace}/${d.policy.name} (${d.policy.level}-level, ${age(d.policy.creationTimestamp, now)})` : "(mesh default)";
  return `  ${String(port).padEnd(6)} ${d.mode.padEnd(10)} ${by}\n         why: ${d.reason}`;
}

function authzScope(p: AuthorizationPolicy, rootNamespace: string): string {
  const labels = p.spec.selector?.matchLabels ?? {};
  if (Object.keys(labels).length > 0) return `workload selector ${Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",")}`;
  return p.metadata.namespace === rootNamespace ? "mesh-wide (root namespace)" : `namespace-wide (${p.metadata.namespace})`;
}

/** SPIFFE ID (the URI SAN) and validity of a PEM certificate; throws a one-line error naming the file. */
export async function describeCertificate(path: string, now = Date.now()): Promise<string[]> {
  let pem: string;
  try {
    pem = await readFile(path, "utf8");
  } catch (e) {
    throw new Error(`--cert ${path}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message}`);
  }
  return describeCertificatePem(pem, `--cert ${path}`, now);
}

/** SPIFFE ID and validity of the first certificate in `pem`; throws a one-line error naming `where`. */
export function describeCertificatePem(pem: string, where: string, now = Date.now()): string[] {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch {
    throw new Error(`${where}: not a PEM X.509 certificate`);
  }
  const uris = (cert.subjectAltName ?? "").split(", ").filter((s) => s.startsWith("URI:")).map((s) => s.slice(4));
  const spiffe = uris.find((u) => u.startsWith("spiffe://"));
  const notAfter = Date.parse(cert.validTo);
  const left = notAfter - now;
  const status = left <= 0 ? "EXPIRED" : `expires in ${formatLeft(left)}`;
  return [`  SPIFFE ID: ${spiffe ?? "(none: the certificate has no spiffe:// URI SAN)"}`, `  valid:     ${new Date(Date.parse(cert.validFrom)).toISOString()} .. ${new Date(notAfter).toISOString()} (${status})`];
}

function formatLeft(ms: number): string {
  const h = Math.floor(ms / 3_600_000);
  if (h >= 48) return `${Math.floor(h / 24)}d`;
  if (h >= 1) return `${h}h${Math.floor((ms % 3_600_000) / 60_000)}m`;
  return `${Math.max(1, Math.floor(ms / 60_000))}m`;
}

export async function describe(args: DescribeArgs, now = Date.now()): Promise<string> {
  const { documents, errors } = await loadAndValidate(args.paths);
  if (errors.length) throw new Error(errors.map(formatError).join("\n"));
  const config = buildConfigSet(documents);
  const registry = buildRegistry(config);
  const ctx = proxyContext(config, registry, { id: args.nodeId });
  const workload = { namespace: ctx.namespace, labels: ctx.labels };
  const labels = Object.entries(ctx.labels).map(([k, v]) => `${k}=${v}`).join(",") || "(none)";
  const lines = [`Workload: ${args.nodeId}`, `  namespace: ${ctx.namespace}`, `  labels:    ${labels}`, ""];

  const pa = resolvePeerAuthentication(config, workload, { rootNamespace: DEFAULT_ROOT_NAMESPACE });
  lines.push("mTLS (PeerAuthentication):", `  ${"PORT".padEnd(6)} ${"MODE".padEnd(10)} DECIDED BY`);
  const ports = ctx.role === "sidecar" ? inboundPorts(ctx).map((p) => p.port) : [];
  for (const port of ports) lines.push(decisionLine(port, modeForPort(pa, port), now));
  lines.push(decisionLine("*", pa.workload, now));
  for (const w of pa.warnings) lines.push(`  warning: ${w}`);
  lines.push("");

  const policies = selectAuthorizationPolicies(config, ctx.proxy, DEFAULT_ROOT_NAMESPACE);
  lines.push("AuthorizationPolicies:");
  if (policies.length === 0) lines.push("  (none: every request is allowed)");
  for (const p of policies) lines.push(`  ${`${p.metadata.namespace}/${p.metadata.name}`.padEnd(32)} ${(p.spec.action ?? "ALLOW").padEnd(7)} ${authzScope(p, DEFAULT_ROOT_NAMESPACE)}`);

  if (args.cert) lines.push("", `Certificate ${args.cert}:`, ...(await describeCertificate(args.cert, now)));
  if (args.sdsSocket) {
    const { fetchWorkloadCertificate } = await import("../../gateway/identity/sds-client.js");
    const pem = await fetchWorkloadCertificate(args.sdsSocket);
    lines.push("", `Certificate (SDS "default" from the agent on ${args.sdsSocket}):`, ...describeCertificatePem(pem, `--sds-socket ${args.sdsSocket}`, now));
  }
  return lines.join("\n") + "\n";
}

export async function run(argv: string[]): Promise<number> {
  const args = parseDescribeArgs(argv);
  if ("error" in args) {
    process.stderr.write(`halyard x describe: ${args.error}\n`);
    return 1;
  }
  try {
    process.stdout.write(await describe(args));
    return 0;
  } catch (e) {
    process.stderr.write(`halyard x describe: ${(e as Error).message}\n`);
    return 1;
  }
}
