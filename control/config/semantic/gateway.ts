// Gateway checks Istio makes in Go (pkg/config/validation: ValidateGateway, validateServer, validateTLSOptions).
import { isIP } from "node:net";
import type { FieldPath, Issue } from "../errors.js";
import type { ConfigDocument } from "../load.js";
import { arr, isDNS1123Label, Issues, num, obj, protocolFamily, str, validateNamespaceSlashHost, validatePort, type Obj } from "./common.js";

export function checkGateway(doc: ConfigDocument): Issue[] {
  const spec = obj(doc.object.spec) ?? {};
  const issues = new Issues();
  if (!isDNS1123Label(doc.name)) issues.add(["metadata", "name"], `invalid Gateway name ${JSON.stringify(doc.name)}: must be a DNS label (no dots)`);
  const servers = arr(spec.servers);
  if (servers.length === 0) issues.add(["spec", "servers"], "a Gateway needs at least one server");
  servers.forEach((s, i) => checkServer(obj(s), ["spec", "servers", i], issues));

  const portNames = new Map<string, number>();
  const byNumber = new Map<number, { protocol: string; index: number }>();
  servers.forEach((s, i) => {
    const port = obj(obj(s)?.port);
    if (!port) return;
    const name = str(port.name);
    if (portNames.has(name)) issues.add(["spec", "servers", i, "port", "name"], `port names in servers must be unique: ${JSON.stringify(name)} is also used by servers[${portNames.get(name)}]`);
    else portNames.set(name, i);
    const number = num(port.number);
    const protocol = str(port.protocol);
    const first = byNumber.get(number);
    if (!first) byNumber.set(number, { protocol, index: i });
    else if (!compatibleProtocols(first.protocol, protocol)) {
      issues.add(["spec", "servers", i, "port", "protocol"], `port ${number} is also served as ${first.protocol} by servers[${first.index}]; ${protocol} conflicts with it`);
    }
  });
  return issues.list;
}

/** Several servers may share a port only when they speak the same protocol, or all terminate/pass TLS. */
function compatibleProtocols(a: string, b: string): boolean {
  if (a.toUpperCase() === b.toUpperCase()) return true;
  return protocolFamily(a) === "tls" && protocolFamily(b) === "tls";
}

function checkServer(server: Obj | undefined, path: FieldPath, issues: Issues): void {
  if (!server) return issues.add(path, "server must not be null");
  const hosts = arr(server.hosts).map(str);
  if (hosts.length === 0) issues.add([...path, "hosts"], "a server needs at least one host");
  hosts.forEach((h, i) => issues.add([...path, "hosts", i], validateNamespaceSlashHost(h, true)));

  const port = obj(server.port) ?? {};
  const protocol = str(port.protocol);
  const family = protocolFamily(protocol);
  const bind = str(server.bind);
  if (!family) issues.add([...path, "port", "protocol"], `invalid protocol ${JSON.stringify(protocol)}, supported protocols are HTTP, HTTPS, HTTP2, GRPC, GRPC-WEB, TLS, TCP, MONGO, REDIS, MYSQL`);
  if (num(port.number) > 0 || !bind.startsWith("unix://")) issues.add([...path, "port", "number"], validatePort(num(port.number)));
  if (num(port.targetPort) > 0) issues.add([...path, "port", "targetPort"], "targetPort has no effect on Gateways");
  if (str(port.name) === "") issues.add([...path, "port", "name"], "port name must be set");
  if (bind.startsWith("unix://")) {
    const sock = bind.slice("unix://".length);
    if (!(sock.startsWith("@") || (sock.startsWith("/") && !sock.endsWith("/")))) issues.add([...path, "bind"], `${JSON.stringify(bind)} is not an absolute path to a socket file or an abstract socket`);
    if (num(port.number) !== 0) issues.add([...path, "port", "number"], "port number must be 0 for a unix domain socket bind");
  } else if (bind !== "" && !isIP(bind)) {
    issues.add([...path, "bind"], `bind ${JSON.stringify(bind)} must be an IP address or unix:// socket`);
  }

  const tls = obj(server.tls);
  if (!family) return;
  if (family === "tls" && !tls) issues.add(path, `a ${protocol} server needs tls settings`);
  else if (family === "http" && tls) {
    if (tls.serverCertificate || tls.privateKey || tls.caCertificates || tls.credentialName || arr(tls.credentialNames).length) {
      issues.add([...path, "tls"], "a plain-text HTTP server may only set tls.httpsRedirect");
    }
  } else if (family !== "tls" && tls) {
    issues.add([...path, "tls"], `a ${protocol} server cannot have tls settings (only HTTPS and TLS servers can)`);
  }
  if (tls && family === "tls") checkServerTLS(tls, [...path, "tls"], issues);
}

function checkServerTLS(tls: Obj, path: FieldPath, issues: Issues): void {
  const mode = str(tls.mode) || "SIMPLE";
  const has = (k: string) => (Array.isArray(tls[k]) ? tls[k].length > 0 : typeof tls[k] === "string" && tls[k] !== "");
  if (mode === "ISTIO_MUTUAL") {
    for (const k of ["serverCertificate", "privateKey", "caCertificates", "credentialName"]) {
      if (has(k)) issues.add([...path, k], `ISTIO_MUTUAL TLS cannot have ${k}`);
    }
    return;
  }
  if (mode === "PASSTHROUGH" || mode === "AUTO_PASSTHROUGH") return;
  const remoteCredential = has("credentialName") || has("credentialNames");
  if (mode === "SIMPLE" || mode === "MUTUAL" || mode === "OPTIONAL_MUTUAL") {
    if (!remoteCredential && !has("tlsCertificates")) {
      const missing = ["serverCertificate", "privateKey", ...(mode === "SIMPLE" ? [] : ["caCertificates"])].filter((k) => !has(k));
      const needs = mode === "SIMPLE" ? "serverCertificate and privateKey" : "serverCertificate, privateKey and caCertificates";
      if (missing.length) issues.add(path, `${mode} TLS requires credentialName, or ${needs} (missing ${missing.join(", ")})`);
    }
  }
  if (has("caCrl")) {
    if (remoteCredential) issues.add([...path, "caCrl"], "caCrl is not supported with credentialName; put the CRL in the credential");
    if (mode === "SIMPLE") issues.add([...path, "caCrl"], "caCrl is not supported with SIMPLE TLS");
  }
}
