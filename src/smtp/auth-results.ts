/**
 * The Authentication-Results field (RFC 8601) kzymy records inside the encrypted payload: the
 * SPF, DKIM, DMARC and ARC verdicts reached when the message arrived. Pure: verdicts in, field
 * value out. Every value that came from the sender (addresses, domains, selectors) is checked
 * against its grammar and left out when it does not fit, so the field can never carry a line
 * break, a second field or a string the reader would misparse.
 *
 * What is deliberately absent: the sending MTA's IP address and HELO name (RFC 8601 makes them
 * optional properties, `smtp.remote-ip` is not even one of its ptypes), and mailauth's comments,
 * which repeat the IP. docs/threat-model.md, "Sender authentication".
 */

/** RFC 8601 §2.7 result keywords kzymy writes, per method. */
const RESULTS = {
  // RFC 8601 §2.7.2 (SPF results, RFC 7208 §8).
  spf: ['none', 'neutral', 'pass', 'fail', 'softfail', 'temperror', 'permerror'],
  // RFC 8601 §2.7.1.
  dkim: ['none', 'pass', 'fail', 'policy', 'neutral', 'temperror', 'permerror'],
  // RFC 7489 §11.2.
  dmarc: ['none', 'pass', 'fail', 'temperror', 'permerror'],
  // RFC 8617 §10.2.
  arc: ['none', 'pass', 'fail'],
} as const;

export type Method = keyof typeof RESULTS;

export interface DkimVerdict {
  result: string;
  /** The d= of the signature. */
  domain?: string;
  /** The s= of the signature. */
  selector?: string;
  /** The first characters of b=, telling several signatures apart (RFC 6008). */
  signature?: string;
}

export interface Verdicts {
  spf: { result: string; mailFrom?: string };
  dkim: DkimVerdict[];
  dmarc: { result: string; from?: string };
  arc: { result: string };
}

/** What is recorded when the checks could not be made at all (DNS down, a timeout, a bug). */
export function temperrorVerdicts(): Verdicts {
  return {
    spf: { result: 'temperror' },
    dkim: [{ result: 'temperror' }],
    dmarc: { result: 'temperror' },
    arc: { result: 'none' },
  };
}

/**
 * The field's value, folded one result per line:
 * `kzymy.example;\r\n spf=pass smtp.mailfrom=a@b.example;\r\n dkim=pass header.d=...`.
 * @param authservId RFC 8601 §2.5: the name of the receiving domain.
 */
export function formatAuthenticationResults(authservId: string, verdicts: Verdicts): string {
  if (!isDomain(authservId)) throw new TypeError('authserv-id must be a domain name');
  const results = [
    resinfo('spf', verdicts.spf.result, [['smtp.mailfrom', mailFrom(verdicts.spf.mailFrom)]]),
    ...(verdicts.dkim.length === 0 ? [{ result: 'none' } as DkimVerdict] : verdicts.dkim).map(
      (dkim) =>
        resinfo('dkim', dkim.result, [
          ['header.d', domain(dkim.domain)],
          ['header.s', selector(dkim.selector)],
          ['header.b', signature(dkim.signature)],
        ]),
    ),
    resinfo('dmarc', verdicts.dmarc.result, [['header.from', domain(verdicts.dmarc.from)]]),
    resinfo('arc', verdicts.arc.result, []),
  ];
  // RFC 8601 §2.2: authres-payload = authserv-id 1*( ";" resinfo ); folding is CRLF + SP.
  return [authservId, ...results].join(';\r\n ');
}

function resinfo(
  method: Method,
  result: string,
  properties: readonly (readonly [string, string | undefined])[],
): string {
  const allowed: readonly string[] = RESULTS[method];
  // mailauth spells one result 'temperr'; anything unknown is written as the method's no-verdict.
  const normalised = result === 'temperr' ? 'temperror' : result;
  const keyword = allowed.includes(normalised) ? normalised : 'none';
  const props = properties.filter((p): p is readonly [string, string] => p[1] !== undefined);
  return [`${method}=${keyword}`, ...props.map(([name, value]) => `${name}=${value}`)].join(' ');
}

const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const DOMAIN = new RegExp(`^${LABEL}(?:\\.${LABEL})*$`);
// RFC 5322 §3.2.3 dot-atom; a quoted local part is recorded by its domain alone.
const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

function isDomain(value: string | undefined): value is string {
  return typeof value === 'string' && value.length <= 253 && DOMAIN.test(value);
}

function domain(value: string | undefined): string | undefined {
  return isDomain(value) ? value.toLowerCase() : undefined;
}

/** RFC 8601 §2.2 pvalue: `[ [ local-part ] "@" ] domain-name`. */
function mailFrom(value: string | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const at = value.lastIndexOf('@');
  if (at < 0) return domain(value);
  const host = domain(value.slice(at + 1));
  if (!host) return undefined;
  const local = value.slice(0, at);
  return local.length <= 64 && DOT_ATOM.test(local) ? `${local}@${host}` : `@${host}`;
}

/** RFC 6376 §3.1: a selector is a sub-domain. */
function selector(value: string | undefined): string | undefined {
  return isDomain(value) ? value : undefined;
}

/** Base64 characters, as an RFC 2045 quoted-string ("/" and "=" are tspecials). */
function signature(value: string | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const start = value.replace(/\s+/g, '').slice(0, 8);
  return /^[A-Za-z0-9+/=]{1,8}$/.test(start) ? `"${start}"` : undefined;
}
