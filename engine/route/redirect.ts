// The Location of a redirect (Envoy RedirectAction as Istio configures it).
import { DerivePort, RedirectAction } from "./config";
import { Request } from "./request";

/**
 * scheme: redirect.scheme, else the request's. host: redirect.authority, else the request's
 * authority (its port dropped when a port is being set, or when the scheme changes away from a
 * request on its scheme's default port). port: redirect.port, the destination port for
 * FROM_REQUEST_PORT, none for FROM_PROTOCOL_DEFAULT; never written when it is the scheme's
 * default (80 for http, 443 for https). path: redirect.uri (keeping the request's query unless
 * uri has its own), else the request's path.
 */
export function buildLocation(r: RedirectAction, req: Request): string {
  const scheme = r.scheme.length ? r.scheme : req.scheme;
  let port: i32 = 0;
  if (r.port != 0) port = r.port;
  else if (r.derivePort == DerivePort.FromRequestPort) port = req.port;
  const settingPort = r.derivePort != DerivePort.None || r.port != 0;
  if ((port == 80 && scheme == "http") || (port == 443 && scheme == "https")) port = 0;

  const host = r.authority.length ? r.authority : requestHost(req, scheme, settingPort);
  let path: string;
  if (r.uri.length) {
    if (r.uriHasQuery) path = r.uri;
    else {
      const q = req.path.indexOf("?");
      path = q >= 0 ? r.uri + req.path.substring(q) : r.uri;
    }
  } else {
    path = req.path;
  }
  if (path.length == 0 || path.charCodeAt(0) != 0x2f) path = "/" + path;
  return scheme + "://" + host + (port > 0 ? ":" + port.toString() : "") + path;
}

function requestHost(req: Request, newScheme: string, settingPort: bool): string {
  const host = req.authority;
  let portAt: i32;
  if (host.length > 0 && host.charCodeAt(0) == 0x5b) {
    const close = host.lastIndexOf("]:");
    portAt = close < 0 ? -1 : close + 1;
  } else {
    portAt = host.lastIndexOf(":");
  }
  if (portAt < 0) return host;
  let remove = settingPort;
  if (newScheme != req.scheme) {
    const port = host.substring(portAt);
    remove = remove || (req.scheme == "https" && port == ":443") || (req.scheme == "http" && port == ":80");
  }
  return remove ? host.substring(0, portAt) : host;
}
