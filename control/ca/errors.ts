// Why the CA refused a request, in terms the certificate service maps onto gRPC status codes.

export type CaErrorKind = "invalid-argument" | "permission-denied" | "unauthenticated" | "internal";

export class CaError extends Error {
  override name = "CaError";
  constructor(
    readonly kind: CaErrorKind,
    message: string,
  ) {
    super(message);
  }
}
