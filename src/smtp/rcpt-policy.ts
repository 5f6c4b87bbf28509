/**
 * RCPT TO: is this address a live mailbox here? kzymy is the final destination for
 * `local@<username>.<domain>` and nothing else, so every other address is refused — there is
 * no relaying (RFC 5321 §3.6.2 lets a server refuse to relay; kzymy always does).
 */
import { parseRecipient, policyAccepts } from '../addresses/recipient';
import { storedBytesAtLeast } from '../pgp/pgp-mime';
import type { MessageStore, UserStore } from '../store/store';
import type { User } from '../store/types';
import { accept, reject, REPLIES, tempfail, type Decision } from './decision';

export interface RecipientDeps {
  users: Pick<UserStore, 'byName'>;
  messages: Pick<MessageStore, 'usedBytes'>;
  domain: string;
  quotaBytes: number;
  /** RFC 1870: the size the client declared at MAIL FROM, if it did. */
  declaredBytes?: number;
}

/**
 * The user comes back with an accepted recipient, so DATA need not look it up again.
 * @param address the forward-path as `local@domain` (the domain lowercased, as Haraka gives it).
 * Under kzymy's domain, unknown, pending, deleting and disabled accounts and disabled addresses
 * all get the same 550 5.1.1: the reply must not tell a prober which usernames exist or which
 * addresses a user has killed (the log and the metrics say which, from a closed set). Another
 * domain is a relay attempt: 550 5.7.1.
 */
export async function checkRecipient(
  deps: RecipientDeps,
  address: string,
): Promise<{ decision: Decision; user?: User }> {
  const recipient = parseRecipient(address, deps.domain);
  if (!recipient) {
    // RFC 5321 §3.6.2 / RFC 3463 X.7.1: not ours, and kzymy relays for nobody.
    if (!isOurDomain(address, deps.domain))
      return { decision: reject(REPLIES.relayDenied, 'foreign_domain') };
    return { decision: reject(REPLIES.noSuchUser, 'unknown_user') };
  }
  try {
    const user = await deps.users.byName(recipient.username);
    if (!user) return { decision: reject(REPLIES.noSuchUser, 'unknown_user') };
    if (user.state === 'disabled')
      return { decision: reject(REPLIES.noSuchUser, 'account_disabled') };
    if (user.state !== 'active')
      return { decision: reject(REPLIES.noSuchUser, 'account_inactive') };
    if (!policyAccepts(user.policy, recipient.local))
      return { decision: reject(REPLIES.noSuchUser, 'disabled_address') };
    // Checked at RCPT, before any data is sent, so an over-quota mailbox costs the sender nothing;
    // with a declared SIZE, also a message that is sure to fill it (DATA checks the real size).
    const used = await deps.messages.usedBytes(user.id);
    const coming =
      deps.declaredBytes === undefined
        ? 0
        : storedBytesAtLeast(deps.declaredBytes, user.payloadFormat);
    if (used >= deps.quotaBytes || used + coming > deps.quotaBytes)
      return { decision: tempfail(REPLIES.mailboxFull, undefined, 'quota') };
    return { decision: accept(REPLIES.recipientOk), user };
  } catch (error) {
    // Store unreachable: the sender keeps the message and retries (RFC 5321 §4.2.5, 451).
    return { decision: tempfail(REPLIES.localError, error) };
  }
}

/** The domain itself or any name under it (a.b.<domain> is nobody's, but it is not a relay). */
function isOurDomain(address: string, domain: string): boolean {
  // A bare local part ("postmaster", RFC 5321 §4.5.1) names no other domain.
  if (!address.includes('@')) return true;
  const host = address
    .slice(address.lastIndexOf('@') + 1)
    .toLowerCase()
    .replace(/\.$/, '');
  const ours = domain.toLowerCase();
  return host === ours || host.endsWith('.' + ours);
}
