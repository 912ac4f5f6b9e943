// @peculiar/x509 with what it needs before first use: a Reflect metadata polyfill (its DI container requires
// one) and the platform's WebCrypto as its crypto provider. Import x509 through this module only.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };
