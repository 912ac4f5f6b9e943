// Bootstrap parsing: proto-level errors (unknown field, wrong type), fields halyard does not implement, and missing
// files each give ONE line naming the file, line and field path — through the real CLI and in-process.
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { BootstrapError } from "../gateway/bootstrap/errors.js";
import { loadBootstrapFile } from "../gateway/bootstrap/load.js";
import { parseBootstrap } from "../gateway/bootstrap/parse.js";
import { bootstrap, listener, staticCluster, wasmFilter } from "./helpers/envoy-bootstrap.js";
import { requireBuiltCli, root, runCli, tempDir } from "./helpers/gateway-process.js";

const HFS = "static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters";

function validDoc(filename = "filter.wasm") {
  return bootstrap(
    [
      listener({
        port: 10000,
        httpFilters: [wasmFilter({ name: "echo", rootId: "halyard.echo", filename, configuration: "{}" })],
        virtualHosts: [{ name: "all", domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: "backend" } }] }],
      }),
    ],
    [staticCluster("backend", [8080])],
  );
}

let dir: string;
beforeAll(() => {
  requireBuiltCli();
  dir = tempDir("halyard-bootstrap-");
  writeFileSync(join(dir, "filter.wasm"), new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
});

/** Writes `text` as <name> in the temp dir and runs `halyard gateway -c` on it; expects exit 1 and one line. */
async function cliError(name: string, text: string): Promise<string> {
  const file = join(dir, name);
  writeFileSync(file, text);
  const r = await runCli(["gateway", "-c", file]);
  expect(r.code).toBe(1);
  expect(r.stdout).toBe("");
  const lines = r.stderr.split("\n").filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
  return lines[0]!.replaceAll(dir + "/", "");
}

function yamlWith(mutate: (doc: any) => void): string {
  const doc = validDoc();
  mutate(doc);
  return stringify(doc);
}

describe("halyard gateway -c: bad bootstraps exit 1 with one line", () => {
  it("unknown field, with its path and line", async () => {
    const text = yamlWith((d) => (d.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[1].foo = 1));
    const line = await cliError("unknown.yaml", text);
    const lineNo = text.split("\n").findIndex((l) => l.includes("foo: 1")) + 1;
    expect(line).toBe(`halyard gateway: unknown.yaml:${lineNo}: ${HFS}[1]: unknown field "foo"`);
  });

  it("wrong type", async () => {
    const text = yamlWith((d) => (d.static_resources.listeners[0].address.socket_address.port_value = "eighty"));
    const line = await cliError("wrongtype.yaml", text);
    expect(line).toMatch(/^halyard gateway: wrongtype\.yaml:\d+: static_resources\.listeners\[0\]\.address\.socket_address\.port_value: expected number \(uint32\), got "eighty"$/);
  });

  it("wrong type for a Duration and an enum", async () => {
    expect(await cliError("duration.yaml", yamlWith((d) => (d.static_resources.clusters[0].connect_timeout = "one second")))).toMatch(
      /^halyard gateway: duration\.yaml:\d+: static_resources\.clusters\[0\]\.connect_timeout: invalid google\.protobuf\.Duration: "one second"$/,
    );
    expect(await cliError("enum.yaml", yamlWith((d) => (d.static_resources.clusters[0].lb_policy = "FASTEST")))).toMatch(
      /^halyard gateway: enum\.yaml:\d+: static_resources\.clusters\[0\]\.lb_policy: invalid value "FASTEST" for enum envoy\.config\.cluster\.v3\.Cluster\.LbPolicy$/,
    );
  });

  it("a field the proto accepts but halyard does not implement", async () => {
    const text = yamlWith((d) => (d.static_resources.listeners[0].per_connection_buffer_limit_bytes = 1024));
    const line = await cliError("unsupported.yaml", text);
    const lineNo = text.split("\n").findIndex((l) => l.includes("per_connection_buffer_limit_bytes")) + 1;
    expect(line).toBe(`halyard gateway: unsupported.yaml:${lineNo}: static_resources.listeners[0].per_connection_buffer_limit_bytes: not supported by halyard gateway`);
  });

  it("an unsupported value of a supported field", async () => {
    expect(await cliError("lbpolicy.yaml", yamlWith((d) => (d.static_resources.clusters[0].lb_policy = "LOAD_BALANCING_POLICY_CONFIG")))).toMatch(
      /^halyard gateway: lbpolicy\.yaml:\d+: static_resources\.clusters\[0\]\.lb_policy: "LOAD_BALANCING_POLICY_CONFIG" is not supported by halyard gateway \(supported: ROUND_ROBIN, LEAST_REQUEST, RING_HASH, RANDOM, MAGLEV, CLUSTER_PROVIDED\)$/,
    );
  });

  it("a missing wasm file names the file and the field", async () => {
    const doc = validDoc("missing/nope.wasm");
    const line = await cliError("nowasm.yaml", stringify(doc));
    expect(line).toBe(
      `halyard gateway: nowasm.yaml:${stringify(doc).split("\n").findIndex((l) => l.includes("missing/nope.wasm")) + 1}: ` +
        `${HFS}[0].typed_config.config.vm_config.code.local.filename: wasm file not found: ${join(dir, "missing/nope.wasm").replace(dir + "/", "")}`,
    );
  });

  it("an unknown typed_config type URL", async () => {
    const line = await cliError("anytype.yaml", yamlWith((d) => (d.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters[1].typed_config["@type"] = "type.googleapis.com/acme.Nope")));
    expect(line).toMatch(new RegExp(`^halyard gateway: anytype\\.yaml:\\d+: ${HFS.replace(/[.[\]]/g, "\\$&")}\\[1\\]\\.typed_config: unknown type "type\\.googleapis\\.com/acme\\.Nope"$`));
  });

  it("a YAML syntax error and a missing bootstrap file", async () => {
    expect(await cliError("syntax.yaml", "static_resources:\n  listeners: [\n")).toMatch(/^halyard gateway: syntax\.yaml:\d+: /);
    const r = await runCli(["gateway", "-c", join(dir, "absent.yaml")]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain("absent.yaml: cannot read the bootstrap file (no such file)");
  });

  it("a route naming an unknown cluster (Envoy's validate_clusters)", async () => {
    const line = await cliError("nocluster.yaml", yamlWith((d) => (d.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes[0].route.cluster = "ghost")));
    expect(line).toMatch(/route_config\.virtual_hosts\[0\]\.routes\[0\]\.route\.cluster: unknown cluster "ghost"$/);
  });

  it("a wasm file that is not a proxy-wasm module fails at startup with one line", async () => {
    const line = await cliError("notabi.yaml", stringify(validDoc("filter.wasm")));
    expect(line).toMatch(new RegExp(`^halyard gateway: notabi\\.yaml: ${HFS.replace(/[.[\]]/g, "\\$&")}\\[0\\]: .*echo`));
  });

  it("a listener port already in use fails at startup with one line", async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, "127.0.0.1", () => r()));
    try {
      const doc = validDoc() as any;
      doc.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters.shift();
      doc.static_resources.listeners[0].address.socket_address.port_value = (busy.address() as AddressInfo).port;
      const line = await cliError("busy.yaml", stringify(doc));
      expect(line).toBe(`halyard gateway: listener "http" on 127.0.0.1:${(busy.address() as AddressInfo).port}: address already in use`);
    } finally {
      busy.close();
    }
  });

  it("usage errors", async () => {
    const r = await runCli(["gateway"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("missing -c <bootstrap file>");
  });
});

describe("parseBootstrap (in-process)", () => {
  const opts = { resolvePath: (n: string) => `/base/${n}` };
  const parse = (doc: unknown, name = "b.yaml") => parseBootstrap(name, typeof doc === "string" ? doc : stringify(doc), opts);
  const errorOf = (doc: unknown, name?: string) => {
    try {
      parse(doc, name);
    } catch (e) {
      expect(e).toBeInstanceOf(BootstrapError);
      return (e as Error).message;
    }
    throw new Error("expected a BootstrapError");
  };

  it("turns a valid bootstrap into the gateway config", () => {
    const c = parse(validDoc());
    expect(c.node).toEqual({ id: "test-node", cluster: "test", metadata: {} });
    expect(c.listeners).toHaveLength(1);
    const l = c.listeners[0]!;
    expect(l.address).toEqual({ address: "127.0.0.1", port: 10000 });
    expect(l.hcm.httpFilters).toEqual([
      expect.objectContaining({ name: "echo", rootId: "halyard.echo", vmId: "echo", runtime: "envoy.wasm.runtime.v8", codePath: "/base/filter.wasm", configuration: "{}", failOpen: false }),
    ]);
    expect(l.hcm.routeConfig.virtualHosts[0]!.routes[0]).toEqual({
      name: "",
      match: { kind: "prefix", value: "/", caseSensitive: true },
      action: { cluster: "backend", timeoutMs: 15000, clusterNotFoundStatus: 503 },
    });
    expect(c.clusters).toEqual([{ name: "backend", connectTimeoutMs: 1000, endpoints: [{ address: "127.0.0.1", port: 8080 }] }]);
  });

  it("accepts JSON, lowerCamel field names and BytesValue configuration", () => {
    const doc = validDoc() as any;
    const hcm = doc.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    hcm.statPrefix = hcm.stat_prefix;
    delete hcm.stat_prefix;
    hcm.http_filters[0].typed_config.config.configuration = { "@type": "type.googleapis.com/google.protobuf.BytesValue", value: btoa("{}") };
    const c = parseBootstrap("b.json", JSON.stringify(doc), opts);
    expect(c.listeners[0]!.hcm.statPrefix).toBe("ingress_http");
    expect(new TextDecoder().decode(c.listeners[0]!.hcm.httpFilters[0]!.configuration as Uint8Array)).toBe("{}");
  });

  it("reads route timeouts, cluster_header, case_sensitive, node metadata and admin", () => {
    const doc = validDoc() as any;
    const vh = doc.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0];
    vh.routes.unshift({ match: { path: "/Exact", case_sensitive: false }, route: { cluster_header: "X-Cluster", timeout: "0.25s" } });
    doc.node.metadata = { team: "edge", n: 3 };
    doc.admin = { address: { socket_address: { address: "127.0.0.1", port_value: 9901 } } };
    const c = parse(doc);
    expect(c.listeners[0]!.hcm.routeConfig.virtualHosts[0]!.routes[0]).toEqual({
      name: "",
      match: { kind: "path", value: "/Exact", caseSensitive: false },
      action: { clusterHeader: "x-cluster", timeoutMs: 250, clusterNotFoundStatus: 503 },
    });
    expect(c.node.metadata).toEqual({ team: "edge", n: 3 });
    expect(c.admin).toEqual({ address: "127.0.0.1", port: 9901 });
  });

  it("rejects what Envoy's validation rejects", () => {
    const vhosts = (d: any) => d.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts;
    const dup = validDoc() as any;
    vhosts(dup).push({ name: "again", domains: ["*"], routes: [] });
    expect(errorOf(dup)).toMatch(/virtual_hosts\[1\]\.domains\[0\]: domain "\*" is already used by virtual host "all"/);

    const noRouter = validDoc() as any;
    noRouter.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.http_filters.pop();
    expect(errorOf(noRouter)).toMatch(/typed_config\.http_filters: the last http filter must be envoy\.filters\.http\.router$/);

    const noPort = validDoc() as any;
    delete noPort.static_resources.listeners[0].address.socket_address.port_value;
    expect(errorOf(noPort)).toMatch(/static_resources\.listeners\[0\]\.address\.socket_address: port_value is required$/);

    const rds = validDoc() as any;
    const hcm = rds.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    delete hcm.route_config;
    hcm.rds = { route_config_name: "r" };
    expect(errorOf(rds)).toMatch(/typed_config\.rds: rds is only supported for listeners received over xDS \(LDS\)$/);
  });

  it("reports the line of the offending key in JSON files too", () => {
    const doc = validDoc() as any;
    doc.static_resources.clusters[0].per_connection_buffer_limit_bytes = 1024;
    const text = JSON.stringify(doc, null, 2);
    const lineNo = text.split("\n").findIndex((l) => l.includes("per_connection_buffer_limit_bytes")) + 1;
    expect(errorOf(text, "b.json")).toBe(`b.json:${lineNo}: static_resources.clusters[0].per_connection_buffer_limit_bytes: not supported by halyard gateway`);
  });

  it("loads the example bootstrap shipped in examples/", () => {
    const c = loadBootstrapFile(join(root, "examples/bootstrap-echo.yaml"));
    expect(c.listeners[0]!.hcm.httpFilters[0]!.codePath).toBe(join(root, "wasm/build/halyard.wasm"));
    expect(c.listeners[0]!.hcm.httpFilters[0]!.rootId).toBe("halyard.echo");
  });
});
