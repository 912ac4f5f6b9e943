// Decision metadata stored on the stream (proxy_set_property) for `halyard x check` and telemetry.
// Each key is one path segment, so Envoy keeps it as filter state "halyard.route.<field>".
import { Decision, decisionKindName, DecisionKind } from "../../engine/route/index";
import { EncodedName, setPropertyNamed } from "./encoded";

const NAME = new EncodedName("halyard.route.name");
const CLUSTER = new EncodedName("halyard.route.cluster");
const VIRTUAL_HOST = new EncodedName("halyard.route.virtual_host");
const DECISION = new EncodedName("halyard.route.decision");
const FLAGS = new EncodedName("halyard.route.flags");

export function recordDecision(d: Decision): void {
  setPropertyNamed(DECISION, d.corsPreflight ? "cors_preflight" : decisionKindName(d.kind));
  setPropertyNamed(VIRTUAL_HOST, d.virtualHost);
  setPropertyNamed(NAME, d.routeName);
  if (d.kind == DecisionKind.Route) setPropertyNamed(CLUSTER, d.cluster);
  if (d.kind == DecisionKind.NoRoute) setPropertyNamed(FLAGS, "NR");
}
