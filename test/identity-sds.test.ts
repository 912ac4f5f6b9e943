// SDS on a Unix socket (gateway/identity/sds-server.ts) with a real grpc-js client of envoy.service.secret.v3.
// SecretDiscoveryService: `default` and `ROOTCA` as Envoy receives them, ACK/NACK/stale nonces, a push when the
// workload certificate rotates on a short TTL, FetchSecrets, and the `halyard agent` CLI end to end.
import { spawn, type ChildProcess } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SECRET_TYPE } from "../control/xds/resource-types.js";
import { grpcServiceDefinition } from "../control/xds/grpc-service.js";
import { SecretSchema, type Secret } from "../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { DiscoveryRequestSchema, type DiscoveryRequest, type DiscoveryResponse } from "../gen/envoy/service/discovery/v3/discovery_pb.js";
import { SecretDiscoveryService } from "../gen/envoy/service/secret/v3/sds_pb.js";
import type { WorkloadCertificateManager } from "../gateway/identity/manager.js";
import { startSdsServer, type RunningSdsServer } from "../gateway/identity/sds-server.js";
import { describe as describeWorkload, parseDescribeArgs } from "../control/cli/xdescribe.js";
import { root } from "./helpers/gateway-process.js";
import { startTestCa, type TestCa } from "./helpers/identity.js";

const web = { namespace: "shop", serviceAccount: "web" };
const SdsClient = grpc.makeGenericClientConstructor(grpcServiceDefinition(SecretDiscoveryService), "SecretDiscoveryService");
type Client = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

let t: TestCa;
let dir: string;
let manager: WorkloadCertificateManager;
let sds: RunningSdsServer;
const logs: string[] = [];

beforeAll(async () => {
  t = await startTestCa();
  dir = mkdtempSync(join(tmpdir(), "halyard-sds-"));
  manager = await t.manager(web, { ttlMs: 4_000 });
  await manager.start();
  sds = await startSdsServer({ socketPath: join(dir, "var/run/secrets/workload-spiffe-uds/socket"), manager, log: (l) => logs.push(l) });
});
afterAll(async () => {
  await sds?.close();
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

const client = (socket = sds.socketPath) => new SdsClient(`unix:${socket}`, grpc.credentials.createInsecure()) as unknown as Client;

/** A StreamSecrets stream whose responses queue up for `next`. */
function openStream(c: Client) {
  const call = c.StreamSecrets!() as grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
  const queue: DiscoveryResponse[] = [];
  const waiters: Array<(r: DiscoveryResponse) => void> = [];
  let ended: grpc.ServiceError | undefined;
  call.on("data", (r: DiscoveryResponse) => (waiters.length ? waiters.shift()!(r) : queue.push(r)));
  call.on("error", (e: grpc.ServiceError) => (ended = e));
  return {
    send: (init: Partial<DiscoveryRequest>) => call.write(create(DiscoveryRequestSchema, { typeUrl: SECRET_TYPE, ...init } as never)),
    next: (timeoutMs = 2_000) =>
      new Promise<DiscoveryResponse>((resolve, reject) => {
        if (queue.length) return resolve(queue.shift()!);
        const timer = setTimeout(() => reject(new Error(`no response within ${timeoutMs} ms`)), timeoutMs);
        waiters.push((r) => (clearTimeout(timer), resolve(r)));
      }),
    /** Resolves true when nothing arrives for `ms`. */
    quiet: (ms: number) => new Promise<boolean>((resolve) => setTimeout(() => resolve(queue.length === 0), ms)),
    error: () => ended,
    close: () => call.cancel(),
  };
}

const text = (d: { specifier: { case?: string; value?: unknown } } | undefined) => new TextDecoder().decode(d?.specifier.value as Uint8Array);
const secrets = (r: DiscoveryResponse): Secret[] => r.resources.map((a) => anyUnpack(a, SecretSchema)!);
const serialOf = (s: Secret) => (s.type.case === "tlsCertificate" ? new X509Certificate(text(s.type.value.certificateChain)).serialNumber : undefined);

describe("StreamSecrets", () => {
  it("answers default and ROOTCA as Envoy expects them, waits after the ACK, and pushes when the certificate rotates", async () => {
    const c = client();
    const s = openStream(c);
    try {
      s.send({ resourceNames: ["default", "ROOTCA"] });
      const first = await s.next();
      expect(first.typeUrl).toBe(SECRET_TYPE);
      expect(first.versionInfo).toBe(String(manager.current().version));
      const [cert, rootCa] = secrets(first) as [Secret, Secret];
      expect(cert.name).toBe("default");
      expect(cert.type.case).toBe("tlsCertificate");
      if (cert.type.case !== "tlsCertificate") return;
      expect(text(cert.type.value.certificateChain)).toBe(manager.current().certificateChain);
      expect(text(cert.type.value.privateKey)).toBe(manager.current().privateKey);
      expect(rootCa.name).toBe("ROOTCA");
      expect(rootCa.type.case === "validationContext" && text(rootCa.type.value.trustedCa)).toBe(manager.current().rootCert);
      expect(new X509Certificate(text(cert.type.value.certificateChain)).subjectAltName).toBe("URI:spiffe://cluster.local/ns/shop/sa/web");

      s.send({ resourceNames: ["default", "ROOTCA"], versionInfo: first.versionInfo, responseNonce: first.nonce }); // ACK
      // The 4 s certificate rotates at about 2 s: the next response is that push, with a new version and serial.
      const pushed = await s.next(5_000);
      expect(Number(pushed.versionInfo)).toBe(Number(first.versionInfo) + 1);
      expect(pushed.nonce).not.toBe(first.nonce);
      expect(serialOf(secrets(pushed)[0]!)).toBe(manager.current().serialNumber);
      expect(serialOf(secrets(pushed)[0]!)).not.toBe(serialOf(cert));
      expect(s.error()).toBeUndefined();
    } finally {
      s.close();
      c.close();
    }
  }, 15_000);

  it("a NACK is logged and not answered; a stale nonce is ignored; new resource names are answered at once", async () => {
    const c = client();
    const s = openStream(c);
    try {
      s.send({ resourceNames: ["default"] });
      const first = await s.next();
      expect(secrets(first).map((x) => x.name)).toEqual(["default"]);
      s.send({ resourceNames: ["default"], versionInfo: "", responseNonce: first.nonce, errorDetail: { code: 3, message: "bad certificate" } as never });
      s.send({ resourceNames: ["ROOTCA"], responseNonce: "stale-nonce" });
      s.send({ resourceNames: ["default", "ROOTCA"], versionInfo: first.versionInfo, responseNonce: first.nonce });
      const widened = await s.next();
      expect(secrets(widened).map((x) => x.name)).toEqual(["default", "ROOTCA"]);
      expect(logs.some((l) => /^sds: NACK of version \d*: bad certificate$/.test(l))).toBe(true);
    } finally {
      s.close();
      c.close();
    }
  });

  it("a ROOTCA-only stream is not pushed when only the workload certificate rotated", async () => {
    const c = client();
    const s = openStream(c);
    try {
      s.send({ resourceNames: ["ROOTCA"] });
      const first = await s.next();
      s.send({ resourceNames: ["ROOTCA"], versionInfo: first.versionInfo, responseNonce: first.nonce });
      await manager.rotate();
      expect(await s.quiet(300)).toBe(true);
    } finally {
      s.close();
      c.close();
    }
  });

  it("another type_url ends the stream with INVALID_ARGUMENT", async () => {
    const c = client();
    const s = openStream(c);
    try {
      s.send({ typeUrl: "type.googleapis.com/envoy.config.cluster.v3.Cluster" });
      await new Promise((r) => setTimeout(r, 300));
      expect(s.error()?.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(s.error()?.details).toMatch(/^type_url type\.googleapis\.com\/envoy\.config\.cluster\.v3\.Cluster: this SDS server serves /);
    } finally {
      c.close();
    }
  });
});

describe("FetchSecrets", () => {
  it("returns the current secrets", async () => {
    const c = client();
    try {
      const res = await new Promise<DiscoveryResponse>((resolve, reject) =>
        c.FetchSecrets!(create(DiscoveryRequestSchema, { resourceNames: ["default"] }), (e: Error | null, r: DiscoveryResponse) => (e ? reject(e) : resolve(r))),
      );
      expect(res.versionInfo).toBe(String(manager.current().version));
      expect(serialOf(secrets(res)[0]!)).toBe(manager.current().serialNumber);
    } finally {
      c.close();
    }
  });
});

describe("halyard x describe --sds-socket", () => {
  it("shows the SPIFFE ID and expiry of the certificate the agent serves now", async () => {
    const args = parseDescribeArgs(["--node", "sidecar~10.0.0.11~reviews-v1.shop~shop.svc.cluster.local", "-f", "test/fixtures/translate-mtls", "--sds-socket", sds.socketPath]);
    if ("error" in args) throw new Error(args.error);
    const out = await describeWorkload(args);
    expect(out).toContain(`Certificate (SDS "default" from the agent on ${sds.socketPath}):\n  SPIFFE ID: spiffe://cluster.local/ns/shop/sa/web\n  valid:     `);
    // A 4 s certificate: valid from two minutes back (the CA backdates) to a few seconds ahead.
    expect(out).toMatch(/ \.\. \d{4}-\d\d-\d\dT[\d:.]+Z \(expires in 1m\)\n$/);
  });

  it("a socket nobody serves, and --cert with --sds-socket, are one-line errors", async () => {
    const args = parseDescribeArgs(["--node", "sidecar~10.0.0.11~reviews-v1.shop~shop.svc.cluster.local", "-f", "test/fixtures/translate-mtls", "--sds-socket", join(dir, "nobody.sock")]);
    if ("error" in args) throw new Error(args.error);
    const err = await describeWorkload(args).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/^--sds-socket .*nobody\.sock: (UNAVAILABLE|DEADLINE_EXCEEDED): /);
    expect(err?.message).not.toContain("\n");
    expect(parseDescribeArgs(["--node", "x", "-f", "y", "--cert", "c.pem", "--sds-socket", "s"])).toEqual({ error: expect.stringMatching(/^give --cert or --sds-socket, not both; usage: /) });
  }, 15_000);
});

describe("halyard agent", () => {
  const bin = join(root, "bin/halyard.js");
  let child: ChildProcess | undefined;
  afterAll(() => {
    child?.kill("SIGTERM");
  });

  it("gets the workload certificate from --ca with --token-file and serves it on --sds-socket", async () => {
    if (!existsSync(join(root, "dist/gateway/identity/agent-cli.js"))) throw new Error("dist/gateway/identity/agent-cli.js is missing: run `node scripts/build.js ts` first");
    const rootFile = join(dir, "root.pem");
    writeFileSync(rootFile, t.ca.rootCertPem);
    const socket = join(dir, "agent.sock");
    const tokenFile = await t.tokenFile(web);
    child = spawn(process.execPath, [bin, "agent", "--node", "sidecar~10.0.0.5~web-1.shop~shop.svc.cluster.local", "--ca", t.address, "--token-file", tokenFile, "--ca-root", rootFile, "--sds-socket", socket], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (err += d));
    const deadline = Date.now() + 15_000;
    while (!/sds on unix:/.test(out) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 25));
    expect(out, `stderr: ${err}`).toMatch(/^halyard agent: sds on unix:.*agent\.sock \(secrets "default" and "ROOTCA" for spiffe:\/\/cluster\.local\/ns\/shop\/sa\/web\)$/m);
    const c = client(socket);
    const s = openStream(c);
    try {
      s.send({ resourceNames: ["default"] });
      const [secret] = secrets(await s.next());
      expect(secret!.type.case === "tlsCertificate" && new X509Certificate(text(secret!.type.value.certificateChain)).subjectAltName).toBe("URI:spiffe://cluster.local/ns/shop/sa/web");
    } finally {
      s.close();
      c.close();
    }
    child.kill("SIGTERM");
    const code = await new Promise<number | null>((r) => child!.once("exit", r));
    expect(code).toBe(0);
    expect(existsSync(socket)).toBe(false);
  }, 20_000);

  it("`halyard gateway --xds … --ca … --token-file …` obtains the workload certificate before serving", async () => {
    const tokenFile = await t.tokenFile(web);
    const rootFile = join(dir, "root-gw.pem");
    writeFileSync(rootFile, t.ca.rootCertPem);
    const gw = spawn(process.execPath, [bin, "gateway", "--xds", "127.0.0.1:1", "--node", "router~127.0.0.1~ingress.shop~shop.svc.cluster.local", "--ca", t.address, "--token-file", tokenFile, "--ca-root", rootFile, "--access-log", "off"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    gw.stdout!.on("data", (d) => (out += d));
    gw.stderr!.on("data", (d) => (err += d));
    try {
      const deadline = Date.now() + 15_000;
      while (!/xds: ADS/.test(out) && Date.now() < deadline && gw.exitCode === null) await new Promise((r) => setTimeout(r, 25));
      expect(out, `stderr: ${err}`).toMatch(/^halyard gateway: identity: certificate for spiffe:\/\/cluster\.local\/ns\/shop\/sa\/web \(serial [0-9A-F]+, expires \S+, renewal \S+\)$/m);
    } finally {
      gw.kill("SIGTERM");
      await new Promise((r) => gw.once("exit", r));
    }
    const bad = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const p = spawn(process.execPath, [bin, "gateway", "--xds", "127.0.0.1:1", "--node", "router~127.0.0.1~ingress.shop~shop.svc.cluster.local", "--ca", t.address], { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      p.stderr!.on("data", (d) => (stderr += d));
      p.on("exit", (code) => resolve({ code, stderr }));
    });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^halyard gateway: --token-file <file> is required with --ca\n/);
  }, 30_000);

  it("argument and identity errors are one line, exit 1", async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const p = spawn(process.execPath, [bin, "agent", ...args], { stdio: ["ignore", "ignore", "pipe"] });
        let stderr = "";
        p.stderr!.on("data", (d) => (stderr += d));
        p.on("exit", (code) => resolve({ code, stderr }));
      });
    const tokenFile = await t.tokenFile(web);
    const node = "sidecar~10.0.0.5~web-1.shop~shop.svc.cluster.local";
    for (const [args, message] of [
      [["--ca", t.address, "--token-file", tokenFile], /^halyard agent: --node is required; usage: /],
      [["--node", node, "--token-file", tokenFile], /^halyard agent: --ca <host:port> \(or --xds, for <xds host>:15012\) is required; usage: /],
      [["--node", node, "--ca", t.address], /^halyard agent: --token-file <file> is required with --ca; usage: /],
      [["--node", node, "--ca", "nope", "--token-file", tokenFile], /^halyard agent: --ca: "nope" is not host:port; usage: /],
      [["--node", "web", "--ca", t.address, "--token-file", tokenFile], /^halyard agent: --node: node id "web": expected 4 parts/],
      [["--node", "sidecar~10.0.0.5~web-1.other~other.svc.cluster.local", "--ca", t.address, "--token-file", tokenFile, "--ca-root", join(dir, "missing.pem")], /^halyard agent: --token-file .*: the token is for shop\/web, but --node is in namespace other$/],
      [["--node", node, "--ca", t.address, "--token-file", tokenFile, "--ca-root", join(dir, "missing.pem")], /^halyard agent: --ca-root .*missing\.pem: no such file$/],
    ] as [string[], RegExp][]) {
      const r = await run(args);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toMatch(message);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
    }
  }, 30_000);
});
