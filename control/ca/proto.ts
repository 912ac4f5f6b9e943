// istio.v1.auth messages (istio/api security/v1alpha1/ca.proto), encoded by hand with @bufbuild/protobuf's wire
// helpers: IstioCertificateRequest { string csr = 1; int64 validity_duration = 3; Struct metadata = 4; }
// IstioCertificateResponse { repeated string cert_chain = 1; }. Metadata is accepted and ignored.
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

export const CERTIFICATE_SERVICE = "istio.v1.auth.IstioCertificateService";
export const CREATE_CERTIFICATE_PATH = `/${CERTIFICATE_SERVICE}/CreateCertificate`;

export interface IstioCertificateRequest {
  csr: string;
  /** Requested validity in seconds; 0 means the CA's default. */
  validityDuration: number;
  /** Set instead of the fields when the bytes are not a valid request, so the service can say why. */
  malformed?: string;
}

export interface IstioCertificateResponse {
  certChain: string[];
}

export function encodeCertificateRequest(req: { csr: string; validityDuration?: number }): Uint8Array {
  const w = new BinaryWriter();
  if (req.csr !== "") w.tag(1, WireType.LengthDelimited).string(req.csr);
  if (req.validityDuration) w.tag(3, WireType.Varint).int64(req.validityDuration);
  return w.finish();
}

export function decodeCertificateRequest(bytes: Uint8Array): IstioCertificateRequest {
  const req: IstioCertificateRequest = { csr: "", validityDuration: 0 };
  try {
    const r = new BinaryReader(bytes);
    while (r.pos < r.len) {
      const [field, wireType] = r.tag();
      const expected = field === 1 ? WireType.LengthDelimited : field === 3 ? WireType.Varint : undefined;
      if (expected !== undefined && wireType !== expected) throw new Error(`field ${field} has wire type ${wireType}, not ${expected}`);
      if (field === 1) req.csr = r.string();
      else if (field === 3) req.validityDuration = Number(r.int64());
      else r.skip(wireType, field);
    }
  } catch (e) {
    return { csr: "", validityDuration: 0, malformed: `request is not an istio.v1.auth.IstioCertificateRequest: ${e instanceof Error ? e.message : String(e)}` };
  }
  return req;
}

export function encodeCertificateResponse(res: IstioCertificateResponse): Uint8Array {
  const w = new BinaryWriter();
  for (const pem of res.certChain) w.tag(1, WireType.LengthDelimited).string(pem);
  return w.finish();
}

export function decodeCertificateResponse(bytes: Uint8Array): IstioCertificateResponse {
  const res: IstioCertificateResponse = { certChain: [] };
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) res.certChain.push(r.string());
    else r.skip(wireType, field);
  }
  return res;
}
