/**
 * Does every enabled listener answer? Each is asked the way a client would start: SMTP must greet
 * with 220 (RFC 5321 §4.2), IMAP with "* OK" (RFC 3501 §7.1.1), POP3 with "+OK" (RFC 1939 §4),
 * the TLS ports after a handshake (RFC 8314: TLS from the first byte), the web with an HTTP
 * status line and the admin listener with /healthz. The certificate is not judged here (the tls
 * check does that).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { KzymyConfig } from '../../config/schema';
import type { CheckResult, DoctorDeps } from './common';

interface Listener {
  name: string;
  host: string;
  port: number;
  tls: boolean;
  /** What the client sends first, if anything. */
  send?: string;
  /** The first bytes a good answer starts with. */
  expect: RegExp;
}

function listeners(config: Readonly<KzymyConfig>): Listener[] {
  const out: Listener[] = [];
  const http = (path: string): string => `GET ${path} HTTP/1.0\r\nHost: localhost\r\n\r\n`;
  if (config.smtp.enabled)
    out.push({ name: 'SMTP', ...at(config.smtp), tls: false, expect: /^220[ -]/ });
  if (config.imap.enabled) {
    out.push({ name: 'IMAP', ...at(config.imap), tls: false, expect: /^\* OK/ });
    out.push({
      name: 'IMAPS',
      ...at(config.imap, config.imap.tlsPort),
      tls: true,
      expect: /^\* OK/,
    });
  }
  if (config.pop3.enabled) {
    out.push({ name: 'POP3', ...at(config.pop3), tls: false, expect: /^\+OK/ });
    out.push({
      name: 'POP3S',
      ...at(config.pop3, config.pop3.tlsPort),
      tls: true,
      expect: /^\+OK/,
    });
  }
  // Sending as the nym (docs/sending.md): RFC 6409 submission greets like SMTP, with STARTTLS
  // on one port and TLS from the first byte on the other (RFC 8314).
  if (config.send.enabled) {
    out.push({ name: 'submission', ...at(config.send), tls: false, expect: /^220[ -]/ });
    out.push({
      name: 'submissions',
      ...at(config.send, config.send.tlsPort),
      tls: true,
      expect: /^220[ -]/,
    });
  }
  if (config.web.enabled)
    out.push({
      name: 'web',
      ...at(config.web),
      tls: false,
      send: http('/'),
      expect: /^HTTP\/1\.[01] \d{3}/,
    });
  if (config.admin.enabled)
    out.push({
      name: 'admin',
      ...at(config.admin),
      tls: false,
      send: http('/healthz'),
      expect: /^HTTP\/1\.[01] 200/,
    });
  return out;
}

/** Where to reach a listener bound to a wildcard address: this machine's loopback. */
function at(
  listener: { host: string; port: number },
  port = listener.port,
): { host: string; port: number } {
  const host =
    listener.host === '0.0.0.0' ? '127.0.0.1' : listener.host === '::' ? '::1' : listener.host;
  return { host, port };
}

/** The listener's first line of answer, or why there was none. */
function ask(listener: Listener, timeoutMs: number): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    let received = '';
    let settled = false;
    const done = (ok: boolean, detail: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok, detail });
    };
    const timer = setTimeout(() => done(false, `no answer within ${timeoutMs} ms`), timeoutMs);
    const ready = (): void => {
      if (listener.send) socket.write(listener.send);
    };
    const socket: Socket = listener.tls
      ? tlsConnect({ host: listener.host, port: listener.port, rejectUnauthorized: false }, ready)
      : netConnect({ host: listener.host, port: listener.port }, ready);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const end = received.indexOf('\n');
      if (end < 0 && received.length < 512) return;
      const line = (end < 0 ? received : received.slice(0, end)).trim();
      done(listener.expect.test(line), line.slice(0, 80));
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      done(false, error.code === 'ECONNREFUSED' ? 'connection refused' : (error.code ?? 'error')),
    );
    socket.once('end', () => done(false, 'closed without a greeting'));
  });
}

export async function checkAnswering(
  config: Readonly<KzymyConfig>,
  deps: Pick<DoctorDeps, 'timeoutMs'>,
): Promise<CheckResult> {
  const all = listeners(config);
  if (all.length === 0)
    return { check: 'answering', verdict: 'skip', message: 'no listener enabled' };
  const answers = await Promise.all(all.map((listener) => ask(listener, deps.timeoutMs)));
  const label = (l: Listener): string => `${l.name} ${l.host}:${l.port}`;
  const silent = all
    .map((listener, i) => ({ listener, answer: answers[i] as { ok: boolean; detail: string } }))
    .filter(({ answer }) => !answer.ok);
  if (silent.length === 0) {
    return {
      check: 'answering',
      verdict: 'ok',
      message: `every enabled listener answers: ${all.map(label).join(', ')}`,
    };
  }
  const list = silent.map(({ listener, answer }) => `${label(listener)} (${answer.detail})`);
  if (silent.length === all.length) {
    // Nothing at all: most likely kzymy is not running here (an install checked before start).
    return {
      check: 'answering',
      verdict: 'warn',
      message: `no listener answers: ${list.join(', ')}`,
      fix: 'start kzymy (npm start, or systemctl start kzymy) and run doctor again; on a machine that runs only one role (--role smtp|daemon), disable the other role’s listeners in its configuration',
    };
  }
  return {
    check: 'answering',
    verdict: 'fail',
    message: `not answering: ${list.join(', ')}`,
    fix: 'see the process log for why that listener stopped (README "Logs"); a port taken by another program stops kzymy at startup',
  };
}
