// halyard.route — runs the route engine (engine/route) on each request and states its decision in
// Envoy's terms for whichever router executes it (Envoy's, or the Hono gateway's): see README.md.
// Faults are left to halyard.fault, which runs earlier in the chain.
import {
  Action, BufferType, getBufferBytes, HeaderPair, HttpContext, logDebug, logError,
  MapType, registerRootContext, removeHeader, RootContext, sendLocalResponse, WasmResult,
} from "../abi/index";
import { Decision, DecisionKind, decideInto, decideInVirtualHost, HeaderOps, RandomSource, Request, RouteTable } from "../../engine/route/index";
import { SCOPE_HEADER } from "./control_headers";
import { callForeignNamed, EncodedName } from "./encoded";
import { writeRouteDecision } from "./envoy_headers";
import { applyHeaderOps, setPairs } from "./header_ops";
import { answerLocally } from "./local_reply";
import { BodyCopy, MIRROR_DEFAULT_TIMEOUT_MS, mirrorHeaders, sendMirrors } from "./mirror";
import { recordDecision } from "./properties";
import { destinationPort, readRequest, RequestScan } from "./request_reader";
import { ScopeOutcome, ScopeResolver } from "./scope";
import { loadTable, needsDestinationPort, seededRandom, withoutFaults } from "./table";

export const ROUTE_ROOT_ID = "halyard.route";

class RouteRoot extends RootContext {
  table: RouteTable | null = null;
  needsPort: bool = false;
  rng: RandomSource = seededRandom();
  // Reused per request: decisions run one at a time inside a VM.
  readonly request: Request = new Request("GET", "http", "", "/");
  readonly scan: RequestScan = new RequestScan();
  readonly decision: Decision = new Decision();
  readonly scopes: ScopeResolver = new ScopeResolver(false);

  onConfigure(pluginConfigurationSize: usize): bool {
    const loaded = loadTable(this.getPluginConfiguration(pluginConfigurationSize));
    const table = loaded.table;
    if (!table) {
      logError(ROUTE_ROOT_ID + ": invalid configuration: " + loaded.error);
      return false;
    }
    this.table = withoutFaults(table);
    this.needsPort = needsDestinationPort(table);
    return true;
  }

  createHttpContext(contextId: u32): HttpContext | null {
    return new RouteHttp(contextId, this);
  }
}

/** Asks the host to re-evaluate the route now that the cluster header is set. Hosts without the
 *  foreign function (older Envoy) answer NotFound / Unimplemented: nothing to clear there. */
const CLEAR_ROUTE_CACHE = new EncodedName("clear_route_cache");

function clearRouteCache(): void {
  const s = callForeignNamed(CLEAR_ROUTE_CACHE);
  if (s != WasmResult.Ok && s != WasmResult.NotFound && s != WasmResult.Unimplemented) {
    logDebug(ROUTE_ROOT_ID + ": clear_route_cache failed with status " + s.toString());
  }
}

class RouteHttp extends HttpContext {
  private routeRoot: RouteRoot;
  /** The request was answered by this filter: its response carries everything already. */
  private answered: bool = false;
  private responseOps: HeaderOps | null = null;
  private corsHeaders: string[] | null = null;
  // A mirror waiting for the request body.
  private mirrorClusters: string[] | null = null;
  private mirrorHeaderPairs: HeaderPair[] | null = null;
  private mirrorTimeoutMs: u32 = 0;
  private mirrorBody: BodyCopy | null = null;

  constructor(contextId: u32, root: RouteRoot) {
    super(contextId, root);
    this.routeRoot = root;
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    const root = this.routeRoot;
    const table = root.table;
    if (!table) return Action.Continue;
    const req = root.request;
    const scan = root.scan;
    const read = readRequest(req, root.needsPort ? destinationPort() : 0, scan);
    if (read != WasmResult.Ok) {
      logError(ROUTE_ROOT_ID + ": the request header map could not be read (proxy status " + (<u32>read).toString() + ")");
      sendLocalResponse(500, "halyard_route_unreadable_headers", null, []);
      this.answered = true;
      return Action.Pause;
    }
    const control = scan.controlHeaders;
    const scoped = table.scoped;
    for (let i = 0, n = control.length; i < n; i++) {
      const name = unchecked(control[i]);
      // Scoped: the scope step below owns x-halyard-scope (it may have been written by halyard.fault already).
      if (!scoped || name != SCOPE_HEADER) removeHeader(MapType.HttpRequestHeaders, name);
    }

    let d: Decision;
    if (scoped) {
      const outcome = root.scopes.resolve(table, req.authority);
      if (outcome == ScopeOutcome.Failed) {
        logError(ROUTE_ROOT_ID + ": " + root.scopes.error);
        sendLocalResponse(500, "halyard_route_metadata_invalid", null, []);
        this.answered = true;
        return Action.Pause;
      }
      if (outcome == ScopeOutcome.Host) {
        const scopedHost = root.scopes.host!;
        if (scopedHost.needsPort) req.port = destinationPort();
        d = decideInVirtualHost(scopedHost.host, req, root.rng, root.decision);
      } else d = decideInto(table, req, root.rng, root.decision); // no virtual host: no_route
    } else d = decideInto(table, req, root.rng, root.decision);
    recordDecision(d);
    if (d.kind != DecisionKind.Route) {
      answerLocally(d);
      this.answered = true;
      return Action.Pause;
    }
    writeRouteDecision(d, req.path);
    clearRouteCache();
    if (!d.responseHeaders.isEmpty) this.responseOps = d.responseHeaders;
    if (d.corsHeaders.length) this.corsHeaders = d.corsHeaders;
    if (d.mirrors.length) this.startMirrors(d, endOfStream);
    return Action.Continue;
  }

  onRequestBody(bodySize: usize, endOfStream: bool): Action {
    const copy = this.mirrorBody;
    if (copy) {
      if (bodySize > 0) {
        const chunk = getBufferBytes(BufferType.HttpRequestBody, 0, <u32>bodySize);
        if (chunk) copy.append(chunk);
      }
      if (endOfStream) this.flushMirrors();
    }
    return Action.Continue;
  }

  onRequestTrailers(numTrailers: u32): Action {
    if (this.mirrorBody) this.flushMirrors();
    return Action.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): Action {
    if (this.answered) return Action.Continue;
    const ops = this.responseOps;
    if (ops) applyHeaderOps(MapType.HttpResponseHeaders, ops);
    const cors = this.corsHeaders;
    if (cors) setPairs(MapType.HttpResponseHeaders, cors);
    return Action.Continue;
  }

  private startMirrors(d: Decision, endOfStream: bool): void {
    const headers = mirrorHeaders();
    const timeout = d.timeoutMs > 0 ? <u32>min<i64>(d.timeoutMs, <i64>u32.MAX_VALUE) : MIRROR_DEFAULT_TIMEOUT_MS;
    if (endOfStream) {
      sendMirrors(this.routeRoot.contextId, this.contextId, d.mirrors, headers, null, timeout);
      return;
    }
    this.mirrorClusters = d.mirrors;
    this.mirrorHeaderPairs = headers;
    this.mirrorTimeoutMs = timeout;
    this.mirrorBody = new BodyCopy();
  }

  private flushMirrors(): void {
    const clusters = this.mirrorClusters;
    const headers = this.mirrorHeaderPairs;
    const body = this.mirrorBody;
    this.mirrorClusters = null;
    this.mirrorHeaderPairs = null;
    this.mirrorBody = null;
    if (clusters && headers && body) {
      sendMirrors(this.routeRoot.contextId, this.contextId, clusters, headers, body.take(), this.mirrorTimeoutMs);
    }
  }
}

registerRootContext(ROUTE_ROOT_ID, (contextId: u32): RootContext => new RouteRoot(contextId));
