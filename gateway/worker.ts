// The halyard gateway as a Workers module (wrangler.jsonc at the repository root points here): every request goes
// through the same HTTP connection manager, wasm filter chain and router as on Node, with upstream requests made
// by fetch(). Configuration comes from a snapshot (HALYARD_SNAPSHOT, or bundled by an entry module of your own via
// createEdgeWorker({ snapshot })) or from a control plane polled over REST-JSON (HALYARD_XDS_URL, HALYARD_NODE_ID).
// See gateway/WORKERS.md.
//
// halyard.wasm is imported statically: Workers refuse to compile wasm at run time, so the bundler hands the worker
// a compiled module, and every wasm filter from the configuration runs it (its code.local.filename or code.remote
// is not read). Nothing in this module's import graph may be Node-only.
import halyardWasm from "../wasm/build/halyard.wasm";
import { EnvError, readSettings, type EdgeSettings, type WorkerEnv } from "./edge/env.js";
import { NodeConfigError } from "./edge/node.js";
import { EdgeRuntime, errorResponse, type WaitUntil } from "./edge/runtime.js";
import type { UpstreamTransport } from "./upstream.js";

export type { WorkerEnv } from "./edge/env.js";

export interface EdgeWorkerOptions {
  /** A snapshot bundled with the worker (e.g. `import snapshot from "./snapshot.json"`); then env gives none. */
  snapshot?: unknown;
  /** Default: the statically imported halyard.wasm. */
  wasm?: WebAssembly.Module;
  /** For REST-JSON polling; default fetch(). */
  fetch?: typeof fetch;
  /** To upstream endpoints; default fetch(). */
  transport?: UpstreamTransport;
  log?(line: string): void;
}

export interface EdgeWorker {
  fetch(request: Request, env: WorkerEnv, ctx: WaitUntil): Promise<Response>;
  /** The runtime serving requests, once the first request created it (tests, debugging). */
  readonly runtime: EdgeRuntime | undefined;
}

const SETTING_KEYS: readonly (keyof WorkerEnv)[] = [
  "HALYARD_SNAPSHOT", "HALYARD_XDS_URL", "HALYARD_NODE_ID", "HALYARD_LABELS", "HALYARD_POLL_INTERVAL_MS", "HALYARD_LISTENER", "HALYARD_LOG_LEVEL",
];

/**
 * A Workers fetch handler. The gateway is built on the first request and kept for the isolate's life; it is built
 * again only if the environment's halyard settings change (a new deployment gets a new isolate anyway).
 */
export function createEdgeWorker(options: EdgeWorkerOptions = {}): EdgeWorker {
  let current: { env: WorkerEnv; values: unknown[]; runtime: EdgeRuntime | string } | undefined;
  const log = options.log ?? ((line: string) => console.log(line));

  const runtimeFor = (env: WorkerEnv): EdgeRuntime | string => {
    if (current && (current.env === env || sameValues(current.values, env))) return current.runtime;
    let runtime: EdgeRuntime | string;
    try {
      const settings: EdgeSettings = readSettings(env ?? {}, options.snapshot);
      runtime = new EdgeRuntime(settings, {
        wasm: options.wasm ?? halyardWasm,
        log,
        ...(options.fetch ? { fetch: options.fetch } : {}),
        ...(options.transport ? { transport: options.transport } : {}),
      });
    } catch (e) {
      if (!(e instanceof EnvError || e instanceof NodeConfigError)) throw e;
      runtime = e.message;
      log(`halyard worker: ${e.message}`);
    }
    current = { env, values: SETTING_KEYS.map((k) => env?.[k]), runtime };
    return runtime;
  };

  return {
    fetch(request, env, ctx) {
      const runtime = runtimeFor(env);
      return typeof runtime === "string" ? Promise.resolve(errorResponse(runtime)) : runtime.handle(request, ctx);
    },
    get runtime() {
      return current && typeof current.runtime !== "string" ? current.runtime : undefined;
    },
  };
}

function sameValues(values: unknown[], env: WorkerEnv): boolean {
  return SETTING_KEYS.every((k, i) => values[i] === env?.[k]);
}

export default createEdgeWorker();
