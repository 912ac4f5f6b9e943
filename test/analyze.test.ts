// `halyard analyze` as users run it: one fixture directory per message code, the exact istioctl-format lines,
// stderr trailers and exit codes from the built CLI, plus JSON output and the engine on in-memory config.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { analyzeDocuments } from "../control/analyze/analyze.js";
import { parseAnalyzeArgs } from "../control/analyze/command.js";
import { formatMessage } from "../control/analyze/messages.js";
import { formatError } from "../control/config/errors.js";
import { parseConfigText } from "../control/config/load.js";
import { validateDocuments } from "../control/config/validate.js";

const root = join(import.meta.dirname, "..");
const dir = "test/fixtures/analyze";
const FOUND_ISSUES =
  "Error: Analyzers found issues when analyzing all namespaces.\nSee https://istio.io/latest/docs/reference/config/analysis for more information about causes and resolutions.\n";

beforeAll(() => {
  const r = spawnSync(process.execPath, ["scripts/build.js", "ts"], { cwd: root, encoding: "utf8", timeout: 120_000 });
  // Other work in progress may break tsc elsewhere; ours must compile cleanly and be emitted.
  expect(`${r.stdout}${r.stderr}`.split("\n").filter((l) => /control\/(analyze|registry|cli)\//.test(l))).toEqual([]);
  expect(existsSync(join(root, "dist/control/analyze/command.js"))).toBe(true);
}, 120_000);

function analyze(...args: string[]) {
  const r = spawnSync(process.execPath, ["bin/halyard.js", "analyze", ...args], { cwd: root, encoding: "utf8", timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Expected stdout: one line per message. */
const lines = (...l: string[]) => l.map((x) => `${x}\n`).join("");

describe("one fixture per message code", () => {
  test("IST0101 host+subset in destinationrule", () => {
    const f = `${dir}/ist0101-subset/payment.yaml`;
    expect(analyze("-f", `${dir}/ist0101-subset`)).toEqual({
      status: 1,
      stdout: lines(`Error [IST0101] (VirtualService production/payment-service ${f}:66) Referenced host+subset in destinationrule not found: "payment-service+v3"`),
      stderr: FOUND_ISSUES,
    });
  });

  test("IST0101 host, mirror host, host:port", () => {
    const f = `${dir}/ist0101-host/routes.yaml`;
    expect(analyze("-f", `${dir}/ist0101-host`)).toEqual({
      status: 1,
      stdout: lines(
        `Error [IST0101] (VirtualService shop/reviews ${f}:26) Referenced host:port not found: "reviews:9090"`,
        `Error [IST0101] (VirtualService shop/reviews ${f}:31) Referenced host not found: "ratings"`,
        `Error [IST0101] (VirtualService shop/reviews ${f}:33) Referenced mirror host not found: "shadow.shop.svc.cluster.local"`,
      ),
      stderr: FOUND_ISSUES,
    });
  });

  test("IST0101 gateway (one in another namespace exists, one does not)", () => {
    const f = `${dir}/ist0101-gateway/ingress.yaml`;
    expect(analyze("-f", `${dir}/ist0101-gateway`)).toEqual({
      status: 1,
      stdout: lines(`Error [IST0101] (VirtualService analyze-demo/notification ${f}:43) Referenced gateway not found: "missing-gateway"`),
      stderr: FOUND_ISSUES,
    });
  });

  test("IST0109 conflicting hosts on the mesh gateway, short and long names alike", () => {
    const f = `${dir}/ist0109/reviews.yaml`;
    const text =
      "The VirtualServices default/helloworld-v1,default/helloworld-v2 associated with mesh gateway define the same host */helloworld.default.svc.cluster.local which can lead to undefined behavior. This can be fixed by merging the conflicting VirtualServices into a single resource.";
    expect(analyze("-f", `${dir}/ist0109`)).toEqual({
      status: 1,
      stdout: lines(`Error [IST0109] (VirtualService default/helloworld-v1 ${f}:15) ${text}`, `Error [IST0109] (VirtualService default/helloworld-v2 ${f}:27) ${text}`),
      stderr: FOUND_ISSUES,
    });
  });

  test("IST0112 port selector required", () => {
    const f = `${dir}/ist0112/ratings.yaml`;
    expect(analyze("-f", `${dir}/ist0112`)).toEqual({
      status: 1,
      stdout: lines(
        `Error [IST0112] (VirtualService shop/ratings ${f}:32) This VirtualService routes to a service "ratings" that exposes multiple ports [9080 9090]. Specifying a port in the destination is required to disambiguate.`,
      ),
      stderr: FOUND_ISSUES,
    });
  });

  test("IST0130 unreachable rules (Warning) and IST0131 ineffective matches (Info): exit 0", () => {
    const f = `${dir}/ist0130-ist0131/api.yaml`;
    expect(analyze("-f", `${dir}/ist0130-ist0131`)).toEqual({
      status: 0,
      stdout: lines(
        `Warning [IST0130] (VirtualService shop/api ${f}:13) VirtualService rule "never" not used (only the last rule can have no matches).`,
        `Warning [IST0130] (VirtualService shop/api ${f}:13) VirtualService rule #1 not used (all matches used by prior rules).`,
        `Warning [IST0130] (VirtualService shop/api-tcp ${f}:74) VirtualService rule #1 not used (all matches used by prior rules).`,
        `Info [IST0131] (VirtualService shop/api ${f}:13) VirtualService rule "debugging" match #0 of prefix /debugging is not used (duplicate/overlapping match in rule #0 of prefix /debug on "debug").`,
        `Info [IST0131] (VirtualService shop/api ${f}:13) VirtualService rule #1 match "old" is not used (duplicate/overlapping match in rule "v1-api").`,
        `Info [IST0131] (VirtualService shop/api ${f}:13) VirtualService rule #1 match #0 is not used (duplicate/overlapping match in rule "v1-api").`,
        `Info [IST0131] (VirtualService shop/api-tcp ${f}:74) VirtualService rule #1 match #0 is not used (duplicate/overlapping match in rule #0).`,
      ),
      stderr: "",
    });
  });

  test("IST0145 conflicting gateways", () => {
    const f = `${dir}/ist0145/gateways.yaml`;
    expect(analyze("-f", `${dir}/ist0145`)).toEqual({
      status: 1,
      stdout: lines(
        `Error [IST0145] (Gateway default/alpha ${f}:2) Conflict with gateways default/beta (workload selector istio=ingressgateway, port 80, hosts foo.example.com).`,
        `Error [IST0145] (Gateway default/beta ${f}:17) Conflict with gateways default/alpha (workload selector istio=ingressgateway, port 80, hosts *.example.com).`,
      ),
      stderr: FOUND_ISSUES,
    });
  });

  test("IST0173 a subset selecting no workload (topology labels do select)", () => {
    const f = `${dir}/ist0173/reviews.yaml`;
    expect(analyze("-f", `${dir}/ist0173`)).toEqual({
      status: 1,
      stdout: lines(
        `Error [IST0173] (DestinationRule default/reviews ${f}:24) The Subset v4 defined in the DestinationRule does not select any pods. Which may lead to 503 UH (NoHealthyUpstream).`,
      ),
      stderr: FOUND_ISSUES,
    });
  });

  test("IST0174 unknown or invisible DestinationRule host (Warning): exit 0", () => {
    const f = `${dir}/ist0174/destinationrules.yaml`;
    expect(analyze("-f", `${dir}/ist0174`)).toEqual({
      status: 0,
      stdout: lines(
        `Warning [IST0174] (DestinationRule default/reviews ${f}:11) The host reveiws defined in the DestinationRule does not match any services in the mesh.`,
        `Warning [IST0174] (DestinationRule shop/billing ${f}:35) The host billing.corp.example defined in the DestinationRule does not match any services in the mesh.`,
      ),
      stderr: "",
    });
  });
});

describe("report as a whole", () => {
  test("clean config: nothing on stdout, istioctl's check mark naming every file, exit 0", () => {
    expect(analyze("-f", `${dir}/clean`)).toEqual({
      status: 0,
      stdout: "",
      stderr: `\u2714 No validation issues found when analyzing ${dir}/clean/routing.yaml\n${dir}/clean/services.yaml.\n`,
    });
  });

  test("validation errors come first in the validate format, invalid documents are left out, and they count as errors", () => {
    expect(analyze("-f", `${dir}/invalid`)).toEqual({
      status: 1,
      stdout: lines(
        `${dir}/invalid/mixed.yaml:11: VirtualService shop/broken: spec.http[0].retires: unknown field "retires" (did you mean "retries"?)`,
        `${dir}/invalid/registry.yaml:16: ServiceEntry shop/legacy: spec.endpoints[0].address: STATIC resolution needs an IP address or unix:// socket, got "legacy-1.corp.example"`,
        `Error [IST0101] (VirtualService shop/checkout ${dir}/invalid/mixed.yaml:28) Referenced host not found: "checkout"`,
      ),
      stderr: FOUND_ISSUES,
    });
  });

  test("several directories at once: messages sorted by level, then code, then resource", () => {
    const r = analyze("-f", `${dir}/ist0174`, "-f", `${dir}/ist0145`, `${dir}/ist0109`);
    expect(r.status).toBe(1);
    expect(r.stdout.split("\n").map((l) => l.slice(0, l.indexOf(")") + 1))).toEqual([
      `Error [IST0109] (VirtualService default/helloworld-v1 ${dir}/ist0109/reviews.yaml:15)`,
      `Error [IST0109] (VirtualService default/helloworld-v2 ${dir}/ist0109/reviews.yaml:27)`,
      `Error [IST0145] (Gateway default/alpha ${dir}/ist0145/gateways.yaml:2)`,
      `Error [IST0145] (Gateway default/beta ${dir}/ist0145/gateways.yaml:17)`,
      `Warning [IST0174] (DestinationRule default/reviews ${dir}/ist0174/destinationrules.yaml:11)`,
      `Warning [IST0174] (DestinationRule shop/billing ${dir}/ist0174/destinationrules.yaml:35)`,
      "",
    ]);
  });

  test("the same resource in two directories: a validation error, and only the first definition is analyzed", () => {
    const r = analyze("-f", `${dir}/ist0174`, "-f", `${dir}/ist0173`);
    expect(r).toEqual({
      status: 1,
      stdout: lines(
        `${dir}/ist0173/reviews.yaml:5: Service default/reviews: metadata.name: duplicate Service default/reviews: already defined at ${dir}/ist0174/destinationrules.yaml:2`,
        `${dir}/ist0173/reviews.yaml:27: DestinationRule default/reviews: metadata.name: duplicate DestinationRule default/reviews: already defined at ${dir}/ist0174/destinationrules.yaml:11`,
        `Warning [IST0174] (DestinationRule default/reviews ${dir}/ist0174/destinationrules.yaml:11) The host reveiws defined in the DestinationRule does not match any services in the mesh.`,
        `Warning [IST0174] (DestinationRule shop/billing ${dir}/ist0174/destinationrules.yaml:35) The host billing.corp.example defined in the DestinationRule does not match any services in the mesh.`,
      ),
      stderr: FOUND_ISSUES,
    });
  });

  test("-o json: istioctl's message objects, validation errors as IST0106", () => {
    const r = analyze("-o", "json", "-f", `${dir}/invalid/mixed.yaml`);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('\n\t{\n\t\t"code": "IST0106",');
    expect(JSON.parse(r.stdout)).toEqual([
      {
        code: "IST0106",
        documentationUrl: "https://istio.io/latest/docs/reference/config/analysis/ist0106/",
        level: "Error",
        message: 'Schema validation error: spec.http[0].retires: unknown field "retires" (did you mean "retries"?)',
        origin: "VirtualService shop/broken",
        reference: `${dir}/invalid/mixed.yaml:11`,
      },
      {
        code: "IST0101",
        documentationUrl: "https://istio.io/latest/docs/reference/config/analysis/ist0101/",
        level: "Error",
        message: 'Referenced host not found: "checkout"',
        origin: "VirtualService shop/checkout",
        reference: `${dir}/invalid/mixed.yaml:28`,
      },
    ]);
    expect(analyze("--output=json", `${dir}/clean`)).toMatchObject({ status: 0, stdout: "[]\n" });
    const warnings = analyze("-o", "json", "-f", `${dir}/ist0174`);
    expect([warnings.status, JSON.parse(warnings.stdout).map((m: { level: string }) => m.level)]).toEqual([0, ["Warning", "Warning"]]);
  });

  test("usage errors and missing files are one line, exit 1", () => {
    expect(analyze()).toEqual({
      status: 1,
      stdout: "",
      stderr: "halyard analyze: no files given; usage: halyard analyze -f <file|dir> [-f <file|dir>]... [-o log|json] (directories are read recursively)\n",
    });
    expect(analyze("-o", "yaml", "-f", dir)).toEqual({ status: 1, stdout: "", stderr: 'halyard analyze: unknown output format "yaml": expected one of log, json\n' });
    expect(analyze("-f", `${dir}/no-such-dir`)).toEqual({ status: 1, stdout: `${dir}/no-such-dir: no such file or directory\n`, stderr: FOUND_ISSUES });
    expect(parseAnalyzeArgs(["--bogus"])).toEqual({ error: expect.stringMatching(/^unknown option --bogus; usage: /) });
    expect(parseAnalyzeArgs(["-f"])).toEqual({ error: expect.stringMatching(/^-f needs a file or directory; usage: /) });
  });
});

describe("the engine on in-memory config", () => {
  function messagesOf(yaml: string): string[] {
    const { documents, errors } = parseConfigText(yaml, "mem.yaml");
    const result = analyzeDocuments(documents, [...errors, ...validateDocuments(documents)]);
    expect(result.errors).toEqual([]);
    return result.messages.map(formatMessage);
  }

  test("a subset defined for a FQDN host matches a short name in its namespace and the FQDN from another", () => {
    const yaml = (vsNamespace: string, host = vsNamespace === "shop" ? "cart" : "cart.shop.svc.cluster.local") => `
apiVersion: v1
kind: Service
metadata: { name: cart, namespace: shop }
spec: { selector: { app: cart }, ports: [{ name: http, port: 80 }] }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: cart-v1, namespace: shop }
spec: { address: 10.0.0.1, labels: { app: cart, version: v1 } }
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: cart, namespace: shop }
spec: { host: cart.shop.svc.cluster.local, subsets: [{ name: v1, labels: { version: v1 } }] }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: cart, namespace: ${vsNamespace} }
spec:
  hosts: [cart.shop.svc.cluster.local]
  http: [{ route: [{ destination: { host: ${host}, subset: v1 } }] }]
`;
    expect(messagesOf(yaml("shop"))).toEqual([]);
    expect(messagesOf(yaml("web"))).toEqual([]);
    // A short name means the service in the VirtualService's own namespace.
    expect(messagesOf(yaml("web", "cart"))).toEqual([
      'Error [IST0101] (VirtualService web/cart mem.yaml:22) Referenced host not found: "cart"',
      'Error [IST0101] (VirtualService web/cart mem.yaml:22) Referenced host+subset in destinationrule not found: "cart+v1"',
    ]);
  });

  test("a document that does not load does not take the one before it out of the analysis", () => {
    const { documents, errors } = parseConfigText(
      `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: a, namespace: default }
spec: { hosts: [a.example], http: [{ route: [{ destination: { host: a.example } }] }] }
---
apiVersion: example.com/v1
kind: Widget
metadata: { name: a, namespace: default }
`,
      "mem.yaml",
    );
    const result = analyzeDocuments(documents, [...errors, ...validateDocuments(documents)]);
    expect(result.errors.map(formatError)).toEqual([
      'mem.yaml:8: Widget default/a: unknown kind: apiVersion "example.com/v1" kind "Widget" is not an Istio or supported Kubernetes kind',
    ]);
    expect(result.messages.map(formatMessage)).toEqual(['Error [IST0101] (VirtualService default/a mem.yaml:5) Referenced host not found: "a.example"']);
  });

  test("a rule after the catch-all rule is unreachable, reported once however many matches it has", () => {
    const msgs = messagesOf(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ext, namespace: default }
spec: { hosts: [ext.example], ports: [{ number: 80, name: http, protocol: HTTP }] }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ext, namespace: default }
spec:
  hosts: [ext.example]
  http:
  - route: [{ destination: { host: ext.example } }]
  - name: late
    match: [{ uri: { exact: /a } }, { headers: { x: { exact: "1" } } }]
    route: [{ destination: { host: ext.example } }]
`);
    expect(msgs).toEqual([
      'Warning [IST0130] (VirtualService default/ext mem.yaml:7) VirtualService rule "late" not used (route without matches defined before).',
    ]);
  });
});
