// The per-proxy snapshot cache: decides what each proxy is served, knows nothing of the protocol. Protocol servers
// open one-shot watches on it; setSnapshot() fires the watches whose view of the snapshot changed, in push order
// (clusters, endpoints, listeners, routes, secrets), so servers that send from their callbacks keep that order.
import type { XdsNode } from "./node.js";
import { pushRank } from "./resource-types.js";
import { subscriptionFingerprint, typeSnapshotOf, type Snapshot, type Subscription, type TypeSnapshot } from "./snapshot.js";

/** Builds a node's snapshot on its first connection (the translator, given the node's metadata). */
export type SnapshotProvider = (node: XdsNode) => Snapshot | undefined | Promise<Snapshot | undefined>;

/** Receives the type's current resources; may be called before `watch()` returns. */
export type WatchCallback = (type: TypeSnapshot) => void;

export interface Watch {
  cancel(): void;
}

export interface NodeConnection {
  /** Ends this stream's (or request's) interest in the node. */
  release(): void;
}

export interface SnapshotCacheOptions {
  provider?: SnapshotProvider;
  /** One-line reports (a provider that failed). */
  log?: (line: string) => void;
}

interface OpenWatch {
  typeUrl: string;
  subscription: Subscription;
  /** What the watcher last saw; undefined when it has seen nothing for this node yet. */
  fingerprint: string | undefined;
  callback: WatchCallback;
  cancelled: boolean;
}

export class SnapshotCache {
  #snapshots = new Map<string, Snapshot>();
  #watches = new Map<string, Set<OpenWatch>>();
  #nodes = new Map<string, { node: XdsNode; streams: number; lastSeen: number }>();
  #providing = new Map<string, Promise<void>>();
  #provider: SnapshotProvider | undefined;
  readonly #log: (line: string) => void;

  constructor(options: SnapshotCacheOptions = {}) {
    this.#provider = options.provider;
    this.#log = options.log ?? ((line) => console.error(line));
  }

  setProvider(provider: SnapshotProvider | undefined): void {
    this.#provider = provider;
  }

  getSnapshot(nodeId: string): Snapshot | undefined {
    return this.#snapshots.get(nodeId);
  }

  /** Node ids that have a snapshot. */
  nodeIds(): string[] {
    return [...this.#snapshots.keys()];
  }

  /** Replaces a node's snapshot and notifies the watches it changes; an identical snapshot notifies nobody. */
  setSnapshot(nodeId: string, snapshot: Snapshot): void {
    this.#snapshots.set(nodeId, snapshot);
    const watches = this.#watches.get(nodeId);
    if (!watches || watches.size === 0) return;
    const due: [OpenWatch, TypeSnapshot][] = [];
    for (const w of watches) {
      const type = typeSnapshotOf(snapshot, w.typeUrl);
      if (w.fingerprint !== subscriptionFingerprint(type, w.subscription)) due.push([w, type]);
    }
    // Stable sort: same-type watches keep the order they were opened in.
    due.sort(([a], [b]) => pushRank(a.typeUrl) - pushRank(b.typeUrl));
    for (const [w] of due) watches.delete(w);
    // A callback may cancel a watch that is due later in this loop (a cluster push re-sending endpoints).
    for (const [w, type] of due) if (!w.cancelled) w.callback(type);
  }

  /** Forgets a node's snapshot (its open watches stay open and fire on its next snapshot). */
  clearSnapshot(nodeId: string): void {
    this.#snapshots.delete(nodeId);
  }

  /**
   * Opens a one-shot watch: `callback` fires once, as soon as the node's resources of `typeUrl` differ from
   * `lastVersion` (the type version the watcher last sent; "" for none) — at once if they already do — and
   * afterwards only when what `subscription` selects changes.
   */
  watch(nodeId: string, typeUrl: string, subscription: Subscription, lastVersion: string, callback: WatchCallback): Watch {
    const snapshot = this.#snapshots.get(nodeId);
    const open: OpenWatch = { typeUrl, subscription, fingerprint: undefined, callback, cancelled: false };
    if (snapshot) {
      const type = typeSnapshotOf(snapshot, typeUrl);
      if (type.version !== lastVersion) {
        callback(type);
        return { cancel: () => {} };
      }
      open.fingerprint = subscriptionFingerprint(type, subscription);
    }
    let set = this.#watches.get(nodeId);
    if (!set) this.#watches.set(nodeId, (set = new Set()));
    set.add(open);
    return {
      cancel: () => {
        open.cancelled = true;
        const s = this.#watches.get(nodeId);
        s?.delete(open);
        if (s?.size === 0) this.#watches.delete(nodeId);
      },
    };
  }

  /**
   * Records a stream from `node` and, when the node has no snapshot yet, asks the provider for one (once, however
   * many streams connect at the same time). Resolves when that attempt is over; a failed provider is logged.
   */
  async connect(node: XdsNode): Promise<NodeConnection> {
    const entry = this.#nodes.get(node.id);
    if (entry) {
      entry.node = node;
      entry.streams++;
      entry.lastSeen = Date.now();
    } else this.#nodes.set(node.id, { node, streams: 1, lastSeen: Date.now() });
    let released = false;
    const connection: NodeConnection = {
      release: () => {
        if (released) return;
        released = true;
        const e = this.#nodes.get(node.id);
        if (e) {
          e.streams--;
          e.lastSeen = Date.now();
        }
      },
    };
    if (!this.#snapshots.has(node.id) && this.#provider) await this.#provide(node, this.#provider);
    return connection;
  }

  #provide(node: XdsNode, provider: SnapshotProvider): Promise<void> {
    let pending = this.#providing.get(node.id);
    if (!pending) {
      pending = (async () => {
        try {
          const snapshot = await provider(node);
          // A snapshot set while the provider ran is newer than what the provider started from.
          if (snapshot && !this.#snapshots.has(node.id)) this.setSnapshot(node.id, snapshot);
        } catch (e) {
          this.#log(`xds: building the snapshot for node "${node.id}" failed: ${e instanceof Error ? e.message : String(e)}`);
        } finally {
          this.#providing.delete(node.id);
        }
      })();
      this.#providing.set(node.id, pending);
    }
    return pending;
  }

  /**
   * Every node seen by connect() and not forgotten, with the metadata of its latest request, its open streams and
   * when it was last seen (ms since epoch): what a rebuild must cover.
   */
  knownNodes(): { node: XdsNode; streams: number; lastSeen: number }[] {
    return [...this.#nodes.values()].map((e) => ({ ...e }));
  }

  /** Drops a node's snapshot and record (for nodes gone for good); its open watches stay open. */
  forgetNode(nodeId: string): void {
    this.#snapshots.delete(nodeId);
    this.#nodes.delete(nodeId);
  }
}
