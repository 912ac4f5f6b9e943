// A mesh on one machine for the sidecar tests: the Istio YAML of services behind sidecars (ServiceEntry +
// WorkloadEntry listing the sidecar's inbound port), `halyard token create` tokens, certificates for test clients
// from the real `halyard serve` CA, and `halyard gateway` sidecar children. Loopback only.
import { writeFileSync } from "node:fs";
import { certificateClient, createCertificate, keyAndCsr } from "./ca.js";
import { runCli } from "./gateway-process.js";
import { spawnGateway, type GatewayChild } from "./gateway-xds.js";

export const MESH_NS = "mesh";

export interface MeshService {
  /** Short name: the service is <name>.mesh.svc.cluster.local, its workload <name>-1, its service account <name>. */
  name: string;
  /** The sidecar's inbound port (what the WorkloadEntry lists). */
  inboundPort: number;
  /** A second HTTP service port (`http-alt`), reaching the same inbound port. */
  altPort?: number;
}

export const hostOf = (name: string) => `${name}.${MESH_NS}.svc.cluster.local`;
export const spiffeOf = (sa: string, ns = MESH_NS) => `spiffe://cluster.local/ns/${ns}/sa/${sa}`;
export const nodeIdOf = (name: string) => `sidecar~127.0.0.1~${name}-1.${MESH_NS}~${MESH_NS}.svc.cluster.local`;

export function serviceYaml(s: MeshService): string {
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata:
  name: ${s.name}
  namespace: ${MESH_NS}
spec:
  hosts:
  - ${hostOf(s.name)}
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
  - number: 80
    name: http
    protocol: HTTP
${s.altPort ? `  - number: ${s.altPort}\n    name: http-alt\n    protocol: HTTP\n` : ""}  workloadSelector:
    labels:
      app: ${s.name}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata:
  name: ${s.name}-1
  namespace: ${MESH_NS}
spec:
  address: 127.0.0.1
  serviceAccount: ${s.name}
  ports:
    http: ${s.inboundPort}
${s.altPort ? `    http-alt: ${s.inboundPort}\n` : ""}  labels:
    app: ${s.name}
    halyard.io/sidecar: "true"
`;
}

export function peerAuthenticationYaml(name: string, mode: string, selector?: string): string {
  const sel = selector ? `  selector:\n    matchLabels:\n      app: ${selector}\n` : "";
  return `apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata:
  name: ${name}
  namespace: ${MESH_NS}
spec:
${sel}  mtls:
    mode: ${mode}
`;
}

export interface WorkloadCert {
  chainPem: string;
  keyPem: string;
}

/** A certificate for `ns/sa` from the running CA, asked for with a `halyard token create` token. */
export async function issueFromCa(caPort: number, rootPem: string, stateDir: string, ns: string, sa: string, ttlSeconds?: number): Promise<WorkloadCert> {
  const token = await runCli(["token", "create", "--sa", `${ns}/${sa}`, "--state-dir", stateDir]);
  if (token.code !== 0) throw new Error(`halyard token create failed: ${token.stderr}`);
  const { keyPem, csr } = await keyAndCsr([spiffeOf(sa, ns)]);
  const client = certificateClient(caPort, rootPem);
  try {
    const r = await createCertificate(client, { csr, ...(ttlSeconds ? { validityDuration: ttlSeconds } : {}) }, token.stdout.trim());
    if (!r.ok) throw new Error(`CreateCertificate for ${ns}/${sa}: ${r.details}`);
    const chain = r.certChain.filter((c) => c.trim() !== rootPem.trim());
    return { chainPem: chain.join(""), keyPem };
  } finally {
    client.close();
  }
}

export interface Sidecar {
  gateway: GatewayChild;
  inboundPort: number;
  /** Resolves with the bound outbound port once virtualOutbound is served. */
  outboundPort(timeoutMs?: number): Promise<number>;
}

/** Writes a `halyard token create` token for ns/sa into `file`. */
export async function writeToken(file: string, stateDir: string, ns: string, sa: string): Promise<string> {
  const token = await runCli(["token", "create", "--sa", `${ns}/${sa}`, "--state-dir", stateDir]);
  if (token.code !== 0) throw new Error(`halyard token create failed: ${token.stderr}`);
  writeFileSync(file, token.stdout);
  return file;
}

/**
 * A sidecar `halyard gateway` for `s`, fed by ADS; `identity` are its certificate flags (`--ca … --token-file …`
 * or `--secrets-dir <dir>`). Waits for its inbound listener.
 */
export async function startSidecar(xdsPort: number, s: MeshService, appPort: number, identity: string[]): Promise<Sidecar> {
  const gateway = spawnGateway([
    "--xds", `127.0.0.1:${xdsPort}`, "--node", nodeIdOf(s.name),
    "--inbound-port", String(s.inboundPort), "--outbound-port", "0", "--app-port", String(appPort),
    "--drain-time", "200ms", ...identity,
  ]);
  await gateway.waitFor(/listener "virtualInbound" on https?:\/\/127\.0\.0\.1:\d+/, 20_000);
  const outboundPort = async (timeoutMs = 10_000) => Number((await gateway.waitFor(/listener "virtualOutbound" on http:\/\/127\.0\.0\.1:(\d+)/, timeoutMs))[1]);
  return { gateway, inboundPort: s.inboundPort, outboundPort };
}
