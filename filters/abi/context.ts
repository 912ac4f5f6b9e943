// Context base classes. Filters extend RootContext (one per plugin instance) and HttpContext (one
// per request) or StreamContext (one per TCP connection) and override what they need; defaults
// continue / succeed. Callbacks arrive through dispatcher.ts.
import { getBufferBytes } from "./hostcalls";
import { Action, BufferType, PeerType } from "./types";

/** Callbacks every kind of context can receive. */
export class BaseContext {
  constructor(public readonly contextId: u32) {}

  /** Response to httpCall() made from this context. numHeaders == 0 means the call failed. */
  onHttpCallResponse(callId: u32, numHeaders: u32, bodySize: usize, numTrailers: u32): void {}
  onGrpcReceiveInitialMetadata(callId: u32, numElements: u32): void {}
  onGrpcReceive(callId: u32, messageSize: usize): void {}
  onGrpcReceiveTrailingMetadata(callId: u32, numElements: u32): void {}
  onGrpcClose(callId: u32, statusCode: u32): void {}

  /** Return false to keep the context alive; then call done() when finished. */
  onDone(): bool {
    return true;
  }
  onLog(): void {}
  onDelete(): void {}
}

export class RootContext extends BaseContext {
  /** Set by the dispatcher from the plugin_root_id property before any callback. */
  rootId: string = "";

  onVmStart(vmConfigurationSize: usize): bool {
    return true;
  }
  onConfigure(pluginConfigurationSize: usize): bool {
    return true;
  }
  onTick(): void {}
  onQueueReady(queueId: u32): void {}
  onForeignFunction(functionId: u32, argumentsSize: usize): void {}

  /** Per-request context for HTTP filters; null when this plugin is not an HTTP filter. */
  createHttpContext(contextId: u32): HttpContext | null {
    return null;
  }
  /** Per-connection context for network (TCP) filters; null when not a network filter. */
  createStreamContext(contextId: u32): StreamContext | null {
    return null;
  }

  /** The plugin configuration bytes (valid inside onConfigure). */
  getPluginConfiguration(size: usize): ArrayBuffer {
    if (size == 0) return new ArrayBuffer(0);
    const b = getBufferBytes(BufferType.PluginConfiguration, 0, <u32>size);
    return b ? b : new ArrayBuffer(0);
  }
  /** The VM configuration bytes (valid inside onVmStart). */
  getVmConfiguration(size: usize): ArrayBuffer {
    if (size == 0) return new ArrayBuffer(0);
    const b = getBufferBytes(BufferType.VmConfiguration, 0, <u32>size);
    return b ? b : new ArrayBuffer(0);
  }
}

export class HttpContext extends BaseContext {
  constructor(contextId: u32, public root: RootContext) {
    super(contextId);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    return Action.Continue;
  }
  onRequestBody(bodySize: usize, endOfStream: bool): Action {
    return Action.Continue;
  }
  onRequestTrailers(numTrailers: u32): Action {
    return Action.Continue;
  }
  onRequestMetadata(numElements: u32): Action {
    return Action.Continue;
  }
  onResponseHeaders(numHeaders: u32, endOfStream: bool): Action {
    return Action.Continue;
  }
  onResponseBody(bodySize: usize, endOfStream: bool): Action {
    return Action.Continue;
  }
  onResponseTrailers(numTrailers: u32): Action {
    return Action.Continue;
  }
  onResponseMetadata(numElements: u32): Action {
    return Action.Continue;
  }
}

export class StreamContext extends BaseContext {
  constructor(contextId: u32, public root: RootContext) {
    super(contextId);
  }

  onNewConnection(): Action {
    return Action.Continue;
  }
  onDownstreamData(dataSize: usize, endOfStream: bool): Action {
    return Action.Continue;
  }
  onUpstreamData(dataSize: usize, endOfStream: bool): Action {
    return Action.Continue;
  }
  onDownstreamConnectionClose(peer: PeerType): void {}
  onUpstreamConnectionClose(peer: PeerType): void {}
}
