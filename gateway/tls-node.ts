// TLS termination for a listener's TLS filter chains: the chain is picked by SNI as Envoy matches server_names
// (exact name, then "*.suffix" from the most specific suffix up, then the chain without server_names), its
// certificate is served, ALPN offers the chains' alpn_protocols that the gateway speaks (default h2 and http/1.1;
// http/1.1 only for codec_type HTTP1), and a chain that requires a client certificate closes connections that
// present none or one that does not chain to its trusted CA. Certificates named by SDS are re-read when the
// SecretSource's optional `watch` fires: the chain's SecureContext is swapped, so new handshakes get the new
// certificate (and CA) while open connections keep theirs. Node-only.
import { X509Certificate } from "node:crypto";
import type { Duplex } from "node:stream";
import { createSecureContext, TLSSocket, type SecureContext } from "node:tls";
import type { SecretSource } from "./bootstrap/listener-tls.js";
import type { ListenerTlsConfig, TlsChainConfig } from "./bootstrap/types.js";
import { firstUriSan } from "./peer-certificate-node.js";

interface Chain {
  config: TlsChainConfig;
  context: SecureContext;
  /** The served certificate's first URI SAN (connection.uri_san_local_certificate, XFCC By). */
  localUriSan: string | undefined;
}

/** How long a client may take to finish the handshake. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

export class TlsTerminator {
  private readonly exact = new Map<string, Chain>();
  private readonly wildcard = new Map<string, Chain>();
  private readonly fallback: Chain | undefined;
  private readonly requestCert: boolean;
  private readonly alpn: string[];
  private readonly unwatch: Array<() => void> = [];
  private readonly chains: Chain[] = [];
  private readonly secrets: SecretSource | undefined;
  private readonly onError: (message: string) => void;

  /**
   * Throws a one-line error naming the listener and chain when a certificate or key does not load. `onError` hears
   * about a changed secret that does not load (the chain keeps serving what it had).
   */
  constructor(
    cfg: ListenerTlsConfig,
    private readonly listener: string,
    onError: (message: string) => void = (m) => console.error(m),
  ) {
    let fallback: Chain | undefined;
    const alpn = new Set<string>();
    for (const c of cfg.chains) {
      const chain: Chain = { config: c, context: secureContext(c, listener), localUriSan: firstUriSan(c.certificateChain) };
      if (c.serverNames.length === 0) fallback = chain;
      for (const n of c.serverNames) (n.startsWith("*.") ? this.wildcard : this.exact).set(n.startsWith("*.") ? n.slice(1) : n, chain);
      for (const a of c.alpnProtocols ?? ["h2", "http/1.1"]) alpn.add(a);
      this.chains.push(chain);
    }
    this.secrets = cfg.secrets;
    this.onError = onError;
    this.fallback = fallback;
    this.requestCert = cfg.chains.some((c) => c.trustedCa !== undefined);
    // What the gateway speaks first (server preference), then what it only accepts (istio-peer-exchange).
    const rank = (a: string) => (a === "h2" || a === "http/1.1" ? 0 : 1);
    this.alpn = [...alpn].sort((a, b) => rank(a) - rank(b));
  }

  /** Starts following changes of the SDS secrets the chains were built from (see the file comment). */
  follow(): void {
    if (this.unwatch.length === 0) for (const chain of this.chains) this.watchChain(chain, this.secrets, this.onError);
  }

  /** Stops following secret changes. */
  close(): void {
    for (const u of this.unwatch.splice(0)) u();
  }

  private watchChain(chain: Chain, secrets: SecretSource | undefined, onError: (message: string) => void): void {
    const watch = secrets?.watch?.bind(secrets);
    const c = chain.config;
    if (!watch || !secrets || (c.certificateSecret === undefined && c.trustedCaSecret === undefined)) return;
    const reload = () => {
      try {
        const fresh: TlsChainConfig = { ...chain.config };
        if (c.certificateSecret !== undefined) Object.assign(fresh, secrets.tlsCertificate(c.certificateSecret));
        if (c.trustedCaSecret !== undefined) fresh.trustedCa = secrets.trustedCa(c.trustedCaSecret);
        const context = secureContext(fresh, this.listener);
        chain.config = fresh;
        chain.context = context;
        chain.localUriSan = firstUriSan(fresh.certificateChain);
      } catch (e) {
        onError(`halyard gateway: listener "${this.listener}": filter chain "${c.name}": keeping the previous certificate: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
    for (const name of new Set([c.certificateSecret, c.trustedCaSecret])) if (name !== undefined) this.unwatch.push(watch(name, reload));
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
  accept(socket: Duplex, http1Only: boolean, onSecure: (tls: TLSSocket, serverName: string | undefined, localUriSan: string | undefined) => void): void {
    let serverName: string | undefined;
    const offered = http1Only ? this.alpn.filter((a) => a !== "h2") : this.alpn;
    const tls = new TLSSocket(socket, {
      isServer: true,
      ...(this.fallback ? { secureContext: this.fallback.context } : {}),
      SNICallback: (name, cb) => {
        serverName = name;
        const chain = this.chainFor(name);
        if (chain) cb(null, chain.context);
        else cb(new Error(`no filter chain for server name "${name}"`));
      },
      ALPNProtocols: offered.length > 0 ? offered : ["http/1.1"],
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
      onSecure(tls, serverName, chain.localUriSan);
    });
  }
}

// tls.Server computes `authorized` in its own secure handler, which a TLSSocket made here does not run: the
// handshake accepted any client certificate (OpenSSL's verify callback always continues in Node) and left the
// verification result on the handle, as tls.Server reads it. Unknown shape: not verified (fail closed).
export function clientCertificateVerified(tls: TLSSocket): boolean {
  const peer = tls.getPeerCertificate();
  if (!peer || Object.keys(peer).length === 0) return false;
  const handle = (tls as unknown as { _handle?: { verifyError?: () => Error | null } })._handle;
  return typeof handle?.verifyError === "function" && handle.verifyError() === null;
}

function secureContext(c: TlsChainConfig, listener: string): SecureContext {
  const where = `listener "${listener}": filter chain "${c.name}"`;
  if (c.trustedCa !== undefined) checkCaBundle(c.trustedCa, where);
  try {
    return createSecureContext({ cert: c.certificateChain, key: c.privateKey, ...(c.trustedCa ? { ca: c.trustedCa } : {}) });
  } catch (e) {
    throw new Error(`${where}: the certificate does not load (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`);
  }
}

// createSecureContext skips CA entries it cannot parse: a broken bundle would silently refuse every client.
function checkCaBundle(pem: string, where: string): void {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new Error(`${where}: the trusted CA bundle holds no PEM certificate`);
  blocks.forEach((b, i) => {
    try {
      new X509Certificate(b);
    } catch (e) {
      throw new Error(`${where}: trusted CA certificate #${i + 1} does not parse (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`);
    }
  });
}
