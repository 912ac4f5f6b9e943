// PeerAuthentication precedence as Istio composes it: workload selector > namespace > mesh (root namespace), the
// oldest policy per level, UNSET inheriting from the level above, portLevelMtls on workload policies only.
import { describe, expect, it } from "vitest";
import { modeForPort, resolvePeerAuthentication } from "../control/translate/peer-authentication.js";
import { configFromYaml } from "./helpers/config-text.js";

interface PA {
  name: string;
  namespace: string;
  created?: string;
  selector?: Record<string, string>;
  mode?: string;
  ports?: Record<string, string>;
}

function pa(p: PA): string {
  const lines = [
    "apiVersion: security.istio.io/v1",
    "kind: PeerAuthentication",
    "metadata:",
    `  name: ${p.name}`,
    `  namespace: ${p.namespace}`,
    ...(p.created ? [`  creationTimestamp: "${p.created}"`] : []),
    "spec:",
  ];
  if (p.selector) lines.push("  selector:", "    matchLabels:", ...Object.entries(p.selector).map(([k, v]) => `      ${k}: ${v}`));
  if (p.mode) lines.push("  mtls:", `    mode: ${p.mode}`);
  if (p.ports) lines.push("  portLevelMtls:", ...Object.entries(p.ports).flatMap(([port, m]) => [`    ${port}:`, `      mode: ${m}`]));
  if (!p.selector && !p.mode && !p.ports) lines.push("  {}");
  return lines.join("\n");
}

const config = (...policies: PA[]) => configFromYaml(policies.map(pa).join("\n---\n"));
// The CRD schema rejects portLevelMtls without a selector; translation still has to ignore it when it gets one.
const unvalidated = (...policies: PA[]) => configFromYaml(policies.map(pa).join("\n---\n"), "inline.yaml", false);
const reviews = { namespace: "shop", labels: { app: "reviews", version: "v1" } };

describe("PeerAuthentication precedence", () => {
  it("defaults to PERMISSIVE when nothing applies", () => {
    const r = resolvePeerAuthentication(config({ name: "other", namespace: "billing", mode: "STRICT" }), reviews);
    expect(r.workload.mode).toBe("PERMISSIVE");
    expect(r.workload.policy).toBeUndefined();
    expect(r.workload.reason).toMatch(/default PERMISSIVE/);
  });

  const table: { title: string; policies: PA[]; mode: string; by?: string; level?: string }[] = [
    { title: "mesh-wide only", policies: [{ name: "mesh", namespace: "istio-system", mode: "STRICT" }], mode: "STRICT", by: "mesh", level: "mesh" },
    {
      title: "namespace overrides mesh",
      policies: [
        { name: "mesh", namespace: "istio-system", mode: "STRICT" },
        { name: "ns", namespace: "shop", mode: "DISABLE" },
      ],
      mode: "DISABLE",
      by: "ns",
      level: "namespace",
    },
    {
      title: "workload overrides namespace and mesh",
      policies: [
        { name: "mesh", namespace: "istio-system", mode: "DISABLE" },
        { name: "ns", namespace: "shop", mode: "PERMISSIVE" },
        { name: "wl", namespace: "shop", selector: { app: "reviews" }, mode: "STRICT" },
      ],
      mode: "STRICT",
      by: "wl",
      level: "workload",
    },
    {
      title: "workload PERMISSIVE overrides namespace STRICT",
      policies: [
        { name: "ns-strict", namespace: "shop", mode: "STRICT" },
        { name: "wl-permissive", namespace: "shop", selector: { app: "reviews" }, mode: "PERMISSIVE" },
      ],
      mode: "PERMISSIVE",
      by: "wl-permissive",
      level: "workload",
    },
    {
      title: "a selector that does not match is ignored",
      policies: [
        { name: "ns", namespace: "shop", mode: "STRICT" },
        { name: "wl", namespace: "shop", selector: { app: "ratings" }, mode: "DISABLE" },
      ],
      mode: "STRICT",
      by: "ns",
      level: "namespace",
    },
    {
      title: "a selector policy in the root namespace is ignored",
      policies: [{ name: "root-wl", namespace: "istio-system", selector: { app: "reviews" }, mode: "DISABLE" }],
      mode: "PERMISSIVE",
    },
    {
      title: "UNSET at the workload level inherits the namespace mode",
      policies: [
        { name: "ns", namespace: "shop", mode: "STRICT" },
        { name: "wl", namespace: "shop", selector: { app: "reviews" }, mode: "UNSET" },
      ],
      mode: "STRICT",
      by: "ns",
      level: "namespace",
    },
    {
      title: "UNSET at the namespace level inherits the mesh mode",
      policies: [
        { name: "mesh", namespace: "istio-system", mode: "DISABLE" },
        { name: "ns", namespace: "shop" },
      ],
      mode: "DISABLE",
      by: "mesh",
      level: "mesh",
    },
    {
      title: "the oldest namespace policy wins",
      policies: [
        { name: "a-newer", namespace: "shop", created: "2024-05-01T00:00:00Z", mode: "DISABLE" },
        { name: "z-older", namespace: "shop", created: "2024-01-01T00:00:00Z", mode: "STRICT" },
      ],
      mode: "STRICT",
      by: "z-older",
      level: "namespace",
    },
    {
      title: "same age: the first name wins",
      policies: [
        { name: "b", namespace: "shop", selector: { app: "reviews" }, created: "2024-01-01T00:00:00Z", mode: "DISABLE" },
        { name: "a", namespace: "shop", selector: { version: "v1" }, created: "2024-01-01T00:00:00Z", mode: "STRICT" },
      ],
      mode: "STRICT",
      by: "a",
      level: "workload",
    },
  ];

  for (const row of table) {
    it(row.title, () => {
      const r = resolvePeerAuthentication(config(...row.policies), reviews);
      expect(r.workload.mode).toBe(row.mode);
      expect(r.workload.policy?.name).toBe(row.by);
      expect(r.workload.policy?.level).toBe(row.level);
    });
  }

  it("warns about the policies an older one overrode", () => {
    const r = resolvePeerAuthentication(
      config(
        { name: "new", namespace: "shop", created: "2024-05-01T00:00:00Z", mode: "DISABLE" },
        { name: "old", namespace: "shop", created: "2024-01-01T00:00:00Z", mode: "STRICT" },
      ),
      reviews,
    );
    expect(r.warnings).toEqual(["PeerAuthentication shop/new: ignored, shop/old is older at the namespace level"]);
    expect(r.workload.reason).toContain("created 2024-01-01T00:00:00Z");
  });

  it("says what a workload policy overrode", () => {
    const r = resolvePeerAuthentication(
      config({ name: "ns", namespace: "shop", mode: "STRICT" }, { name: "wl", namespace: "shop", selector: { app: "reviews" }, mode: "PERMISSIVE" }),
      reviews,
    );
    expect(r.workload.reason).toBe("workload-level PeerAuthentication shop/wl sets PERMISSIVE, overriding namespace-level PeerAuthentication shop/ns");
  });
});

describe("portLevelMtls", () => {
  it("sets modes per target port; UNSET ports inherit the workload mode", () => {
    const r = resolvePeerAuthentication(
      config(
        { name: "ns", namespace: "shop", mode: "STRICT" },
        { name: "wl", namespace: "shop", selector: { app: "reviews" }, ports: { "9080": "DISABLE", "9090": "UNSET", "8443": "PERMISSIVE" } },
      ),
      reviews,
    );
    expect(r.workload.mode).toBe("STRICT");
    expect(modeForPort(r, 9080)).toMatchObject({ mode: "DISABLE", policy: { name: "wl" } });
    expect(modeForPort(r, 8443).mode).toBe("PERMISSIVE");
    expect(modeForPort(r, 9090)).toMatchObject({ mode: "STRICT", policy: { name: "ns" } });
    expect(modeForPort(r, 9090).reason).toMatch(/UNSET: inherits STRICT/);
    expect(modeForPort(r, 7000)).toMatchObject({ mode: "STRICT", policy: { name: "ns" } });
  });

  it("is ignored with a warning on namespace and mesh policies", () => {
    const r = resolvePeerAuthentication(
      unvalidated(
        { name: "mesh", namespace: "istio-system", mode: "PERMISSIVE", ports: { "9080": "DISABLE" } },
        { name: "ns", namespace: "shop", mode: "STRICT", ports: { "9080": "DISABLE" } },
      ),
      reviews,
    );
    expect(modeForPort(r, 9080).mode).toBe("STRICT");
    expect(r.ports.size).toBe(0);
    expect(r.warnings).toEqual([
      "PeerAuthentication istio-system/mesh: spec.portLevelMtls ignored: port-level settings need a workload selector",
      "PeerAuthentication shop/ns: spec.portLevelMtls ignored: port-level settings need a workload selector",
    ]);
  });

  it("only the winning workload policy's ports count", () => {
    const r = resolvePeerAuthentication(
      config(
        { name: "old", namespace: "shop", selector: { app: "reviews" }, created: "2023-01-01T00:00:00Z", mode: "STRICT" },
        { name: "new", namespace: "shop", selector: { app: "reviews" }, created: "2024-01-01T00:00:00Z", mode: "STRICT", ports: { "9080": "DISABLE" } },
      ),
      reviews,
    );
    expect(modeForPort(r, 9080).mode).toBe("STRICT");
  });

  it("rejects a bad creationTimestamp in one line", () => {
    expect(() => resolvePeerAuthentication(config({ name: "a", namespace: "shop", created: "yesterday", mode: "STRICT" }, { name: "b", namespace: "shop", mode: "STRICT" }), reviews)).toThrow(
      'PeerAuthentication shop/a: metadata.creationTimestamp: "yesterday" is not an RFC 3339 time',
    );
  });
});
