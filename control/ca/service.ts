// The grpc-js service definition of istio.v1.auth.IstioCertificateService, built by hand around proto.ts.
import type { ServiceDefinition } from "@grpc/grpc-js";
import {
  CREATE_CERTIFICATE_PATH,
  decodeCertificateRequest,
  decodeCertificateResponse,
  encodeCertificateRequest,
  encodeCertificateResponse,
  type IstioCertificateRequest,
  type IstioCertificateResponse,
} from "./proto.js";

const toBuffer = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

export const certificateServiceDefinition = {
  CreateCertificate: {
    path: CREATE_CERTIFICATE_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: (req: Pick<IstioCertificateRequest, "csr"> & { validityDuration?: number }) => toBuffer(encodeCertificateRequest(req)),
    requestDeserialize: (bytes: Buffer) => decodeCertificateRequest(bytes),
    responseSerialize: (res: IstioCertificateResponse) => toBuffer(encodeCertificateResponse(res)),
    responseDeserialize: (bytes: Buffer) => decodeCertificateResponse(bytes),
    originalName: "createCertificate",
  },
} satisfies ServiceDefinition;
