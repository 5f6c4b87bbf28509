/**
 * Sender authentication at arrival: SPF (RFC 7208), DKIM (RFC 6376), DMARC (RFC 7489) and ARC
 * (RFC 8617), checked by mailauth, the one module that owns it. The verdicts are recorded inside
 * the encrypted payload (auth-results.ts), never outside it, and they never decide delivery:
 * kzymy delivers what it accepted at RCPT, whatever the verdicts say, and a DNS failure or a
 * timeout is a `temperror` verdict, not a 4xx (the user judges; docs/message-format.md).
 *
 * Lookups go to the configured resolvers (`smtp.senderAuth.dnsServers`), through a Node resolver
 * made per message so that a timeout can cancel what is still in flight. The client's IP address
 * is used here, in memory, for SPF and nowhere else: it is not in the verdicts, the field, the
 * logs or the store (docs/threat-model.md).
 */
import { Resolver } from 'node:dns/promises';
import { Readable } from 'node:stream';
import { authenticate, type AuthenticateResult, type DNSResolver } from 'mailauth';
import { temperrorVerdicts, type Verdicts } from './auth-results';

export interface SenderAuthSettings {
  /** Resolvers as `ip` or `ip:port` (`[ip6]:port`); empty uses the system's (/etc/resolv.conf). */
  dnsServers: readonly string[];
  /** All checks of one message; past it, every verdict is temperror. */
  timeoutMs: number;
  /** One DNS query (each is tried twice). */
  queryTimeoutMs: number;
}

/** What the SMTP session knows about the sender; held in memory for this check only. */
export interface SenderFacts {
  /** The client's address, for SPF. */
  ip?: string;
  /** EHLO/HELO name, for SPF when MAIL FROM is null (RFC 7208 §2.3). */
  helo?: string;
  /** MAIL FROM without brackets; '' for the null sender. */
  mailFrom: string;
}

export type SenderCheck = (message: readonly Buffer[], facts: SenderFacts) => Promise<Verdicts>;

class SenderAuthTimeout extends Error {
  override name = 'SenderAuthTimeout';
}

/** @param authservId the mail domain: mailauth names it in what it builds (never its host name). */
export function createSenderCheck(settings: SenderAuthSettings, authservId: string): SenderCheck {
  return async (message, facts) => {
    const resolver = new Resolver({ timeout: settings.queryTimeoutMs, tries: 2 });
    const resolve = ((name: string, type: string) =>
      resolver.resolve(name, type)) as unknown as DNSResolver;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SenderAuthTimeout()), settings.timeoutMs);
    });
    try {
      if (settings.dnsServers.length > 0) resolver.setServers([...settings.dnsServers]);
      const result = await Promise.race([
        authenticate(Readable.from(message), {
          ip: facts.ip,
          helo: facts.helo,
          sender: facts.mailFrom || undefined,
          mta: authservId,
          resolver: resolve,
          // BIMI is about logos for display, and would look up more names for nothing here.
          disableBimi: true,
        }),
        timeout,
      ]);
      return verdictsOf(result, facts);
    } catch {
      // A lookup that failed in a way mailauth did not turn into a verdict, the time limit, or a
      // message it could not parse: the verdict is "could not tell", and delivery goes on.
      return temperrorVerdicts();
    } finally {
      clearTimeout(timer);
      resolver.cancel();
    }
  };
}

function verdictsOf(result: AuthenticateResult, facts: SenderFacts): Verdicts {
  const spf = result.spf;
  const dmarc = result.dmarc as
    | { status?: { result?: string; header?: { from?: string } } }
    | false;
  const arc = result.arc;
  return {
    spf: spf
      ? // For the null sender mailauth checks postmaster@<HELO>; the HELO name is not recorded.
        { result: spf.status.result, mailFrom: facts.mailFrom || undefined }
      : { result: 'none' },
    dkim: (result.dkim.results ?? []).map((dkim) => ({
      result: dkim.status.result,
      domain: dkim.signingDomain,
      selector: dkim.selector,
      signature: (dkim.status.header as { b?: unknown } | undefined)?.b as string | undefined,
    })),
    dmarc: dmarc
      ? { result: dmarc.status?.result ?? 'none', from: dmarc.status?.header?.from }
      : { result: 'none' },
    arc: arc ? { result: arc.status.result } : { result: 'none' },
  };
}
