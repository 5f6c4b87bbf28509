/**
 * Which mail domain a Web Key Directory request is about. The Host header decides it, never the
 * path: a WKD client connects to the domain of the address it looks up (draft-koch-openpgp-
 * webkey-service-19 §3.1), so the host is `<username>.<domain>` for the direct method and
 * `openpgpkey.<username>.<domain>` for the advanced one, whose path repeats the mail domain.
 */
import { isUsernameShaped } from '../addresses/username';

export interface WkdHost {
  username: string;
  /** `<username>.<domain>`: the domain of the addresses this host answers for. */
  mailDomain: string;
  /** draft §3.1: the "advanced method" host, `openpgpkey.` in front of the mail domain. */
  advanced: boolean;
}

/** draft §3.1: "openpgpkey" is the sub-domain label of the advanced method. */
const ADVANCED_LABEL = 'openpgpkey.';

/** The user a Host header names under `domain`, or null for any other host. */
export function wkdHost(hostHeader: string, domain: string): WkdHost | null {
  const host = hostHeader
    .trim()
    .toLowerCase()
    .replace(/:\d{1,5}$/, '')
    .replace(/\.$/, '');
  const suffix = '.' + domain.toLowerCase();
  if (!host.endsWith(suffix)) return null;
  let name = host.slice(0, -suffix.length);
  const advanced = name.startsWith(ADVANCED_LABEL);
  if (advanced) name = name.slice(ADVANCED_LABEL.length);
  // Exactly one label above the domain, as for mail (src/addresses/recipient.ts).
  if (!isUsernameShaped(name)) return null;
  return { username: name, mailDomain: `${name}.${domain.toLowerCase()}`, advanced };
}
