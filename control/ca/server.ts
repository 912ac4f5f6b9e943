// The certificate API: istio.v1.auth.IstioCertificateService/CreateCertificate over TLS (default port 15012).
// The server's certificate is issued by the mesh CA for istiod.istio-system.svc, localhost and 127.0.0.1 and
// renewed at half its lifetime. Client certificates are asked for but optional: callers use one chaining to the
// mesh root, or a bearer token. Refusals are gRPC statuses with a one-line message; the server keeps serving.
import * as grpc from "@grpc/grpc-js";
import type { MeshCa } from "./ca.js";
import { authenticateCaller } from "./caller.js";
import { CaError, type CaErrorKind } from "./errors.js";
import type { IstioCertificateRequest, IstioCertificateResponse } from "./proto.js";
import { certificateServiceDefinition } from "./service.js";
import { InMemoryCertificateProvider } from "./tls-provider.js";
import type { TokenVerifier } from "./token.js";
import { shutdownGrpcServer } from "../xds/grpc-shutdown.js";

export const DEFAULT_CA_PORT = 15012;
export const SERVER_DNS_NAMES = ["istiod.istio-system.svc", "localhost"];
export const SERVER_IP_ADDRESSES = ["127.0.0.1"];

export interface CaServerOptions {
  ca: MeshCa;
  tokenVerifier: TokenVerifier;
  /** Default 0.0.0.0. */
  host?: string;
  /** Default 15012 (0: ephemeral). */
  port?: number;
  log?: (line: string) => void;
}

export interface RunningCaServer {
  host: string;
  port: number;
  /** The chain the server currently presents, leaf first. */
  serverCertChainPem(): string[];
  close(graceMs?: number): Promise<void>;
}

const STATUS: Record<CaErrorKind, grpc.status> = {
  "invalid-argument": grpc.status.INVALID_ARGUMENT,
  "permission-denied": grpc.status.PERMISSION_DENIED,
  unauthenticated: grpc.status.UNAUTHENTICATED,
  internal: grpc.status.INTERNAL,
};

export async function startCaServer(options: CaServerOptions): Promise<RunningCaServer> {
  const { ca, tokenVerifier } = options;
  const host = options.host ?? "0.0.0.0";
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));

  const provider = new InMemoryCertificateProvider();
  provider.setRoot(ca.rootCertPem);
  let chain: string[] = [];
  const renew = async () => {
    const issued = await ca.issueWithNewKey({ dnsNames: SERVER_DNS_NAMES, ipAddresses: SERVER_IP_ADDRESSES, ttlMs: ca.workloadCertTtlMs });
    chain = issued.certChainPem;
    // The root is the client's trust anchor, not part of what the server sends.
    provider.setIdentity(chain.slice(0, -1).join(""), issued.privateKeyPem);
  };
  await renew();
  const renewal = setInterval(() => {
    renew().catch((e: unknown) => log(`ca: renewing the server certificate failed: ${e instanceof Error ? e.message : String(e)}`));
  }, Math.min(2 ** 31 - 1, Math.max(1000, Math.floor(ca.workloadCertTtlMs / 2))));
  renewal.unref();

  const createCertificate: grpc.handleUnaryCall<IstioCertificateRequest, IstioCertificateResponse> = (call, callback) => {
    (async () => {
      const req = call.request;
      if (req.malformed) throw new CaError("invalid-argument", req.malformed);
      const caller = await authenticateCaller(call, ca.trustDomain, tokenVerifier);
      return ca.signCsr(req.csr, caller.account, req.validityDuration);
    })().then(
      (certChain) => callback(null, { certChain }),
      (e: unknown) => {
        if (e instanceof CaError) {
          if (e.kind === "unauthenticated") log(`ca: ${call.getPeer()}: ${e.message}`);
          callback({ code: STATUS[e.kind], details: e.message });
        } else {
          log(`ca: internal error signing a certificate: ${e instanceof Error ? e.message : String(e)}`);
          callback({ code: grpc.status.INTERNAL, details: "internal error signing the certificate" });
        }
      },
    );
  };

  const server = new grpc.Server();
  server.addService(certificateServiceDefinition, { CreateCertificate: createCertificate });
  const credentials = grpc.experimental.createCertificateProviderServerCredentials(provider, provider, false);
  const target = host.includes(":") ? `[${host}]:${options.port ?? DEFAULT_CA_PORT}` : `${host}:${options.port ?? DEFAULT_CA_PORT}`;
  let port: number;
  try {
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(target, credentials, (err, bound) => (err ? reject(new Error(`certificate server on ${target}: ${err.message.split("\n")[0]}`)) : resolve(bound))),
    );
  } catch (e) {
    clearInterval(renewal);
    server.forceShutdown();
    throw e;
  }

  let closing: Promise<void> | undefined;
  return {
    host,
    port,
    serverCertChainPem: () => [...chain],
    close: (graceMs = 1000) =>
      (closing ??= (clearInterval(renewal), shutdownGrpcServer(server, graceMs))),
  };
}
