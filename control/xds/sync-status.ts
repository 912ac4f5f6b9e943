// What each connected proxy was sent and what it made of it, per stream and type: the data behind /debug/syncz.
import { resourceType } from "./resource-types.js";

export interface TypeSync {
  typeUrl: string;
  /** Subscribed names, or ["*"] for a wildcard subscription. */
  subscribed: string[];
  sentVersion?: string;
  /** Nonce of the last response sent (the only one an ACK/NACK may answer). */
  lastNonce?: string;
  sentAt?: string;
  ackedVersion?: string;
  ackedAt?: string;
  nackedVersion?: string;
  nackError?: string;
  nackedAt?: string;
}

export interface StreamSync {
  stream: number;
  nodeId: string;
  protocol: "sotw" | "delta" | "rest";
  /** The gRPC method, e.g. envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources. */
  method: string;
  connectedAt: string;
  types: Map<string, TypeSync>;
}

export interface StreamSyncHandle {
  readonly stream: number;
  /** `names` is kept, not copied: it must not change afterwards (pass a copy of a set that will). */
  subscribed(typeUrl: string, names: Iterable<string>, wildcard: boolean): void;
  sent(typeUrl: string, version: string, nonce: string): void;
  acked(typeUrl: string, version: string): void;
  nacked(typeUrl: string, version: string, error: string): void;
  close(): void;
}

export interface SyncReportType extends Omit<TypeSync, "typeUrl"> {
  type: string;
}

export interface SyncReport {
  proxies: {
    id: string;
    streams: { stream: number; protocol: string; method: string; connectedAt: string; types: Record<string, SyncReportType> }[];
  }[];
}

export class SyncStatus {
  #streams = new Map<number, StreamSync>();
  #next = 1;

  open(nodeId: string, protocol: StreamSync["protocol"], method: string): StreamSyncHandle {
    const stream = this.#next++;
    const state: StreamSync = { stream, nodeId, protocol, method, connectedAt: new Date().toISOString(), types: new Map() };
    this.#streams.set(stream, state);
    // What each type is subscribed to, listed only when asked: a reference to the stream's names, not a copy per
    // stream (2 000 sidecars × thousands of EDS / RDS names).
    const subscriptions = new Map<string, { names: Iterable<string>; wildcard: boolean }>();
    // Every push and ACK of every stream lands here: times are kept as numbers, formatted only when read.
    const times = new Map<string, { sent?: number; acked?: number; nacked?: number }>();
    const typeOf = (typeUrl: string) => {
      let t = state.types.get(typeUrl);
      if (!t) {
        t = { typeUrl } as TypeSync;
        const at = {} as { sent?: number; acked?: number; nacked?: number };
        times.set(typeUrl, at);
        const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
        Object.defineProperties(t, {
          subscribed: {
            enumerable: true,
            get: () => {
              const sub = subscriptions.get(typeUrl);
              if (!sub) return [];
              return sub.wildcard ? ["*", ...[...sub.names].filter((n) => n !== "*")] : [...sub.names].sort();
            },
          },
          sentAt: { enumerable: true, get: () => iso(at.sent) },
          ackedAt: { enumerable: true, get: () => iso(at.acked) },
          nackedAt: { enumerable: true, get: () => iso(at.nacked) },
        });
        state.types.set(typeUrl, t);
      }
      return t;
    };
    return {
      stream,
      subscribed: (typeUrl, names, wildcard) => {
        typeOf(typeUrl);
        subscriptions.set(typeUrl, { names, wildcard });
      },
      sent: (typeUrl, version, nonce) => {
        const t = typeOf(typeUrl);
        t.sentVersion = version;
        t.lastNonce = nonce;
        times.get(typeUrl)!.sent = Date.now();
      },
      acked: (typeUrl, version) => {
        typeOf(typeUrl).ackedVersion = version;
        times.get(typeUrl)!.acked = Date.now();
      },
      nacked: (typeUrl, version, error) => {
        const t = typeOf(typeUrl);
        t.nackedVersion = version;
        t.nackError = error;
        times.get(typeUrl)!.nacked = Date.now();
      },
      close: () => {
        this.#streams.delete(stream);
      },
    };
  }

  streams(): StreamSync[] {
    return [...this.#streams.values()];
  }

  report(): SyncReport {
    const byNode = new Map<string, SyncReport["proxies"][number]>();
    for (const s of this.#streams.values()) {
      let proxy = byNode.get(s.nodeId);
      if (!proxy) byNode.set(s.nodeId, (proxy = { id: s.nodeId, streams: [] }));
      const types: Record<string, SyncReportType> = {};
      for (const t of s.types.values()) {
        const { typeUrl, ...rest } = t;
        types[resourceType(typeUrl)?.short ?? typeUrl] = { type: typeUrl, ...rest };
      }
      proxy.streams.push({ stream: s.stream, protocol: s.protocol, method: s.method, connectedAt: s.connectedAt, types });
    }
    return { proxies: [...byNode.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) };
  }
}
