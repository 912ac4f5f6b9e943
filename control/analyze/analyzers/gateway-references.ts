// IST0101 gateway: every gateway a VirtualService binds to exists (`name` in its own namespace, or `ns/name`).
import type { Analyzer } from "../context.js";
import { messages, type AnalysisMessage } from "../messages.js";

export const MESH_GATEWAY = "mesh";

export const gatewayReferences: Analyzer = (ctx) => {
  const gateways = new Set(ctx.config.gateways.map((g) => `${g.metadata.namespace}/${g.metadata.name}`));
  const out: AnalysisMessage[] = [];
  for (const vs of ctx.config.virtualServices) {
    (vs.spec.gateways ?? []).forEach((name, i) => {
      if (name === MESH_GATEWAY) return;
      const full = name.includes("/") ? name : `${vs.metadata.namespace}/${name}`;
      if (!gateways.has(full)) out.push(messages.referencedResourceNotFound(ctx.origin(vs, ["spec", "gateways", i]), "gateway", name));
    });
  }
  return out;
};
