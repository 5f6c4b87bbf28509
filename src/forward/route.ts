/**
 * Where a destination's mail goes: the host given explicitly, or the MX hosts of its domain in
 * order of preference (RFC 5321 §5.1). The MX lookup is the one thing done in this server's DNS
 * rather than through Tor (Tor resolves addresses, not MX records); the hosts it names are
 * then resolved by the proxy. docs/threat-model.md says what that lookup reveals.
 */
import { parseHost, SMTP_PORT } from './destination';
import type { SendOutcome } from './outcome';

export interface Endpoint {
  host: string;
  port: number;
}

/** The part of node:dns/promises' Resolver used here (a Resolver with its own servers in tests). */
export interface MxResolver {
  resolveMx(hostname: string): Promise<Array<{ exchange: string; priority: number }>>;
}

export type Route =
  | { kind: 'hosts'; endpoints: Endpoint[] }
  /** The domain cannot take mail: as a destination's own 5xx (an MTA would bounce). */
  | { kind: 'refused'; outcome: Extract<SendOutcome, { kind: 'refused' }> }
  | { kind: 'deferred'; outcome: Extract<SendOutcome, { kind: 'deferred' }> };

export async function resolveRoute(
  setting: { address: string; host: string | null },
  resolver: MxResolver,
): Promise<Route> {
  if (setting.host !== null) {
    const parsed = parseHost(setting.host);
    // Checked when it was stored; a setting that no longer parses is the operator's to fix.
    if (!parsed.ok || parsed.host === null) return deferred();
    return { kind: 'hosts', endpoints: [{ host: parsed.host, port: parsed.port }] };
  }
  const domain = setting.address.slice(setting.address.lastIndexOf('@') + 1);
  let records: Array<{ exchange: string; priority: number }>;
  try {
    records = await resolver.resolveMx(domain);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    // RFC 5321 §5.1: "If an empty list of MXs is returned, the address is treated as if it was
    // associated with an implicit MX RR, with a preference of 0, pointing to that host."
    if (code === 'ENODATA')
      return { kind: 'hosts', endpoints: [{ host: domain, port: SMTP_PORT }] };
    // The domain does not exist (NXDOMAIN): RFC 3463 5.1.2, bad destination system address.
    if (code === 'ENOTFOUND') return refused(550, '5.1.2');
    return deferred();
  }
  // RFC 7505 §3: a single MX with an empty exchange ("." ) says the domain accepts no mail;
  // §4.3: the sender SHOULD fail with 556 5.1.10.
  const usable = records.filter((record) => record.exchange !== '' && record.exchange !== '.');
  if (usable.length === 0) return refused(556, '5.1.10');
  // RFC 5321 §5.1: lowest preference first; equal preferences in random order.
  const ordered = usable
    .map((record) => ({ record, tie: Math.random() }))
    .sort((a, b) => a.record.priority - b.record.priority || a.tie - b.tie)
    .map(({ record }) => ({ host: record.exchange.toLowerCase(), port: SMTP_PORT }));
  return { kind: 'hosts', endpoints: ordered };
}

function refused(code: number, status: string): Route {
  return { kind: 'refused', outcome: { kind: 'refused', code, status } };
}

function deferred(): Route {
  return { kind: 'deferred', outcome: { kind: 'deferred', code: null, reason: 'dns' } };
}
