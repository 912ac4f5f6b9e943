// Throwaway floor for issue #5's CPU target (bench only, never a gateway): the least an HTTP/1.1 forwarder on Node can
// do per request. Raw net.Socket on both sides, keep-alive both sides, a pool of idle upstream connections, request
// and response framed by content-length only (no chunked, no pipelining, no header rewriting: heads are forwarded
// byte for byte). Anything else closes the connection. compare.mjs runs it as target (f).
//
//   node bench/gateway/raw-forwarder.mjs <upstream port>     prints "raw <port>" once listening on 127.0.0.1
import { connect, createServer } from "node:net";

const upstreamPort = Number(process.argv[2]);
if (!Number.isInteger(upstreamPort) || upstreamPort <= 0) {
  process.stderr.write("raw-forwarder: usage: raw-forwarder.mjs <upstream port>\n");
  process.exit(2);
}
const HEAD_END = Buffer.from("\r\n\r\n");
const idle = [];

/** Bytes of head + body of the message at the start of buf, or -1 while incomplete, -2 when not framed by length. */
function messageLength(buf, bodyless) {
  const end = buf.indexOf(HEAD_END);
  if (end < 0) return -1;
  const head = buf.latin1Slice(0, end).toLowerCase();
  if (head.includes("transfer-encoding:")) return -2;
  const at = head.indexOf("\r\ncontent-length:");
  const length = bodyless || at < 0 ? 0 : parseInt(head.slice(at + 17), 10);
  if (!(length >= 0)) return -2;
  const total = end + 4 + length;
  return buf.length >= total ? total : -1;
}

function upstream() {
  const pooled = idle.pop();
  if (pooled) return pooled;
  const s = connect({ host: "127.0.0.1", port: upstreamPort, noDelay: true });
  s.on("error", () => {}).on("close", () => {
    const i = idle.indexOf(s);
    if (i >= 0) idle.splice(i, 1);
  });
  return s;
}

createServer({ noDelay: true }, (down) => {
  let inBuf = Buffer.alloc(0);
  let busy = false;
  down.on("data", (chunk) => {
    inBuf = inBuf.length === 0 ? chunk : Buffer.concat([inBuf, chunk]);
    if (busy) return;
    const n = messageLength(inBuf, false);
    if (n === -2) return down.destroy();
    if (n < 0) return;
    const req = inBuf.subarray(0, n);
    inBuf = inBuf.subarray(n);
    busy = true;
    const up = upstream();
    let outBuf = Buffer.alloc(0);
    const onData = (c) => {
      outBuf = outBuf.length === 0 ? c : Buffer.concat([outBuf, c]);
      const m = messageLength(outBuf, false);
      if (m === -2) return fail();
      if (m < 0) return;
      up.off("data", onData).off("error", fail).off("close", fail);
      if (m === outBuf.length) idle.push(up);
      else up.destroy();
      down.write(outBuf.subarray(0, m));
      busy = false;
      if (inBuf.length > 0) down.emit("data", Buffer.alloc(0));
    };
    const fail = () => {
      up.destroy();
      down.destroy();
    };
    up.on("data", onData).on("error", fail).on("close", fail);
    up.write(req);
  });
  down.on("error", () => down.destroy());
}).listen(0, "127.0.0.1", function () {
  console.log(`raw ${this.address().port}`);
});
