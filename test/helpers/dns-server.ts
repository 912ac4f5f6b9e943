// A small real DNS server over UDP on 127.0.0.1 (RFC 1035 wire format) for the DNS cluster tests: it answers A and
// AAAA queries from a table the test can change, with a TTL; unknown names get NXDOMAIN, known names without
// records of the asked type an empty NOERROR answer. `silent` makes it drop queries (a dead server).
import { createSocket, type RemoteInfo } from "node:dgram";
import { isIPv4 } from "node:net";

export interface DnsRecords {
  a?: string[];
  aaaa?: string[];
  ttl?: number;
}

export interface DnsServer {
  port: number;
  /** name (lower case, no trailing dot) -> records; change it at will. */
  records: Map<string, DnsRecords>;
  /** Drop every query while true. */
  silent: boolean;
  /** Queries received, as "name TYPE". */
  queries: string[];
  close(): Promise<void>;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;

function readName(msg: Buffer, offset: number): { name: string; end: number } | undefined {
  const labels: string[] = [];
  let i = offset;
  for (;;) {
    if (i >= msg.length) return undefined;
    const len = msg[i]!;
    if (len === 0) return { name: labels.join(".").toLowerCase(), end: i + 1 };
    if (len > 63 || i + 1 + len > msg.length) return undefined; // no compression in questions
    labels.push(msg.subarray(i + 1, i + 1 + len).toString("latin1"));
    i += 1 + len;
  }
}

function ipBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split(".").map(Number));
  const [head, tail] = address.includes("::") ? address.split("::") : [address, undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

function answer(query: Buffer, records: Map<string, DnsRecords>, log: string[]): Buffer | undefined {
  if (query.length < 12 || query.readUInt16BE(4) !== 1) return undefined;
  const q = readName(query, 12);
  if (!q || q.end + 4 > query.length) return undefined;
  const qtype = query.readUInt16BE(q.end);
  const question = query.subarray(12, q.end + 4);
  log.push(`${q.name} ${qtype === TYPE_A ? "A" : qtype === TYPE_AAAA ? "AAAA" : qtype}`);
  const entry = records.get(q.name);
  const addresses = !entry ? [] : qtype === TYPE_A ? (entry.a ?? []) : qtype === TYPE_AAAA ? (entry.aaaa ?? []) : [];
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0); // id
  const rd = query.readUInt16BE(2) & 0x0100;
  header.writeUInt16BE(0x8000 | 0x0400 | rd | 0x0080 | (entry ? 0 : 3), 2); // QR AA RD RA, NOERROR / NXDOMAIN
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(addresses.length, 6);
  const rrs = addresses.map((a) => {
    const rdata = ipBytes(a);
    const rr = Buffer.alloc(12);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
    rr.writeUInt16BE(qtype, 2);
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(entry?.ttl ?? 30, 6);
    rr.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([rr, rdata]);
  });
  return Buffer.concat([header, question, ...rrs]);
}

export function startDnsServer(records: Record<string, DnsRecords> = {}): Promise<DnsServer> {
  const socket = createSocket("udp4");
  const server: DnsServer = {
    port: 0,
    records: new Map(Object.entries(records)),
    silent: false,
    queries: [],
    close: () => new Promise<void>((r) => socket.close(() => r())),
  };
  socket.on("message", (msg: Buffer, from: RemoteInfo) => {
    if (server.silent) return;
    const reply = answer(msg, server.records, server.queries);
    if (reply) socket.send(reply, from.port, from.address);
  });
  return new Promise((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => {
      server.port = socket.address().port;
      resolve(server);
    });
  });
}
