// A client of the mesh CA: istio.v1.auth.IstioCertificateService/CreateCertificate over TLS (halyard serve's
// --ca-port, default 15012), trusting the mesh root given to it, with the service-account token read from a file
// on every request (as istio-agent re-reads its projected token, so a refreshed token is picked up). The server is
// checked against istiod.istio-system.svc, the name the control plane's certificate carries. Node-only.
import { readFile } from "node:fs/promises";
import * as grpc from "@grpc/grpc-js";
import type { IstioCertificateResponse } from "../../control/ca/proto.js";
import { certificateServiceDefinition } from "../../control/ca/service.js";

/** The name the CA's serving certificate carries (control/ca/server.ts SERVER_DNS_NAMES). */
export const CA_SERVER_NAME = "istiod.istio-system.svc";
const DEFAULT_DEADLINE_MS = 10_000;

/** What the certificate manager needs from a CA: a signed chain (leaf first, root last) for a CSR. */
export interface CertificateSigner {
  sign(csrPem: string, ttlSeconds: number): Promise<string[]>;
  close(): void;
}

export interface CaClientOptions {
  /** host:port of the certificate API. */
  address: string;
  /** PEM of the mesh root the CA's serving certificate chains to. */
  rootPem: string;
  /** Read on every request; its content (trimmed) is sent as `authorization: Bearer <token>`. */
  tokenFile: string;
  /** Per-call deadline. Default 10 s. */
  deadlineMs?: number;
}

/** A CA refusal or failure: the gRPC status code (undefined when the request never left) and a one-line reason. */
export class CaRequestError extends Error {
  override name = "CaRequestError";
  constructor(
    message: string,
    readonly code?: grpc.status,
  ) {
    super(message);
  }
  /** Whether trying again later may help (the CA is unreachable or overloaded), as opposed to a refusal. */
  get transient(): boolean {
    return this.code === undefined || [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.RESOURCE_EXHAUSTED, grpc.status.INTERNAL, grpc.status.UNKNOWN].includes(this.code);
  }
}

type GeneratedClient = grpc.Client & {
  CreateCertificate(
    req: { csr: string; validityDuration?: number },
    metadata: grpc.Metadata,
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, res?: IstioCertificateResponse) => void,
  ): grpc.ClientUnaryCall;
};
const ClientCtor = grpc.makeGenericClientConstructor(certificateServiceDefinition, "IstioCertificateService");

export async function readToken(tokenFile: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(tokenFile, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new CaRequestError(`--token-file ${tokenFile}: ${code === "ENOENT" ? "no such file" : `cannot read (${code ?? String(e)})`}`, grpc.status.UNAUTHENTICATED);
  }
  const token = text.trim();
  if (token === "" || /\s/.test(token)) throw new CaRequestError(`--token-file ${tokenFile}: expected one token (a JWT from \`halyard token create\`)`, grpc.status.UNAUTHENTICATED);
  return token;
}

export function createCaClient(options: CaClientOptions): CertificateSigner {
  const creds = grpc.credentials.createSsl(Buffer.from(options.rootPem));
  const client = new ClientCtor(options.address, creds, { "grpc.ssl_target_name_override": CA_SERVER_NAME, "grpc.default_authority": CA_SERVER_NAME }) as unknown as GeneratedClient;
  const deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
  return {
    async sign(csr, ttlSeconds) {
      const metadata = new grpc.Metadata();
      metadata.set("authorization", `Bearer ${await readToken(options.tokenFile)}`);
      const res = await new Promise<IstioCertificateResponse>((resolve, reject) => {
        client.CreateCertificate({ csr, validityDuration: ttlSeconds }, metadata, { deadline: Date.now() + deadlineMs }, (err, r) => {
          if (err) reject(new CaRequestError(`CA ${options.address}: ${grpc.status[err.code] ?? err.code}: ${(err.details || err.message).split("\n")[0]}`, err.code));
          else resolve(r!);
        });
      });
      if (res.certChain.length === 0) throw new CaRequestError(`CA ${options.address}: the response carries no certificate`, grpc.status.INTERNAL);
      return res.certChain;
    },
    close: () => client.close(),
  };
}
