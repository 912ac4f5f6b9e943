// SDS for Envoy on a Unix socket, as istio-agent serves it (./var/run/secrets/workload-spiffe-uds/socket):
// envoy.service.secret.v3.SecretDiscoveryService StreamSecrets (state of the world) and FetchSecrets, with the
// secrets `default` and `ROOTCA` of the rotating workload certificate. Per stream: the first request, and any
// request that changes the resource names, is answered at once; a request carrying the last nonce is an ACK (or a
// NACK with error_detail, logged, nothing re-sent); one carrying an older nonce is stale and ignored. A rotation
// pushes a new version to streams subscribed to `default`, and to `ROOTCA` ones when the root changed. Version is
// the certificate's version (1, 2, ...). DeltaSecrets is UNIMPLEMENTED. Node-only.
import { lstat, mkdir, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { DiscoveryResponseSchema, type DiscoveryRequest, type DiscoveryResponse } from "../../gen/envoy/service/discovery/v3/discovery_pb.js";
import { SecretDiscoveryService } from "../../gen/envoy/service/secret/v3/sds_pb.js";
import { grpcServiceDefinition } from "../../control/xds/grpc-service.js";
import { SECRET_TYPE } from "../../control/xds/resource-types.js";
import { shutdownGrpcServer } from "../../control/xds/grpc-shutdown.js";
import type { WorkloadCertificate } from "./manager.js";
import { packedSecrets, SDS_SECRET_NAMES } from "./sds-secrets.js";
import { ROOT_CA_SECRET, WORKLOAD_CERT_SECRET, type WorkloadCertificateSource } from "./workload-secrets.js";

/** Istio's default, relative to the proxy's working directory. */
export const DEFAULT_SDS_SOCKET = "./var/run/secrets/workload-spiffe-uds/socket";

export interface SdsServerOptions {
  socketPath: string;
  manager: WorkloadCertificateSource;
  log?: (line: string) => void;
}

export interface RunningSdsServer {
  socketPath: string;
  /** Open StreamSecrets streams. */
  streams(): number;
  close(graceMs?: number): Promise<void>;
}

function response(names: readonly string[], cert: WorkloadCertificate, nonce: string): DiscoveryResponse {
  return create(DiscoveryResponseSchema, { versionInfo: String(cert.version), resources: packedSecrets(names, cert), typeUrl: SECRET_TYPE, nonce });
}

/** Removes a stale socket left by an earlier run; refuses to remove anything that is not a socket. */
async function clearSocket(path: string): Promise<void> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return;
  if (!st.isSocket()) throw new Error(`--sds-socket ${path}: exists and is not a socket`);
  await unlink(path);
}

export async function startSdsServer(options: SdsServerOptions): Promise<RunningSdsServer> {
  const { manager, socketPath } = options;
  const log = options.log ?? (() => {});
  let open = 0;

  const streamSecrets: grpc.handleBidiStreamingCall<DiscoveryRequest, DiscoveryResponse> = (call) => {
    open++;
    let names: string[] = [];
    let nonce = "";
    let sent = 0;
    let subscribed = false;
    const send = () => {
      nonce = String(++sent);
      call.write(response(names, manager.current(), nonce));
    };
    const unsubscribe = manager.onRotate((cert, previous) => {
      if (!subscribed) return;
      if (names.includes(WORKLOAD_CERT_SECRET) || (names.includes(ROOT_CA_SECRET) && previous?.rootCert !== cert.rootCert)) send();
    });
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      open--;
      unsubscribe();
    };
    call.on("data", (req: DiscoveryRequest) => {
      if (req.typeUrl !== "" && req.typeUrl !== SECRET_TYPE) {
        finish();
        call.emit("error", { code: grpc.status.INVALID_ARGUMENT, details: `type_url ${req.typeUrl}: this SDS server serves ${SECRET_TYPE} only` });
        return;
      }
      if (req.responseNonce !== "" && req.responseNonce !== nonce) return; // stale: a newer response is on its way
      const wanted = req.resourceNames.length > 0 ? [...req.resourceNames] : [...SDS_SECRET_NAMES];
      const unknown = wanted.filter((n) => !(SDS_SECRET_NAMES as readonly string[]).includes(n));
      if (unknown.length) log(`sds: ${unknown.map((n) => `"${n}"`).join(", ")} not served (only "default" and "ROOTCA")`);
      if (req.errorDetail) log(`sds: NACK of version ${req.versionInfo}: ${req.errorDetail.message}`);
      const changed = wanted.length !== names.length || wanted.some((n, i) => n !== names[i]);
      if (req.responseNonce === "" || changed) {
        names = wanted;
        subscribed = true;
        send();
      }
    });
    call.on("end", () => {
      finish();
      call.end();
    });
    call.on("cancelled", finish);
    call.on("error", finish);
  };

  const fetchSecrets: grpc.handleUnaryCall<DiscoveryRequest, DiscoveryResponse> = (call, callback) => {
    const req = call.request;
    if (req.typeUrl !== "" && req.typeUrl !== SECRET_TYPE) {
      callback({ code: grpc.status.INVALID_ARGUMENT, details: `type_url ${req.typeUrl}: this SDS server serves ${SECRET_TYPE} only` });
      return;
    }
    callback(null, response(req.resourceNames.length ? req.resourceNames : SDS_SECRET_NAMES, manager.current(), ""));
  };

  await mkdir(dirname(socketPath), { recursive: true });
  await clearSocket(socketPath);
  const server = new grpc.Server();
  server.addService(grpcServiceDefinition(SecretDiscoveryService), { StreamSecrets: streamSecrets, FetchSecrets: fetchSecrets });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) =>
      err ? reject(new Error(`--sds-socket ${socketPath}: ${err.message.split("\n")[0]}`)) : resolve(),
    ),
  );
  let closing: Promise<void> | undefined;
  return {
    socketPath,
    streams: () => open,
    close: (graceMs = 1000) =>
      (closing ??= shutdownGrpcServer(server, graceMs).then(() => unlink(socketPath).catch(() => {}))),
  };
}
