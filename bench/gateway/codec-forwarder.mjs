// A second floor for issue #5's CPU target (bench only, never a gateway): the gateway's own HTTP/1.1 codec
// (dist/gateway/http1: strict head parsing, header lists, heads written again, keep-alive pools) forwarding every
// request to one upstream, with nothing in between: no HCM, no route table, no cluster manager, no filters. Between
// (f) raw-forwarder.mjs (bytes passed through) and (d) the gateway with no filters, it shows what the codec alone
// costs. compare.mjs runs it as target (g).
//
//   node bench/gateway/codec-forwarder.mjs <upstream port>     prints "codec <port>" once listening on 127.0.0.1
import { connect, createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const { Http1Connection } = await import(pathToFileURL(join(root, "dist/gateway/http1/server-node.js")).href);
const { Http1Pool } = await import(pathToFileURL(join(root, "dist/gateway/http1/client-node.js")).href);
const { requestHead } = await import(pathToFileURL(join(root, "dist/gateway/http1/write.js")).href);

const upstreamPort = Number(process.argv[2]);
if (!Number.isInteger(upstreamPort) || upstreamPort <= 0) {
  process.stderr.write("codec-forwarder: usage: codec-forwarder.mjs <upstream port>\n");
  process.exit(2);
}
const pool = new Http1Pool({ maxConnections: 1024 });
const open = () => ({ socket: connect({ host: "127.0.0.1", port: upstreamPort, noDelay: true }), ready: "connect" });
const BAD_GATEWAY = { status: 502, headers: [[":status", "502"], ["content-length", "0"]], body: new Uint8Array(0), details: "", flags: [], local: true, attempts: 0 };

async function forward(req) {
  const body = await req.body();
  const headers = [...req.headers, ["host", req.authority]];
  const head = requestHead(req.method, req.path, headers, { contentLength: body.length > 0 ? body.length : -1 });
  if (head === undefined) return { method: req.method, response: BAD_GATEWAY };
  try {
    const res = await new Promise((resolve, reject) => {
      pool.acquire(open, (e, conn) => (e ? reject(e) : conn.send({ method: req.method, response: resolve, failed: reject }, head, body)));
    });
    const out = { status: res.status, headers: [[":status", String(res.status)], ...res.headers], body: res.body, details: "", flags: [], local: false, attempts: 1 };
    return { method: req.method, response: out };
  } catch {
    return { method: req.method, response: BAD_GATEWAY };
  }
}

createServer({ noDelay: true }, (socket) => {
  new Http1Connection(socket, forward, { scheme: "http", draining: () => false, onError: (m) => process.stderr.write(`${m}\n`) }).start(undefined);
}).listen(0, "127.0.0.1", function () {
  console.log(`codec ${this.address().port}`);
});
