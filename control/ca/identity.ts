// Workload identities: Kubernetes service accounts and their SPIFFE IDs (spiffe://<trust-domain>/ns/<ns>/sa/<sa>).

export interface ServiceAccount {
  namespace: string;
  serviceAccount: string;
}

export const DEFAULT_TRUST_DOMAIN = "cluster.local";

// DNS-1123 labels for namespaces, DNS-1123 subdomains for service account names, as Kubernetes requires.
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const SERVICE_ACCOUNT = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const TRUST_DOMAIN = /^[a-z0-9._-]{1,255}$/;

/** Why `trustDomain` is not a SPIFFE trust domain, or undefined when it is one. */
export function trustDomainProblem(trustDomain: string): string | undefined {
  return TRUST_DOMAIN.test(trustDomain) ? undefined : `trust domain "${trustDomain}" must be lowercase letters, digits, ".", "-" or "_"`;
}

function accountProblem(namespace: string, serviceAccount: string): string | undefined {
  if (!NAMESPACE.test(namespace)) return `namespace "${namespace}" is not a DNS-1123 label`;
  if (!SERVICE_ACCOUNT.test(serviceAccount)) return `service account "${serviceAccount}" is not a DNS-1123 subdomain`;
  return undefined;
}

/** `<ns>/<sa>` as the CLI takes it. Throws a one-line error. */
export function parseServiceAccount(text: string): ServiceAccount {
  const parts = text.split("/");
  if (parts.length !== 2) throw new Error(`"${text}" is not <namespace>/<service-account>`);
  const [namespace, serviceAccount] = parts as [string, string];
  const problem = accountProblem(namespace, serviceAccount);
  if (problem) throw new Error(`"${text}": ${problem}`);
  return { namespace, serviceAccount };
}

export function spiffeId(trustDomain: string, account: ServiceAccount): string {
  return `spiffe://${trustDomain}/ns/${account.namespace}/sa/${account.serviceAccount}`;
}

/** The service account a SPIFFE ID of `trustDomain` names, or undefined for anything else. */
export function parseSpiffeId(uri: string, trustDomain: string): ServiceAccount | undefined {
  const prefix = `spiffe://${trustDomain}/ns/`;
  if (!uri.startsWith(prefix)) return undefined;
  const rest = uri.slice(prefix.length).split("/");
  if (rest.length !== 3 || rest[1] !== "sa") return undefined;
  const [namespace, , serviceAccount] = rest as [string, string, string];
  return accountProblem(namespace, serviceAccount) ? undefined : { namespace, serviceAccount };
}

/** The `sub` claim of a Kubernetes service-account token. */
export function serviceAccountSubject(account: ServiceAccount): string {
  return `system:serviceaccount:${account.namespace}:${account.serviceAccount}`;
}

export function parseServiceAccountSubject(sub: string): ServiceAccount | undefined {
  const parts = sub.split(":");
  if (parts.length !== 4 || parts[0] !== "system" || parts[1] !== "serviceaccount") return undefined;
  const [, , namespace, serviceAccount] = parts as [string, string, string, string];
  return accountProblem(namespace, serviceAccount) ? undefined : { namespace, serviceAccount };
}
