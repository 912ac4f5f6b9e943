// halyard.fault — Istio's HTTP fault injection (delay, then abort) ahead of halyard.route, as
// Istio puts Envoy's fault filter before the router. It loads the same route engine JSON as
// halyard.route and uses only the fault part of the engine's decision; see README.md for why both
// filters always agree on the route.
import {
  Action, continueStream, defineMetric, HttpContext, incrementMetric, logError, MetricType, registerRootContext,
  RootContext, sendLocalResponse, setEffectiveContext, setProperty, StreamType, WasmResult,
} from "../abi/index";
import { Decision, DecisionKind, decideInto, decideInVirtualHost, RandomSource, Request, RouteTable } from "../../engine/route/index";
import { ScopeOutcome, ScopeResolver } from "../route/scope";
import { destinationPort, readRequest, RequestScan } from "../route/request_reader";
import { hasFaults, loadTable, needsDestinationPort, seededRandom } from "../route/table";
import { isGrpcContentType, sendAbort } from "./abort";
import { nowNanoseconds } from "./clock";
import { DelayedStream, DelayQueue } from "./delays";

export const FAULT_ROOT_ID = "halyard.fault";
/** Envoy response flags for telemetry: DI = delay injected, FI = fault (abort) injected. */
const FLAGS_PROPERTY = "halyard.fault.flags";

/** Now + delayMs, saturating (the config allows delays up to 10 000 years). */
function deadlineAfter(delayMs: i64): u64 {
  const now = nowNanoseconds();
  const room = (u64.MAX_VALUE - now) / 1000000;
  return <u64>delayMs >= room ? u64.MAX_VALUE : now + <u64>delayMs * 1000000;
}

function recordFlags(flags: string): void {
  setProperty([FLAGS_PROPERTY], String.UTF8.encode(flags));
}

class FaultRoot extends RootContext {
  table: RouteTable | null = null;
  /** No route injects anything: requests pass without being read. */
  active: bool = false;
  needsPort: bool = false;
  rng: RandomSource = seededRandom();
  readonly delays: DelayQueue = new DelayQueue();
  readonly request: Request = new Request("GET", "http", "", "/");
  readonly scan: RequestScan = new RequestScan();
  readonly decision: Decision = new Decision();
  readonly scopes: ScopeResolver = new ScopeResolver(true);
  delaysInjected: u32 = 0;
  abortsInjected: u32 = 0;

  onConfigure(pluginConfigurationSize: usize): bool {
    const loaded = loadTable(this.getPluginConfiguration(pluginConfigurationSize));
    const table = loaded.table;
    if (!table) {
      logError(FAULT_ROOT_ID + ": invalid configuration: " + loaded.error);
      return false;
    }
    this.table = table;
    // Scoped: the routes (and their faults) arrive per request in the route metadata.
    this.active = table.scoped || hasFaults(table);
    this.needsPort = needsDestinationPort(table);
    const d = defineMetric(MetricType.Counter, "halyard.fault.delays_injected");
    const a = defineMetric(MetricType.Counter, "halyard.fault.aborts_injected");
    this.delaysInjected = d.ok ? d.id : 0;
    this.abortsInjected = a.ok ? a.id : 0;
    return true;
  }

  createHttpContext(contextId: u32): HttpContext | null {
    return new FaultHttp(contextId, this);
  }

  onTick(): void {
    const due = this.delays.takeDue();
    for (let i = 0, n = due.length; i < n; i++) {
      const s = unchecked(due[i]);
      if (setEffectiveContext(s.contextId) != 0) continue; // the stream is gone
      if (s.abortHttpStatus > 0 || s.abortGrpcStatus >= 0) {
        this.abort(s.abortHttpStatus, s.abortGrpcStatus, s.grpcRequest, true);
      } else {
        continueStream(StreamType.HttpRequest);
      }
    }
    if (due.length) setEffectiveContext(this.contextId);
  }

  /** Answers the effective stream with the abort and records FI. */
  abort(httpStatus: i32, grpcStatus: i32, grpcRequest: bool, afterDelay: bool): void {
    recordFlags(afterDelay ? "DI,FI" : "FI");
    if (this.abortsInjected) incrementMetric(this.abortsInjected, 1);
    sendAbort(httpStatus, grpcStatus, grpcRequest);
  }
}

class FaultHttp extends HttpContext {
  private faultRoot: FaultRoot;
  private delayed: bool = false;

  constructor(contextId: u32, root: FaultRoot) {
    super(contextId, root);
    this.faultRoot = root;
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    const root = this.faultRoot;
    const table = root.table;
    if (!table || !root.active) return Action.Continue;
    const req = root.request;
    // An unreadable map is left to halyard.route, which answers it.
    if (readRequest(req, root.needsPort ? destinationPort() : 0, root.scan) != WasmResult.Ok) return Action.Continue;
    let d: Decision;
    if (table.scoped) {
      const outcome = root.scopes.resolve(table, req.authority);
      if (outcome == ScopeOutcome.Failed) {
        logError(FAULT_ROOT_ID + ": " + root.scopes.error);
        sendLocalResponse(500, "halyard_route_metadata_invalid", null, []);
        return Action.Pause;
      }
      if (outcome == ScopeOutcome.NoHost) return Action.Continue;
      const scoped = root.scopes.host!;
      if (!scoped.hasFaults) return Action.Continue;
      if (scoped.needsPort) req.port = destinationPort();
      d = decideInVirtualHost(scoped.host, req, root.rng, root.decision);
    } else d = decideInto(table, req, root.rng, root.decision);
    if (d.kind == DecisionKind.NoRoute || (d.delayMs <= 0 && !d.aborted)) return Action.Continue;
    const grpcRequest = isGrpcContentType(req.header("content-type"));
    if (d.delayMs > 0) {
      recordFlags("DI");
      if (root.delaysInjected) incrementMetric(root.delaysInjected, 1);
      const due = deadlineAfter(d.delayMs);
      root.delays.add(new DelayedStream(this.contextId, due, d.abortHttpStatus, d.abortGrpcStatus, grpcRequest));
      this.delayed = true;
      return Action.Pause;
    }
    root.abort(d.abortHttpStatus, d.abortGrpcStatus, grpcRequest, false);
    return Action.Pause;
  }

  // While delayed, body and trailers wait with the headers (Envoy: StopIterationAndWatermark).
  onRequestBody(bodySize: usize, endOfStream: bool): Action {
    return this.delayed && this.faultRoot.delays.has(this.contextId) ? Action.Pause : Action.Continue;
  }

  onRequestTrailers(numTrailers: u32): Action {
    return this.delayed && this.faultRoot.delays.has(this.contextId) ? Action.Pause : Action.Continue;
  }

  onDelete(): void {
    if (this.delayed) this.faultRoot.delays.cancel(this.contextId);
  }
}

registerRootContext(FAULT_ROOT_ID, (contextId: u32): RootContext => new FaultRoot(contextId));
