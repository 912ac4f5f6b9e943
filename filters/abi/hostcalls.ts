// Typed wrappers over imports.ts. Strings cross the boundary as UTF-8 (String.UTF8); bytes the
// host returns were allocated through proxy_on_memory_allocate, are copied into managed objects
// and freed here. Every wrapper records its proxy_status_t in lastStatus().
import * as abi from "./imports";
import { deserializePairs, HeaderPair, serializePairs } from "./pairs";
import { NAME_SCRATCH, VALUE_SCRATCH } from "./scratch";
import { BufferType, GRPC_STATUS_NONE, LogLevel, MapType, MetricType, StreamType, WasmResult } from "./types";

// Out-parameter slots the host writes into (single-threaded guest: static scratch is safe).
const RET_PTR: usize = memory.data(8);
const RET_SIZE: usize = memory.data(8);
const RET_U32: usize = memory.data(8);
const RET_U64: usize = memory.data(8);

let status: WasmResult = WasmResult.Ok;

/** Status of the most recent hostcall made through this module. */
export function lastStatus(): WasmResult {
  return status;
}

@inline function record(r: u32): WasmResult {
  status = <WasmResult>r;
  return status;
}

/** Allocation for the host (proxy_on_memory_allocate): unmanaged, freed by takeBytes/takeString. */
export function allocateForHost(size: usize): usize {
  return heap.alloc(size > 0 ? size : 1);
}

function freeHostBytes(ptr: usize): void {
  if (ptr) heap.free(ptr);
}

/** Copies host-returned bytes out of RET_PTR/RET_SIZE into an ArrayBuffer and frees them. */
function takeBytes(): ArrayBuffer {
  const ptr = load<usize>(RET_PTR);
  if (!ptr) return new ArrayBuffer(0);
  const size = load<usize>(RET_SIZE);
  const buf = new ArrayBuffer(<i32>size);
  memory.copy(changetype<usize>(buf), ptr, size);
  freeHostBytes(ptr);
  return buf;
}

function takeString(): string {
  const ptr = load<usize>(RET_PTR);
  const size = load<usize>(RET_SIZE);
  if (!ptr) return "";
  const s = String.UTF8.decodeUnsafe(ptr, size);
  freeHostBytes(ptr);
  return s;
}

function clearReturn(): void {
  store<usize>(RET_PTR, 0);
  store<usize>(RET_SIZE, 0);
}

@inline function ptrOf(buf: ArrayBuffer | null): usize {
  return buf ? changetype<usize>(buf) : 0;
}

@inline function lenOf(buf: ArrayBuffer | null): usize {
  return buf ? <usize>buf.byteLength : 0;
}

// --- Logging --------------------------------------------------------------------------------------

export function log(level: LogLevel, message: string): WasmResult {
  const m = String.UTF8.encode(message);
  return record(abi.proxy_log(level, changetype<usize>(m), m.byteLength));
}

export function logTrace(message: string): void { log(LogLevel.Trace, message); }
export function logDebug(message: string): void { log(LogLevel.Debug, message); }
export function logInfo(message: string): void { log(LogLevel.Info, message); }
export function logWarn(message: string): void { log(LogLevel.Warn, message); }
export function logError(message: string): void { log(LogLevel.Error, message); }
export function logCritical(message: string): void { log(LogLevel.Critical, message); }

/** The host's current log level (Info if the host does not answer). */
export function getLogLevel(): LogLevel {
  store<u32>(RET_U32, LogLevel.Info);
  record(abi.proxy_get_log_level(RET_U32));
  return <LogLevel>load<u32>(RET_U32);
}

// --- Time -----------------------------------------------------------------------------------------

export function getCurrentTimeNanoseconds(): u64 {
  store<u64>(RET_U64, 0);
  record(abi.proxy_get_current_time_nanoseconds(RET_U64));
  return load<u64>(RET_U64);
}

export function setTickPeriodMilliseconds(periodMs: u32): WasmResult {
  return record(abi.proxy_set_tick_period_milliseconds(periodMs));
}

// --- Buffers --------------------------------------------------------------------------------------

/** Up to maxSize bytes from `start` of a buffer, or null (see lastStatus()). */
export function getBufferBytes(type: BufferType, start: u32, maxSize: u32): ArrayBuffer | null {
  clearReturn();
  if (record(abi.proxy_get_buffer_bytes(type, start, maxSize, RET_PTR, RET_SIZE)) != WasmResult.Ok) return null;
  return takeBytes();
}

/** Replaces `size` bytes at `start` with `value` (start=0,size=0 prepends; start>=length appends). */
export function setBufferBytes(type: BufferType, start: u32, size: u32, value: ArrayBuffer): WasmResult {
  return record(abi.proxy_set_buffer_bytes(type, start, size, changetype<usize>(value), value.byteLength));
}

/** Size of a buffer, or -1 when unavailable (see lastStatus()). */
export function getBufferSize(type: BufferType): i64 {
  store<usize>(RET_SIZE, 0);
  if (record(abi.proxy_get_buffer_status(type, RET_SIZE, RET_U32)) != WasmResult.Ok) return -1;
  return <i64>load<usize>(RET_SIZE);
}

// --- Header maps ----------------------------------------------------------------------------------

export function getHeaderMapPairs(map: MapType): HeaderPair[] {
  clearReturn();
  if (record(abi.proxy_get_header_map_pairs(map, RET_PTR, RET_SIZE)) != WasmResult.Ok) return [];
  const ptr = load<usize>(RET_PTR);
  const size = load<usize>(RET_SIZE);
  if (!ptr) return [];
  const pairs = deserializePairs(ptr, size);
  freeHostBytes(ptr);
  if (!pairs) {
    record(WasmResult.SerializationFailure);
    return [];
  }
  return pairs;
}

export function setHeaderMapPairs(map: MapType, pairs: HeaderPair[]): WasmResult {
  const data = serializePairs(pairs);
  return record(abi.proxy_set_header_map_pairs(map, changetype<usize>(data), data.byteLength));
}

/** Serialized size of a map (bytes), or -1 when unavailable. */
export function getHeaderMapSize(map: MapType): i64 {
  store<usize>(RET_SIZE, 0);
  if (record(abi.proxy_get_header_map_size(map, RET_SIZE)) != WasmResult.Ok) return -1;
  return <i64>load<usize>(RET_SIZE);
}

/** A header's value, or null when absent. */
export function getHeader(map: MapType, key: string): string | null {
  const k = NAME_SCRATCH.encode(key);
  clearReturn();
  if (record(abi.proxy_get_header_map_value(map, k, NAME_SCRATCH.length, RET_PTR, RET_SIZE)) != WasmResult.Ok) {
    return null;
  }
  return takeString();
}

export function addHeader(map: MapType, key: string, value: string): WasmResult {
  const k = NAME_SCRATCH.encode(key);
  const v = VALUE_SCRATCH.encode(value);
  return record(abi.proxy_add_header_map_value(map, k, NAME_SCRATCH.length, v, VALUE_SCRATCH.length));
}

export function replaceHeader(map: MapType, key: string, value: string): WasmResult {
  const k = NAME_SCRATCH.encode(key);
  const v = VALUE_SCRATCH.encode(value);
  return record(abi.proxy_replace_header_map_value(map, k, NAME_SCRATCH.length, v, VALUE_SCRATCH.length));
}

export function removeHeader(map: MapType, key: string): WasmResult {
  const k = NAME_SCRATCH.encode(key);
  return record(abi.proxy_remove_header_map_value(map, k, NAME_SCRATCH.length));
}

// --- Stream control -------------------------------------------------------------------------------

export function continueStream(type: StreamType): WasmResult {
  return record(abi.proxy_continue_stream(type));
}

export function closeStream(type: StreamType): WasmResult {
  return record(abi.proxy_close_stream(type));
}

export class HostStatus {
  constructor(public code: u32, public message: string) {}
}

/** Status of the http call / gRPC call being reported (proxy_get_status). */
export function getStatus(): HostStatus {
  clearReturn();
  store<u32>(RET_U32, 0);
  record(abi.proxy_get_status(RET_U32, RET_PTR, RET_SIZE));
  const code = load<u32>(RET_U32);
  return new HostStatus(code, takeString());
}

/** Answers the request locally. grpcStatus GRPC_STATUS_NONE (-1) means "not a gRPC response". */
export function sendLocalResponse(
  statusCode: u32, details: string, body: ArrayBuffer | null, headers: HeaderPair[], grpcStatus: u32 = GRPC_STATUS_NONE,
): WasmResult {
  const d = String.UTF8.encode(details);
  const h = serializePairs(headers);
  return record(abi.proxy_send_local_response(
    statusCode, changetype<usize>(d), d.byteLength, ptrOf(body), lenOf(body), changetype<usize>(h), h.byteLength, grpcStatus,
  ));
}

// --- Out-of-band calls ------------------------------------------------------------------------------

/** Result of a hostcall that hands back an id (call id, queue id, metric id). */
export class HostToken {
  constructor(public status: WasmResult, public id: u32) {}
  get ok(): bool { return this.status == WasmResult.Ok; }
}

function token(r: u32): HostToken {
  return new HostToken(record(r), load<u32>(RET_U32));
}

/** proxy_http_call: headers must carry :method, :path and :authority. */
export function httpCall(
  upstream: string, headers: HeaderPair[], body: ArrayBuffer | null, trailers: HeaderPair[], timeoutMs: u32,
): HostToken {
  const u = String.UTF8.encode(upstream);
  const h = serializePairs(headers);
  const t = serializePairs(trailers);
  store<u32>(RET_U32, 0);
  return token(abi.proxy_http_call(
    changetype<usize>(u), u.byteLength, changetype<usize>(h), h.byteLength, ptrOf(body), lenOf(body),
    changetype<usize>(t), t.byteLength, timeoutMs, RET_U32,
  ));
}

export function grpcCall(
  upstream: string, service: string, method: string, initialMetadata: HeaderPair[], message: ArrayBuffer | null, timeoutMs: u32,
): HostToken {
  const u = String.UTF8.encode(upstream);
  const s = String.UTF8.encode(service);
  const m = String.UTF8.encode(method);
  const md = serializePairs(initialMetadata);
  store<u32>(RET_U32, 0);
  return token(abi.proxy_grpc_call(
    changetype<usize>(u), u.byteLength, changetype<usize>(s), s.byteLength, changetype<usize>(m), m.byteLength,
    changetype<usize>(md), md.byteLength, ptrOf(message), lenOf(message), timeoutMs, RET_U32,
  ));
}

export function grpcStream(upstream: string, service: string, method: string, initialMetadata: HeaderPair[]): HostToken {
  const u = String.UTF8.encode(upstream);
  const s = String.UTF8.encode(service);
  const m = String.UTF8.encode(method);
  const md = serializePairs(initialMetadata);
  store<u32>(RET_U32, 0);
  return token(abi.proxy_grpc_stream(
    changetype<usize>(u), u.byteLength, changetype<usize>(s), s.byteLength, changetype<usize>(m), m.byteLength,
    changetype<usize>(md), md.byteLength, RET_U32,
  ));
}

export function grpcSend(streamId: u32, message: ArrayBuffer | null, endStream: bool): WasmResult {
  return record(abi.proxy_grpc_send(streamId, ptrOf(message), lenOf(message), endStream ? 1 : 0));
}

export function grpcCancel(id: u32): WasmResult {
  return record(abi.proxy_grpc_cancel(id));
}

export function grpcClose(id: u32): WasmResult {
  return record(abi.proxy_grpc_close(id));
}

// --- Shared data ----------------------------------------------------------------------------------

export class SharedData {
  constructor(public value: ArrayBuffer, public cas: u32) {}
}

/** Value and CAS token for `key`, or null when absent (lastStatus() NotFound). */
export function getSharedData(key: string): SharedData | null {
  const k = String.UTF8.encode(key);
  clearReturn();
  store<u32>(RET_U32, 0);
  if (record(abi.proxy_get_shared_data(changetype<usize>(k), k.byteLength, RET_PTR, RET_SIZE, RET_U32)) != WasmResult.Ok) {
    return null;
  }
  const cas = load<u32>(RET_U32);
  return new SharedData(takeBytes(), cas);
}

/** Sets `key`; a non-zero `cas` must match the stored one (else CasMismatch). */
export function setSharedData(key: string, value: ArrayBuffer, cas: u32 = 0): WasmResult {
  const k = String.UTF8.encode(key);
  return record(abi.proxy_set_shared_data(changetype<usize>(k), k.byteLength, changetype<usize>(value), value.byteLength, cas));
}

// --- Shared queues --------------------------------------------------------------------------------

export function registerSharedQueue(name: string): HostToken {
  const n = String.UTF8.encode(name);
  store<u32>(RET_U32, 0);
  return token(abi.proxy_register_shared_queue(changetype<usize>(n), n.byteLength, RET_U32));
}

export function resolveSharedQueue(vmId: string, name: string): HostToken {
  const v = String.UTF8.encode(vmId);
  const n = String.UTF8.encode(name);
  store<u32>(RET_U32, 0);
  return token(abi.proxy_resolve_shared_queue(changetype<usize>(v), v.byteLength, changetype<usize>(n), n.byteLength, RET_U32));
}

export function enqueueSharedQueue(queueId: u32, value: ArrayBuffer): WasmResult {
  return record(abi.proxy_enqueue_shared_queue(queueId, changetype<usize>(value), value.byteLength));
}

/** Next item, or null when empty / unknown (lastStatus() Empty / NotFound). */
export function dequeueSharedQueue(queueId: u32): ArrayBuffer | null {
  clearReturn();
  if (record(abi.proxy_dequeue_shared_queue(queueId, RET_PTR, RET_SIZE)) != WasmResult.Ok) return null;
  return takeBytes();
}

// --- Metrics --------------------------------------------------------------------------------------

export function defineMetric(type: MetricType, name: string): HostToken {
  const n = String.UTF8.encode(name);
  store<u32>(RET_U32, 0);
  return token(abi.proxy_define_metric(type, changetype<usize>(n), n.byteLength, RET_U32));
}

export function incrementMetric(metricId: u32, delta: i64): WasmResult {
  return record(abi.proxy_increment_metric(metricId, delta));
}

export function recordMetric(metricId: u32, value: u64): WasmResult {
  return record(abi.proxy_record_metric(metricId, value));
}

/** Current value (0 when unknown; check lastStatus()). */
export function getMetric(metricId: u32): u64 {
  store<u64>(RET_U64, 0);
  record(abi.proxy_get_metric(metricId, RET_U64));
  return load<u64>(RET_U64);
}

// --- Properties -----------------------------------------------------------------------------------

/** Envoy's property path encoding: segments joined by NUL. */
function encodePath(path: string[]): ArrayBuffer {
  return String.UTF8.encode(path.join("\0"));
}

/** Raw property bytes, or null when absent (lastStatus() NotFound). */
export function getProperty(path: string[]): ArrayBuffer | null {
  const p = encodePath(path);
  clearReturn();
  if (record(abi.proxy_get_property(changetype<usize>(p), p.byteLength, RET_PTR, RET_SIZE)) != WasmResult.Ok) return null;
  return takeBytes();
}

/** Property as a UTF-8 string, or null when absent. */
export function getPropertyString(path: string[]): string | null {
  const p = encodePath(path);
  clearReturn();
  if (record(abi.proxy_get_property(changetype<usize>(p), p.byteLength, RET_PTR, RET_SIZE)) != WasmResult.Ok) return null;
  return takeString();
}

export function setProperty(path: string[], value: ArrayBuffer): WasmResult {
  const p = encodePath(path);
  return record(abi.proxy_set_property(changetype<usize>(p), p.byteLength, changetype<usize>(value), value.byteLength));
}

// --- Foreign functions, contexts ------------------------------------------------------------------

/** Calls a host-registered function; returns its result bytes (empty when none), or null on error. */
export function callForeignFunction(name: string, args: ArrayBuffer | null): ArrayBuffer | null {
  const n = String.UTF8.encode(name);
  clearReturn();
  if (record(abi.proxy_call_foreign_function(changetype<usize>(n), n.byteLength, ptrOf(args), lenOf(args), RET_PTR, RET_SIZE)) != WasmResult.Ok) {
    return null;
  }
  return takeBytes();
}

export function setEffectiveContext(contextId: u32): WasmResult {
  return record(abi.proxy_set_effective_context(contextId));
}

/** Tells the host a context that returned false from onDone has finished. */
export function done(): WasmResult {
  return record(abi.proxy_done());
}
