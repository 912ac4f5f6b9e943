// The mesh root on the control plane's HTTP port: GET /ca/root-cert.pem, for workloads and tools to trust.
import type { Hono } from "hono";

export const ROOT_CERT_PATH = "/ca/root-cert.pem";

export function addCaHttpRoutes(app: Hono, rootCertPem: () => string): void {
  app.get(ROOT_CERT_PATH, (c) => c.body(rootCertPem(), 200, { "content-type": "application/x-pem-file", "cache-control": "no-cache" }));
}
