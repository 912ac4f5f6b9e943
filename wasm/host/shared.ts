// Shared key/value data (with compare-and-swap) and shared queues, namespaced by vm_id as in Envoy.
import { WasmResult } from "./abi.js";

interface Entry {
  value: Uint8Array;
  cas: number;
}

interface Queue {
  vmId: string;
  name: string;
  items: Uint8Array[];
  onReady: ((token: number) => void) | null;
}

export class SharedState {
  private readonly data = new Map<string, Map<string, Entry>>();
  private readonly queues = new Map<number, Queue>();
  private readonly queueTokens = new Map<string, number>();
  private nextCas = 1;
  private nextToken = 1;

  getData(vmId: string, key: string): Entry | undefined {
    return this.data.get(vmId)?.get(key);
  }

  /** cas 0 writes unconditionally; otherwise it must equal the value's current cas. */
  setData(vmId: string, key: string, value: Uint8Array, cas: number): WasmResult {
    let ns = this.data.get(vmId);
    if (!ns) this.data.set(vmId, (ns = new Map()));
    const current = ns.get(key);
    if (cas !== 0 && current && current.cas !== cas) return WasmResult.CasMismatch;
    ns.set(key, { value, cas: this.takeCas() });
    return WasmResult.Ok;
  }

  /** Opens (or creates) the queue; the latest registration receives the ready notifications. */
  registerQueue(vmId: string, name: string, onReady: (token: number) => void): number {
    const key = `${vmId}\u0000${name}`;
    let token = this.queueTokens.get(key);
    if (token === undefined) {
      token = this.nextToken++;
      this.queueTokens.set(key, token);
      this.queues.set(token, { vmId, name, items: [], onReady });
    } else this.queues.get(token)!.onReady = onReady;
    return token;
  }

  /** Drops a ready listener (when its VM goes away) unless someone else registered since. */
  unlistenQueue(token: number, onReady: (token: number) => void): void {
    const q = this.queues.get(token);
    if (q && q.onReady === onReady) q.onReady = null;
  }

  resolveQueue(vmId: string, name: string): number | undefined {
    return this.queueTokens.get(`${vmId}\u0000${name}`);
  }

  enqueue(token: number, item: Uint8Array): WasmResult {
    const q = this.queues.get(token);
    if (!q) return WasmResult.NotFound;
    q.items.push(item);
    const notify = q.onReady;
    if (notify) queueMicrotask(() => notify(token));
    return WasmResult.Ok;
  }

  /** undefined: no such queue; null: queue empty. */
  dequeue(token: number): Uint8Array | null | undefined {
    const q = this.queues.get(token);
    if (!q) return undefined;
    return q.items.length ? q.items.shift()! : null;
  }

  private takeCas(): number {
    const cas = this.nextCas;
    this.nextCas = this.nextCas >= 0xffffffff ? 1 : this.nextCas + 1;
    return cas;
  }
}

let processWide: SharedState | undefined;

/** The default SharedState: one per process (or per Worker isolate). */
export function processSharedState(): SharedState {
  return (processWide ??= new SharedState());
}
