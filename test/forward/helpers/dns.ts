/**
 * A DNS server small enough to read (RFC 1035 §4.1), on a free loopback UDP port, that
 * node:dns's Resolver queries like any other: MX and A records from a fixed zone, NXDOMAIN for
 * names outside it, an empty answer (node's ENODATA) for a name without the asked type.
 */
import { createSocket, type Socket } from 'node:dgram';

export interface Zone {
  [name: string]: { mx?: Array<[number, string]>; a?: string[] };
}

const TYPE_A = 1;
const TYPE_MX = 15;

function encodeName(name: string): Buffer {
  const parts = name.split('.').filter(Boolean);
  return Buffer.concat([
    ...parts.map((label) => Buffer.concat([Buffer.from([label.length]), Buffer.from(label)])),
    Buffer.from([0]),
  ]);
}

function answer(query: Buffer, zone: Zone): Buffer {
  let offset = 12;
  const labels: string[] = [];
  for (let length = query[offset] ?? 0; length > 0; length = query[offset] ?? 0) {
    labels.push(query.subarray(offset + 1, offset + 1 + length).toString('ascii'));
    offset += 1 + length;
  }
  offset += 1;
  const type = query.readUInt16BE(offset);
  const node = zone[labels.join('.').toLowerCase()];
  const rdatas: Buffer[] = [];
  if (node && type === TYPE_MX) {
    for (const [preference, exchange] of node.mx ?? []) {
      const pref = Buffer.alloc(2);
      pref.writeUInt16BE(preference);
      rdatas.push(Buffer.concat([pref, encodeName(exchange)]));
    }
  }
  if (node && type === TYPE_A) {
    for (const address of node.a ?? []) rdatas.push(Buffer.from(address.split('.').map(Number)));
  }
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  // QR, AA, RD copied, RA; RCODE 3 (NXDOMAIN) when the name does not exist.
  header.writeUInt16BE(
    0x8000 | 0x0400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | (node ? 0 : 3),
    2,
  );
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(rdatas.length, 6);
  const answers = rdatas.map((rdata) => {
    const fixed = Buffer.alloc(12);
    fixed.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
    fixed.writeUInt16BE(type, 2);
    fixed.writeUInt16BE(1, 4); // IN
    fixed.writeUInt32BE(60, 6);
    fixed.writeUInt16BE(rdata.length, 10);
    return Buffer.concat([fixed, rdata]);
  });
  return Buffer.concat([header, query.subarray(12, offset + 4), ...answers]);
}

export async function startDns(zone: Zone): Promise<{ port: number; close(): void }> {
  const socket: Socket = createSocket('udp4');
  socket.on('message', (query, peer) => socket.send(answer(query, zone), peer.port, peer.address));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, close: () => socket.close() };
}
