// Config loading and validation as users meet it: exact error lines for hand-written mistakes, the loader's
// handling of files and directories, the `halyard validate` CLI, and the store keeping its last valid config.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterEach, beforeAll, describe, expect, test } from "vitest";
import { formatError, formatPath } from "../control/config/errors.js";
import { loadConfigFiles } from "../control/config/load.js";
import { validateValue } from "../control/config/schema.js";
import { ConfigStore, type StoreLoadResult } from "../control/config/store.js";
import { loadAndValidate } from "../control/config/validate.js";

const root = join(import.meta.dirname, "..");
const fixtures = join(import.meta.dirname, "fixtures/config");

async function errorLines(...files: string[]): Promise<string[]> {
  const { errors } = await loadAndValidate(files.map((f) => join(fixtures, f)));
  return errors.map((e) => formatError({ ...e, file: relative(fixtures, e.file) }));
}

const tempDirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "halyard-config-"));
  tempDirs.push(dir);
  return dir;
}
afterEach(async () => {
  await Promise.all(tempDirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

describe("hand-written mistakes give exact error lines", () => {
  test("VirtualService", async () => {
    const f = "invalid-virtualservice.yaml";
    expect(await errorLines(f)).toEqual([
      `${f}:11: VirtualService shop/route-and-redirect: spec.http[0].redirect: only one of route, redirect, directResponse, delegate may be set (found route and redirect)`,
      `${f}:27: VirtualService default/bad-route-details: spec.http[0].match[0].uri.regex: invalid RE2 regex: error parsing regexp: missing closing ): \`/api/(v1\``,
      `${f}:28: VirtualService default/bad-route-details: spec.http[0].route: total destination weight must be greater than 0 when routing to several destinations`,
      `${f}:37: VirtualService default/bad-route-details: spec.http[0].retries.attempts: attempts must not be negative`,
      `${f}:42: VirtualService default/bad-route-details: spec.http[0].fault.abort.percentage.value: percentage 150 must be in the range 0..100`,
      `${f}:44: VirtualService default/bad-route-details: spec.http[0].mirrorPercentage.value: percentage 101 must be in the range 0..100`,
      `${f}:46: VirtualService default/bad-route-details: spec.http[0].corsPolicy.allowMethods[1]: "FETCH" is not a supported HTTP method`,
      `${f}:55: VirtualService default/bad-hosts: spec.hosts[0]: wildcard host "*" is not allowed for VirtualServices bound to the mesh`,
      `${f}:55: VirtualService default/bad-hosts: spec.hosts[1]: domain name "bad_host!" invalid (label "bad_host!" invalid)`,
      `${f}:57: VirtualService default/bad-hosts: spec.http[0].fault: fault injection needs an abort and/or a delay`,
      `${f}:69: VirtualService default/schema-mistakes: spec.http[0].timeout: must be a valid duration greater than 1ms`,
      `${f}:70: VirtualService default/schema-mistakes: spec.http[0].retires: unknown field "retires" (did you mean "retries"?)`,
      `${f}:73: VirtualService default/schema-mistakes: spec.http[0].route[0].destination.host: required field is missing`,
    ]);
  });

  test("Gateway", async () => {
    const f = "invalid-gateway.yaml";
    expect(await errorLines(f)).toEqual([
      `${f}:15: Gateway istio-system/public: spec.servers[0].tls: SIMPLE TLS requires credentialName, or serverCertificate and privateKey (missing privateKey)`,
      `${f}:21: Gateway istio-system/public: spec.servers[1].port.protocol: port 443 is also served as HTTPS by servers[0]; HTTP conflicts with it`,
      `${f}:22: Gateway istio-system/public: spec.servers[1].hosts[0]: invalid namespace "bad_ns!" in host "bad_ns!/example.com"`,
      `${f}:25: Gateway istio-system/public: spec.servers[2].port.name: port names in servers must be unique: "https" is also used by servers[0]`,
      `${f}:26: Gateway istio-system/public: spec.servers[2].port.protocol: invalid protocol "QUIC", supported protocols are HTTP, HTTPS, HTTP2, GRPC, GRPC-WEB, TLS, TCP, MONGO, REDIS, MYSQL`,
      `${f}:34: Gateway default/empty: spec.servers: a Gateway needs at least one server`,
    ]);
  });

  test("DestinationRule", async () => {
    const f = "invalid-destinationrule.yaml";
    expect(await errorLines(f)).toEqual([
      `${f}:9: DestinationRule shop/reviews: spec.trafficPolicy.connectionPool: connection pool must have http or tcp settings`,
      `${f}:11: DestinationRule shop/reviews: spec.trafficPolicy.outlierDetection.maxEjectionPercent: maxEjectionPercent 150 must be in the range 0..100`,
      `${f}:15: DestinationRule shop/reviews: spec.trafficPolicy.loadBalancer.consistentHash.maglev.tableSize: tableSize must be a prime number for maglev`,
      `${f}:19: DestinationRule shop/reviews: spec.subsets[1].name: duplicate subset name "v1"`,
      `${f}:21: DestinationRule shop/reviews: spec.subsets[2].name: invalid subset name "Bad.Name": must be a DNS label`,
    ]);
  });

  test("AuthorizationPolicy", async () => {
    const f = "invalid-authorizationpolicy.yaml";
    const lines = await errorLines(f);
    expect(lines).toEqual([
      `${f}:6: AuthorizationPolicy shop/ext-authz: spec.provider.name: CUSTOM action needs provider.name`,
      expect.stringMatching(/^invalid-authorizationpolicy\.yaml:13: AuthorizationPolicy shop\/ext-authz: spec\.rules\[0\]\.when\[0\]\.key: unknown attribute "request\.header\[x-user\]"; known: request\.headers\[\.\.\.\], source\.ip, /),
      `${f}:16: AuthorizationPolicy shop/ext-authz: spec.rules[0].when[1].values[0]: bad IP address "10.0.0.300"`,
      `${f}:23: AuthorizationPolicy shop/deny-nothing: spec.rules: DENY action without rules never triggers; add an empty rule {} to apply it to every request`,
      `${f}:35: AuthorizationPolicy shop/bad-source: spec.rules[0].from[0].source.ipBlocks[0]: bad CIDR range "10.0.0.0/33"`,
      `${f}:38: AuthorizationPolicy shop/bad-source: spec.rules[0].to[0].operation.ports[0]: bad port "http"`,
    ]);
  });

  test("Sidecar", async () => {
    const f = "invalid-sidecar.yaml";
    expect(await errorLines(f)).toEqual([
      `${f}:9: Sidecar bookinfo/default: spec.ingress[0].defaultEndpoint: defaultEndpoint must be 127.0.0.1:<port>, 0.0.0.0:<port>, [::1]:<port>, [::]:<port>, :<port> or unix://<path>`,
      `${f}:11: Sidecar bookinfo/default: spec.egress[0]: the egress listener without a port must be the last one`,
      `${f}:13: Sidecar bookinfo/default: spec.egress[1].hosts[0]: host "bookinfo.com" must be of the form namespace/dnsName`,
    ]);
  });

  test("error objects carry file, line, kind, namespace, name, path and message", async () => {
    const { errors } = await loadAndValidate([join(fixtures, "invalid-destinationrule.yaml")]);
    expect(errors[3]).toEqual({
      file: join(fixtures, "invalid-destinationrule.yaml"),
      line: 19,
      kind: "DestinationRule",
      namespace: "shop",
      name: "reviews",
      path: "spec.subsets[1].name",
      message: 'duplicate subset name "v1"',
    });
    expect(formatPath(["spec", "portLevelMtls", "80", "mode"])).toBe('spec.portLevelMtls["80"].mode');
  });

  test("a valid directory of YAML, YML and JSON loads recursively, in sorted order, skipping empty documents", async () => {
    const { documents, errors } = await loadAndValidate([join(fixtures, "valid")]);
    expect(errors).toEqual([]);
    expect(documents.map((d) => `${relative(fixtures, d.file)}:${d.line} ${d.kind} ${d.namespace}/${d.name}`)).toEqual([
      "valid/networking/bookinfo.yaml:1 Gateway bookinfo/bookinfo-gateway",
      "valid/networking/bookinfo.yaml:17 VirtualService bookinfo/reviews",
      "valid/networking/bookinfo.yaml:41 DestinationRule bookinfo/reviews",
      "valid/security.json:1 AuthorizationPolicy bookinfo/reviews-viewer",
      "valid/services.yml:1 Service bookinfo/reviews",
      "valid/services.yml:12 Endpoints bookinfo/reviews",
      "valid/services.yml:23 ServiceEntry default/httpbin-ext",
    ]);
  });
});

describe("loading", () => {
  test("bad YAML, unknown kinds, missing headers and non-mappings are one-line errors; other files are ignored", async () => {
    const dir = await tempDir();
    await mkdir(join(dir, "sub"));
    await writeFile(join(dir, "a.yaml"), "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: x\nspec:\n  hosts: [a\n");
    await writeFile(join(dir, "b.yaml"), "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n---\n- just\n- a list\n---\nkind: Gateway\n");
    await writeFile(join(dir, "sub", "c.yml"), "apiVersion: networking.istio.io/v1alpha1\nkind: VirtualService\nmetadata: {name: old}\n");
    await writeFile(join(dir, "notes.txt"), "not: config\n");
    await writeFile(join(dir, ".#lock.yaml"), "garbage: [\n");
    const { files, documents, errors } = await loadConfigFiles([dir]);
    expect(files.map((f) => relative(dir, f))).toEqual(["a.yaml", "b.yaml", "sub/c.yml"]);
    expect(documents).toEqual([]);
    expect(errors.map((e) => formatError({ ...e, file: relative(dir, e.file) }))).toEqual([
      expect.stringMatching(/^a\.yaml:7: invalid YAML: /),
      'b.yaml:2: Deployment default/web: unknown kind: apiVersion "apps/v1" kind "Deployment" is not an Istio or supported Kubernetes kind',
      "b.yaml:6: document must be a mapping with apiVersion, kind, metadata",
      "b.yaml:9: Gateway default/: apiVersion: required field is missing",
      'sub/c.yml:2: VirtualService default/old: unknown kind: apiVersion "networking.istio.io/v1alpha1" kind "VirtualService" is not an Istio or supported Kubernetes kind',
    ]);
  });

  test("every served version of the CRDs is accepted, and Kubernetes Services get light shape checks", async () => {
    const dir = await tempDir();
    const vs = (v: string) => `apiVersion: networking.istio.io/${v}\nkind: VirtualService\nmetadata: {name: r-${v}}\nspec:\n  hosts: [r]\n  http:\n  - route:\n    - destination: {host: r}\n`;
    await writeFile(join(dir, "vs.yaml"), ["v1alpha3", "v1beta1", "v1"].map(vs).join("---\n"));
    await writeFile(
      join(dir, "svc.yaml"),
      "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n  - {port: 80, targetPort: http}\n  - {port: 81}\n---\n" +
        "apiVersion: v1\nkind: Service\nmetadata: {name: api}\nspec:\n  type: ExternalName\n---\n" +
        "apiVersion: v1\nkind: Service\nmetadata: {name: big}\nspec:\n  ports:\n  - {port: 70000}\n",
    );
    const { documents, errors } = await loadAndValidate([dir]);
    expect(documents.map((d) => d.apiVersion)).toEqual(["v1", "v1", "v1", "networking.istio.io/v1alpha3", "networking.istio.io/v1beta1", "networking.istio.io/v1"]);
    expect(errors.map((e) => formatError({ ...e, file: relative(dir, e.file) }))).toEqual([
      "svc.yaml:5: Service default/web: spec.ports: ports must be named when there is more than one",
      "svc.yaml:12: Service default/api: spec: externalName is required when type is ExternalName",
      "svc.yaml:20: Service default/big: spec.ports[0].port: must be less than or equal to 65535",
    ]);
  });

  test("the same kind/namespace/name twice across files is an error pointing at the first", async () => {
    const dir = await tempDir();
    const pa = "apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: default\nspec:\n  mtls: {mode: STRICT}\n";
    await writeFile(join(dir, "1.yaml"), pa);
    await writeFile(join(dir, "2.yaml"), `# same object, namespace spelled out\n${pa.replace("name: default", "name: default\n  namespace: default")}`);
    await writeFile(join(dir, "3.yaml"), pa.replace("name: default", "name: default\n  namespace: other"));
    const { errors } = await loadAndValidate([dir]);
    expect(errors.map(formatError)).toEqual([
      `${join(dir, "2.yaml")}:5: PeerAuthentication default/default: metadata.name: duplicate PeerAuthentication default/default: already defined at ${join(dir, "1.yaml")}:1`,
    ]);
  });

  test("a missing path is one error", async () => {
    const { errors } = await loadAndValidate(["/nonexistent/halyard-config"]);
    expect(errors.map(formatError)).toEqual(["/nonexistent/halyard-config: no such file or directory"]);
  });
});

describe("schema engine", () => {
  test("null needs nullable, int-or-string accepts both, enums and formats are enforced", () => {
    const schema = {
      type: "object" as const,
      properties: {
        a: { type: "string" as const, nullable: true },
        b: { type: "string" as const },
        port: { "x-kubernetes-int-or-string": true, anyOf: [{ type: "integer" as const }, { type: "string" as const }] },
        count: { type: "integer" as const, format: "int32" },
        mode: { type: "string" as const, enum: ["A", "B"] },
      },
    };
    expect(validateValue({ a: null, port: "http", count: 1, mode: "A" }, schema)).toEqual([]);
    expect(validateValue({ b: null, port: 1.5, count: 2 ** 31, mode: "C" }, schema).map((i) => `${formatPath(i.path)}: ${i.message}`)).toEqual([
      "b: must be of type string, got null",
      "port: must be an integer or a string, got number 1.5",
      "count: must fit in int32 (-2147483648..2147483647)",
      'mode: unsupported value "C": must be one of "A", "B"',
    ]);
  });

  test("mutually exclusive fields (oneOf) are named", () => {
    const schema = {
      type: "object" as const,
      properties: { exact: { type: "string" as const }, prefix: { type: "string" as const } },
      oneOf: [{ not: { anyOf: [{ required: ["exact"] }, { required: ["prefix"] }] } }, { required: ["exact"] }, { required: ["prefix"] }],
    };
    expect(validateValue({ exact: "/a" }, schema)).toEqual([]);
    expect(validateValue({ exact: "/a", prefix: "/b" }, schema).map((i) => i.message)).toEqual(["only one of exact, prefix may be set"]);
  });

  test("CEL rules run with self, report message or messageExpression, and a runaway rule is refused by its cost", () => {
    const schema = {
      type: "array" as const,
      items: { type: "object" as const, properties: { n: { type: "integer" as const } } },
      "x-kubernetes-validations": [
        { rule: "self.all(a, self.exists_one(b, a.n == b.n))", message: "n must be unique" },
        { rule: "self.size() < 3", messageExpression: "'at most 2 items, got ' + string(self.size())" },
      ],
    };
    expect(validateValue([{ n: 1 }, { n: 2 }], schema)).toEqual([]);
    expect(validateValue([{ n: 1 }, { n: 1 }, { n: 3 }], schema).map((i) => i.message)).toEqual(["n must be unique", "at most 2 items, got 3"]);
    const big = Array.from({ length: 5000 }, (_, n) => ({ n }));
    const started = Date.now();
    const messages = validateValue(big, schema).map((i) => i.message);
    expect(messages[0]).toMatch(/^validation rule too expensive for this value \(estimated cost \d+ exceeds 1000000\): n must be unique$/);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});

describe("halyard validate (CLI)", () => {
  beforeAll(() => {
    const r = spawnSync(process.execPath, ["scripts/build.js", "ts"], { cwd: root, encoding: "utf8", timeout: 120_000 });
    // Other work in progress may break tsc elsewhere; ours must compile cleanly and be emitted.
    expect(`${r.stdout}${r.stderr}`.split("\n").filter((l) => /control\/(config|cli)\//.test(l))).toEqual([]);
    expect(existsSync(join(root, "dist/control/cli/validate.js"))).toBe(true);
  }, 120_000);

  const cli = (...args: string[]) => spawnSync(process.execPath, ["bin/halyard.js", "validate", ...args], { cwd: root, encoding: "utf8", timeout: 30_000 });

  test("valid config: exit 0 and a count", () => {
    const r = cli("-f", "test/fixtures/config/valid", "-f", "test/fixtures/istio-api/wasm-valid.yaml");
    expect({ status: r.status, stdout: r.stdout, stderr: r.stderr }).toEqual({ status: 0, stdout: "11 documents valid\n", stderr: "" });
  });

  test("invalid config: exit 1 and one line per error", () => {
    const r = cli("-f", "test/fixtures/config/invalid-destinationrule.yaml", "test/fixtures/config/invalid-gateway.yaml");
    expect(r.status).toBe(1);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(11);
    expect(lines[0]).toBe("test/fixtures/config/invalid-destinationrule.yaml:9: DestinationRule shop/reviews: spec.trafficPolicy.connectionPool: connection pool must have http or tcp settings");
    expect(lines[10]).toBe("test/fixtures/config/invalid-gateway.yaml:34: Gateway default/empty: spec.servers: a Gateway needs at least one server");
  });

  test("missing file: one line, exit 1; no -f: usage, exit 1", () => {
    const missing = cli("-f", "test/fixtures/config/no-such-file.yaml");
    expect({ status: missing.status, stderr: missing.stderr }).toEqual({ status: 1, stderr: "test/fixtures/config/no-such-file.yaml: no such file or directory\n" });
    const none = cli();
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/^halyard validate: no files given; usage: halyard validate -f <file\|dir>/);
    expect(none.stderr.trimEnd().split("\n")).toHaveLength(1);
  });
});

describe("ConfigStore", () => {
  const vs = (host: string) =>
    `apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  hosts: [${host}]\n  http:\n  - route:\n    - destination: {host: ${host}}\n`;

  async function waitFor<T>(get: () => T | undefined, what: string, timeoutMs = 5000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = get();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  test("load gives typed accessors and keeps the last valid config when a load fails", async () => {
    const dir = await tempDir();
    await writeFile(join(dir, "vs.yaml"), vs("web"));
    const store = new ConfigStore();
    const first = await store.load([dir]);
    expect(first.ok).toBe(true);
    expect(first.config?.virtualServices.map((v) => [v.metadata.namespace, v.metadata.name, v.spec.hosts, v.source.line])).toEqual([["shop", "web", ["web"], 1]]);
    expect(first.config?.gateways).toEqual([]);
    await writeFile(join(dir, "vs.yaml"), vs("bad_host!"));
    const second = await store.load([dir]);
    expect(second.ok).toBe(false);
    expect(second.errors.map((e) => e.path)).toEqual(["spec.hosts[0]", "spec.http[0].route[0].destination.host"]);
    expect(second.config).toBe(first.config);
    expect(store.config?.virtualServices[0]?.spec.hosts).toEqual(["web"]);
  });

  test("watch: an invalid edit is reported and never replaces the last valid config; a fix does; close releases handles", async () => {
    const dir = await tempDir();
    await mkdir(join(dir, "nested"));
    await writeFile(join(dir, "nested", "vs.yaml"), vs("web"));
    const watchersBefore = process.getActiveResourcesInfo().filter((r) => r === "FSEventWrap").length;
    const store = new ConfigStore({ debounceMs: 50 });
    const results: StoreLoadResult[] = [];
    const initial = await store.watch([dir], (r) => results.push(r));
    try {
      expect(initial.ok).toBe(true);
      expect(process.getActiveResourcesInfo().filter((r) => r === "FSEventWrap").length).toBeGreaterThan(watchersBefore);

      await writeFile(join(dir, "nested", "vs.yaml"), vs("Bad_Host"));
      const bad = await waitFor(() => results.find((r) => !r.ok), "the invalid edit to be reported");
      expect(bad.errors[0]).toMatchObject({ kind: "VirtualService", name: "web", namespace: "shop", path: "spec.hosts[0]", line: 7 });
      expect(store.config?.virtualServices[0]?.spec.hosts).toEqual(["web"]);
      expect(bad.config?.virtualServices[0]?.spec.hosts).toEqual(["web"]);

      await writeFile(join(dir, "nested", "vs.yaml"), vs("web-v2"));
      const good = await waitFor(() => results.find((r) => r.ok), "the fixed edit to be loaded");
      expect(good.config?.virtualServices[0]?.spec.hosts).toEqual(["web-v2"]);
      expect(store.config).toBe(good.config);
    } finally {
      store.close();
    }
    await waitFor(() => (process.getActiveResourcesInfo().filter((r) => r === "FSEventWrap").length === watchersBefore ? true : undefined), "watch handles to close", 2000);
    const count = results.length;
    await writeFile(join(dir, "nested", "vs.yaml"), vs("after-close"));
    await new Promise((r) => setTimeout(r, 200));
    expect(results.length).toBe(count);
    expect(store.config?.virtualServices[0]?.spec.hosts).toEqual(["web-v2"]);
  });
});
