// `halyard demo` (npm start): the payments scenario of examples/payments on 127.0.0.1 — the sample apps v1, v2 and
// v2-canary on their WorkloadEntry ports, the control plane translating the config, and an ingress gateway fed by
// it over ADS — then what to curl. Runs until SIGINT/SIGTERM.
import { createServer } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { formatError } from "../config/errors.js";
import { serve, ServeConfigError, type ControlPlane } from "../serve.js";
import { createSnapshotBuilder } from "../translate/xds/index.js";
import { bindAddress } from "../../gateway/xds/ports.js";
import { readPaymentWorkloads, startPaymentApps, type RunningApps } from "./demo-apps.js";
import { startIngressGateway, type IngressGateway } from "./demo-gateway.js";

const EXAMPLE_DIR = fileURLToPath(new URL("../../../examples/payments", import.meta.url));
const HOST = "127.0.0.1";
/** payments-gateway's server port (examples/payments/gateway.yaml); the gateway may move it to 8080. */
const GATEWAY_PORT = 80;
/** The public host the VirtualService binds to payments-gateway. */
const PUBLIC_HOST = "payments.example.com";
const DEFAULT_XDS_PORT = 15010;
const DEFAULT_HTTP_PORT = 15014;

class DemoError extends Error {}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

/** The default port when it is free, else an ephemeral one. */
async function portOrEphemeral(port: number): Promise<number> {
  return (await portFree(HOST, port)) ? port : 0;
}

async function startControlPlane(): Promise<ControlPlane> {
  try {
    return await serve({
      paths: [EXAMPLE_DIR],
      builder: createSnapshotBuilder(),
      host: HOST,
      xdsPort: await portOrEphemeral(DEFAULT_XDS_PORT),
      httpPort: await portOrEphemeral(DEFAULT_HTTP_PORT),
      log: (line) => process.stderr.write(`halyard serve: ${line}\n`),
    });
  } catch (e) {
    if (e instanceof ServeConfigError) throw new DemoError(`${EXAMPLE_DIR}: ${e.errors.map(formatError).join("; ")}`);
    throw e;
  }
}

function banner(gatewayUrl: string, cp: ControlPlane, apps: RunningApps): string {
  const tries: Array<[string, string]> = [
    ["", "90% v1, 10% v2"],
    ["-H 'x-env: canary' ", "always v2-canary"],
    ["-H 'x-chaos-test: true' ", "v1, with a 503 abort for half and a 2 s delay for half"],
  ];
  const commands = tries.map(([header]) => `curl -si ${header}-H 'host: ${PUBLIC_HOST}' ${gatewayUrl}/pay`);
  const width = Math.max(...commands.map((c) => c.length));
  return [
    "",
    "halyard demo: the payments scenario (examples/payments) on 127.0.0.1",
    ...apps.workloads.map((w) => `  app ${w.version.padEnd(10)} http://${HOST}:${w.port}  (WorkloadEntry ${w.name})`),
    `  control plane  ADS ${HOST}:${cp.xds.port}, debug http://${HOST}:${cp.http.port}/debug/syncz`,
    `  ingress        ${gatewayUrl}  (router node, labels istio=ingressgateway, Gateway production/payments-gateway)`,
    "",
    "Try:",
    ...commands.map((c, i) => `  ${c.padEnd(width)}  # ${tries[i]![1]}`),
    "",
    "Ctrl-C to stop.",
    "",
  ].join("\n");
}

export async function run(_argv: string[]): Promise<number> {
  // Listen for the signals from the start, so a Ctrl-C during startup still shuts down what was started.
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  const cleanup: Array<() => Promise<void>> = [];
  let code = 0;
  try {
    const apps = await startPaymentApps(readPaymentWorkloads(join(EXAMPLE_DIR, "service.yaml")));
    cleanup.push(() => apps.close());

    const listen = bindAddress({ address: "0.0.0.0", port: GATEWAY_PORT }).address.port;
    if (!(await portFree("0.0.0.0", listen))) throw new DemoError(`cannot listen on 0.0.0.0:${listen} for the ingress gateway (port in use)`);

    const cp = await startControlPlane();
    cleanup.push(() => cp.close());

    const gateway: IngressGateway = await startIngressGateway(cp.xds);
    cleanup.push(() => gateway.stop());

    process.stdout.write(banner(gateway.url, cp, apps));
    const signal = await stopped;
    process.stdout.write(`halyard demo: ${signal}, stopping\n`);
  } catch (e) {
    process.stderr.write(`halyard demo: ${e instanceof Error ? e.message : String(e)}\n`);
    code = 1;
  }
  // Gateway first (it drains), then the control plane, then the apps.
  for (const close of cleanup.reverse()) await close();
  return code;
}
