// REST-JSON xDS polling, for runtimes without gRPC streaming (Workers): every interval, POST
// /v3/discovery:{clusters,endpoints,listeners,routes} with the node, the version held and the names wanted. 200 is a
// new version (accepted or rejected by the subscriber), 304 means nothing changed. A rejected version is not fetched
// again until the control plane's version moves on. Errors back off (jittered, capped) instead of polling on.
// Portable: fetch and timers only.
import { fromJson, toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import type { Node } from "../../gen/envoy/config/core/v3/base_pb.js";
import { NodeSchema } from "../../gen/envoy/config/core/v3/base_pb.js";
import { DiscoveryResponseSchema } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { registry } from "../../gen/registry.js";
import { Backoff, type BackoffOptions } from "./backoff.js";
import { TYPE_URLS, type XdsKind } from "./convert.js";
import { REQUEST_ORDER, type XdsSubscriber } from "./state.js";

export type RestPollEvent =
  | { kind: XdsKind; status: 200; version: string; accepted: boolean; error?: string }
  | { kind: XdsKind; status: 304; version: string }
  | { kind: XdsKind; status: "error"; error: string };

export interface RestClientOptions {
  /** The control plane's HTTP port, e.g. http://istiod:15014. */
  baseUrl: string;
  node: Node;
  subscriber: XdsSubscriber;
  /** Between polls. Default 1000 ms. */
  intervalMs?: number;
  /** Per request. Default 5000 ms. */
  timeoutMs?: number;
  backoff?: BackoffOptions;
  fetch?: typeof fetch;
  onPoll?(event: RestPollEvent): void;
}

export class RestXdsClient {
  private readonly nodeJson: JsonObject;
  private readonly fetchFn: typeof fetch;
  private readonly backoff: Backoff;
  /** Per type: the version the last 200 carried (accepted or not) and the names it was asked for. */
  private readonly seen = new Map<string, { version: string; names: string }>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;

  constructor(private readonly opts: RestClientOptions) {
    this.nodeJson = toJson(NodeSchema, opts.node, { registry }) as JsonObject;
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.backoff = new Backoff(opts.backoff);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  stop(): void {
    this.running = false;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** One round over the four types; resolves false when a request failed. */
  async pollOnce(): Promise<boolean> {
    let ok = true;
    // In order, so EDS/RDS ask for the names the clusters/listeners of this same round refer to.
    for (const kind of REQUEST_ORDER) ok = (await this.poll(kind)) && ok;
    return ok;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      void this.pollOnce().then((ok) => {
        if (!this.running) return;
        if (ok) this.backoff.reset();
        this.schedule(ok ? (this.opts.intervalMs ?? 1000) : this.backoff.next());
      });
    }, ms);
  }

  private async poll(kind: XdsKind): Promise<boolean> {
    const typeUrl = TYPE_URLS[kind];
    const sub = this.opts.subscriber;
    const names = sub.resourceNames(typeUrl);
    if (names === undefined || (names.length === 0 && (kind === "routes" || kind === "endpoints"))) return true;
    const namesKey = names.join("\n");
    const seen = this.seen.get(typeUrl);
    // Changed names need a full answer, not "not modified".
    const version = seen && seen.names === namesKey ? seen.version : "";
    const url = `${this.opts.baseUrl.replace(/\/$/, "")}/v3/discovery:${kind}`;
    const body = { node: this.nodeJson, version_info: version, resource_names: names, type_url: typeUrl };
    let res: Response;
    try {
      res = await this.fetchFn(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 5000),
      });
    } catch (e) {
      return this.failed(kind, `POST ${url}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (res.status === 304) {
      await res.body?.cancel();
      this.opts.onPoll?.({ kind, status: 304, version });
      return true;
    }
    if (res.status !== 200) {
      const text = (await res.text().catch(() => "")).split("\n")[0]!.slice(0, 200);
      return this.failed(kind, `POST ${url}: HTTP ${res.status}${text ? ` ${text}` : ""}`);
    }
    let response;
    try {
      response = fromJson(DiscoveryResponseSchema, (await res.json()) as JsonValue, { registry });
    } catch (e) {
      return this.failed(kind, `POST ${url}: not a DiscoveryResponse (${e instanceof Error ? e.message : String(e)})`);
    }
    const outcome = await sub.handleResponse(typeUrl, response.versionInfo, response.resources);
    this.seen.set(typeUrl, { version: response.versionInfo, names: namesKey });
    this.opts.onPoll?.({
      kind,
      status: 200,
      version: response.versionInfo,
      accepted: outcome.accepted,
      ...(outcome.accepted ? {} : { error: outcome.error }),
    });
    return true;
  }

  private failed(kind: XdsKind, error: string): false {
    this.opts.onPoll?.({ kind, status: "error", error });
    return false;
  }
}
