// Reading the workload certificate from an agent's SDS socket (FetchSecrets for `default`), for tools such as
// `halyard x describe --sds-socket`. Node-only.
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { SecretSchema } from "../../gen/envoy/extensions/transport_sockets/tls/v3/secret_pb.js";
import { DiscoveryRequestSchema, type DiscoveryResponse } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { SecretDiscoveryService } from "../../gen/envoy/service/secret/v3/sds_pb.js";
import { grpcServiceDefinition } from "../../control/xds/grpc-service.js";
import { SECRET_TYPE } from "../../control/xds/resource-types.js";
import { WORKLOAD_CERT_SECRET } from "./workload-secrets.js";

const Client = grpc.makeGenericClientConstructor(grpcServiceDefinition(SecretDiscoveryService), "SecretDiscoveryService");
type FetchClient = grpc.Client & {
  FetchSecrets(req: unknown, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: DiscoveryResponse) => void): void;
};

/** The PEM chain of the `default` secret the agent on `socketPath` serves. Throws one line naming the socket. */
export async function fetchWorkloadCertificate(socketPath: string, timeoutMs = 5_000): Promise<string> {
  const client = new Client(`unix:${socketPath}`, grpc.credentials.createInsecure()) as unknown as FetchClient;
  try {
    const res = await new Promise<DiscoveryResponse>((resolve, reject) =>
      client.FetchSecrets(create(DiscoveryRequestSchema, { typeUrl: SECRET_TYPE, resourceNames: [WORKLOAD_CERT_SECRET] }), { deadline: Date.now() + timeoutMs }, (err, r) =>
        err ? reject(new Error(`--sds-socket ${socketPath}: ${grpc.status[err.code] ?? err.code}: ${(err.details || err.message).split("\n")[0]}`)) : resolve(r!),
      ),
    );
    for (const any of res.resources) {
      const secret = anyUnpack(any, SecretSchema);
      if (secret?.name === WORKLOAD_CERT_SECRET && secret.type.case === "tlsCertificate") {
        const chain = secret.type.value.certificateChain?.specifier;
        if (chain?.case === "inlineBytes") return new TextDecoder().decode(chain.value);
        if (chain?.case === "inlineString") return chain.value;
      }
    }
    throw new Error(`--sds-socket ${socketPath}: the agent sent no "${WORKLOAD_CERT_SECRET}" certificate`);
  } finally {
    client.close();
  }
}
