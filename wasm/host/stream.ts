// One HTTP stream context: feeds the guest's proxy_on_request_* / proxy_on_response_* callbacks
// and turns what the guest did (return action, send_local_response, continue_stream, close_stream)
// into a FilterOutcome promise per phase. Kept allocation-light: it is created per request.
import { DataAction, HeadersAction, StreamType } from "./abi.js";
import type { GuestTrap } from "./errors.js";
import type { StreamScope } from "./properties.js";
import type { BodyOutcome, FilterOutcome, HeaderMap, HttpStream, ResponseInfo, StreamInfo } from "./types.js";
import { STREAM_CALLBACKS, type GuestCallback, type GuestVM, type HostContext, type StreamCallback, type StreamCallbacks } from "./vm.js";

/** What a stream needs from its plugin. */
export interface StreamOwner {
  readonly failOpen: boolean;
  /** Opaque start mark for request.duration; see elapsedNs. */
  clockMark(): number | bigint;
  elapsedNs(mark: number | bigint): bigint;
  /** Logs the trap, fails the VM's other streams, and arranges a fresh VM for later streams. */
  handleTrap(vm: GuestVM, trap: GuestTrap): void;
}

export interface LocalResponse {
  status: number;
  details: string;
  body: Uint8Array;
  headers: HeaderMap;
  grpcStatus?: number;
}

type Phase = StreamType.Request | StreamType.Response;

interface Pending {
  resolve(outcome: BodyOutcome): void;
  body: boolean;
}

const EMPTY = new Uint8Array(0);
const CONTINUE: FilterOutcome = Object.freeze({ kind: "continue" }) as FilterOutcome;
// A settled promise can be awaited any number of times: the common answer costs no allocation.
const CONTINUED: Promise<BodyOutcome> = Promise.resolve(CONTINUE);
const GRPC_UNAVAILABLE = 14;
const REQUEST = StreamType.Request;
const RESPONSE = StreamType.Response;

/** Which callback of a phase runs; it also decides which return codes pause the stream. */
const HEADERS = 0;
const DATA = 1;
const TRAILERS = 2;
type Part = typeof HEADERS | typeof DATA | typeof TRAILERS;

function pauses(part: Part, code: number): boolean {
  if (part === HEADERS) {
    return code === HeadersAction.StopIteration || code === HeadersAction.StopAllIterationAndBuffer || code === HeadersAction.StopAllIterationAndWatermark;
  }
  return code !== (part === DATA ? DataAction.Continue : 0);
}

function callbackOf(c: StreamCallbacks, phase: Phase, part: Part): GuestCallback {
  if (phase === REQUEST) return part === HEADERS ? c.requestHeaders : part === DATA ? c.requestBody : c.requestTrailers;
  return part === HEADERS ? c.responseHeaders : part === DATA ? c.responseBody : c.responseTrailers;
}

export class HttpStreamImpl implements HttpStream, HostContext, StreamScope {
  readonly stream = this;
  readonly contextId: number;
  requestHeaders: HeaderMap | null = null;
  requestTrailers: HeaderMap | null = null;
  responseHeaders: HeaderMap | null = null;
  responseTrailers: HeaderMap | null = null;
  requestBodyBytes = 0;
  responseBodyBytes = 0;
  onClearRouteCache?: () => void;

  /** Wall-clock start for request.time; only read when the embedder gave no request.time (-1: not read). */
  private readonly startMs: number;
  private readonly clock: number | bigint;
  private response: ResponseInfo | null = null;
  private props: Map<string, Uint8Array> | null = null;
  // Per phase (request, response): the body visible to the guest, its end-of-stream flag, data
  // held back after StopIterationAndBuffer, and the promise waiting for continue_stream.
  private requestBody: Uint8Array | null = null;
  private responseBody: Uint8Array | null = null;
  private requestEos = false;
  private responseEos = false;
  private requestHeld: Uint8Array | null = null;
  private responseHeld: Uint8Array | null = null;
  private requestPending: Pending | null = null;
  private responsePending: Pending | null = null;
  private localResponse: LocalResponse | null = null;
  private isClosed = false;
  private finished = false;

  constructor(
    private readonly owner: StreamOwner,
    private readonly vm: GuestVM | null,
    readonly info: StreamInfo,
    contextId: number,
  ) {
    this.contextId = contextId;
    this.startMs = info.request?.time === undefined ? Date.now() : -1;
    this.clock = owner.clockMark();
  }

  get closed(): boolean {
    return this.isClosed;
  }

  // ---- StreamScope (properties) ----

  get startTime(): Date {
    return this.info.request?.time ?? new Date(this.startMs >= 0 ? this.startMs : Date.now());
  }

  get durationNs(): bigint {
    return this.owner.elapsedNs(this.clock);
  }

  get responseInfo(): ResponseInfo {
    return (this.response ??= {});
  }

  get setProperties(): Map<string, Uint8Array> {
    return (this.props ??= new Map());
  }

  storedProperty(dottedPath: string): Uint8Array | undefined {
    return this.props === null ? undefined : this.props.get(dottedPath);
  }

  // ---- HttpStream ----

  onRequestHeaders(headers: HeaderMap, endOfStream: boolean): Promise<FilterOutcome> {
    return promised(this.decodeHeaders(headers, endOfStream));
  }

  onRequestBody(body: Uint8Array, endOfStream: boolean): Promise<BodyOutcome> {
    return promised(this.decodeData(body, endOfStream));
  }

  onRequestTrailers(trailers: HeaderMap): Promise<FilterOutcome> {
    return promised(this.decodeTrailers(trailers));
  }

  onResponseHeaders(headers: HeaderMap, endOfStream: boolean): Promise<FilterOutcome> {
    return promised(this.encodeHeaders(headers, endOfStream));
  }

  onResponseBody(body: Uint8Array, endOfStream: boolean): Promise<BodyOutcome> {
    return promised(this.encodeData(body, endOfStream));
  }

  onResponseTrailers(trailers: HeaderMap): Promise<FilterOutcome> {
    return promised(this.encodeTrailers(trailers));
  }

  decodeHeaders(headers: HeaderMap, endOfStream: boolean): FilterOutcome | Promise<FilterOutcome> {
    this.requestHeaders = headers;
    return this.run(REQUEST, HEADERS, headers.length, endOfStream ? 1 : 0, true);
  }

  decodeData(body: Uint8Array, endOfStream: boolean): BodyOutcome | Promise<BodyOutcome> {
    this.requestBodyBytes += body.length;
    const buffer = joinHeld(this.requestHeld, body);
    this.requestHeld = null;
    this.requestBody = buffer;
    this.requestEos = endOfStream;
    return this.run(REQUEST, DATA, buffer.length, endOfStream ? 1 : 0, endOfStream);
  }

  decodeTrailers(trailers: HeaderMap): FilterOutcome | Promise<FilterOutcome> {
    this.requestTrailers = trailers;
    return this.run(REQUEST, TRAILERS, trailers.length, 0, true);
  }

  encodeHeaders(headers: HeaderMap, endOfStream: boolean): FilterOutcome | Promise<FilterOutcome> {
    this.responseHeaders = headers;
    return this.run(RESPONSE, HEADERS, headers.length, endOfStream ? 1 : 0, true);
  }

  encodeData(body: Uint8Array, endOfStream: boolean): BodyOutcome | Promise<BodyOutcome> {
    this.responseBodyBytes += body.length;
    const buffer = joinHeld(this.responseHeld, body);
    this.responseHeld = null;
    this.responseBody = buffer;
    this.responseEos = endOfStream;
    return this.run(RESPONSE, DATA, buffer.length, endOfStream ? 1 : 0, endOfStream);
  }

  encodeTrailers(trailers: HeaderMap): FilterOutcome | Promise<FilterOutcome> {
    this.responseTrailers = trailers;
    return this.run(RESPONSE, TRAILERS, trailers.length, 0, true);
  }

  /** Keeps `info` itself when the stream has none yet (no copy per request); a later call merges into a copy. */
  setResponseInfo(info: ResponseInfo): void {
    const current = this.response;
    this.response = current === null ? info : { ...current, ...info };
  }

  done(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.requestPending || this.responsePending) this.settlePending(() => this.closedOutcome());
    const vm = this.vm;
    if (!vm || !vm.alive || !vm.contexts.has(this.contextId)) {
      vm?.contexts.delete(this.contextId);
      return;
    }
    try {
      const completed = vm.invoke(vm.streamCallbacks.done, this, 1, this.contextId);
      if (completed) this.finalize(vm);
      else vm.awaitingDone.set(this.contextId, () => this.finalize(vm));
    } catch (e) {
      vm.contexts.delete(this.contextId);
      this.owner.handleTrap(vm, e as GuestTrap);
    }
  }

  // ---- hostcall side (used by imports.ts) ----

  body(type: number): Uint8Array | null {
    return type === REQUEST ? this.requestBody : type === RESPONSE ? this.responseBody : null;
  }

  bodyEndOfStream(type: number): boolean {
    return type === REQUEST ? this.requestEos : type === RESPONSE && this.responseEos;
  }

  /** proxy_set_buffer_bytes: replaces `size` bytes at `start` (prepend, append, inject or replace). */
  spliceBody(type: Phase, start: number, size: number, data: Uint8Array): void {
    const old = this.body(type) ?? EMPTY;
    const from = Math.min(start, old.length);
    const to = Math.min(old.length, from + size);
    const out = new Uint8Array(from + data.length + (old.length - to));
    out.set(old.subarray(0, from), 0);
    out.set(data, from);
    out.set(old.subarray(to), from + data.length);
    if (type === REQUEST) this.requestBody = out;
    else this.responseBody = out;
  }

  continueStream(type: Phase): void {
    const p = type === REQUEST ? this.requestPending : this.responsePending;
    if (!p) return;
    if (type === REQUEST) this.requestPending = null;
    else this.responsePending = null;
    p.resolve(this.continueOutcome(type, p.body));
  }

  closeStream(): void {
    this.isClosed = true;
    this.settlePending(() => this.closedOutcome());
  }

  sendLocalResponse(response: LocalResponse): void {
    this.localResponse = response;
    this.settlePending(() => localOutcome(response));
  }

  clearRouteCache(): void {
    this.onClearRouteCache?.();
  }

  /** The VM trapped elsewhere (tick, http call response...): answer whatever is waiting. */
  failPending(): void {
    this.settlePending((phase, body) => this.failureOutcome(phase, body));
  }

  // ---- internals ----

  /** Runs one callback; the outcome itself unless the guest paused the stream (then a promise settled later). */
  private run(phase: Phase, part: Part, a: number, b: number, eos: boolean): BodyOutcome | Promise<BodyOutcome> {
    const body = part === DATA;
    if (this.finished) return Promise.reject(new Error(`${phaseCallbackName(phase, part)}: stream ${this.contextId} is already done`));
    if (this.isClosed) return this.closedOutcome();
    const vm = this.vm;
    if (!vm || !vm.alive) return this.failureOutcome(phase, body);
    this.localResponse = null;
    let code: number;
    try {
      code = vm.invoke(callbackOf(vm.streamCallbacks, phase, part), this, 0, this.contextId, a, b);
    } catch (e) {
      this.owner.handleTrap(vm, e as GuestTrap);
      return this.failureOutcome(phase, body);
    }
    if (this.localResponse) return localOutcome(this.localResponse);
    if (this.isClosed) return this.closedOutcome();
    if (!pauses(part, code)) return this.continueOutcome(phase, body);
    if (body && !eos) {
      // Buffered by the host: handed back (with the next chunk appended) on the next call.
      if (phase === REQUEST) this.requestHeld = this.requestBody;
      else this.responseHeld = this.responseBody;
      return { kind: "continue", body: EMPTY };
    }
    return new Promise((resolve) => {
      const pending = { resolve, body };
      if (phase === REQUEST) this.requestPending = pending;
      else this.responsePending = pending;
    });
  }

  private finalize(vm: GuestVM): void {
    try {
      if (vm.alive) {
        vm.invoke(vm.streamCallbacks.log, this, 0, this.contextId);
        vm.invoke(vm.streamCallbacks.delete, this, 0, this.contextId);
      }
    } catch (e) {
      this.owner.handleTrap(vm, e as GuestTrap);
    } finally {
      vm.contexts.delete(this.contextId);
    }
  }

  private settlePending(outcome: (phase: Phase, body: boolean) => BodyOutcome): void {
    const req = this.requestPending;
    const resp = this.responsePending;
    this.requestPending = this.responsePending = null;
    if (req) req.resolve(outcome(REQUEST, req.body));
    if (resp) resp.resolve(outcome(RESPONSE, resp.body));
  }

  private continueOutcome(phase: Phase, body: boolean): BodyOutcome {
    return body ? { kind: "continue", body: this.body(phase) ?? EMPTY } : CONTINUE;
  }

  private failureOutcome(phase: Phase, body: boolean): BodyOutcome {
    if (this.owner.failOpen) return this.continueOutcome(phase, body);
    return { kind: "local_response", status: 503, headers: [], body: EMPTY, details: "wasm_fail_stream", grpcStatus: GRPC_UNAVAILABLE };
  }

  private closedOutcome(): BodyOutcome {
    return { kind: "local_response", status: 503, headers: [], body: EMPTY, details: "wasm_close_stream", grpcStatus: GRPC_UNAVAILABLE };
  }
}

function phaseCallbackName(phase: Phase, part: Part): string {
  const which = part === HEADERS ? "Headers" : part === DATA ? "Body" : "Trailers";
  return STREAM_CALLBACKS[`${phase === REQUEST ? "request" : "response"}${which}` as StreamCallback];
}

/** The promise form of an outcome; the common continue costs no allocation. */
function promised(o: BodyOutcome | Promise<BodyOutcome>): Promise<BodyOutcome> {
  return o === CONTINUE ? CONTINUED : o instanceof Promise ? o : Promise.resolve(o);
}

function localOutcome(r: LocalResponse): FilterOutcome {
  const out: FilterOutcome = { kind: "local_response", status: r.status, headers: r.headers, body: r.body, details: r.details };
  if (r.grpcStatus !== undefined) out.grpcStatus = r.grpcStatus;
  return out;
}

function joinHeld(held: Uint8Array | null, chunk: Uint8Array): Uint8Array {
  if (!held || held.length === 0) return chunk;
  const out = new Uint8Array(held.length + chunk.length);
  out.set(held, 0);
  out.set(chunk, held.length);
  return out;
}
