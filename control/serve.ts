// `halyard serve` wiring: the config store (loaded and watched), a SnapshotBuilder turning config into each
// node's resources, the snapshot cache, the xDS gRPC server and the HTTP port (REST-JSON xDS, debug, health).
// What to serve is the builder's business (the translator plugs in here); this module only keeps it current.
import type { Hono } from "hono";
import { openControlPlaneCa, type ControlPlaneCa, type ControlPlaneCaOptions } from "./ca/control-plane.js";
import { addWasmRoute, defaultWasmUrl, readWasmModule, type WasmModuleFile } from "./serve-wasm.js";
import type { ConfigSet } from "./config/config-set.js";
import { formatError, type ConfigError } from "./config/errors.js";
import { ConfigStore } from "./config/store.js";
import { XdsGrpcServer, type BoundAddress } from "./xds/ads.js";
import { SnapshotCache } from "./xds/cache.js";
import { debounce } from "./xds/debounce.js";
import { createXdsHttpApp } from "./xds/http-app.js";
import { startHttpServer, type RunningHttpServer } from "./xds/http-server.js";
import type { XdsNode } from "./xds/node.js";
import { buildSnapshot, isSnapshot, type Snapshot, type SnapshotResources } from "./xds/snapshot.js";
import { SyncStatus } from "./xds/sync-status.js";
import { TimeSlicer } from "./xds/time-slice.js";

export interface SnapshotBuilder {
  /**
   * The resources `node` is served under `config`, or its finished snapshot (a builder that shares encoded
   * resources between nodes). A throw is logged; the node keeps its previous snapshot.
   */
  build(config: ConfigSet, node: XdsNode): SnapshotResources | Snapshot | Promise<SnapshotResources | Snapshot>;
  /** Called once with a function the builder calls when its output changed without a config change (refreshed JWKS). */
  watch?(push: () => void): void;
}

/** halyard.wasm as this control plane serves it: where proxies fetch it and the digest they check. */
export interface ServedWasm {
  url: string;
  sha256: string;
}

/** Makes the builder once the HTTP port is bound, for builders that point proxies at it (remote halyard.wasm). */
export type SnapshotBuilderFactory = (served: { wasm?: ServedWasm }) => SnapshotBuilder;

export interface ServeOptions {
  /** Config files and directories (read recursively), as for `halyard validate -f`. */
  paths: readonly string[];
  builder: SnapshotBuilder | SnapshotBuilderFactory;
  /**
   * Serve this halyard.wasm at GET /wasm/halyard.wasm on the HTTP port (read once at startup). `url`: how proxies
   * reach it; default `http://<host>:<http port>/wasm/halyard.wasm` (required when host is 0.0.0.0 or ::).
   */
  wasm?: { file: string; url?: string };
  /** Bind address for both ports. Default 0.0.0.0. */
  host?: string;
  /** Default 15010 (0: ephemeral). */
  xdsPort?: number;
  /** Default 15014 (0: ephemeral). */
  httpPort?: number;
  /**
   * Quiet period before a config change is pushed (snapshots rebuilt), counted from the file event that started the
   * reload (so the reload's own time counts toward it). Default 100 ms.
   */
  pushDebounceMs?: number;
  /** A node without streams for this long is forgotten at the next rebuild. Default 10 minutes. */
  idleNodeTtlMs?: number;
  /** The mesh CA and its certificate API (istio.v1.auth over TLS, port default 15012). Absent: no CA. */
  ca?: ControlPlaneCaOptions;
  /** Adds routes to the HTTP port's app (after the built-in ones). */
  httpRoutes?: (app: Hono) => void;
  log?: (line: string) => void;
}

export interface ControlPlane {
  xds: BoundAddress;
  http: { host: string; port: number };
  cache: SnapshotCache;
  status: SyncStatus;
  /** halyard.wasm's URL and sha256, when serving it. */
  wasm?: ServedWasm;
  /** The certificate API's address and the mesh root, when serving a CA. */
  ca?: { host: string; port: number; rootCertPem: string };
  /** Rebuilds every known node's snapshot now (as a config change does, without the debounce). */
  rebuild(): Promise<void>;
  close(): Promise<void>;
}

/** The initial config did not load; `errors` are the one-line config errors. */
export class ServeConfigError extends Error {
  override name = "ServeConfigError";
  constructor(readonly errors: readonly ConfigError[]) {
    super(`config has ${errors.length} error${errors.length === 1 ? "" : "s"}`);
  }
}

export async function serve(options: ServeOptions): Promise<ControlPlane> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const host = options.host ?? "0.0.0.0";
  const idleTtl = options.idleNodeTtlMs ?? 10 * 60_000;
  const store = new ConfigStore();
  let ready = false;
  // Known once the HTTP port is bound (a factory may need its address); no xDS client connects before that.
  let builder: SnapshotBuilder | undefined = typeof options.builder === "function" ? undefined : options.builder;

  const snapshotFor = async (node: XdsNode): Promise<Snapshot | undefined> => {
    const config = store.config;
    if (!config || !builder) return undefined;
    try {
      const built = await builder.build(config, node);
      return isSnapshot(built) ? built : buildSnapshot(built as SnapshotResources);
    } catch (e) {
      log(`xds: node "${node.id}": building its configuration failed, keeping the previous one: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
  };

  const cache = new SnapshotCache({ provider: snapshotFor, log });
  const status = new SyncStatus();

  const rebuildAll = async () => {
    const now = Date.now();
    const slicer = new TimeSlicer();
    for (const { node, streams, lastSeen } of cache.knownNodes()) {
      await slicer.pause();
      if (streams === 0 && now - lastSeen > idleTtl) {
        cache.forgetNode(node.id);
        continue;
      }
      const snapshot = await snapshotFor(node);
      if (snapshot) cache.setSnapshot(node.id, snapshot);
    }
  };
  const pusher = debounce(rebuildAll, { quietMs: options.pushDebounceMs ?? 100, onError: (e) => log(`xds: rebuild failed: ${String(e)}`) });

  const wasmModule: WasmModuleFile | undefined = options.wasm && (await readWasmModule(options.wasm.file));
  const initial = await store.watch(options.paths, (result) => {
    if (result.ok) pusher.trigger(result.changedAt);
    else {
      log(`config: ${result.errors.length} error(s); still serving the last valid config`);
      for (const e of result.errors) log(formatError(e));
    }
  });
  if (!initial.ok) {
    store.close();
    throw new ServeConfigError(initial.errors);
  }

  const grpcServer = new XdsGrpcServer({ cache, status, log });
  let http: RunningHttpServer | undefined;
  let ca: ControlPlaneCa | undefined;
  try {
    if (options.ca) ca = await openControlPlaneCa({ ...options.ca, log });
    const app = createXdsHttpApp(cache, { status, config: () => store.config, ready: () => ready });
    ca?.addHttpRoutes(app);
    if (wasmModule) addWasmRoute(app, wasmModule);
    options.httpRoutes?.(app);
    http = await startHttpServer(app, host, options.httpPort ?? 15014);
    const wasm = wasmModule && { url: options.wasm?.url ?? defaultWasmUrl(http.host, http.port), sha256: wasmModule.sha256 };
    if (typeof options.builder === "function") builder = options.builder(wasm ? { wasm } : {});
    builder?.watch?.(() => pusher.trigger());
    const xds = await grpcServer.listen(host, options.xdsPort ?? 15010);
    const caAddress = await ca?.listen(host);
    ready = true;
    let closing: Promise<void> | undefined;
    return {
      xds,
      http: { host: http.host, port: http.port },
      ...(wasm ? { wasm } : {}),
      cache,
      status,
      ca: ca && caAddress && { ...caAddress, rootCertPem: ca.rootCertPem },
      rebuild: async () => {
        pusher.cancel();
        await pusher.flush();
        await rebuildAll();
      },
      close: () =>
        (closing ??= (async () => {
          ready = false;
          pusher.cancel();
          store.close();
          await pusher.flush();
          await Promise.all([grpcServer.close(), http!.close(), ca?.close()]);
        })()),
    };
  } catch (e) {
    store.close();
    pusher.cancel();
    await Promise.all([grpcServer.close(0), http?.close(), ca?.close()]);
    throw e;
  }
}
