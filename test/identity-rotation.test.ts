// Certificate rotation in the data plane: a gateway TLS listener terminating mesh mTLS with SDS `default` /
// `ROOTCA` from workloadSecrets(manager), the manager renewing a 4 s certificate from the real CA over gRPC. A
// steady client load (one keep-alive connection plus a fresh connection every few ms) runs across three rotations:
// no request fails, the keep-alive connection is never cut, and fresh handshakes see each new serial.
import { X509Certificate } from "node:crypto";
import { Agent, request as httpsRequest } from "node:https";
import type { TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseBootstrap } from "../gateway/bootstrap/parse.js";
import { startGateway, type RunningGateway } from "../gateway/gateway.js";
import type { WorkloadCertificateManager } from "../gateway/identity/manager.js";
import { workloadSecrets } from "../gateway/identity/workload-secrets.js";
import { bootstrap, listener, staticCluster } from "./helpers/envoy-bootstrap.js";
import { startUpstream, type Upstream } from "./helpers/gateway-process.js";
import { startTestCa, type TestCa } from "./helpers/identity.js";

const DOWNSTREAM_TLS = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";
const sds = (name: string) => ({ name, sds_config: { ads: {}, resource_api_version: "V3" } });
const web = { namespace: "shop", serviceAccount: "web" };

let t: TestCa;
let upstream: Upstream;
let gw: RunningGateway;
let manager: WorkloadCertificateManager;
let client: { cert: string; key: string };

beforeAll(async () => {
  [t, upstream] = await Promise.all([startTestCa(), startUpstream("app")]);
  manager = await t.manager(web, { ttlMs: 4_000 });
  await manager.start();
  const issued = await t.ca.issueWithNewKey({ uris: [t.ca.spiffeIdOf({ namespace: "shop", serviceAccount: "caller" })], ttlMs: 3_600_000 });
  client = { cert: issued.certChainPem.join(""), key: issued.privateKeyPem };
  const l = listener({ name: "inbound-mtls", port: 0, virtualHosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "app" } }] }] });
  (l.filter_chains[0] as Record<string, unknown>).transport_socket = {
    name: "envoy.transport_sockets.tls",
    typed_config: {
      "@type": DOWNSTREAM_TLS,
      require_client_certificate: true,
      common_tls_context: {
        tls_certificate_sds_secret_configs: [sds("default")],
        combined_validation_context: { default_validation_context: {}, validation_context_sds_secret_config: sds("ROOTCA") },
        alpn_protocols: ["http/1.1"],
      },
    },
  };
  const config = parseBootstrap("rotation.yaml", JSON.stringify(bootstrap([l], [staticCluster("app", [upstream.port])])), { resolvePath: (p) => p, secrets: workloadSecrets(manager) });
  gw = await startGateway(config);
}, 30_000);

afterAll(async () => {
  await gw?.close();
  await upstream?.close();
  await t?.close();
});

interface Result {
  status: number;
  serial: string;
  socket: TLSSocket;
  startedAt: number;
}

function get(port: number, path: string, agent: Agent | false): Promise<Result> {
  const startedAt = Date.now();
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: "127.0.0.1", port, path, agent, ca: t.ca.rootCertPem, cert: client.cert, key: client.key, checkServerIdentity: () => undefined },
      (res) => {
        // Read before the end: a keep-alive socket goes back to the agent's pool then.
        const socket = res.socket as TLSSocket;
        const serial = socket.getPeerCertificate().serialNumber;
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, serial, socket, startedAt }));
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error("timed out")));
    req.on("error", reject);
    req.end();
  });
}

describe("rotation under load", () => {
  it("three rotations of a 4 s certificate: zero failed requests, the open connection lives on, new handshakes get each new serial", async () => {
    const port = gw.listeners[0]!.address.port;
    const rotations: Array<{ at: number; serial: string }> = [{ at: 0, serial: manager.current().serialNumber }];
    manager.onRotate((c) => rotations.push({ at: Date.now(), serial: c.serialNumber }));
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    const fresh: Result[] = [];
    const kept: Result[] = [];
    const failures: string[] = [];
    const deadline = Date.now() + 12_000;
    // Three rotations, then a little more load so the last certificate meets new connections too.
    const done = () => (rotations.length >= 4 && Date.now() > rotations[3]!.at + 300) || Date.now() > deadline;
    const loop = async (agent: Agent | false, into: Result[], pauseMs: number) => {
      while (!done()) {
        try {
          const r = await get(port, `/load-${into.length}`, agent);
          if (r.status !== 200) failures.push(`status ${r.status}`);
          into.push(r);
        } catch (e) {
          failures.push((e as Error).message);
        }
        await new Promise((r) => setTimeout(r, pauseMs));
      }
    };
    try {
      await Promise.all([loop(keepAlive, kept, 5), loop(false, fresh, 20), loop(false, fresh, 20)]);
    } finally {
      keepAlive.destroy();
    }
    expect(rotations.length).toBeGreaterThanOrEqual(4);
    expect(failures).toEqual([]);
    expect(fresh.length).toBeGreaterThan(50);
    expect(kept.length).toBeGreaterThan(50);

    // The keep-alive connection was never cut: one socket, still presenting the certificate it started with.
    expect(new Set(kept.map((r) => r.socket)).size).toBe(1);
    expect(new Set(kept.map((r) => r.serial))).toEqual(new Set([rotations[0]!.serial]));

    // Each fresh handshake got the certificate current when it started or one installed while it was in flight.
    const currentAt = (at: number) => [...rotations].reverse().find((r) => r.at <= at)!.serial;
    for (const r of fresh) expect([currentAt(r.startedAt), currentAt(r.startedAt + 1_000)]).toContain(r.serial);
    // ... and every certificate of the run was served to new connections.
    const served = new Set(fresh.map((r) => r.serial));
    for (const { serial } of rotations.slice(0, 4)) expect(served.has(serial)).toBe(true);
    expect(rotations[3]!.serial).toBe(new X509Certificate(manager.current().certificateChain).serialNumber);
  }, 20_000);
});
