/**
 * A small POP3 client (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS) for kzymy-fetch: USER/PASS,
 * UIDL, LIST, RETR, DELE, QUIT. POP3 deletes only in the UPDATE state entered by QUIT (RFC 1939
 * §6), and a kzymy server deletes every RETR'd message then too — so commit() is QUIT and abort()
 * is "hang up": nothing at all is deleted in a session that was not committed.
 */
import { FetchError } from './errors';
import type { LoginInfo, MailSession, RemoteMessage } from './session';
import type { Wire } from './wire';

interface Pop3Message extends RemoteMessage {
  number: number;
}

export class Pop3Session implements MailSession {
  private marked: Pop3Message[] = [];

  private constructor(private readonly wire: Wire) {}

  static async open(login: LoginInfo): Promise<Pop3Session> {
    const session = new Pop3Session(login.wire);
    const greeting = await session.status();
    if (!greeting.ok)
      throw new FetchError('server-unreachable', `the server turned us away: ${greeting.text}`);
    if (login.startTls) {
      const capabilities = await session.capabilities();
      if (!capabilities.has('STLS'))
        throw new FetchError('protocol', 'the server does not offer STLS');
      await session.expectOk('STLS');
      // RFC 2595 §4: capabilities learned before STLS are discarded; none are needed after it.
      await login.wire.startTls(login.startTls);
    }
    // RFC 1939 §7: USER then PASS; a server may already refuse the name, so both count as auth.
    const user = await session.command(`USER ${checkArgument(login.user, 'user name', false)}`);
    if (!user.ok) throw authFailed(login.user);
    // RFC 1939 §7: PASS has exactly one argument, so a password may contain spaces.
    const pass = await session.command(`PASS ${checkArgument(login.password, 'password', true)}`);
    if (!pass.ok) throw authFailed(login.user);
    return session;
  }

  async list(): Promise<Pop3Message[]> {
    const sizes = new Map<number, number>();
    for (const line of await this.multiLineCommand('LIST')) {
      const [n, size] = line.toString('latin1').split(' ');
      sizes.set(Number(n), Number(size));
    }
    // RFC 1939 §7 UIDL: "unique-id ... persistent across sessions". Without it, the content
    // hash alone identifies a message in the local state.
    const uidl = await this.command('UIDL');
    const ids = new Map<number, string>();
    if (uidl.ok) {
      for (const line of await this.readMultiLine()) {
        const [n, id] = line.toString('latin1').split(' ');
        if (id) ids.set(Number(n), id);
      }
    }
    return [...sizes.entries()]
      .sort(([a], [b]) => a - b)
      .map(([number, size]) => ({
        number,
        size,
        key: `pop3:${ids.get(number) ?? `n${number}-${size}`}`,
      }));
  }

  async fetch(message: RemoteMessage, onBytes?: (received: number) => void): Promise<Buffer> {
    const { number } = message as Pop3Message;
    const reply = await this.command(`RETR ${number}`);
    if (!reply.ok)
      throw new FetchError(
        'protocol',
        `the server refused to send message ${number}: ${reply.text}`,
      );
    return joinLines(await this.readMultiLine(onBytes));
  }

  async markDeleted(message: RemoteMessage): Promise<void> {
    const pop3Message = message as Pop3Message;
    await this.expectOk(`DELE ${pop3Message.number}`);
    this.marked.push(pop3Message);
  }

  async expungeMarked(): Promise<string[]> {
    return [];
  }

  async commit(): Promise<string[]> {
    const reply = await this.command('QUIT');
    this.wire.destroy();
    // RFC 1939 §6: "-ERR some deleted messages not removed" — keep them in the local state.
    if (!reply.ok) throw new FetchError('protocol', `QUIT failed: ${reply.text}`);
    const keys = this.marked.map((m) => m.key);
    this.marked = [];
    return keys;
  }

  abort(): void {
    this.wire.destroy();
  }

  private async capabilities(): Promise<Set<string>> {
    const reply = await this.command('CAPA');
    if (!reply.ok) return new Set();
    const lines = await this.readMultiLine();
    return new Set(lines.map((l) => l.toString('latin1').split(' ')[0]?.toUpperCase() ?? ''));
  }

  private async command(line: string): Promise<{ ok: boolean; text: string }> {
    this.wire.write(`${line}\r\n`);
    return this.status();
  }

  private async expectOk(line: string): Promise<void> {
    const reply = await this.command(line);
    if (!reply.ok) throw new FetchError('protocol', `${line.split(' ')[0]} failed: ${reply.text}`);
  }

  private async multiLineCommand(line: string): Promise<Buffer[]> {
    await this.expectOk(line);
    return this.readMultiLine();
  }

  private async status(): Promise<{ ok: boolean; text: string }> {
    const line = (await this.wire.readLine()).toString('latin1');
    if (line.startsWith('+OK')) return { ok: true, text: line.slice(3).trim() };
    if (line.startsWith('-ERR')) return { ok: false, text: line.slice(4).trim() };
    throw new FetchError('protocol', 'this is not a POP3 server (unexpected reply)');
  }

  /** RFC 1939 §3: lines up to a lone ".", with the byte-stuffed leading "." removed. */
  private async readMultiLine(onBytes?: (received: number) => void): Promise<Buffer[]> {
    const lines: Buffer[] = [];
    let received = 0;
    let reported = 0;
    for (;;) {
      const line = await this.wire.readLine();
      if (line.length === 1 && line[0] === 0x2e) return lines;
      lines.push(line[0] === 0x2e ? line.subarray(1) : line);
      received += line.length + 2;
      if (onBytes && received - reported >= 64 * 1024) {
        reported = received;
        onBytes(received);
      }
    }
  }
}

function joinLines(lines: Buffer[]): Buffer {
  const parts: Buffer[] = [];
  const crlf = Buffer.from('\r\n');
  for (const line of lines) parts.push(line, crlf);
  return Buffer.concat(parts);
}

function checkArgument(value: string, what: string, spaces: boolean): string {
  // RFC 1939 §3: arguments are printable ASCII; a CR or LF in them would start another command.
  if (!(spaces ? /^[\x20-\x7e]+$/ : /^[\x21-\x7e]+$/).test(value)) {
    throw new FetchError('config', `the ${what} contains characters POP3 USER/PASS cannot carry`);
  }
  return value;
}

function authFailed(user: string): FetchError {
  return new FetchError(
    'auth',
    `authentication failed for ${user}: check the user name and password`,
  );
}
