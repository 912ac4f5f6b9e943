// What SotW and delta streams share: requests handled one at a time in arrival order, the node taken from the
// first request (later requests may omit it), a cache connection and a syncz entry for the stream's lifetime.
import type { Node } from "../../gen/envoy/config/core/v3/base_pb.js";
import type { NodeConnection, SnapshotCache } from "./cache.js";
import { nodeFromProto, type XdsNode } from "./node.js";
import type { StreamSyncHandle, SyncStatus } from "./sync-status.js";

export interface StreamContext {
  cache: SnapshotCache;
  status: SyncStatus;
  /** The gRPC method path, for syncz and logs. */
  method: string;
  /** Set for the per-type services (LDS, CDS, ...), where requests may leave type_url empty. */
  typeUrl?: string;
  log: (line: string) => void;
  /** Ends the stream with INVALID_ARGUMENT and this one-line message. */
  fail: (message: string) => void;
}

export class StreamProtocolError extends Error {
  override name = "StreamProtocolError";
}

export abstract class StreamSession<Req extends { node?: Node; typeUrl: string }> {
  protected node: XdsNode | undefined;
  protected sync: StreamSyncHandle | undefined;
  protected closed = false;
  #connection: NodeConnection | undefined;
  #queue: Promise<void> = Promise.resolve();
  #nonce = 0;

  constructor(
    protected readonly ctx: StreamContext,
    private readonly protocol: "sotw" | "delta",
  ) {}

  /** Queues a request; a protocol error ends the stream with its message. */
  handle(request: Req): Promise<void> {
    this.#queue = this.#queue.then(async () => {
      if (this.closed) return;
      try {
        await this.#process(request);
      } catch (e) {
        if (!(e instanceof StreamProtocolError)) throw e;
        this.ctx.log(`xds: ${this.node?.id ?? "unknown node"}: ${e.message}`);
        this.ctx.fail(e.message);
        this.close();
      }
    });
    return this.#queue;
  }

  async #process(request: Req): Promise<void> {
    if (!this.node) {
      if (!request.node?.id) throw new StreamProtocolError("the first request on an xDS stream must carry node.id");
      this.node = nodeFromProto(request.node);
      this.sync = this.ctx.status.open(this.node.id, this.protocol, this.ctx.method);
      this.#connection = await this.ctx.cache.connect(this.node);
      if (this.closed) {
        this.#connection.release();
        return;
      }
    }
    const typeUrl = request.typeUrl || this.ctx.typeUrl;
    if (!typeUrl) throw new StreamProtocolError("request has no type_url");
    if (this.ctx.typeUrl && typeUrl !== this.ctx.typeUrl) {
      throw new StreamProtocolError(`type_url "${typeUrl}" on ${this.ctx.method}, which serves only ${this.ctx.typeUrl}`);
    }
    this.onRequest(typeUrl, request);
  }

  protected abstract onRequest(typeUrl: string, request: Req): void;
  protected abstract onClose(): void;

  protected nextNonce(): string {
    return String(++this.#nonce);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    this.#connection?.release();
    this.sync?.close();
  }
}
