// REST-JSON xDS: POST /v3/discovery:{listeners,routes,clusters,endpoints,secrets} with a DiscoveryRequest in
// canonical proto3 JSON, answered with a DiscoveryResponse (Any resources resolved through gen/registry), or
// 304 when version_info is already the current version. A plain Hono app, so it can run on Workers too.
import { Hono } from "hono";
import { fromJson, toJson, type JsonValue } from "@bufbuild/protobuf";
import { registry } from "../../gen/registry.js";
import { DiscoveryRequestSchema, DiscoveryResponseSchema } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import type { SnapshotCache } from "./cache.js";
import { fetchResources } from "./fetch.js";
import { RESOURCE_TYPES, resourceTypeByShortName } from "./resource-types.js";

const PREFIX = "discovery:";

export function createRestXdsApp(cache: SnapshotCache): Hono {
  const app = new Hono();
  app.post("/v3/:operation", async (c) => {
    const operation = c.req.param("operation");
    const type = operation.startsWith(PREFIX) ? resourceTypeByShortName(operation.slice(PREFIX.length)) : undefined;
    if (!type) {
      const known = RESOURCE_TYPES.map((t) => `/v3/${PREFIX}${t.short}`).join(", ");
      return c.json({ error: `unknown xDS REST endpoint /v3/${operation} (known: ${known})` }, 404);
    }
    let body: JsonValue;
    try {
      body = (await c.req.json()) as JsonValue;
    } catch {
      return c.json({ error: "request body: not valid JSON" }, 400);
    }
    let request;
    try {
      request = fromJson(DiscoveryRequestSchema, body, { registry });
    } catch (e) {
      return c.json({ error: `request body: not a DiscoveryRequest: ${e instanceof Error ? e.message : String(e)}` }, 400);
    }
    const result = await fetchResources(cache, type.typeUrl, request);
    switch (result.kind) {
      case "ok":
        return c.json(toJson(DiscoveryResponseSchema, result.response, { registry }) as object);
      case "not-modified":
        return c.body(null, 304);
      case "invalid":
        return c.json({ error: `request body: ${result.message}` }, 400);
      case "unavailable":
        return c.json({ error: result.message }, 503);
    }
  });
  return app;
}
