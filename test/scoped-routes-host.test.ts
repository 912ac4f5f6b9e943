// wasm/host: the route attributes an embedder that re-resolves routes provides through StreamInfo.route —
// xds.route_metadata (Metadata protobuf bytes as given), xds.route_name / route_name following the live route,
// read again at every get_property (as after clear_route_cache). Raw probe guest, real host.
import { create, toBinary } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";
import { MetadataSchema } from "../gen/envoy/config/core/v3/base_pb.js";
import type { RouteProperties, StreamInfo } from "../wasm/host/index.js";
import { header, loadProbe, probeRequest, type Probe } from "./helpers/host-probe.js";

const hexOf = (b: Uint8Array) => Buffer.from(b).toString("hex");
let probe: Probe;
afterEach(async () => {
  await probe?.plugin.close();
});

async function props(info: StreamInfo, names: string[]) {
  const stream = probe.plugin.createStream(info);
  const headers = probeRequest("props", [["x-props", names.join(",")]]);
  await stream.onRequestHeaders(headers, true);
  stream.done();
  return (n: string) => header(headers, `x-prop-${n}`);
}

describe("route attributes from StreamInfo.route", () => {
  const names = ["xds.route_metadata", "xds.route_name", "route_name"];

  it("returns the live route's metadata bytes and name, asked at each read", async () => {
    probe = await loadProbe();
    const metadata = toBinary(MetadataSchema, create(MetadataSchema, { filterMetadata: { "halyard.route": { routes: "[]", digest: "d" } } as never }));
    let current: RouteProperties | undefined = { name: "default", metadata };
    let asked = 0;
    const info: StreamInfo = { routeName: "stale", route: () => (asked++, current) };
    let prop = await props(info, names);
    expect(prop("xds.route_metadata")).toBe(hexOf(metadata));
    expect(prop("xds.route_name")).toBe(hexOf(new TextEncoder().encode("default")));
    expect(prop("route_name")).toBe(hexOf(new TextEncoder().encode("default")));
    expect(asked).toBe(3);

    current = { name: "other" }; // re-resolved to a route without metadata
    prop = await props(info, names);
    expect(prop("xds.route_metadata")).toBe("!1"); // NotFound
    expect(prop("xds.route_name")).toBe(hexOf(new TextEncoder().encode("other")));

    current = undefined; // no route
    prop = await props(info, names);
    expect(prop("xds.route_metadata")).toBe("!1");
    expect(prop("xds.route_name")).toBe("!1");
  });

  it("without StreamInfo.route: routeName as before, no route metadata", async () => {
    probe = await loadProbe();
    const prop = await props({ routeName: "r1" }, names);
    expect(prop("xds.route_name")).toBe(hexOf(new TextEncoder().encode("r1")));
    expect(prop("xds.route_metadata")).toBe("!1");
  });
});
