/** What every doctor check shares: results, dependencies, and small helpers. */
import { randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { createConnection } from 'node:net';

export type Verdict = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  /**
   * A short, stable name: config, listeners, answering, store (sqlite) or mongodb, redis, tls,
   * tor, mx (dkim, relay).
   */
  check: string;
  verdict: Verdict;
  message: string;
  /** What to do about a warn or fail. */
  fix?: string;
}

export interface DoctorOptions {
  /** The configuration file (undefined: defaults plus environment). */
  configFile: string | undefined;
  env?: Record<string, string | undefined>;
  /** Look up DNS (the MX of a user's subdomain). */
  online: boolean;
  /** A torrc to verify with `tor --verify-config`. */
  torrc?: string;
}

/** What the checks reach the world through; tests pass their own DNS server and clock. */
export interface DoctorDeps {
  clock: () => Date;
  resolver: Pick<Resolver, 'resolveMx' | 'resolve4' | 'resolve6' | 'resolveTxt'>;
  /** Per check against a server. */
  timeoutMs: number;
  torBinary: string;
}

export function defaultDoctorDeps(dnsServer?: string): DoctorDeps {
  const resolver = new Resolver({ timeout: 3000, tries: 2 });
  if (dnsServer) resolver.setServers([dnsServer]);
  return { clock: () => new Date(), resolver, timeoutMs: 3000, torBinary: 'tor' };
}

export const DOC = 'docs/operations/deploy.md';
/** A certificate expiring within this many days is a warning (renewal is probably broken). */
export const EXPIRY_WARN_DAYS = 14;

export const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/i;

export function skip(check: string, message: string): CheckResult {
  return { check, verdict: 'skip', message };
}

export function randomLabel(): string {
  return `doctor-${randomBytes(5).toString('hex')}`;
}

/** The host list of a mongodb:// URL, without credentials, path or options. */
export function hostsOf(url: string): string {
  const rest = url.replace(/^[a-z+]+:\/\//i, '');
  // '@' cannot occur in a host, path or database name, so everything up to the last one is
  // credentials, however badly encoded.
  const hosts = rest.slice(rest.lastIndexOf('@') + 1).split(/[/?]/)[0];
  return hosts || '(no host)';
}

export function answers(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (result: boolean): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
