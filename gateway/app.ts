// The Hono app of one listener: every request goes to the HTTP connection manager. Portable; the embedder turns
// the context into a DownstreamRequest (fromWebRequest anywhere, or a runtime fast path) plus connection addresses.
import { Hono, type Context } from "hono";
import type { DownstreamInfo, DownstreamRequest, HttpConnectionManager } from "./hcm.js";

export type Downstream<E extends object> = (c: Context<{ Bindings: E }>) => { request: DownstreamRequest; info: DownstreamInfo };

export function createListenerApp<E extends object>(hcm: HttpConnectionManager, downstream: Downstream<E>): Hono<{ Bindings: E }> {
  const app = new Hono<{ Bindings: E }>();
  app.all("*", (c) => {
    const { request, info } = downstream(c);
    return hcm.handle(request, info);
  });
  return app;
}
