/**
 * Which addresses belong to whom: local@<username>.<domain>, case-insensitive (RFC 5321 §2.4
 * lets a server treat local parts case-insensitively; domains always are).
 */
import { isUsernameShaped } from './username';

export interface AddressPolicy {
  /** Accept any local part at <username>.<domain> not in `disabled`. */
  catchAll: boolean;
  /** Local parts accepted even with the catch-all off (lowercase). */
  allowed: string[];
  /** Local parts always refused (lowercase): a leaked address is killed here. */
  disabled: string[];
}

export interface Recipient {
  username: string;
  /** The local part, lowercased. */
  local: string;
}

/** Splits an address under <username>.<domain>; null for any other domain. */
export function parseRecipient(address: string, domain: string): Recipient | null {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return null;
  const local = address.slice(0, at).toLowerCase();
  const host = address
    .slice(at + 1)
    .toLowerCase()
    .replace(/\.$/, '');
  const suffix = '.' + domain.toLowerCase();
  if (!host.endsWith(suffix)) return null;
  const username = host.slice(0, -suffix.length);
  // Exactly one label above the domain: a.b.<domain> is nobody's.
  if (!isUsernameShaped(username)) return null;
  return { username, local };
}

/** Whether a policy accepts a local part: disabled beats allowed beats the catch-all. */
export function policyAccepts(policy: AddressPolicy, local: string): boolean {
  const part = local.toLowerCase();
  if (policy.disabled.includes(part)) return false;
  return policy.catchAll || policy.allowed.includes(part);
}
