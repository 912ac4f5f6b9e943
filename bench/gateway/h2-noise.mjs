// An in-process HTTP/2 server + client exchanging a small request every 50 ms (as an xDS gRPC stream's traffic would).
import http2 from "node:http2";
const server = http2.createServer();
server.on("stream", (s) => { s.respond({ ":status": 200 }); s.end("x".repeat(200)); });
server.listen(0, "127.0.0.1", () => {
  const c = http2.connect(`http://127.0.0.1:${server.address().port}`);
  c.unref(); server.unref();
  setInterval(() => { const r = c.request({ ":path": "/", ":method": "POST" }); r.on("data", () => {}); r.end("y".repeat(100)); }, 50).unref();
});
