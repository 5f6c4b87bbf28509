/**
 * The IMAP subset kzymy-fetch uses (RFC 3501 / RFC 9051): STARTTLS, LOGIN, SELECT INBOX,
 * UID FETCH, UID STORE, UID EXPUNGE (RFC 4315 UIDPLUS), IDLE (RFC 2177), LOGOUT. It works on a
 * stream it is handed (see transport.ts), so the connection can come from a SOCKS proxy — which
 * imapflow, whose proxy code resolves host names locally, cannot do without leaking DNS.
 */
import { FetchError } from './errors';
import { quoteString, readResponse, responseCode, type ImapResponse } from './imap-response';
import type { LoginInfo, MailSession, RemoteMessage } from './session';
import type { Wire } from './wire';

interface TaggedResult {
  status: 'OK' | 'NO' | 'BAD';
  text: string;
  untagged: ImapResponse[];
}

interface ImapMessage extends RemoteMessage {
  uid: number;
}

export class ImapSession implements MailSession {
  private tagCounter = 0;
  private capabilities = new Set<string>();
  private exists = 0;
  private marked: ImapMessage[] = [];

  private constructor(
    private readonly wire: Wire,
    private readonly timeoutMs: number,
    private uidValidity = 0,
  ) {}

  /** Greeting, optional STARTTLS, LOGIN and SELECT INBOX. */
  static async open(login: LoginInfo): Promise<ImapSession> {
    const session = new ImapSession(login.wire, login.timeoutMs);
    await session.greeting();
    if (session.capabilities.size === 0) await session.refreshCapabilities();
    if (login.startTls) {
      if (!session.capabilities.has('STARTTLS')) {
        throw new FetchError('protocol', 'the server does not offer STARTTLS');
      }
      await session.expectOk('STARTTLS');
      await login.wire.startTls(login.startTls);
      // RFC 3501 §6.2.1: capabilities learned before STARTTLS must be discarded.
      session.capabilities.clear();
    }
    if (session.capabilities.size === 0) await session.refreshCapabilities();
    if (session.capabilities.has('LOGINDISABLED')) {
      throw new FetchError(
        'protocol',
        'the server refuses LOGIN on this connection (LOGINDISABLED): use --tls starttls or --tls tls',
      );
    }
    await session.login(login.user, login.password);
    await session.select();
    return session;
  }

  async list(): Promise<ImapMessage[]> {
    if (this.exists === 0) return [];
    const result = await this.expectOk('UID FETCH 1:* (UID RFC822.SIZE)');
    const messages: ImapMessage[] = [];
    for (const response of result.untagged) {
      const fetch = parseFetch(response);
      if (fetch?.uid === undefined) continue;
      messages.push({
        uid: fetch.uid,
        size: fetch.size ?? 0,
        key: `imap:${this.uidValidity}:${fetch.uid}`,
      });
    }
    return messages.sort((a, b) => a.uid - b.uid);
  }

  async fetch(message: RemoteMessage, onBytes?: (received: number) => void): Promise<Buffer> {
    const { uid } = message as ImapMessage;
    // BODY.PEEK[] is the whole message (RFC 3501 §6.4.5) without setting \Seen.
    const result = await this.run(`UID FETCH ${uid} (UID BODY.PEEK[])`, onBytes);
    if (result.status !== 'OK') {
      throw new FetchError('protocol', `the server refused to send message ${uid}: ${result.text}`);
    }
    for (const response of result.untagged) {
      const fetch = parseFetch(response);
      if (fetch?.uid === uid && fetch.body) return fetch.body;
    }
    throw new FetchError('protocol', `the server sent no content for message ${uid}`);
  }

  async markDeleted(message: RemoteMessage): Promise<void> {
    const imapMessage = message as ImapMessage;
    await this.expectOk(`UID STORE ${imapMessage.uid} +FLAGS.SILENT (\\Deleted)`);
    this.marked.push(imapMessage);
  }

  async expungeMarked(): Promise<string[]> {
    if (this.marked.length === 0) return [];
    const uids = this.marked.map((m) => m.uid);
    // RFC 4315 §2.1: UID EXPUNGE removes only these; plain EXPUNGE would also take messages
    // another client flagged \Deleted, which is acceptable when UIDPLUS is missing.
    await this.expectOk(
      this.capabilities.has('UIDPLUS') ? `UID EXPUNGE ${uids.join(',')}` : 'EXPUNGE',
    );
    const keys = this.marked.map((m) => m.key);
    this.marked = [];
    return keys;
  }

  async commit(): Promise<string[]> {
    const keys = await this.expungeMarked();
    const tag = this.nextTag();
    this.wire.write(`${tag} LOGOUT\r\n`);
    // RFC 3501 §6.1.3: BYE, then the tagged OK; some servers close right after BYE.
    try {
      for (;;) {
        const response = await readResponse(this.wire);
        if (response.text.startsWith(`${tag} `)) break;
      }
    } catch (error) {
      if (!(error instanceof FetchError && error.kind === 'server-unreachable')) throw error;
    } finally {
      this.wire.destroy();
    }
    return keys;
  }

  abort(): void {
    this.wire.destroy();
  }

  async waitForMail(maxMs: number, signal: AbortSignal): Promise<boolean> {
    if (this.exists > 0) return true;
    if (!this.capabilities.has('IDLE')) {
      await abortableDelay(maxMs, signal);
      if (signal.aborted) return false;
      await this.expectOk('NOOP');
      return this.exists > 0;
    }
    const tag = this.nextTag();
    this.wire.write(`${tag} IDLE\r\n`);
    const first = await readResponse(this.wire);
    if (!first.text.startsWith('+')) {
      throw new FetchError('protocol', `the server refused IDLE: ${first.text}`);
    }
    let stopped = false;
    const stop = (): void => {
      if (stopped) return;
      stopped = true;
      // RFC 2177 §3: "The IDLE command is terminated by the receipt of a DONE continuation".
      this.wire.write('DONE\r\n');
    };
    const timer = setTimeout(stop, maxMs);
    signal.addEventListener('abort', stop, { once: true });
    let newMail = false;
    try {
      for (;;) {
        const response = await readResponse(this.wire, undefined, maxMs + this.timeoutMs);
        if (response.text.startsWith(`${tag} `)) break;
        this.track(response);
        if (this.exists > 0) {
          newMail = true;
          stop();
        }
      }
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
    }
    return newMail;
  }

  private async greeting(): Promise<void> {
    const greeting = await readResponse(this.wire);
    if (greeting.text.startsWith('* BYE')) {
      throw new FetchError('server-unreachable', `the server turned us away: ${greeting.text}`);
    }
    if (!greeting.text.startsWith('* OK') && !greeting.text.startsWith('* PREAUTH')) {
      throw new FetchError('protocol', 'this is not an IMAP server (unexpected greeting)');
    }
    this.learnCapabilities(responseCode(greeting.text, 'CAPABILITY'));
  }

  private async refreshCapabilities(): Promise<void> {
    const result = await this.expectOk('CAPABILITY');
    for (const response of result.untagged) {
      const match = /^\* CAPABILITY (.*)$/i.exec(response.text);
      if (match) this.learnCapabilities(match[1] ?? '');
    }
  }

  private learnCapabilities(list: string | null): void {
    if (!list) return;
    this.capabilities = new Set(list.toUpperCase().split(/\s+/).filter(Boolean));
  }

  private async login(user: string, password: string): Promise<void> {
    const tag = this.nextTag();
    const args = [user, password];
    // Quoted strings where possible; a synchronizing literal (RFC 3501 §7.5) otherwise.
    let line = `${tag} LOGIN`;
    for (const arg of args) {
      const quoted = quoteString(arg);
      if (quoted !== null) {
        line += ` ${quoted}`;
        continue;
      }
      const bytes = Buffer.from(arg, 'utf8');
      this.wire.write(`${line} {${bytes.length}}\r\n`);
      const go = await readResponse(this.wire);
      if (!go.text.startsWith('+'))
        throw new FetchError('protocol', 'the server refused a literal');
      this.wire.write(bytes);
      line = '';
    }
    this.wire.write(`${line}\r\n`);
    const result = await this.collect(tag);
    if (result.status === 'NO') {
      // The server's text is generic by design; ours names what to check.
      throw new FetchError(
        'auth',
        `authentication failed for ${user}: check the user name and password`,
      );
    }
    if (result.status !== 'OK') throw new FetchError('protocol', `LOGIN failed: ${result.text}`);
    this.learnCapabilities(responseCode(result.text, 'CAPABILITY'));
    if (this.capabilities.size === 0) await this.refreshCapabilities();
  }

  private async select(): Promise<void> {
    const result = await this.expectOk('SELECT INBOX');
    for (const response of [...result.untagged, { text: result.text, literals: [] }]) {
      const validity = responseCode(response.text, 'UIDVALIDITY');
      if (validity !== null) this.uidValidity = Number(validity);
    }
    if (!this.uidValidity) throw new FetchError('protocol', 'the server sent no UIDVALIDITY');
  }

  private async expectOk(command: string): Promise<TaggedResult> {
    const result = await this.run(command);
    if (result.status !== 'OK') {
      throw new FetchError('protocol', `${command.split(' ')[0]} failed: ${result.text}`);
    }
    return result;
  }

  private async run(command: string, onBytes?: (n: number) => void): Promise<TaggedResult> {
    const tag = this.nextTag();
    this.wire.write(`${tag} ${command}\r\n`);
    return this.collect(tag, onBytes);
  }

  private async collect(tag: string, onBytes?: (n: number) => void): Promise<TaggedResult> {
    const untagged: ImapResponse[] = [];
    for (;;) {
      const response = await readResponse(this.wire, onBytes);
      if (response.text.startsWith(`${tag} `)) {
        const match = /^\S+ (OK|NO|BAD)\b ?(.*)$/i.exec(response.text);
        if (!match) throw new FetchError('protocol', 'malformed tagged response');
        const status = (match[1] ?? 'BAD').toUpperCase() as TaggedResult['status'];
        return { status, text: match[2] ?? '', untagged };
      }
      this.track(response);
      untagged.push(response);
    }
  }

  /** Keeps the message count current from untagged EXISTS / EXPUNGE (RFC 3501 §7.3.1, §7.4.1). */
  private track(response: ImapResponse): void {
    const exists = /^\* (\d+) EXISTS$/i.exec(response.text);
    if (exists) this.exists = Number(exists[1]);
    else if (/^\* \d+ EXPUNGE$/i.test(response.text)) this.exists = Math.max(0, this.exists - 1);
  }

  private nextTag(): string {
    this.tagCounter += 1;
    return `k${this.tagCounter}`;
  }
}

interface ParsedFetch {
  uid?: number;
  size?: number;
  body?: Buffer;
}

/** The UID, RFC822.SIZE and BODY[] items of a `* n FETCH (...)` response. */
function parseFetch(response: ImapResponse): ParsedFetch | null {
  if (!/^\* \d+ FETCH \(/i.test(response.text)) return null;
  const result: ParsedFetch = {};
  const uid = /[( ]UID (\d+)/i.exec(response.text);
  if (uid) result.uid = Number(uid[1]);
  const size = /[( ]RFC822\.SIZE (\d+)/i.exec(response.text);
  if (size) result.size = Number(size[1]);
  const literal = /[( ]BODY\[\] \{#(\d+)\}/i.exec(response.text);
  if (literal) result.body = response.literals[Number(literal[1])];
  else {
    const quoted = /[( ]BODY\[\] "((?:[^"\\]|\\.)*)"/i.exec(response.text);
    if (quoted) result.body = Buffer.from((quoted[1] ?? '').replace(/\\(.)/g, '$1'), 'latin1');
  }
  return result;
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
