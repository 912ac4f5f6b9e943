// The filter chains `halyard x check` runs: the real halyard.wasm filters in the TypeScript proxy-wasm host, with no
// upstream. Routing is halyard.fault then halyard.route; security is halyard.jwt then halyard.authz, run either
// in front of routing on the same proxy (a gateway) or, for a sidecar caller, on the destination workload's
// inbound side once the route decided where the request goes. Every filter of one proxy shares one per-request
// filter state (StreamInfo.filterState), as Envoy's filters do, so halyard.authz sees what halyard.jwt verified.
// It records what the filters did to the request (headers, local responses, properties, mirror calls) and, after
// a route decision, what the route filter does to a response.
import { readFile } from "node:fs/promises";
import type { FilterOutcome, HeaderMap, HttpStream, StreamInfo } from "../../wasm/host/index.js";
import { WasmPlugin } from "../../wasm/host/index.js";
import type { XCheckRequest } from "./xcheck-args.js";

export const FAULT_ROOT_ID = "halyard.fault";
export const ROUTE_ROOT_ID = "halyard.route";
export const JWT_ROOT_ID = "halyard.jwt";
export const AUTHZ_ROOT_ID = "halyard.authz";
const FAULT_FLAGS = "halyard.fault.flags";
const ROUTE_PROPERTIES = ["name", "virtual_host", "cluster", "decision"] as const;

/**
 * Monotonic time that leaps an hour at every read. A fault delay's deadline is computed at one read and checked
 * at a later one, so every delay is already over by the next tick (about 1 ms away): delayed requests are
 * decided by the real filter without anyone waiting for the delay. Requests never read it otherwise.
 */
const CLOCK_STEP_NS = 3_600_000_000_000n;

export type LocalResponse = Extract<FilterOutcome, { kind: "local_response" }>;
export type AnsweredBy = "jwt" | "authz" | "fault" | "route";

/** The security filters of one proxy: their JSON configurations (absent: that filter does not run). */
export interface SecurityStage {
  jwt?: string;
  authz?: string;
  /** The destination (listener) port the proxy sees: the workload's port for a sidecar's inbound side. */
  port?: number;
}

/** Who calls: the peer identity and address the security filters see. */
export interface Caller {
  /** `<td>/ns/<ns>/sa/<sa>`; presented as the peer certificate's URI SAN (mTLS). Absent: a plain-text peer. */
  principal?: string;
  sourceIp: string;
}

export interface RunPlan {
  caller: Caller;
  /** Security of the proxy that routes (a gateway), run before halyard.fault. */
  front?: SecurityStage;
  /** Security of the destination workload for the cluster the route chose (a sidecar caller's destination). */
  inbound?: (cluster: string) => SecurityStage | undefined;
}

/** What the security filters decided (properties halyard.jwt and halyard.authz set). */
export interface SecurityObservation {
  /** The caller principal the filters were shown. */
  principal?: string;
  /** halyard.jwt.principal: `<iss>/<sub>` of the verified token. */
  requestPrincipal?: string;
  /** halyard.authz.result. */
  authz?: string;
  /** halyard.authz.policy: `<ns>/<name>#<rule>`. */
  policy?: string;
}

export interface Observation {
  /** The fault filter injected a delay (its DI flag). */
  delayed: boolean;
  /** The request was answered locally, and by which filter. */
  local?: LocalResponse & { by: AnsweredBy };
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
  /** Set when halyard.jwt or halyard.authz ran. */
  security?: SecurityObservation;
}

export class FilterChainError extends Error {
  override name = "FilterChainError";
}

const decoder = new TextDecoder();

function read(state: Map<string, Uint8Array>, key: string): string | undefined {
  const v = state.get(key);
  return v ? decoder.decode(v) : undefined;
}

type PluginOptions = Parameters<typeof WasmPlugin.load>[2];

export class FilterChain {
  #requestIds = 0;
  #inFlight = 0;
  /** The host's tick timer does not keep Node alive; while a delayed request waits for it, this does. */
  #keepAlive: ReturnType<typeof setInterval> | undefined;
  /** Security plugins by root id and configuration, loaded on first use (destinations differ per request). */
  readonly #security = new Map<string, Promise<WasmPlugin>>();

  private constructor(
    private readonly module: WebAssembly.Module,
    private readonly options: PluginOptions,
    private readonly fault: WasmPlugin,
    private readonly route: WasmPlugin,
    /** Mirror calls by request id, filled by the host's http_call hook. */
    private readonly mirrorsById: Map<string, string[]>,
  ) {}

  /** Loads halyard.wasm once and configures both routing filters with the same route engine JSON. */
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
    const options: PluginOptions = {
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
    const fault = await loadPlugin(module, FAULT_ROOT_ID, routeConfigJson, options);
    const route = await loadPlugin(module, ROUTE_ROOT_ID, routeConfigJson, options);
    return new FilterChain(module, options, fault, route, mirrors);
  }

  #securityPlugin(rootId: string, configuration: string): Promise<WasmPlugin> {
    const key = `${rootId}\n${configuration}`;
    let p = this.#security.get(key);
    if (!p) this.#security.set(key, (p = loadPlugin(this.module, rootId, configuration, this.options)));
    return p;
  }

  /**
   * Runs one request through the chain `plan` describes. `responseProbe` names headers to put on the synthetic
   * upstream response, so that removals by the route's response operations can be seen; null skips the response
   * path.
   */
  async run(req: XCheckRequest, responseProbe: readonly string[] | null, plan: RunPlan = { caller: { sourceIp: "127.0.0.1" } }): Promise<Observation> {
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
    const routing = this.#info(plan.front ? plan.caller : { sourceIp: "127.0.0.1" }, req.port);
    const mirrors: string[] = [];
    this.mirrorsById.set(requestId, mirrors);
    const streams: HttpStream[] = [];
    const open = (plugin: WasmPlugin, info: StreamInfo) => {
      const s = plugin.createStream(info);
      streams.push(s);
      return s;
    };
    if (this.#inFlight++ === 0) this.#keepAlive = setInterval(() => {}, 60_000);
    try {
      const obs: Observation = { delayed: false, requestBefore, requestAfter: headers, route: {}, mirrors };
      if (plan.front && !(await this.#secure(plan.front, plan.caller, routing, headers, obs, open))) return obs;

      const fs = open(this.fault, routing);
      const rs = open(this.route, routing);
      const faultOutcome = await fs.onRequestHeaders(headers, true);
      obs.delayed = (read(routing.filterState!, FAULT_FLAGS) ?? "").split(",").includes("DI");
      if (faultOutcome.kind === "local_response") {
        obs.local = { ...faultOutcome, by: "fault" };
        // The route filter never sees an aborted request; decide it aside only to name the delayed route.
        if (obs.delayed) await this.#readRoute(rs, routing, requestBefore.map(([k, v]) => [k, v] as [string, string]), obs);
        return obs;
      }
      const routeOutcome = await this.#readRoute(rs, routing, headers, obs);
      if (routeOutcome.kind === "local_response") {
        obs.local = { ...routeOutcome, by: "route" };
        return obs;
      }
      const cluster = headers.find(([k]) => k === "x-halyard-cluster")?.[1] ?? obs.route.cluster;
      const inbound = cluster !== undefined ? plan.inbound?.(cluster) : undefined;
      if (inbound) {
        const destination = this.#info(plan.caller, inbound.port ?? req.port);
        if (!(await this.#secure(inbound, plan.caller, destination, headers, obs, open))) return obs;
      }
      if (responseProbe === null) return obs;
      const response: HeaderMap = [[":status", "200"], ...responseProbe.map((n) => [n, "x-check-probe"] as [string, string])];
      obs.responseBefore = response.map(([k, v]) => [k, v] as [string, string]);
      await rs.onResponseHeaders(response, true);
      obs.responseAfter = response;
      return obs;
    } finally {
      for (const s of streams) s.done();
      this.mirrorsById.delete(requestId);
      if (--this.#inFlight === 0) clearInterval(this.#keepAlive);
    }
  }

  /** One proxy's view of the request: peer address and identity, its listener port, its own filter state. */
  #info(caller: Caller, port: number): StreamInfo {
    return {
      source: { address: caller.sourceIp, port: 40000 },
      destination: { address: "127.0.0.1", port },
      ...(caller.principal !== undefined ? { connection: { mtls: true, uriSanPeerCertificate: `spiffe://${caller.principal}` } } : {}),
      filterState: new Map(),
    };
  }

  /** halyard.jwt then halyard.authz; false when one of them answered the request. */
  async #secure(
    stage: SecurityStage,
    caller: Caller,
    info: StreamInfo,
    headers: HeaderMap,
    obs: Observation,
    open: (p: WasmPlugin, info: StreamInfo) => HttpStream,
  ): Promise<boolean> {
    if (stage.jwt === undefined && stage.authz === undefined) return true;
    const security: SecurityObservation = {};
    if (caller.principal !== undefined) security.principal = caller.principal;
    obs.security = security;
    const state = info.filterState!;
    const steps: [AnsweredBy, string | undefined][] = [["jwt", stage.jwt], ["authz", stage.authz]];
    for (const [by, config] of steps) {
      if (config === undefined) continue;
      const plugin = await this.#securityPlugin(by === "jwt" ? JWT_ROOT_ID : AUTHZ_ROOT_ID, config);
      const outcome = await open(plugin, info).onRequestHeaders(headers, true);
      const requestPrincipal = read(state, "halyard.jwt.principal");
      if (requestPrincipal !== undefined) security.requestPrincipal = requestPrincipal;
      const result = read(state, "halyard.authz.result");
      if (result !== undefined) security.authz = result;
      const policy = read(state, "halyard.authz.policy");
      if (policy !== undefined) security.policy = policy;
      if (outcome.kind === "local_response") {
        obs.local = { ...outcome, by };
        return false;
      }
    }
    return true;
  }

  async #readRoute(rs: HttpStream, info: StreamInfo, headers: HeaderMap, obs: Observation): Promise<FilterOutcome> {
    const outcome = await rs.onRequestHeaders(headers, true);
    for (const p of ROUTE_PROPERTIES) {
      const v = read(info.filterState!, `halyard.route.${p}`);
      if (v !== undefined) obs.route[p] = v;
    }
    return outcome;
  }

  async close(): Promise<void> {
    const security = await Promise.allSettled(this.#security.values());
    await Promise.all([this.fault.close(), this.route.close(), ...security.flatMap((s) => (s.status === "fulfilled" ? [s.value.close()] : []))]);
  }
}

async function loadPlugin(module: WebAssembly.Module, rootId: string, configuration: string, options: PluginOptions): Promise<WasmPlugin> {
  try {
    return await WasmPlugin.load(module, { name: rootId, rootId, configuration }, options);
  } catch (e) {
    throw new FilterChainError(`${rootId}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
