// HTTP/2 through `halyard gateway -c`: a real @grpc/grpc-js server behind an HTTP/2 cluster (http2_protocol_options)
// and real grpc-js clients in front, over h2c (prior knowledge on a plain listener that also speaks HTTP/1.1) and
// over TLS with ALPN h2. Unary and server-streaming calls, a status error and trailing metadata pass through
// unchanged; a wasm filter sees the gRPC status (response.grpc_status) in the trailers or a trailers-only response;
// halyard.authz's local reply and the router's own (no cluster) become gRPC statuses as Envoy renders them.
import { writeFileSync } from "node:fs";
import { connect as http2Connect, createServer as createH2cServer, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileAS } from "./helpers/as.js";
import { bootstrap, listener, staticCluster, wasmFilter } from "./helpers/envoy-bootstrap.js";
import { httpRequest, requireBuiltCli, root, startUpstream, tempDir, writeYaml, type Upstream } from "./helpers/gateway-process.js";
import { spawnGateway, type GatewayChild } from "./helpers/gateway-xds.js";
import { createTestCa, type Pem } from "./helpers/tls-certs.js";
import { jsonMethod, type AnyGrpcClient } from "./helpers/json-grpc.js";

const ROUTES = ["abort=filters/abi/runtime/abortWithLog", "trace=filters/abi/runtime/traceToLog", "seed=filters/abi/runtime/seedFromHost"];
const HALYARD_WASM = join(root, "wasm/build/halyard.wasm");
const TLS_NAME = "grpc.example.com";

interface Msg {
  text: string;
  n?: number;
}
const ECHO: grpc.ServiceDefinition = {
  Unary: jsonMethod("/test.Echo/Unary"),
  Stream: jsonMethod("/test.Echo/Stream", { response: true }),
  Fail: jsonMethod("/test.Echo/Fail"),
  Forbidden: jsonMethod("/test.Echo/Forbidden"),
};
const MISSING: grpc.ServiceDefinition = { Call: jsonMethod("/test.Missing/Call") };
const EchoClient = grpc.makeGenericClientConstructor(ECHO, "Echo");
const MissingClient = grpc.makeGenericClientConstructor(MISSING, "Missing");

type AnyClient = AnyGrpcClient;

let server: grpc.Server;
let trailerEcho: Http2Server;
let grpcPort: number;
let web: Upstream;
let gw: GatewayChild;
let plainTarget: string;
let tlsTarget: string;
let ca: Pem;
const seenMetadata: Array<Record<string, unknown>> = [];

function startEcho(): Promise<number> {
  server = new grpc.Server();
  server.addService(ECHO, {
    Unary: (call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
      seenMetadata.push(call.metadata.getMap());
      call.sendMetadata(new grpc.Metadata());
      cb(null, { text: `echo ${call.request.text}` });
    },
    Stream: (call: grpc.ServerWritableStream<Msg, Msg>) => {
      for (let i = 0; i < (call.request.n ?? 0); i++) call.write({ text: `${call.request.text} #${i}` });
      const trailers = new grpc.Metadata();
      trailers.set("x-upstream-trailer", "done");
      call.end(trailers);
    },
    Fail: (_call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => {
      const metadata = new grpc.Metadata();
      metadata.set("x-detail", "42");
      cb({ code: grpc.status.NOT_FOUND, details: "no such thing", metadata });
    },
    Forbidden: (_call: grpc.ServerUnaryCall<Msg, Msg>, cb: grpc.sendUnaryData<Msg>) => cb(null, { text: "should not be reached" }),
  });
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
}

/** A plain HTTP/2 upstream that answers with the request's trailers as its own response trailers (x-echo-*). */
function startTrailerEcho(): Promise<number> {
  trailerEcho = createH2cServer();
  trailerEcho.on("stream", (stream, headers) => {
    let body = "";
    stream.on("data", (d: Buffer) => (body += d));
    stream.on("trailers", (t: Record<string, string>) => {
      const echoed = Object.fromEntries(Object.entries(t).map(([k, v]) => [`x-echo-${k}`, v]));
      stream.respond({ ":status": 200, "x-seen-authority": String(headers[":authority"]) }, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers(echoed));
      stream.end(`got ${body}`);
    });
  });
  return new Promise((resolve) => trailerEcho.listen(0, "127.0.0.1", () => resolve((trailerEcho.address() as AddressInfo).port)));
}

function client(target: string, tls: boolean, ctor = EchoClient): AnyClient {
  const creds = tls ? grpc.credentials.createSsl(Buffer.from(ca.cert)) : grpc.credentials.createInsecure();
  const options = tls ? { "grpc.ssl_target_name_override": TLS_NAME, "grpc.default_authority": TLS_NAME } : {};
  return new ctor(target, creds, options) as unknown as AnyClient;
}

/** One call; resolves once both its callback and its status (trailing metadata) have arrived. */
async function unary(c: AnyClient, name: string, req: Msg): Promise<{ reply?: Msg; error?: grpc.ServiceError; trailers: grpc.Metadata }> {
  let call!: grpc.ClientUnaryCall;
  const answer = new Promise<{ reply?: Msg; error?: grpc.ServiceError }>((resolve) => {
    call = c[name]!(req, { deadline: Date.now() + 5000 }, (error: grpc.ServiceError | null, reply?: Msg) =>
      resolve({ ...(error ? { error } : {}), ...(reply ? { reply } : {}) }),
    ) as grpc.ClientUnaryCall;
  });
  const status = new Promise<grpc.StatusObject>((resolve) => call.on("status", resolve));
  const [a, s] = await Promise.all([answer, status]);
  return { ...a, trailers: s.metadata };
}

function stream(c: AnyClient, req: Msg): Promise<{ messages: string[]; status: grpc.StatusObject }> {
  return new Promise((resolve, reject) => {
    const messages: string[] = [];
    const call = c.Stream!(req, { deadline: Date.now() + 5000 }) as grpc.ClientReadableStream<Msg>;
    call.on("data", (m: Msg) => messages.push(m.text));
    call.on("error", reject);
    call.on("status", (status: grpc.StatusObject) => {
      if (status.code === grpc.status.OK) resolve({ messages, status });
    });
  });
}

beforeAll(async () => {
  requireBuiltCli();
  const dir = tempDir("halyard-h2-");
  const [port, upstream, filter, testCa, echoPort] = await Promise.all([
    startEcho(),
    startUpstream("web"),
    compileAS("test/fixtures/as/grpc-status-filter.ts", ROUTES.flatMap((r) => ["--use", r])),
    createTestCa(),
    startTrailerEcho(),
  ]);
  grpcPort = port;
  web = upstream;
  ca = testCa;
  const leaf = await testCa.issue([TLS_NAME]);
  writeFileSync(join(dir, "grpc-status.wasm"), filter);
  writeFileSync(join(dir, "server.crt"), leaf.cert);
  writeFileSync(join(dir, "server.key"), leaf.key);

  const authz = JSON.stringify({
    policies: [{ name: "no-forbidden", namespace: "test", action: "DENY", rules: [{ to: [{ operation: { paths: ["/test.Echo/Forbidden"] } }] }] }],
  });
  const httpFilters = [
    wasmFilter({ name: "grpc-status", rootId: "test.grpc_status", filename: join(dir, "grpc-status.wasm") }),
    wasmFilter({ name: "authz", rootId: "halyard.authz", filename: HALYARD_WASM, configuration: authz }),
  ];
  const virtualHosts = [
    {
      name: "all",
      domains: ["*"],
      routes: [
        { match: { prefix: "/test.Echo/" }, route: { cluster: "grpc" } },
        { match: { prefix: "/test.Missing/" }, route: { cluster_header: "x-no-such-header" } },
        { match: { prefix: "/web" }, route: { cluster: "web" } },
        { match: { prefix: "/trailers" }, route: { cluster: "trailer-echo" } },
      ],
    },
  ];
  const plain = listener({ name: "h2c", port: 0, httpFilters, virtualHosts });
  const secure = listener({ name: "h2-tls", port: 0, httpFilters, virtualHosts });
  (secure.filter_chains[0] as Record<string, unknown>).transport_socket = {
    name: "envoy.transport_sockets.tls",
    typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext",
      common_tls_context: {
        alpn_protocols: ["h2", "http/1.1"],
        tls_certificates: [{ certificate_chain: { filename: "server.crt" }, private_key: { filename: "server.key" } }],
      },
    },
  };
  const http2 = (name: string, port: number) => ({
    ...staticCluster(name, [port]),
    typed_extension_protocol_options: {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        explicit_http_config: { http2_protocol_options: {} },
      },
    },
  });
  const clusters = [http2("grpc", grpcPort), http2("trailer-echo", echoPort), staticCluster("web", [web.port])];
  const file = writeYaml(dir, "h2.yaml", bootstrap([plain, secure], clusters));
  gw = spawnGateway(["-c", file]);
  plainTarget = (await gw.waitFor(/listener "h2c" on http:\/\/(\S+)/, 20_000))[1]!;
  tlsTarget = (await gw.waitFor(/listener "h2-tls" on https:\/\/(\S+)/, 20_000))[1]!;
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  server?.forceShutdown();
  trailerEcho?.close();
  await web?.close();
});

describe.each([
  ["h2c (prior knowledge)", false],
  ["h2 over TLS (ALPN)", true],
])("gRPC through the gateway, %s", (_name, tls) => {
  const target = () => (tls ? tlsTarget : plainTarget);

  it("unary: the reply, and the filter saw grpc-status 0 in the trailers", async () => {
    const c = client(target(), tls);
    try {
      const r = await unary(c, "Unary", { text: "hi" });
      expect(r.error).toBeUndefined();
      expect(r.reply).toEqual({ text: "echo hi" });
      expect(r.trailers.get("x-filter-grpc-status")).toEqual(["0"]);
      // What reached the upstream (grpc-js hides gRPC's reserved headers): what the gateway adds.
      const seen = seenMetadata.at(-1)!;
      expect(String(seen["x-request-id"])).toMatch(/^[0-9a-f-]{36}$/);
      expect(seen["x-forwarded-proto"]).toBe(tls ? "https" : "http");
    } finally {
      c.close();
    }
  });

  it("server streaming: every message in order, the upstream's trailing metadata and status", async () => {
    const c = client(target(), tls);
    try {
      const r = await stream(c, { text: "m", n: 25 });
      expect(r.messages).toEqual(Array.from({ length: 25 }, (_, i) => `m #${i}`));
      expect(r.status.metadata.get("x-upstream-trailer")).toEqual(["done"]);
      expect(r.status.metadata.get("x-filter-grpc-status")).toEqual(["0"]);
    } finally {
      c.close();
    }
  });

  it("a status error passes through unchanged: code, message, trailing metadata", async () => {
    const c = client(target(), tls);
    try {
      const r = await unary(c, "Fail", { text: "x" });
      expect(r.error?.code).toBe(grpc.status.NOT_FOUND);
      expect(r.error?.details).toBe("no such thing");
      expect(r.error?.metadata.get("x-detail")).toEqual(["42"]);
      expect(r.error?.metadata.get("x-filter-grpc-status")).toEqual(["5"]);
    } finally {
      c.close();
    }
  });

  it("halyard.authz's denial (403 with gRPC status 7) becomes PERMISSION_DENIED with Envoy's message", async () => {
    const c = client(target(), tls);
    try {
      const r = await unary(c, "Forbidden", { text: "x" });
      expect(r.error?.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(r.error?.details).toBe("RBAC: access denied");
      // The local reply went through the response filters already in its gRPC form.
      expect(r.error?.metadata.get("x-filter-grpc-status")).toEqual(["7"]);
    } finally {
      c.close();
    }
  });

  it("the router's own local reply (no cluster: 503 NC) becomes UNAVAILABLE", async () => {
    const c = client(target(), tls, MissingClient);
    try {
      const r = await unary(c, "Call", { text: "x" });
      expect(r.error?.code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      c.close();
    }
  });
});

describe("one listener, both codecs", () => {
  it("HTTP/1.1 and HTTP/2 clients on the h2c listener reach an HTTP/1.1 upstream", async () => {
    const r1 = await httpRequest(`http://${plainTarget}/web/one`, { headers: { host: "shop.test" } });
    expect(r1.status).toBe(200);
    expect(JSON.parse(r1.body)).toMatchObject({ upstream: "web", url: "/web/one", headers: { host: "shop.test" } });

    const session = http2Connect(`http://${plainTarget}`);
    try {
      const r2 = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const s = session.request({ ":path": "/web/two", ":authority": "shop.test", ":method": "POST", "content-type": "text/plain" });
        let status = 0;
        let body = "";
        s.on("response", (h) => (status = Number(h[":status"])));
        s.on("data", (d: Buffer) => (body += d));
        s.on("end", () => resolve({ status, body }));
        s.on("error", reject);
        s.end("payload");
      });
      expect(r2.status).toBe(200);
      expect(JSON.parse(r2.body)).toMatchObject({ method: "POST", url: "/web/two", body: "payload", headers: { host: "shop.test" } });
    } finally {
      session.close();
    }
  });

  it("request trailers reach an HTTP/2 upstream and its response trailers come back (h2 to h2)", async () => {
    const session = http2Connect(`http://${plainTarget}`);
    try {
      const r = await new Promise<{ status: number; body: string; authority: string; trailers: Record<string, unknown> }>((resolve, reject) => {
        const s = session.request({ ":path": "/trailers", ":method": "POST", ":authority": "t.test", te: "trailers" }, { waitForTrailers: true });
        let status = 0;
        let authority = "";
        let body = "";
        let trailers: Record<string, unknown> = {};
        s.once("wantTrailers", () => s.sendTrailers({ "x-checksum": "abc123" }));
        s.on("response", (h) => ((status = Number(h[":status"])), (authority = String(h["x-seen-authority"]))));
        s.on("trailers", (t) => (trailers = { ...t }));
        s.on("data", (d: Buffer) => (body += d));
        s.on("end", () => resolve({ status, body, authority, trailers }));
        s.on("error", reject);
        s.end("data");
      });
      expect([r.status, r.body, r.authority]).toEqual([200, "got data", "t.test"]);
      expect(r.trailers["x-echo-x-checksum"]).toBe("abc123");
    } finally {
      session.close();
    }
  });

  it("logs each request with its protocol in Envoy's default format", async () => {
    await gw.waitFor(/"POST \/test\.Echo\/Unary HTTP\/2" 200 - \d+ \d+ \d+ \d+ "-" "grpc-node-js\/[^"]+" "[0-9a-f-]{36}" "[^"]+" "127\.0\.0\.1:\d+"/);
    await gw.waitFor(/"GET \/web\/one HTTP\/1\.1" 200 - 0 \d+ \d+ \d+ "-" "-" "[0-9a-f-]{36}" "shop\.test" "127\.0\.0\.1:\d+"/);
  });
});
