// TLS termination for a listener's TLS filter chains: the chain is picked by SNI as Envoy matches server_names
// (exact name, then "*.suffix" from the most specific suffix up, then the chain without server_names), its
// certificate is served, ALPN offers h2 and http/1.1 (http/1.1 only for codec_type HTTP1), and a chain that requires
// a client certificate closes connections that present none or an unverified one. Node-only.
import type { Duplex } from "node:stream";
import { createSecureContext, TLSSocket, type SecureContext } from "node:tls";
import type { ListenerTlsConfig, TlsChainConfig } from "./bootstrap/types.js";

interface Chain {
  config: TlsChainConfig;
  context: SecureContext;
}

/** How long a client may take to finish the handshake. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

export class TlsTerminator {
  private readonly exact = new Map<string, Chain>();
  private readonly wildcard = new Map<string, Chain>();
  private readonly fallback: Chain | undefined;
  private readonly requestCert: boolean;

  /** Throws a one-line error naming the listener and chain when a certificate or key does not load. */
  constructor(cfg: ListenerTlsConfig, listener: string) {
    let fallback: Chain | undefined;
    for (const c of cfg.chains) {
      let context: SecureContext;
      try {
        context = createSecureContext({ cert: c.certificateChain, key: c.privateKey, ...(c.trustedCa ? { ca: c.trustedCa } : {}) });
      } catch (e) {
        throw new Error(`listener "${listener}": filter chain "${c.name}": the certificate does not load (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`);
      }
      const chain = { config: c, context };
      if (c.serverNames.length === 0) fallback = chain;
      for (const n of c.serverNames) (n.startsWith("*.") ? this.wildcard : this.exact).set(n.startsWith("*.") ? n.slice(1) : n, chain);
    }
    this.fallback = fallback;
    this.requestCert = cfg.chains.some((c) => c.trustedCa !== undefined);
  }

  /** The chain for an SNI name (undefined: none matches, the handshake fails as Envoy closes the connection). */
  chainFor(serverName: string | undefined): Chain | undefined {
    if (!serverName) return this.fallback;
    const name = serverName.toLowerCase();
    const exact = this.exact.get(name);
    if (exact) return exact;
    for (let dot = name.indexOf("."); dot >= 0; dot = name.indexOf(".", dot + 1)) {
      const chain = this.wildcard.get(name.slice(dot));
      if (chain) return chain;
    }
    return this.fallback;
  }

  /**
   * Runs the server side of a handshake on `socket`; `onSecure` gets the TLS socket (and the SNI name the client
   * sent) once it is established and allowed. Failed handshakes just close the connection.
   */
  accept(socket: Duplex, http1Only: boolean, onSecure: (tls: TLSSocket, serverName: string | undefined) => void): void {
    let serverName: string | undefined;
    const tls = new TLSSocket(socket, {
      isServer: true,
      ...(this.fallback ? { secureContext: this.fallback.context } : {}),
      SNICallback: (name, cb) => {
        serverName = name;
        const chain = this.chainFor(name);
        if (chain) cb(null, chain.context);
        else cb(new Error(`no filter chain for server name "${name}"`));
      },
      ALPNProtocols: http1Only ? ["http/1.1"] : ["h2", "http/1.1"],
      requestCert: this.requestCert,
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => tls.destroy(), HANDSHAKE_TIMEOUT_MS);
    tls.on("error", () => tls.destroy());
    tls.once("close", () => clearTimeout(timer));
    // TLSSocket's server side emits "secure" when the handshake is done (what tls.Server turns into secureConnection).
    tls.once("secure", () => {
      clearTimeout(timer);
      const chain = this.chainFor(serverName);
      if (!chain || (chain.config.requireClientCertificate && !clientCertificateVerified(tls))) {
        tls.destroy();
        return;
      }
      // What tls.Server does before emitting secureConnection; node:http2 waits for the handshake while it is set.
      (tls as unknown as { secureConnecting: boolean }).secureConnecting = false;
      onSecure(tls, serverName);
    });
  }
}

// tls.Server computes `authorized` in its own secure handler, which a TLSSocket made here does not run: the
// handshake accepted any client certificate (OpenSSL's verify callback always continues in Node) and left the
// verification result on the handle, as tls.Server reads it. Unknown shape: not verified (fail closed).
function clientCertificateVerified(tls: TLSSocket): boolean {
  const peer = tls.getPeerCertificate();
  if (!peer || Object.keys(peer).length === 0) return false;
  const handle = (tls as unknown as { _handle?: { verifyError?: () => Error | null } })._handle;
  return typeof handle?.verifyError === "function" && handle.verifyError() === null;
}
