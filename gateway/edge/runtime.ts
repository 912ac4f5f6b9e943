// One edge gateway with its config source, as a worker isolate keeps it between requests: a snapshot loaded once,
// or a control plane polled (REST-JSON) as requests come, keeping the last good configuration when a poll fails or
// a response is rejected. Requests that cannot be served (no configuration, a broken snapshot, no listener for
// them) get a 503 whose body is the one-line reason, which is also logged. Portable.
import type { GatewayConfig } from "../bootstrap/types.js";
import type { UpstreamTransport } from "../upstream.js";
import { RestXdsClient, type RestPollEvent } from "../xds/rest-client.js";
import { XdsState } from "../xds/state.js";
import { BundledCode } from "./bundled-code.js";
import { awaitHoldingTimer, EdgeGateway, NoListenerError } from "./edge-gateway.js";
import type { EdgeSettings } from "./env.js";
import { RequestDrivenPoller } from "./poller.js";
import { loadSnapshot, parseSnapshot, SnapshotError } from "./snapshot.js";

/** What a worker's ExecutionContext offers that the runtime uses. */
export interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

export interface EdgeRuntimeOptions {
  wasm: WebAssembly.Module;
  /** For the control plane's REST-JSON requests; default fetch(). */
  fetch?: typeof fetch;
  /** To upstream endpoints; default a FetchUpstreamTransport. */
  transport?: UpstreamTransport;
  log?(line: string): void;
}

const PREFIX = "halyard worker: ";

export function errorResponse(line: string): Response {
  return new Response(`${PREFIX}${line}\n`, { status: 503, headers: { "content-type": "text/plain; charset=utf-8" } });
}

export class EdgeRuntime {
  readonly gateway: EdgeGateway;
  private readonly state: XdsState;
  private readonly log: (line: string) => void;
  private readonly poller: RequestDrivenPoller | undefined;
  private readonly loaded: Promise<string | undefined>;
  /** Why there is no configuration yet: the last poll error, rejection or what is still awaited. */
  private why = "";

  constructor(readonly settings: EdgeSettings, opts: EdgeRuntimeOptions) {
    this.log = opts.log ?? ((line) => console.log(line));
    this.gateway = new EdgeGateway({
      wasm: opts.wasm,
      node: settings.nodeInfo,
      ...(opts.transport ? { transport: opts.transport } : {}),
      ...(settings.listener !== undefined ? { listener: settings.listener } : {}),
      ...(settings.logLevel ? { logLevel: settings.logLevel } : {}),
    });
    const base: GatewayConfig = {
      node: settings.nodeInfo,
      listeners: [],
      clusters: [],
      ads: { cluster: "xds", lds: true, cds: true },
    };
    let applied = 0;
    this.state = new XdsState({
      base,
      remoteCode: new BundledCode(),
      apply: async (config) => {
        await this.gateway.apply(config);
        this.log(`${PREFIX}configuration ${++applied} in service (${config.listeners.length} listeners, ${config.clusters.length} clusters)`);
      },
      log: (line) => {
        const waiting = line.startsWith("xds: waiting for ");
        if (waiting) this.why = line.slice("xds: ".length);
        // A snapshot is fed one kind at a time, so it waits in between; only what is missing at the end matters.
        if (!waiting || settings.source.kind === "rest") this.log(PREFIX + line);
      },
    });
    const source = settings.source;
    if (source.kind === "snapshot") {
      this.loaded = this.loadSnapshot(source.label, source.value);
    } else {
      const client = new RestXdsClient({
        baseUrl: source.url,
        node: settings.node,
        subscriber: this.state,
        ...(opts.fetch ? { fetch: opts.fetch } : {}),
        onPoll: (e) => this.onPoll(e),
      });
      this.poller = new RequestDrivenPoller({ pollOnce: () => client.pollOnce(), intervalMs: source.intervalMs });
      this.loaded = Promise.resolve(undefined);
    }
  }

  async handle(request: Request, ctx: WaitUntil): Promise<Response> {
    const broken = await this.loaded;
    if (broken !== undefined) return errorResponse(broken);
    if (this.poller) {
      const poll = this.poller.poll();
      // In the background when there is a configuration to serve with; only the request whose context runs the
      // round's fetches keeps it (a Workers context waiting on another's I/O alone is cancelled as hung).
      if (poll && this.gateway.ready) {
        if (poll.started) ctx.waitUntil(poll.round);
      } else if (poll) await awaitHoldingTimer(poll.round);
      if (!this.gateway.ready) {
        const source = this.settings.source as { url: string };
        return errorResponse(`no configuration from ${source.url} yet${this.why ? ` (${this.why})` : ""}`);
      }
    }
    try {
      return await this.gateway.handle(request, request.headers.get("cf-connecting-ip") ?? "127.0.0.1");
    } catch (e) {
      if (e instanceof NoListenerError) return errorResponse(e.message);
      throw e;
    } finally {
      // Timers this request started (a wasm VM's tick) may be what other requests in flight wait for.
      ctx.waitUntil(this.gateway.idle());
    }
  }

  /** Loads the snapshot; resolves to the one-line reason it cannot be served, or undefined. */
  private async loadSnapshot(label: string, value: unknown): Promise<string | undefined> {
    try {
      const rejected = await loadSnapshot(this.state, parseSnapshot(label, value));
      // A resource the gateway cannot use is left out, as a NACKed one would be; say which and why.
      for (const r of rejected) this.log(`${PREFIX}${label}: left out: ${r}`);
      this.state.close();
      if (!this.gateway.ready) {
        return rejected.length > 0 ? `${label}: not served: ${rejected.join("; ")}` : `${label}: incomplete: ${this.why || "nothing to serve"}`;
      }
      if (this.gateway.stats().listeners.length === 0) {
        return `${label}: no listener the gateway can serve${rejected.length ? ` (${rejected.join("; ")})` : ""}`;
      }
      return undefined;
    } catch (e) {
      const line = e instanceof SnapshotError ? e.message : `${label}: ${e instanceof Error ? e.message : String(e)}`;
      this.log(PREFIX + line);
      return line;
    }
  }

  private onPoll(e: RestPollEvent): void {
    if (e.status === "error") {
      this.why = e.error;
      this.log(`${PREFIX}xds: REST ${e.kind}: ${e.error}`);
    } else if (e.status === 200 && !e.accepted) {
      this.why = `rejected ${e.kind} version ${e.version}: ${e.error}`;
      this.log(`${PREFIX}xds: NACK ${e.kind} version ${e.version}: ${e.error}`);
    }
  }
}
