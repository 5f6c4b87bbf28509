/**
 * A DNS server that only listens: it records the name of every query it receives and answers
 * REFUSED. A client run in the sandbox (sandbox.ts) has it as its only resolver, so a query for
 * the `.onion` name — a leak — is seen here instead of going out.
 *
 * It binds port 53 on a random 127/8 address (a resolv.conf cannot name another port), which
 * needs root, as the sandbox does.
 */
import { createSocket, type Socket } from 'node:dgram';
import { randomInt } from 'node:crypto';

export interface DnsWitness {
  address: string;
  /** Query names (lowercase, no trailing dot) in the order received. */
  queries: string[];
  close(): Promise<void>;
}

export async function startDnsWitness(): Promise<DnsWitness> {
  for (let attempt = 0; ; attempt++) {
    const address = `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
    try {
      return await listen(address);
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

function listen(address: string): Promise<DnsWitness> {
  const socket: Socket = createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (packet, remote) => {
    const name = questionName(packet);
    if (name === null) return;
    queries.push(name);
    // RFC 1035 §4.1.1: the same id and question, QR=1, RCODE 5 (REFUSED), no answers.
    const reply = Buffer.from(packet.subarray(0, questionEnd(packet)));
    reply[2] = 0x80 | (packet[2]! & 0x79);
    reply[3] = 0x05;
    reply.writeUInt16BE(0, 6);
    reply.writeUInt16BE(0, 8);
    reply.writeUInt16BE(0, 10);
    socket.send(reply, remote.port, remote.address);
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(53, address, () => {
      socket.off('error', reject);
      resolve({
        address,
        queries,
        close: () => new Promise<void>((done) => socket.close(() => done())),
      });
    });
  });
}

/** The first question's name (RFC 1035 §4.1.2), or null for a packet that is not a query. */
function questionName(packet: Buffer): string | null {
  if (packet.length < 17 || packet.readUInt16BE(4) < 1) return null;
  const labels: string[] = [];
  let at = 12;
  while (at < packet.length && packet[at] !== 0) {
    const length = packet[at]!;
    if (length > 63) return null;
    labels.push(packet.subarray(at + 1, at + 1 + length).toString('latin1'));
    at += 1 + length;
  }
  return labels.join('.').toLowerCase();
}

function questionEnd(packet: Buffer): number {
  let at = 12;
  while (at < packet.length && packet[at] !== 0) at += 1 + packet[at]!;
  return Math.min(packet.length, at + 5);
}
