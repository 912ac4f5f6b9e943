// The filter chain `halyard x check` runs: the real halyard.wasm filters, halyard.fault then halyard.route, in
// the TypeScript proxy-wasm host, with no upstream. It records what they did to the request (headers, local
// responses, properties, mirror calls) and, after a route decision, what the route filter does to a response.
import { readFile } from "node:fs/promises";
import type { FilterOutcome, HeaderMap, HttpStream } from "../../wasm/host/index.js";
import { WasmPlugin } from "../../wasm/host/index.js";
import type { XCheckRequest } from "./xcheck-args.js";

export const FAULT_ROOT_ID = "halyard.fault";
export const ROUTE_ROOT_ID = "halyard.route";
const FAULT_FLAGS = "halyard.fault.flags";
const ROUTE_PROPERTIES = ["name", "virtual_host", "cluster", "decision"] as const;

/**
 * Monotonic time that leaps an hour at every read. A fault delay's deadline is computed at one read and checked
 * at a later one, so every delay is already over by the next tick (about 1 ms away): delayed requests are
 * decided by the real filter without anyone waiting for the delay. Requests never read it otherwise.
 */
const CLOCK_STEP_NS = 3_600_000_000_000n;

export type LocalResponse = Extract<FilterOutcome, { kind: "local_response" }>;

export interface Observation {
  /** The fault filter injected a delay (its DI flag). */
  delayed: boolean;
  /** The request was answered locally, and by which filter. */
  local?: LocalResponse & { by: "fault" | "route" };
  /** Request headers as sent, and as the filters left them (the router's input). */
  requestBefore: HeaderMap;
  requestAfter: HeaderMap;
  /** A response without a body run through the route filter's response path, before and after. */
  responseBefore?: HeaderMap;
  responseAfter?: HeaderMap;
  /** The route filter's decision metadata (halyard.route.* properties). */
  route: Partial<Record<(typeof ROUTE_PROPERTIES)[number], string>>;
  /** Clusters the route filter sent mirror copies to. */
  mirrors: string[];
}

export class FilterChainError extends Error {
  override name = "FilterChainError";
}

const decoder = new TextDecoder();

function stored(stream: HttpStream, key: string): string | undefined {
  // The host keeps what proxy_set_property stored per stream; x check reads it the way Envoy's access log would.
  const props = (stream as unknown as { setProperties?: Map<string, Uint8Array> }).setProperties;
  const v = props?.get(key);
  return v ? decoder.decode(v) : undefined;
}

export class FilterChain {
  #requestIds = 0;
  #inFlight = 0;
  /** The host's tick timer does not keep Node alive; while a delayed request waits for it, this does. */
  #keepAlive: ReturnType<typeof setInterval> | undefined;

  private constructor(
    private readonly fault: WasmPlugin,
    private readonly route: WasmPlugin,
    /** Mirror calls by request id, filled by the host's http_call hook. */
    private readonly mirrorsById: Map<string, string[]>,
  ) {}

  /** Loads halyard.wasm once and configures both filters with the same route engine JSON. */
  static async load(wasmFile: string, routeConfigJson: string): Promise<FilterChain> {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(wasmFile);
    } catch {
      throw new FilterChainError(`${wasmFile}: cannot read the filter module (build it with \`node scripts/build.js wasm\`)`);
    }
    const module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
    let clock = 0n;
    const mirrors = new Map<string, string[]>();
    const options = {
      monotonicNow: () => (clock += CLOCK_STEP_NS),
      log: (level: string, message: string) => {
        if (level === "error" || level === "critical") process.stderr.write(`halyard x check: filter: ${message}\n`);
      },
      httpCall: async (cluster: string, headers: HeaderMap) => {
        const id = headers.find(([k]) => k === "x-request-id")?.[1];
        if (id !== undefined) mirrors.get(id)?.push(cluster);
        throw new Error("x check sends nothing upstream");
      },
    };
    const load = async (rootId: string) => {
      try {
        return await WasmPlugin.load(module, { name: rootId, rootId, configuration: routeConfigJson }, options);
      } catch (e) {
        throw new FilterChainError(e instanceof Error ? e.message : String(e));
      }
    };
    return new FilterChain(await load(FAULT_ROOT_ID), await load(ROUTE_ROOT_ID), mirrors);
  }

  /**
   * Runs one request through both filters. `responseProbe` names headers to put on the synthetic upstream
   * response, so that removals by the route's response operations can be seen; null skips the response path.
   */
  async run(req: XCheckRequest, responseProbe: readonly string[] | null): Promise<Observation> {
    const id = `x-check-${++this.#requestIds}`;
    const headers: HeaderMap = [
      [":authority", req.authority],
      [":path", req.path],
      [":method", req.method],
      [":scheme", req.scheme],
      ...req.headers.map(([k, v]) => [k, v] as [string, string]),
    ];
    // What Envoy's connection manager adds before any filter runs.
    if (!headers.some(([k]) => k === "x-request-id")) headers.push(["x-request-id", id]);
    if (!headers.some(([k]) => k === "x-forwarded-proto")) headers.push(["x-forwarded-proto", req.scheme]);
    const requestId = headers.find(([k]) => k === "x-request-id")![1];
    const requestBefore = headers.map(([k, v]) => [k, v] as [string, string]);
    const info = { source: { address: "127.0.0.1", port: 40000 }, destination: { address: "127.0.0.1", port: req.port } };
    const mirrors: string[] = [];
    this.mirrorsById.set(requestId, mirrors);
    const fs = this.fault.createStream(info);
    const rs = this.route.createStream(info);
    if (this.#inFlight++ === 0) this.#keepAlive = setInterval(() => {}, 60_000);
    try {
      const faultOutcome = await fs.onRequestHeaders(headers, true);
      const delayed = (stored(fs, FAULT_FLAGS) ?? "").split(",").includes("DI");
      const obs: Observation = { delayed, requestBefore, requestAfter: headers, route: {}, mirrors };
      if (faultOutcome.kind === "local_response") {
        obs.local = { ...faultOutcome, by: "fault" };
        // The route filter never sees an aborted request; decide it aside only to name the delayed route.
        if (delayed) await this.#readRoute(rs, requestBefore.map(([k, v]) => [k, v] as [string, string]), obs);
        return obs;
      }
      const routeOutcome = await this.#readRoute(rs, headers, obs);
      if (routeOutcome.kind === "local_response") {
        obs.local = { ...routeOutcome, by: "route" };
        return obs;
      }
      if (responseProbe === null) return obs;
      const response: HeaderMap = [[":status", "200"], ...responseProbe.map((n) => [n, "x-check-probe"] as [string, string])];
      obs.responseBefore = response.map(([k, v]) => [k, v] as [string, string]);
      await rs.onResponseHeaders(response, true);
      obs.responseAfter = response;
      return obs;
    } finally {
      fs.done();
      rs.done();
      this.mirrorsById.delete(requestId);
      if (--this.#inFlight === 0) clearInterval(this.#keepAlive);
    }
  }

  async #readRoute(rs: HttpStream, headers: HeaderMap, obs: Observation): Promise<FilterOutcome> {
    const outcome = await rs.onRequestHeaders(headers, true);
    for (const p of ROUTE_PROPERTIES) {
      const v = stored(rs, `halyard.route.${p}`);
      if (v !== undefined) obs.route[p] = v;
    }
    return outcome;
  }

  async close(): Promise<void> {
    await Promise.all([this.fault.close(), this.route.close()]);
  }
}
