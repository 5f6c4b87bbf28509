/**
 * A forwarding destination for the tests: the `smtp-server` package (the server half of
 * nodemailer, a real SMTP server) on a free loopback port, plain or offering STARTTLS, that
 * keeps every message it accepted byte for byte and can be told to answer 4xx or 5xx.
 */
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

export interface Received {
  from: string;
  to: string[];
  data: Buffer;
  /** Whether the session had been upgraded with STARTTLS. */
  secure: boolean;
  /** The connecting address the server saw (the proxy's outgoing side, when there is one). */
  remote: string;
  heloName: string;
}

/** How the next transactions are answered; null fields accept. */
export interface Behaviour {
  /** Reply to the connection itself (e.g. 421 or 554) instead of the 220 greeting. */
  connect: { code: number; text: string } | null;
  rcpt: { code: number; text: string } | null;
  data: { code: number; text: string } | null;
  /** Drop the connection once the data has arrived, before any reply to it. */
  dropAfterData: boolean;
}

export interface TestDestination {
  port: number;
  received: Received[];
  behaviour: Behaviour;
  /** Connections seen (greeted or not). */
  connections: number;
  close(): Promise<void>;
  /** Listens again on the same port (after close): the destination "comes back up". */
  restart(): Promise<void>;
}

function replyError(reply: { code: number; text: string }): Error {
  return Object.assign(new Error(reply.text), { responseCode: reply.code });
}

export async function startDestination(
  options: { starttls?: { key: Buffer; cert: Buffer }; port?: number } = {},
): Promise<TestDestination> {
  const received: Received[] = [];
  const behaviour: Behaviour = { connect: null, rcpt: null, data: null, dropAfterData: false };
  const state = { connections: 0 };
  const make = (): SMTPServer =>
    new SMTPServer({
      logger: false,
      authOptional: true,
      disabledCommands: options.starttls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
      ...(options.starttls ? { key: options.starttls.key, cert: options.starttls.cert } : {}),
      size: 64 * 1024 * 1024,
      onConnect(_session, callback) {
        state.connections += 1;
        callback(behaviour.connect ? replyError(behaviour.connect) : null);
      },
      onRcptTo(_address, _session, callback) {
        callback(behaviour.rcpt ? replyError(behaviour.rcpt) : null);
      },
      onData(stream, session: SMTPServerSession, callback) {
        const pieces: Buffer[] = [];
        stream.on('data', (piece: Buffer) => pieces.push(piece));
        stream.on('end', () => {
          if (behaviour.dropAfterData) {
            // smtp-server keeps its connections (and their sockets) in a set of its own.
            const { connections } = server as unknown as {
              connections: Set<{ session?: { id: string }; _socket: { destroy(): void } }>;
            };
            for (const connection of connections) {
              if (connection.session?.id === session.id) connection._socket.destroy();
            }
            return;
          }
          if (behaviour.data) return callback(replyError(behaviour.data));
          const from = session.envelope.mailFrom;
          received.push({
            from: from ? from.address : '',
            to: session.envelope.rcptTo.map((rcpt) => rcpt.address),
            data: Buffer.concat(pieces),
            secure: session.secure,
            remote: session.remoteAddress,
            heloName: session.hostNameAppearsAs,
          });
          callback(null);
        });
      },
    });
  let server = make();
  const listen = (port: number): Promise<number> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        const address = server.server.address();
        resolve(typeof address === 'object' && address ? address.port : 0);
      });
    });
  const port = await listen(options.port ?? 0);
  return {
    port,
    received,
    behaviour,
    get connections() {
      return state.connections;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    async restart() {
      server = make();
      await listen(port);
    },
  };
}
