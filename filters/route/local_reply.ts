// Decisions the route filter answers itself, the way Envoy's router / cors filter answer them:
// redirects and direct responses (details "direct_response"), CORS preflights ("cors_response"),
// and requests no route matches (404, empty body, "route_not_found", response flag NR).
import { HeaderPair, sendLocalResponse } from "../abi/index";
import { Decision, DecisionKind } from "../../engine/route/index";
import { localResponseHeaders } from "./header_ops";

export const DETAILS_DIRECT_RESPONSE = "direct_response";
export const DETAILS_CORS = "cors_response";
export const DETAILS_NO_ROUTE = "route_not_found";

export function answerLocally(d: Decision): void {
  if (d.kind == DecisionKind.NoRoute) {
    sendLocalResponse(404, DETAILS_NO_ROUTE, null, []);
    return;
  }
  if (d.corsPreflight) {
    sendLocalResponse(200, DETAILS_CORS, null, localResponseHeaders(d.responseHeaders, d.corsHeaders, []));
    return;
  }
  if (d.kind == DecisionKind.Redirect) {
    const headers: HeaderPair[] = [new HeaderPair("location", d.location)];
    sendLocalResponse(<u32>d.redirectStatus, DETAILS_DIRECT_RESPONSE, null, localResponseHeaders(d.responseHeaders, d.corsHeaders, headers));
    return;
  }
  // DirectResponse
  const body = d.body.byteLength > 0 ? d.body : null;
  sendLocalResponse(<u32>d.status, DETAILS_DIRECT_RESPONSE, body, localResponseHeaders(d.responseHeaders, d.corsHeaders, []));
}
