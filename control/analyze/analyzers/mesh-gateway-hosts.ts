// IST0109: two VirtualServices bound to the mesh gateway (no gateways, or `mesh` among them) define the same
// host in the same visibility scope; which one sidecars apply is undefined.
import type { VirtualService } from "../../config/types.js";
import type { Analyzer } from "../context.js";
import { messages, type AnalysisMessage } from "../messages.js";
import { MESH_GATEWAY } from "./gateway-references.js";

export const meshGatewayHosts: Analyzer = (ctx) => {
  const byScopedHost = new Map<string, VirtualService[]>();
  for (const vs of ctx.config.virtualServices) {
    const gateways = vs.spec.gateways ?? [];
    if (gateways.length > 0 && !gateways.includes(MESH_GATEWAY)) continue;
    for (const scope of exportScopes(vs)) {
      for (const host of vs.spec.hosts ?? []) {
        const scoped = `${scope}/${ctx.registry.resolveHost(host, vs.metadata.namespace)}`;
        const list = byScopedHost.get(scoped) ?? [];
        if (!list.includes(vs)) list.push(vs);
        byScopedHost.set(scoped, list);
      }
    }
  }

  const out: AnalysisMessage[] = [];
  for (const [scoped, list] of byScopedHost) {
    if (list.length < 2) continue;
    const names = list.map((vs) => `${vs.metadata.namespace}/${vs.metadata.name}`).sort().join(",");
    for (const vs of list) out.push(messages.conflictingMeshGatewayVirtualServiceHosts(ctx.origin(vs, ["metadata", "name"]), names, scoped));
  }
  return out;
};

/** `*` when exported everywhere, else each namespace it is exported to (`.` is its own). */
function exportScopes(vs: VirtualService): string[] {
  const exportTo = vs.spec.exportTo ?? [];
  if (exportTo.length === 0 || exportTo.includes("*")) return ["*"];
  return [...new Set(exportTo.map((e) => (e === "." ? vs.metadata.namespace : e)))];
}
