// Every callback a proxy-wasm ABI v0.2.1 module exports, routed to context objects.
// Callbacks for a context id we do not know log an error and fall back to "continue" rather than
// trapping: a trap would take the whole VM (every request on the worker) down with it.
import { BaseContext, HttpContext, RootContext, StreamContext } from "./context";
import { allocateForHost, getPropertyString, logError } from "./hostcalls";
import { createRootContext } from "./registry";
import { Action, PeerType } from "./types";

const roots = new Map<u32, RootContext>();
const https = new Map<u32, HttpContext>();
const streams = new Map<u32, StreamContext>();

function anyContext(id: u32, callback: string): BaseContext | null {
  if (https.has(id)) return https.get(id);
  if (streams.has(id)) return streams.get(id);
  if (roots.has(id)) return roots.get(id);
  unknown(id, callback);
  return null;
}

function unknown(id: u32, callback: string): void {
  logError("halyard: " + callback + " for unknown context " + id.toString());
}

function rootOf(id: u32, callback: string): RootContext | null {
  if (roots.has(id)) return roots.get(id);
  unknown(id, callback);
  return null;
}

function httpOf(id: u32, callback: string): HttpContext | null {
  if (https.has(id)) return https.get(id);
  unknown(id, callback);
  return null;
}

function streamOf(id: u32, callback: string): StreamContext | null {
  if (streams.has(id)) return streams.get(id);
  unknown(id, callback);
  return null;
}

// --- Integration and memory -----------------------------------------------------------------------

/** ABI version marker; never called. */
export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_memory_allocate(size: usize): usize {
  return allocateForHost(size);
}

/** Deprecated spelling of proxy_on_memory_allocate, used by hosts that predate it. */
export function malloc(size: usize): usize {
  return allocateForHost(size);
}

// --- Context lifecycle ----------------------------------------------------------------------------

export function proxy_on_context_create(contextId: u32, parentContextId: u32): void {
  if (parentContextId == 0) {
    // Envoy names the plugin through a property, not through the callback.
    const rootId = getPropertyString(["plugin_root_id"]);
    roots.set(contextId, createRootContext(rootId !== null ? rootId : "", contextId));
    return;
  }
  const root = rootOf(parentContextId, "proxy_on_context_create (parent)");
  if (!root) return;
  const http = root.createHttpContext(contextId);
  if (http) {
    https.set(contextId, http);
    return;
  }
  const stream = root.createStreamContext(contextId);
  if (stream) {
    streams.set(contextId, stream);
    return;
  }
  logError("halyard: root \"" + root.rootId + "\" creates neither HTTP nor stream contexts (context " + contextId.toString() + ")");
}

export function proxy_on_done(contextId: u32): bool {
  const c = anyContext(contextId, "proxy_on_done");
  return c ? c.onDone() : true;
}

export function proxy_on_log(contextId: u32): void {
  const c = anyContext(contextId, "proxy_on_log");
  if (c) c.onLog();
}

export function proxy_on_delete(contextId: u32): void {
  const c = anyContext(contextId, "proxy_on_delete");
  if (!c) return;
  c.onDelete();
  if (!https.delete(contextId) && !streams.delete(contextId)) roots.delete(contextId);
}

// --- Configuration and timers ---------------------------------------------------------------------

export function proxy_on_vm_start(rootContextId: u32, vmConfigurationSize: usize): bool {
  const r = rootOf(rootContextId, "proxy_on_vm_start");
  return r ? r.onVmStart(vmConfigurationSize) : false;
}

export function proxy_on_configure(rootContextId: u32, pluginConfigurationSize: usize): bool {
  const r = rootOf(rootContextId, "proxy_on_configure");
  return r ? r.onConfigure(pluginConfigurationSize) : false;
}

export function proxy_on_tick(rootContextId: u32): void {
  const r = rootOf(rootContextId, "proxy_on_tick");
  if (r) r.onTick();
}

export function proxy_on_queue_ready(rootContextId: u32, queueId: u32): void {
  const r = rootOf(rootContextId, "proxy_on_queue_ready");
  if (r) r.onQueueReady(queueId);
}

export function proxy_on_foreign_function(rootContextId: u32, functionId: u32, argumentsSize: usize): void {
  const r = rootOf(rootContextId, "proxy_on_foreign_function");
  if (r) r.onForeignFunction(functionId, argumentsSize);
}

// --- TCP streams ----------------------------------------------------------------------------------

export function proxy_on_new_connection(contextId: u32): Action {
  const s = streamOf(contextId, "proxy_on_new_connection");
  return s ? s.onNewConnection() : Action.Continue;
}

export function proxy_on_downstream_data(contextId: u32, dataSize: usize, endOfStream: bool): Action {
  const s = streamOf(contextId, "proxy_on_downstream_data");
  return s ? s.onDownstreamData(dataSize, endOfStream) : Action.Continue;
}

export function proxy_on_upstream_data(contextId: u32, dataSize: usize, endOfStream: bool): Action {
  const s = streamOf(contextId, "proxy_on_upstream_data");
  return s ? s.onUpstreamData(dataSize, endOfStream) : Action.Continue;
}

export function proxy_on_downstream_connection_close(contextId: u32, peerType: u32): void {
  const s = streamOf(contextId, "proxy_on_downstream_connection_close");
  if (s) s.onDownstreamConnectionClose(<PeerType>peerType);
}

export function proxy_on_upstream_connection_close(contextId: u32, peerType: u32): void {
  const s = streamOf(contextId, "proxy_on_upstream_connection_close");
  if (s) s.onUpstreamConnectionClose(<PeerType>peerType);
}

// --- HTTP -----------------------------------------------------------------------------------------

export function proxy_on_request_headers(contextId: u32, numHeaders: u32, endOfStream: bool): Action {
  const h = httpOf(contextId, "proxy_on_request_headers");
  return h ? h.onRequestHeaders(numHeaders, endOfStream) : Action.Continue;
}

export function proxy_on_request_body(contextId: u32, bodySize: usize, endOfStream: bool): Action {
  const h = httpOf(contextId, "proxy_on_request_body");
  return h ? h.onRequestBody(bodySize, endOfStream) : Action.Continue;
}

export function proxy_on_request_trailers(contextId: u32, numTrailers: u32): Action {
  const h = httpOf(contextId, "proxy_on_request_trailers");
  return h ? h.onRequestTrailers(numTrailers) : Action.Continue;
}

export function proxy_on_request_metadata(contextId: u32, numElements: u32): Action {
  const h = httpOf(contextId, "proxy_on_request_metadata");
  return h ? h.onRequestMetadata(numElements) : Action.Continue;
}

export function proxy_on_response_headers(contextId: u32, numHeaders: u32, endOfStream: bool): Action {
  const h = httpOf(contextId, "proxy_on_response_headers");
  return h ? h.onResponseHeaders(numHeaders, endOfStream) : Action.Continue;
}

export function proxy_on_response_body(contextId: u32, bodySize: usize, endOfStream: bool): Action {
  const h = httpOf(contextId, "proxy_on_response_body");
  return h ? h.onResponseBody(bodySize, endOfStream) : Action.Continue;
}

export function proxy_on_response_trailers(contextId: u32, numTrailers: u32): Action {
  const h = httpOf(contextId, "proxy_on_response_trailers");
  return h ? h.onResponseTrailers(numTrailers) : Action.Continue;
}

export function proxy_on_response_metadata(contextId: u32, numElements: u32): Action {
  const h = httpOf(contextId, "proxy_on_response_metadata");
  return h ? h.onResponseMetadata(numElements) : Action.Continue;
}

// --- Out-of-band call results (delivered to the context that made the call) -----------------------

export function proxy_on_http_call_response(contextId: u32, callId: u32, numHeaders: u32, bodySize: usize, numTrailers: u32): void {
  const c = anyContext(contextId, "proxy_on_http_call_response");
  if (c) c.onHttpCallResponse(callId, numHeaders, bodySize, numTrailers);
}

export function proxy_on_grpc_receive_initial_metadata(contextId: u32, callId: u32, numElements: u32): void {
  const c = anyContext(contextId, "proxy_on_grpc_receive_initial_metadata");
  if (c) c.onGrpcReceiveInitialMetadata(callId, numElements);
}

export function proxy_on_grpc_receive(contextId: u32, callId: u32, messageSize: usize): void {
  const c = anyContext(contextId, "proxy_on_grpc_receive");
  if (c) c.onGrpcReceive(callId, messageSize);
}

export function proxy_on_grpc_receive_trailing_metadata(contextId: u32, callId: u32, numElements: u32): void {
  const c = anyContext(contextId, "proxy_on_grpc_receive_trailing_metadata");
  if (c) c.onGrpcReceiveTrailingMetadata(callId, numElements);
}

export function proxy_on_grpc_close(contextId: u32, callId: u32, statusCode: u32): void {
  const c = anyContext(contextId, "proxy_on_grpc_close");
  if (c) c.onGrpcClose(callId, statusCode);
}
