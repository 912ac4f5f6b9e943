// The CA as `halyard serve` runs it: the mesh CA from the state dir, the token verifier, the root certificate
// route for the HTTP port, and the certificate server. Opening (files) and listening (port) are separate steps so
// the control plane can bind its ports in its own order.
import type { Hono } from "hono";
import { addCaHttpRoutes } from "./http.js";
import { openMeshCa } from "./open.js";
import { startCaServer, type RunningCaServer } from "./server.js";
import { TokenVerifier } from "./token.js";

export interface ControlPlaneCaOptions {
  /** Holds ca/root-cert.pem, ca/root-key.pem, ca/token-key.pem and optionally cacerts/. */
  stateDir: string;
  /** Default 15012 (0: ephemeral). */
  port?: number;
  /** Default 24 h. */
  workloadCertTtlMs?: number;
  /** Default cluster.local. */
  trustDomain?: string;
  /** A cacerts directory to sign with instead of the state dir's root. */
  cacertsDir?: string;
}

export interface ControlPlaneCa {
  rootCertPem: string;
  /** Adds GET /ca/root-cert.pem. */
  addHttpRoutes(app: Hono): void;
  /** Starts the certificate server on `host` and the configured port. */
  listen(host: string): Promise<{ host: string; port: number }>;
  close(): Promise<void>;
}

export async function openControlPlaneCa(options: ControlPlaneCaOptions & { log: (line: string) => void }): Promise<ControlPlaneCa> {
  const ca = await openMeshCa({
    stateDir: options.stateDir,
    cacertsDir: options.cacertsDir,
    trustDomain: options.trustDomain,
    workloadCertTtlMs: options.workloadCertTtlMs,
    log: options.log,
  });
  const tokenVerifier = await TokenVerifier.fromStateDir(options.stateDir);
  let server: RunningCaServer | undefined;
  return {
    rootCertPem: ca.rootCertPem,
    addHttpRoutes: (app) => addCaHttpRoutes(app, () => ca.rootCertPem),
    listen: async (host) => {
      server = await startCaServer({ ca, tokenVerifier, host, port: options.port, log: options.log });
      return { host: server.host, port: server.port };
    },
    close: async () => server?.close(),
  };
}
