// The route engine's configuration JSON (engine/route/CONFIG.md) as TypeScript types: what translation produces
// and what the halyard.route / halyard.fault filters load. Field names are the engine's (snake_case).

export interface EngineStringMatch {
  exact?: string;
  prefix?: string;
  regex?: string;
}

export interface EngineMatch {
  name?: string;
  uri?: EngineStringMatch;
  ignore_uri_case?: boolean;
  scheme?: EngineStringMatch;
  method?: EngineStringMatch;
  authority?: EngineStringMatch;
  headers?: Record<string, EngineStringMatch>;
  without_headers?: Record<string, EngineStringMatch>;
  query_params?: Record<string, EngineStringMatch>;
  port?: number;
}

export interface EngineHeaderSide {
  set?: Record<string, string>;
  add?: Record<string, string>;
  remove?: string[];
}

export interface EngineHeaderOps {
  request?: EngineHeaderSide;
  response?: EngineHeaderSide;
}

export interface EngineDestination {
  cluster: string;
  weight?: number;
  headers?: EngineHeaderOps;
  authority?: string;
}

export interface EngineRedirect {
  uri?: string;
  authority?: string;
  scheme?: string;
  port?: number;
  derive_port?: "FROM_PROTOCOL_DEFAULT" | "FROM_REQUEST_PORT";
  redirect_code?: number;
}

export interface EngineDirectResponse {
  status: number;
  body?: { string: string } | { bytes: string };
}

export interface EngineRewrite {
  uri?: string;
  uri_regex?: { match: string; rewrite: string };
  authority?: string;
}

export interface EngineRetries {
  attempts: number;
  per_try_timeout_ms?: number;
  retry_on?: string;
}

export interface EngineFault {
  delay?: { fixed_delay_ms: number; percentage?: number };
  abort?: { http_status?: number; grpc_status?: string; percentage?: number };
}

export interface EngineMirror {
  cluster: string;
  percentage?: number;
}

export interface EngineCors {
  allow_origins?: EngineStringMatch[];
  allow_methods?: string[];
  allow_headers?: string[];
  expose_headers?: string[];
  max_age_s?: number;
  allow_credentials?: boolean;
  unmatched_preflights?: "FORWARD" | "IGNORE";
}

export interface EngineRoute {
  name?: string;
  match?: EngineMatch[];
  route?: EngineDestination[];
  redirect?: EngineRedirect;
  direct_response?: EngineDirectResponse;
  rewrite?: EngineRewrite;
  timeout_ms?: number;
  retries?: EngineRetries;
  fault?: EngineFault;
  mirrors?: EngineMirror[];
  cors?: EngineCors;
  headers?: EngineHeaderOps;
}

export interface EngineVirtualHost {
  name: string;
  domains: string[];
  routes: EngineRoute[];
}

export interface EngineRouteConfig {
  virtual_hosts: EngineVirtualHost[];
  ignore_port_in_host_matching?: boolean;
}
