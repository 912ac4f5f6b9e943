// How the router talks to an upstream endpoint; the Node implementation is upstream-node.ts. Portable.
import type { HeaderMap } from "../wasm/host/index.js";
import type { BodyStream } from "./body-stream.js";
import type { SocketAddr, UpstreamTlsConfig } from "./bootstrap/types.js";

export interface UpstreamRequest {
  method: string;
  /** :path as sent downstream (query included). */
  path: string;
  /** Regular headers only (host included), hop-by-hop already removed. */
  headers: HeaderMap;
  /** The whole body; with `more`, the part that had arrived before the request went upstream. */
  body: Uint8Array;
  /** Request trailers; sent when the upstream protocol carries them (HTTP/2). */
  trailers?: HeaderMap;
  /**
   * Set when the request body is still arriving: the rest of it (and the trailers, which end it), streamed upstream
   * as it comes with flow control. The transport starts it and aborts it when the attempt ends early.
   */
  more?: BodyStream;
}

export interface UpstreamResponse {
  status: number;
  headers: HeaderMap;
  /** The whole body; with `more`, the part that had arrived with the headers. */
  body: Uint8Array;
  /** Response trailers, when the upstream sent any (with `more`: they end that stream instead). */
  trailers?: HeaderMap;
  /**
   * Set when the response had not ended by the time its headers were handled: the rest of the body (and the
   * trailers) as it arrives. The attempt's timeout keeps running until it ends; a reset fails it.
   */
  more?: BodyStream;
}

/** Per-endpoint keep-alive pool limits, from the cluster. */
export interface PoolLimits {
  maxConnections: number;
  /** Close idle pooled connections after this long (Envoy's common_http_protocol_options.idle_timeout). */
  idleTimeoutMs?: number;
}

/** One endpoint as the transport needs it; the transport reports the connections it opens and closes. */
export interface UpstreamTarget {
  readonly address: SocketAddr;
  /** "address:port": one pool per key. */
  readonly key: string;
  readonly pool: PoolLimits;
  /** Speak HTTP/2 (h2c, prior knowledge) to this endpoint: one multiplexed connection instead of a pool. */
  readonly http2?: boolean;
  /** TLS to this endpoint (the cluster's transport socket for it); absent: plain text. */
  readonly tls?: UpstreamTlsConfig | undefined;
  connectionOpened(): void;
  connectionClosed(): void;
}

/** connect_failure: no connection; reset: connection lost before a complete response; timeout: the attempt's timeout. */
export type UpstreamFailureKind = "connect_failure" | "reset" | "timeout";

export class UpstreamError extends Error {
  /** transportFailure: why a TLS handshake failed (Envoy's "transport failure reason"). */
  constructor(readonly kind: UpstreamFailureKind, message: string, readonly transportFailure?: string) {
    super(message);
    this.name = "UpstreamError";
  }
}

export interface UpstreamTransport {
  /** timeoutMs 0 = no timeout. Rejects with UpstreamError. */
  send(target: UpstreamTarget, connectTimeoutMs: number, req: UpstreamRequest, timeoutMs: number): Promise<UpstreamResponse>;
  /** A host name's IP addresses, for ORIGINAL_DST destinations (gateway/original-dst.ts); absent: connect by name. */
  resolve?(name: string): Promise<string[]>;
  close(): void;
}
