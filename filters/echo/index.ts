// halyard.echo — a small sample filter: sets configured request headers on the way upstream,
// sets configured response headers on the way downstream, and answers configured paths with a
// local response. An empty or {} configuration makes it a no-op (used by the benchmark).
import {
  Action, HttpContext, logError, MapType, registerRootContext, replaceHeader, RootContext, getHeader, sendLocalResponse,
} from "../abi/index";
import { EchoConfig, parseEchoConfig } from "./config";

export const ECHO_ROOT_ID = "halyard.echo";

class EchoRoot extends RootContext {
  config: EchoConfig = new EchoConfig();

  onConfigure(pluginConfigurationSize: usize): bool {
    const result = parseEchoConfig(this.getPluginConfiguration(pluginConfigurationSize));
    const config = result.config;
    if (!config) {
      logError(ECHO_ROOT_ID + ": invalid configuration: " + result.error);
      return false;
    }
    this.config = config;
    return true;
  }

  createHttpContext(contextId: u32): HttpContext | null {
    return new EchoHttp(contextId, this, this.config);
  }
}

class EchoHttp extends HttpContext {
  constructor(contextId: u32, root: RootContext, private config: EchoConfig) {
    super(contextId, root);
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): Action {
    const config = this.config;
    if (config.localResponses.size > 0) {
      const path = getHeader(MapType.HttpRequestHeaders, ":path");
      if (path !== null) {
        const q = path.indexOf("?");
        const bare = q >= 0 ? path.substring(0, q) : path;
        if (config.localResponses.has(bare)) {
          const r = config.localResponses.get(bare);
          sendLocalResponse(r.status, "halyard_echo_local_response", String.UTF8.encode(r.body), r.headers);
          return Action.Pause;
        }
      }
    }
    const headers = config.requestHeaders;
    for (let i = 0, n = headers.length; i < n; i++) {
      const h = unchecked(headers[i]);
      replaceHeader(MapType.HttpRequestHeaders, h.key, h.value);
    }
    return Action.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): Action {
    const headers = this.config.responseHeaders;
    for (let i = 0, n = headers.length; i < n; i++) {
      const h = unchecked(headers[i]);
      replaceHeader(MapType.HttpResponseHeaders, h.key, h.value);
    }
    return Action.Continue;
  }
}

registerRootContext(ECHO_ROOT_ID, (contextId: u32): RootContext => new EchoRoot(contextId));
