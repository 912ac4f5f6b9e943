// An xDS control plane for tests: cache + gRPC server + HTTP app (REST xDS, /debug) on 127.0.0.1, ephemeral ports.
import { afterAll, afterEach, beforeAll } from "vitest";
import { XdsGrpcServer } from "../../control/xds/ads.js";
import { SnapshotCache } from "../../control/xds/cache.js";
import { createXdsHttpApp } from "../../control/xds/http-app.js";
import { startHttpServer, type RunningHttpServer } from "../../control/xds/http-server.js";
import type { SyncReport } from "../../control/xds/sync-status.js";
import { SyncStatus } from "../../control/xds/sync-status.js";

export interface TestControlPlane {
  cache: SnapshotCache;
  status: SyncStatus;
  xdsPort: number;
  httpUrl: string;
  /** Lines the server logged (NACKs, protocol errors). */
  logs: string[];
  syncz(): Promise<SyncReport>;
  close(): Promise<void>;
}

export async function startControlPlane(options: { writePartsFromBytes?: number } = {}): Promise<TestControlPlane> {
  const logs: string[] = [];
  const log = (line: string) => logs.push(line);
  const cache = new SnapshotCache({ log });
  const status = new SyncStatus();
  const grpcServer = new XdsGrpcServer({ cache, status, log, ...options });
  const { port } = await grpcServer.listen("127.0.0.1", 0);
  let http: RunningHttpServer;
  try {
    http = await startHttpServer(createXdsHttpApp(cache, { status, config: () => undefined, ready: () => true }), "127.0.0.1", 0);
  } catch (e) {
    await grpcServer.close(0);
    throw e;
  }
  const httpUrl = `http://127.0.0.1:${http.port}`;
  return {
    cache,
    status,
    xdsPort: port,
    httpUrl,
    logs,
    syncz: async () => (await (await fetch(`${httpUrl}/debug/syncz`)).json()) as SyncReport,
    close: async () => {
      await Promise.all([grpcServer.close(500), http.close()]);
    },
  };
}

/** The bootstrap a proxyless gRPC client needs to use this control plane over ADS. */
export function grpcBootstrap(xdsPort: number, nodeId: string): string {
  return JSON.stringify({
    xds_servers: [{ server_uri: `127.0.0.1:${xdsPort}`, channel_creds: [{ type: "insecure" }], server_features: ["xds_v3"] }],
    node: { id: nodeId, locality: { region: "local", zone: "a" }, metadata: { NAMESPACE: "default", GENERATOR: "grpc" } },
  });
}

/** Polls `check` every 20 ms until it returns a value, or fails after `timeoutMs` with `what`. */
export async function waitFor<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * One control plane for a test file (started before its tests, closed after them) and raw xDS streams opened by
 * `open`, each closed after the test that opened it.
 */
export function useControlPlane<S extends { close(): void }>(
  open?: (xdsPort: number) => S,
): { readonly cp: TestControlPlane; stream(): S; track<T extends { close(): void }>(s: T): T } {
  let cp: TestControlPlane | undefined;
  const streams: { close(): void }[] = [];
  beforeAll(async () => {
    cp = await startControlPlane();
  });
  afterEach(() => {
    for (const s of streams.splice(0)) s.close();
  });
  afterAll(async () => {
    await cp?.close();
  });
  return {
    get cp() {
      if (!cp) throw new Error("the control plane is not started (use it inside a test)");
      return cp;
    },
    stream() {
      if (!open) throw new Error("useControlPlane() was given no way to open a stream");
      return this.track(open(this.cp.xdsPort));
    },
    /** Closes `s` after the current test too (a stream opened some other way). */
    track(s) {
      streams.push(s);
      return s;
    },
  };
}
