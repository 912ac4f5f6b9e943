// gateway/worker.ts inside workerd fed by a real control plane (control/serve.ts with the translator, started in
// test/workers/global-setup.ts) over REST-JSON: the first request waits for a configuration, later requests poll in
// the background (ctx.waitUntil) and pick up changes, and the last good configuration keeps serving while the
// control plane is down.
import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { afterAll, describe, expect, inject, it } from "vitest";
import { createEdgeWorker, type WorkerEnv } from "../../gateway/worker.js";

const edge = inject("edge");
const lines: string[] = [];
const log = (line: string) => void lines.push(line);

const env: WorkerEnv = {
  HALYARD_XDS_URL: edge.controlPlaneUrl,
  HALYARD_NODE_ID: edge.nodeId,
  HALYARD_LABELS: edge.labels,
  HALYARD_POLL_INTERVAL_MS: "0",
};

async function call(w: ReturnType<typeof createEdgeWorker>, e: WorkerEnv, path: string, init?: RequestInit) {
  const ctx = createExecutionContext();
  const res = await w.fetch(new Request(`http://edge.example:8080${path}`, init), e, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

async function admin(action: string): Promise<void> {
  const res = await fetch(`${edge.adminUrl}/${action}`, { method: "POST" });
  if (res.status !== 200) throw new Error(`admin ${action}: ${res.status} ${await res.text()}`);
}

/** Requests until `accept` holds (bounded); returns the last response's route header and upstream. */
async function until(w: ReturnType<typeof createEdgeWorker>, accept: (route: string | null, upstream: string) => boolean, ms = 8000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const res = await call(w, env, "/pay");
    const route = res.headers.get("x-edge-route");
    const upstream = res.status === 200 ? ((await res.json()) as { upstream: string }).upstream : `status ${res.status}`;
    if (accept(route, upstream)) return { route, upstream };
    if (Date.now() > deadline) throw new Error(`timed out; last: route ${route}, upstream ${upstream}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

afterAll(async () => {
  await admin("control-plane/start");
  await admin("variant/a");
});

describe("edge worker polling a control plane (REST-JSON)", () => {
  const worker = createEdgeWorker({ log });

  it("waits for the first configuration on the first request, then serves through it", async () => {
    const res = await call(worker, env, "/pay");
    expect(res.status).toBe(200);
    expect(((await res.json()) as { upstream: string }).upstream).toBe("v1");
    expect(res.headers.get("x-edge-route")).toBe("stable");
    expect(lines.some((l) => /^halyard worker: configuration 1 in service \(\d+ listeners, \d+ clusters\)$/.test(l))).toBe(true);
  });

  it("picks up a change of the Istio config on a later poll", async () => {
    await admin("variant/b");
    expect(await until(worker, (route) => route === "stable-b")).toEqual({ route: "stable-b", upstream: "v2-canary" });
  });

  it("keeps serving the last good configuration while the control plane is down, and follows it when it is back", async () => {
    await admin("control-plane/stop");
    lines.length = 0;
    const during = await call(worker, env, "/pay");
    expect(during.status).toBe(200);
    expect(during.headers.get("x-edge-route")).toBe("stable-b");
    expect(lines.some((l) => l.startsWith(`halyard worker: xds: REST clusters: POST ${edge.controlPlaneUrl}/v3/discovery:clusters: `))).toBe(true);

    await admin("variant/a");
    await admin("control-plane/start");
    expect(await until(worker, (route) => route === "stable")).toEqual({ route: "stable", upstream: "v1" });
  });

  it("answers 503 with the reason while no control plane has answered", async () => {
    const down = `http://127.0.0.1:${edge.deadPort}`;
    const res = await call(createEdgeWorker({ log }), { ...env, HALYARD_XDS_URL: down }, "/pay");
    expect(res.status).toBe(503);
    expect(await res.text()).toMatch(new RegExp(`^halyard worker: no configuration from ${down.replaceAll(".", "\\.")} yet \\(POST ${down.replaceAll(".", "\\.")}/v3/discovery:\\w+: .+\\)\\n$`));
  });

  it("a node no Gateway selects gets a configuration without listeners, and says so", async () => {
    // Another node id: the control plane keeps one snapshot per node.
    const other = { ...env, HALYARD_NODE_ID: "router~10.0.0.10~other.production~production.svc.cluster.local", HALYARD_LABELS: "app=elsewhere" };
    const res = await call(createEdgeWorker({ log }), other, "/pay");
    expect(res.status).toBe(503);
    expect(await res.text()).toBe("halyard worker: the configuration has no listeners\n");
  });
});
