// Checks Istio makes in Go code (pkg/config/validation) rather than in its CRD schemas, per kind.
import type { ConfigDocument } from "../load.js";
import type { Issue } from "../errors.js";
import { checkAuthorizationPolicy } from "./authorizationpolicy.js";
import { checkDestinationRule } from "./destinationrule.js";
import { checkGateway } from "./gateway.js";
import { checkSidecar } from "./sidecar.js";
import { checkVirtualService } from "./virtualservice.js";

type Check = (doc: ConfigDocument) => Issue[];

const checks: Record<string, Check> = {
  VirtualService: checkVirtualService,
  Gateway: checkGateway,
  DestinationRule: checkDestinationRule,
  AuthorizationPolicy: checkAuthorizationPolicy,
  Sidecar: checkSidecar,
};

export function semanticIssues(doc: ConfigDocument): Issue[] {
  const check = doc.info.source === "istio" ? checks[doc.kind] : undefined;
  return check ? check(doc) : [];
}
