// x-forwarded-client-cert per forward_client_cert_details mode (gateway/xfcc.ts), on header maps as the HCM holds
// them, for a connection with and without a verified peer certificate.
import { describe, expect, it } from "vitest";
import type { HeaderMap } from "../wasm/host/index.js";
import type { DownstreamTls, PeerCertificate } from "../gateway/peer-identity.js";
import { applyForwardClientCert, type ClientCertDetails, type ForwardClientCertMode } from "../gateway/xfcc.js";

const peer: PeerCertificate = {
  uriSans: ["spiffe://cluster.local/ns/foo/sa/a", "spiffe://cluster.local/ns/foo/sa/b"],
  dnsSans: ["a.foo.svc", "a.foo"],
  subject: 'CN=a \\"quoted\\",O=Example', // RFC 2253: quotes come escaped
  sha256: "ab".repeat(32),
  pem: "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
  chainPem: ["-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n", "-----BEGIN CERTIFICATE-----\nBB==\n-----END CERTIFICATE-----\n"],
  serialNumber: "01",
};
const mtls: DownstreamTls = { version: "TLSv1.3", peer, localUriSan: "spiffe://cluster.local/ns/shop/sa/web" };
const oneWay: DownstreamTls = { version: "TLSv1.3", localUriSan: "spiffe://cluster.local/ns/shop/sa/web" };
const SENT = "By=spiffe://x;Hash=00";

function run(mode: ForwardClientCertMode, tls: DownstreamTls | undefined, details: ClientCertDetails = { subject: true, uri: true, dns: true }): string[] {
  const headers: HeaderMap = [[":path", "/"], ["x-forwarded-client-cert", SENT], ["x-other", "1"]];
  applyForwardClientCert(headers, { mode, details }, tls);
  expect(headers.filter(([k]) => k === "x-other")).toEqual([["x-other", "1"]]);
  return headers.filter(([k]) => k === "x-forwarded-client-cert").map(([, v]) => v);
}

const CURRENT = `By=spiffe://cluster.local/ns/shop/sa/web;Hash=${"ab".repeat(32)};Subject="CN=a \\"quoted\\",O=Example";URI=spiffe://cluster.local/ns/foo/sa/a;URI=spiffe://cluster.local/ns/foo/sa/b;DNS=a.foo.svc;DNS=a.foo`;

describe("x-forwarded-client-cert modes", () => {
  it("without a verified peer certificate the header goes, except with ALWAYS_FORWARD_ONLY", () => {
    for (const mode of ["SANITIZE", "FORWARD_ONLY", "APPEND_FORWARD", "SANITIZE_SET"] as const) {
      expect(run(mode, undefined)).toEqual([]);
      expect(run(mode, oneWay)).toEqual([]);
    }
    expect(run("ALWAYS_FORWARD_ONLY", undefined)).toEqual([SENT]);
  });

  it("on mTLS: SANITIZE removes, FORWARD_ONLY keeps, SANITIZE_SET replaces, APPEND_FORWARD appends", () => {
    expect(run("SANITIZE", mtls)).toEqual([]);
    expect(run("FORWARD_ONLY", mtls)).toEqual([SENT]);
    expect(run("ALWAYS_FORWARD_ONLY", mtls)).toEqual([SENT]);
    expect(run("SANITIZE_SET", mtls)).toEqual([CURRENT]);
    expect(run("APPEND_FORWARD", mtls)).toEqual([`${SENT},${CURRENT}`]);
  });

  it("only the configured details, in Envoy's order; Hash always; the URI key even without a URI SAN", () => {
    const hash = `Hash=${"ab".repeat(32)}`;
    expect(run("SANITIZE_SET", mtls, {})).toEqual([`By=spiffe://cluster.local/ns/shop/sa/web;${hash}`]);
    const noUri: DownstreamTls = { peer: { ...peer, uriSans: [] } };
    expect(run("SANITIZE_SET", noUri, { uri: true })).toEqual([`${hash};URI=`]);
    const all = run("SANITIZE_SET", mtls, { cert: true, chain: true, subject: false, uri: false, dns: false })[0]!;
    expect(all).toBe(`By=spiffe://cluster.local/ns/shop/sa/web;${hash};Cert="${encodeURIComponent(peer.pem)}";Chain="${encodeURIComponent(peer.chainPem.join(""))}"`);
  });
});
