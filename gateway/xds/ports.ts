// Istio's ingress convention for listeners from LDS: a port below 1024 that this process may not bind is bound at
// port + 8000 instead (80 -> 8080, 443 -> 8443), and the mapping is reported. Node-only.
import { readFileSync } from "node:fs";
import type { SocketAddr } from "../bootstrap/types.js";

export const PRIVILEGED_PORT_OFFSET = 8000;

export interface PortMapping {
  from: number;
  to: number;
}

/** The address to bind for `configured`, and the mapping when the port was moved. */
export function bindAddress(configured: SocketAddr, mayBind: (port: number) => boolean = mayBindPort): { address: SocketAddr; mapping?: PortMapping } {
  const port = configured.port;
  if (port === 0 || port >= 1024 || mayBind(port)) return { address: configured };
  const to = port + PRIVILEGED_PORT_OFFSET;
  return { address: { ...configured, port: to }, mapping: { from: port, to } };
}

let unprivilegedStart: number | undefined;

/** Root may bind any port; others from Linux's net.ipv4.ip_unprivileged_port_start (1024 where unknown). */
export function mayBindPort(port: number): boolean {
  if (process.getuid?.() === 0) return true;
  if (unprivilegedStart === undefined) {
    try {
      unprivilegedStart = Number(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8").trim());
      if (!Number.isInteger(unprivilegedStart)) unprivilegedStart = 1024;
    } catch {
      unprivilegedStart = 1024;
    }
  }
  return port >= unprivilegedStart;
}
