// `halyard demo` (npm start): an upstream app and the gateway from examples/bootstrap-echo.yaml, on 127.0.0.1.
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import { loadBootstrapFile } from "../../gateway/bootstrap/load.js";
import { startGateway } from "../../gateway/gateway.js";

const bootstrap = fileURLToPath(new URL("../../../examples/bootstrap-echo.yaml", import.meta.url));
const UPSTREAM_PORT = 8080; // the example's cluster endpoint

export async function run(_argv: string[]): Promise<number> {
  const upstream = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(`${JSON.stringify({ app: "demo-upstream", method: req.method, url: req.url, headers: req.headers }, null, 2)}\n`);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      upstream.once("error", reject);
      upstream.listen(UPSTREAM_PORT, "127.0.0.1", resolve);
    });
  } catch (e) {
    process.stderr.write(`halyard demo: cannot listen on 127.0.0.1:${UPSTREAM_PORT}: ${(e as Error).message}\n`);
    return 1;
  }
  const gateway = await startGateway(loadBootstrapFile(bootstrap), { file: bootstrap });
  process.stdout.write(
    [
      `halyard demo: upstream app on http://127.0.0.1:${UPSTREAM_PORT}`,
      `halyard demo: gateway from ${bootstrap} on http://127.0.0.1:10000 (admin http://127.0.0.1:9901/ready)`,
      "",
      "Try:",
      "  curl -i http://127.0.0.1:10000/hello      # x-a: 1 reaches the app, x-b: 2 comes back (halyard.echo)",
      "  curl -i http://127.0.0.1:10000/blocked    # 403 answered by the filter, the app never sees it",
      "",
      "Ctrl-C to stop.",
      "",
    ].join("\n"),
  );
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await gateway.close();
  upstream.close();
  return 0;
}
