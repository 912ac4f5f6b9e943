// Runs in Node before the workers tests: the real things the worker inside workerd talks to, all on 127.0.0.1 with
// ephemeral ports —
// - payment-service's workloads as node:http upstreams (v1, v2-canary; v2's port refuses connections);
// - the examples/payments config plus test/workers/fixtures/edge-gateway.yaml (listener 0.0.0.0_8080), with the
//   workloads' real ports,
//   translated by `halyard proxy-config all -o json` (the CLI's own code) into the snapshot the worker bundles;
// - a real control plane (`serve()` with the translator) over the same directory, for REST-JSON polling;
// - a small admin server the tests use to switch the edge config to variant b and to stop/start the control plane.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { runProxyConfig } from "../../control/cli/proxy-config.js";
import { serve, type ControlPlane } from "../../control/serve.js";
import { createSnapshotBuilder } from "../../control/translate/xds/index.js";

export const EDGE_NODE_ID = "router~10.0.0.9~edge.production~production.svc.cluster.local";
export const EDGE_LABELS = "istio=ingressgateway";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));
const PAYMENTS = here("../../examples/payments/");
const FIXTURES = here("./fixtures/");

/**
 * An upstream that answers with what it received, and over how long the body arrived (`bodySpreadMs`: first to last
 * chunk); /slow... waits 1.5 s first.
 */
function startUpstream(name: string): Promise<Server> {
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    let firstAt = 0;
    let lastAt = 0;
    req.on("data", (c: Buffer) => {
      lastAt = Date.now();
      firstAt ||= lastAt;
      chunks.push(c);
    });
    req.on("end", () => {
      const answer = () => {
        res.setHeader("content-type", "application/json");
        res.setHeader("x-upstream", name);
        res.setHeader("set-cookie", [`a=${name}`, "b=2"]);
        const body = Buffer.concat(chunks).toString("utf8");
        res.end(JSON.stringify({ upstream: name, method: req.method, url: req.url, headers: req.headers, body, bodySpreadMs: lastAt - firstAt }));
      };
      if (req.url?.startsWith("/slow")) setTimeout(answer, 1500);
      else answer();
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

const portOf = (s: Server) => (s.address() as AddressInfo).port;

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = portOf(s);
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function translateSnapshot(dir: string): Promise<string> {
  let out = "";
  let err = "";
  const code = await runProxyConfig(["all", "-o", "json", "--node", EDGE_NODE_ID, "--label", EDGE_LABELS, "-f", dir], {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
  });
  if (code !== 0) throw new Error(`halyard proxy-config failed: ${err.trim()}`);
  return out;
}

export default async function setup({ provide }: TestProject): Promise<() => Promise<void>> {
  const [v1, canary] = await Promise.all([startUpstream("v1"), startUpstream("v2-canary")]);
  const v2Port = await closedPort();
  const dir = mkdtempSync(join(tmpdir(), "halyard-workers-"));
  const service = readFileSync(join(PAYMENTS, "service.yaml"), "utf8")
    .replace("http: 18081", `http: ${portOf(v1)}`)
    .replace("http: 18082", `http: ${v2Port}`)
    .replace("http: 18083", `http: ${portOf(canary)}`);
  writeFileSync(join(dir, "service.yaml"), service);
  // Whatever else the example holds (its own Gateway too): the config set stays the example's.
  for (const f of readdirSync(PAYMENTS)) if (f.endsWith(".yaml") && f !== "service.yaml") copyFileSync(join(PAYMENTS, f), join(dir, f));
  const useVariant = (v: "a" | "b") => copyFileSync(join(FIXTURES, v === "a" ? "edge-gateway.yaml" : "edge-gateway-b.yaml"), join(dir, "edge-gateway.yaml"));
  useVariant("a");

  const snapshot = await translateSnapshot(dir);
  const startPlane = (httpPort = 0) =>
    serve({ paths: [dir], builder: createSnapshotBuilder(), host: "127.0.0.1", xdsPort: 0, httpPort, pushDebounceMs: 20, log: () => {} });
  let cp: ControlPlane | undefined = await startPlane();
  const cpPort = cp.http.port;

  const admin = createServer((req, res) => {
    const done = (status: number, body: string) => {
      res.statusCode = status;
      res.end(body);
    };
    const run = async () => {
      if (req.method !== "POST") return done(405, "POST only");
      if (req.url === "/variant/a" || req.url === "/variant/b") {
        useVariant(req.url.endsWith("a") ? "a" : "b");
        return done(200, "ok");
      }
      if (req.url === "/control-plane/stop") {
        await cp?.close();
        cp = undefined;
        return done(200, "stopped");
      }
      if (req.url === "/control-plane/start") {
        cp ??= await startPlane(cpPort);
        return done(200, "started");
      }
      done(404, "unknown");
    };
    run().catch((e: unknown) => done(500, String(e)));
  });
  await new Promise<void>((r) => admin.listen(0, "127.0.0.1", r));

  provide("edge", {
    snapshot,
    nodeId: EDGE_NODE_ID,
    labels: EDGE_LABELS,
    controlPlaneUrl: `http://127.0.0.1:${cpPort}`,
    adminUrl: `http://127.0.0.1:${portOf(admin)}`,
    upstreams: { v1: portOf(v1), v2: v2Port, canary: portOf(canary) },
    deadPort: await closedPort(),
  });

  return async () => {
    await cp?.close();
    for (const s of [v1, canary, admin]) {
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

declare module "vitest" {
  export interface ProvidedContext {
    edge: {
      snapshot: string;
      nodeId: string;
      labels: string;
      controlPlaneUrl: string;
      adminUrl: string;
      upstreams: { v1: number; v2: number; canary: number };
      /** Nothing listens here: a control plane or endpoint that is down. */
      deadPort: number;
    };
  }
}
