/**
 * Test helper: a tiny authoritative DNS server over UDP on loopback, port 0, answering from a
 * zone the test writes (RFC 1035 §4 message format; TXT, A, AAAA and MX records; `*.` wildcards
 * as RFC 4592 has them). Everything not in the zone is NXDOMAIN (RFC 1035 §4.1.1 RCODE 3); a
 * name with no record of the asked type gets an empty answer (NODATA). A name can also be made to fail (SERVFAIL) or to go
 * unanswered (the resolver times out), for the DNS-failure tests. kzymy reaches it through the
 * real resolver configuration (smtp.senderAuth.dnsServers), so nothing is mocked.
 */
import { createSocket, type Socket } from 'node:dgram';

export type RecordSet = {
  TXT?: string[];
  A?: string[];
  AAAA?: string[];
  MX?: { preference: number; exchange: string }[];
  /** How the server treats this name instead of answering. */
  fail?: 'servfail' | 'drop';
};

export type DnsZone = Record<string, RecordSet>;

const TYPES = { A: 1, MX: 15, TXT: 16, AAAA: 28 } as const;

export class TestDnsServer {
  /** Queries received, as `name TYPE` (lowercase name), for tests that check what was asked. */
  readonly queries: string[] = [];

  private constructor(
    private readonly socket: Socket,
    readonly port: number,
    readonly zone: DnsZone,
  ) {}

  static async start(zone: DnsZone = {}): Promise<TestDnsServer> {
    const socket = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => resolve());
    });
    const server = new TestDnsServer(socket, socket.address().port, zone);
    socket.on('message', (query, peer) => {
      const reply = server.answer(query);
      if (reply) socket.send(reply, peer.port, peer.address);
    });
    return server;
  }

  /** `127.0.0.1:<port>`, as smtp.senderAuth.dnsServers takes it. */
  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }

  /** RFC 4592: a wildcard (`*.example`) answers for names under it that do not exist. */
  private lookup(name: string): RecordSet | undefined {
    return Object.entries(this.zone).find(([key]) => key.toLowerCase() === name)?.[1];
  }

  private answer(query: Buffer): Buffer | null {
    if (query.length < 12) return null;
    let at = 12;
    const labels: string[] = [];
    while (at < query.length && query[at] !== 0) {
      const length = query[at] as number;
      labels.push(query.subarray(at + 1, at + 1 + length).toString('latin1'));
      at += 1 + length;
    }
    const questionEnd = at + 5;
    if (questionEnd > query.length) return null;
    const type = query.readUInt16BE(at + 1);
    const name = labels.join('.').toLowerCase();
    const typeName = (Object.keys(TYPES) as (keyof typeof TYPES)[]).find((k) => TYPES[k] === type);
    this.queries.push(`${name} ${typeName ?? type}`);
    const records =
      this.lookup(name) ?? this.lookup(`*.${labels.slice(1).join('.').toLowerCase()}`);
    if (records?.fail === 'drop') return null;
    const rcode = records?.fail === 'servfail' ? 2 : records ? 0 : 3;
    const answers = rcode === 0 && typeName ? rdatas(records as RecordSet, typeName) : [];
    const header = Buffer.alloc(12);
    header.writeUInt16BE(query.readUInt16BE(0), 0);
    // QR, opcode 0, AA, RD copied from the query, RA; then the RCODE.
    header.writeUInt16BE(0x8400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | rcode, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(answers.length, 6);
    const question = query.subarray(12, questionEnd);
    const records_ = answers.map((rdata) => {
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
      rr.writeUInt16BE(type, 2);
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(rdata.length, 10);
      return Buffer.concat([rr, rdata]);
    });
    return Buffer.concat([header, question, ...records_]);
  }
}

function rdatas(records: RecordSet, type: keyof typeof TYPES): Buffer[] {
  switch (type) {
    case 'TXT':
      // RFC 1035 §3.3.14: one or more <character-string>s of at most 255 bytes each.
      return (records.TXT ?? []).map((text) => {
        const bytes = Buffer.from(text, 'utf8');
        const strings: Buffer[] = [];
        for (let i = 0; i < bytes.length || i === 0; i += 255) {
          const chunk = bytes.subarray(i, i + 255);
          strings.push(Buffer.from([chunk.length]), chunk);
        }
        return Buffer.concat(strings);
      });
    case 'A':
      return (records.A ?? []).map((ip) => Buffer.from(ip.split('.').map(Number)));
    case 'AAAA':
      return (records.AAAA ?? []).map((ip) => ipv6(ip));
    case 'MX':
      return (records.MX ?? []).map((mx) => {
        const pref = Buffer.alloc(2);
        pref.writeUInt16BE(mx.preference, 0);
        return Buffer.concat([pref, encodeName(mx.exchange)]);
      });
  }
}

function encodeName(name: string): Buffer {
  const parts = name
    .split('.')
    .filter(Boolean)
    .map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label, 'latin1')]));
  return Buffer.concat([...parts, Buffer.from([0])]);
}

function ipv6(ip: string): Buffer {
  const [head = '', tail = ''] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t] : h;
  const out = Buffer.alloc(16);
  groups.forEach((group, i) => out.writeUInt16BE(parseInt(group, 16), i * 2));
  return out;
}
