// The peer certificate as the gateway reads it off a real TLS connection (gateway/peer-certificate-node.ts): URI and
// DNS SANs in order (also ones Node prints quoted), the subject in RFC 2253 order, the DER's SHA-256, the chain.
import { X509Certificate } from "node:crypto";
import type { AddressInfo } from "node:net";
import { connect, createServer, type TLSSocket } from "node:tls";
import { describe, expect, it } from "vitest";
import { exportPrivateKeyPem } from "../control/ca/keys.js";
import { x509 } from "../control/ca/x509.js";
import { peerCertificate, firstUriSan } from "../gateway/peer-certificate-node.js";
import type { PeerCertificate } from "../gateway/peer-identity.js";

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const keys = () => crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]) as Promise<CryptoKeyPair>;

async function pki() {
  const now = Date.now();
  const caKeys = await keys();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01", name: "CN=peer test CA", notBefore: new Date(now - 60_000), notAfter: new Date(now + 3_600_000), keys: caKeys, signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  const leaf = async (subject: string, names: Array<{ type: "dns" | "url"; value: string }>) => {
    const k = await keys();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: "0a1b2c", subject, issuer: ca.subject, notBefore: new Date(now - 60_000), notAfter: new Date(now + 3_600_000), publicKey: k.publicKey, signingKey: caKeys.privateKey, signingAlgorithm: ALG,
      extensions: [new x509.SubjectAlternativeNameExtension(names), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth])],
    });
    return { cert: cert.toString("pem"), key: await exportPrivateKeyPem(k.privateKey) };
  };
  return { ca: ca.toString("pem"), leaf };
}

/** What the server side of one real handshake reads from the client's certificate. */
async function readPeer(server: { cert: string; key: string }, client: { cert: string; key: string }, ca: string, clientChain: string): Promise<PeerCertificate | undefined> {
  let seen: PeerCertificate | undefined;
  const srv = createServer({ cert: server.cert, key: server.key, ca, requestCert: true, rejectUnauthorized: true }, (s: TLSSocket) => {
    seen = peerCertificate(s);
    s.end();
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  await new Promise<void>((resolve, reject) => {
    const c = connect({ host: "127.0.0.1", port: (srv.address() as AddressInfo).port, ca, cert: clientChain, key: client.key, checkServerIdentity: () => undefined });
    c.on("error", reject);
    c.on("close", () => resolve());
    c.resume();
  });
  await new Promise((r) => srv.close(r));
  return seen;
}

describe("peer certificate extraction", () => {
  it("reads SANs, an RFC 2253 subject, the SHA-256 of the DER, serial and chain", async () => {
    const { ca, leaf } = await pki();
    const server = await leaf("CN=server", [{ type: "url", value: "spiffe://cluster.local/ns/shop/sa/web" }]);
    const client = await leaf("O=Example Corp, OU=a\\,b, OU=q\\\"x\\+y, CN=client.example", [
      { type: "url", value: "spiffe://cluster.local/ns/foo/sa/caller" },
      { type: "dns", value: "caller.foo.svc" },
      { type: "url", value: "urn:example:with,comma" },
      { type: "dns", value: "caller.foo" },
    ]);
    const peer = (await readPeer(server, client, ca, `${client.cert}\n${ca}\n`))!;
    expect(peer.uriSans).toEqual(["spiffe://cluster.local/ns/foo/sa/caller", "urn:example:with,comma"]);
    expect(peer.dnsSans).toEqual(["caller.foo.svc", "caller.foo"]);
    expect(peer.subject).toBe("CN=client.example,OU=q\\\"x\\+y,OU=a\\,b,O=Example Corp");
    expect(peer.sha256).toBe(new X509Certificate(client.cert).fingerprint256.replace(/:/g, "").toLowerCase());
    expect(peer.serialNumber).toBe("0A1B2C");
    expect(peer.pem).toBe(new X509Certificate(client.cert).toString());
    expect(peer.chainPem.map((p) => new X509Certificate(p).subject)).toEqual([new X509Certificate(client.cert).subject, "CN=peer test CA"]);
    expect(firstUriSan(`${server.cert}\n${ca}\n`)).toBe("spiffe://cluster.local/ns/shop/sa/web");
    expect(firstUriSan(ca)).toBeUndefined();
  });
});
