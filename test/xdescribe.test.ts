// `halyard x describe`: mTLS per inbound port with the deciding PeerAuthentication, the AuthorizationPolicies that
// apply, and a real mesh-CA certificate's SPIFFE ID and expiry.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe as group, expect, it } from "vitest";
import { openMeshCa } from "../control/ca/open.js";
import { commands } from "../control/cli/commands.js";
import { describe, describeCertificate, parseDescribeArgs } from "../control/cli/xdescribe.js";

const FIXTURE = "test/fixtures/translate-mtls";
const REVIEWS = "sidecar~10.0.0.11~reviews-v1.shop~shop.svc.cluster.local";
const RATINGS = "sidecar~10.0.0.21~ratings-v1.shop~shop.svc.cluster.local";

let dir: string;
let certFile: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "halyard-xdescribe-"));
  const ca = await openMeshCa({ stateDir: dir });
  const issued = await ca.issueWithNewKey({ uris: ["spiffe://cluster.local/ns/shop/sa/bookinfo-reviews"], ttlMs: 3 * 86_400_000 });
  certFile = join(dir, "cert.pem");
  writeFileSync(certFile, issued.certChainPem[0]!);
}, 30_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

group("halyard x describe", () => {
  it("is registered in the command table", async () => {
    expect(commands["x describe"]).toBeDefined();
    expect(typeof (await commands["x describe"]!.load()).run).toBe("function");
  });

  it("prints each inbound port's mode, the policy that decided it and why, and the AuthorizationPolicies", async () => {
    const out = await describe({ nodeId: REVIEWS, paths: [FIXTURE] });
    const lines = out.split("\n");
    expect(lines.slice(0, 3)).toEqual([`Workload: ${REVIEWS}`, "  namespace: shop", "  labels:    app=reviews,version=v1,security.istio.io/tlsMode=istio"]);
    expect(out).toContain("  9080   PERMISSIVE shop/reviews (workload-level, no creationTimestamp)");
    expect(out).toContain("why: workload-level PeerAuthentication shop/reviews sets PERMISSIVE, overriding mesh-level PeerAuthentication istio-system/default");
    expect(out).toContain("  9090   DISABLE    shop/reviews (workload-level, no creationTimestamp)");
    expect(out).toContain("why: portLevelMtls 9090 of workload-level PeerAuthentication shop/reviews sets DISABLE");
    const authz = lines.slice(lines.indexOf("AuthorizationPolicies:") + 1).filter((l) => l.startsWith("  ")).map((l) => l.trim().split(/\s+/).slice(0, 2));
    expect(authz).toEqual([
      ["istio-system/mesh-audit", "AUDIT"],
      ["shop/allow-frontend", "ALLOW"],
    ]);
    expect(out).toMatch(/istio-system\/mesh-audit\s+AUDIT\s+mesh-wide \(root namespace\)/);
    expect(out).toMatch(/shop\/allow-frontend\s+ALLOW\s+workload selector app=reviews/);
    expect(out).not.toContain("deny-all-ratings");
  });

  it("shows the mesh-wide STRICT policy for a workload without its own", async () => {
    const out = await describe({ nodeId: RATINGS, paths: [FIXTURE] });
    expect(out).toContain("  9080   STRICT     istio-system/default (mesh-level, no creationTimestamp)");
    expect(out).toMatch(/shop\/deny-all-ratings\s+DENY/);
  });

  it("reads a workload certificate's SPIFFE ID and expiry", async () => {
    const out = await describe({ nodeId: REVIEWS, paths: [FIXTURE], cert: certFile });
    expect(out).toContain(`Certificate ${certFile}:\n  SPIFFE ID: spiffe://cluster.local/ns/shop/sa/bookinfo-reviews\n`);
    expect(out).toMatch(/valid: {5}\S+ \.\. \S+ \(expires in [23]d\)/);
    const later = await describeCertificate(certFile, Date.now() + 4 * 86_400_000);
    expect(later[1]).toMatch(/\(EXPIRED\)$/);
  });

  it("fails in one line on bad input", async () => {
    expect(parseDescribeArgs(["-f", FIXTURE])).toEqual({ error: expect.stringMatching(/^--node is required; usage:/) });
    expect(parseDescribeArgs(["--node", REVIEWS])).toEqual({ error: expect.stringMatching(/^no config given/) });
    expect(parseDescribeArgs(["--node", REVIEWS, "-f", FIXTURE, "--bogus"])).toEqual({ error: expect.stringMatching(/^unknown option --bogus/) });
    const notPem = join(dir, "junk.pem");
    writeFileSync(notPem, "hello");
    await expect(describe({ nodeId: REVIEWS, paths: [FIXTURE], cert: notPem })).rejects.toThrow(`--cert ${notPem}: not a PEM X.509 certificate`);
    await expect(describe({ nodeId: REVIEWS, paths: [FIXTURE], cert: join(dir, "missing.pem") })).rejects.toThrow(/--cert .*missing\.pem: no such file$/);
    await expect(describe({ nodeId: "nonsense", paths: [FIXTURE] })).rejects.toThrow(/nonsense/);
  });
});
