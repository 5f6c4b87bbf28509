/**
 * End of DATA: encrypt the message once per mailbox, store the ciphertexts, announce them, and
 * only then say 250. All or nothing: any failure undoes what this transaction wrote and answers
 * 451 4.3.0, so the sender keeps the message and retries (docs/architecture.md,
 * invariant "Fail closed"). There is no plaintext path: the bytes reach the store only as
 * encryptComposed's output.
 *
 * One copy per mailbox per transaction, however many of her aliases were recipients: each copy
 * lists every alias it was sent to (Delivered-To, inside the encryption). Before anything is
 * encrypted, each mailbox's quota is checked against an upper bound of what will be stored
 * (padding included): over it, 452 4.2.2 and nothing is stored for anyone.
 */
import type { NewMailPublisher } from '../redis/new-mail';
import { errorKind, type Logger } from '../log/logger';
import { parseRecipient } from '../addresses/recipient';
import { composeMessage, encryptComposed, type ComposedMessage } from '../pgp/pgp-mime';
import { MailboxGoneError } from '../store/errors';
import type { MessageStore, UserStore } from '../store/store';
import type { StoredMessage, User } from '../store/types';
import { accept, REPLIES, tempfail, type Decision } from './decision';

export interface DeliveryDeps {
  users: Pick<UserStore, 'byName'>;
  messages: Pick<MessageStore, 'add' | 'remove' | 'usedBytes'>;
  publisher: Pick<NewMailPublisher, 'publish'>;
  domain: string;
  /** Stored bytes a mailbox may hold (smtp.quotaBytes). */
  quotaBytes: number;
  /**
   * The Authentication-Results value for this message (sender-auth.ts, auth-results.ts); it
   * never throws and never refuses. Absent: nothing is recorded.
   */
  authenticate?: (raw: readonly Buffer[], envelope: Envelope) => Promise<string>;
  logger: Logger;
}

export interface Envelope {
  /**
   * The delivery's id: Haraka's transaction id, which Haraka appends to the 250 reply, so an
   * operator finds the delivery a sender asks about (random; it names nobody).
   */
  id?: string;
  /** MAIL FROM without brackets; '' for the null sender. */
  from: string;
  /** The accepted RCPT TO addresses. */
  recipients: readonly EnvelopeRecipient[];
  arrival: Date;
  /** For SPF only, in memory: never stored or logged (docs/threat-model.md). */
  client?: { ip?: string; helo?: string };
}

export interface EnvelopeRecipient {
  /** As the client wrote it: what Delivered-To shows the user. */
  address: string;
  /** local@domain with the domain lowercased (IDNA A-label), for the mailbox lookup. */
  canonical: string;
  /**
   * The mailbox as RCPT found it, which saves looking it up again. The commit still checks that
   * it is active and has this key (MessageStore.add, `encryptedTo`).
   */
  user?: User;
}

/** One copy: a mailbox and every address of hers this transaction was sent to. */
interface Copy {
  user: User;
  addresses: string[];
}

/** @param raw the message, in one Buffer or as consecutive pieces (DataCapture.pieces()). */
export async function deliverMessage(
  deps: DeliveryDeps,
  raw: Buffer | readonly Buffer[],
  envelope: Envelope,
  signal: AbortSignal,
): Promise<Decision> {
  const pieces = Buffer.isBuffer(raw) ? [raw] : raw;
  const stored: StoredMessage[] = [];
  try {
    const copies = await mailboxesOf(deps, envelope.recipients);
    const authenticationResults = await deps.authenticate?.(pieces, envelope);
    signal.throwIfAborted();
    const composed = copies.map((copy) => ({
      user: copy.user,
      message: compose(deps, pieces, envelope, copy, authenticationResults),
    }));
    // Quotas first, for every mailbox: a refusal must leave nothing stored and cost no encryption.
    for (const { user, message } of composed) {
      if ((await deps.messages.usedBytes(user.id)) + message.storedBytesAtMost > deps.quotaBytes)
        return tempfail(REPLIES.mailboxFull, undefined, 'quota');
    }
    for (const { user, message } of composed) {
      signal.throwIfAborted();
      // A large message is encrypted as it is stored, never held whole as ciphertext.
      const ciphertext = await encryptComposed(message);
      stored.push(
        await deps.messages.add(user.id, ciphertext, envelope.arrival, {
          encryptedTo: user.publicKey,
        }),
      );
    }
    signal.throwIfAborted();
    // Only once every copy is stored: a listener woken for a message that is then rolled back
    // would show a message that vanishes.
    for (const message of stored) {
      await deps.publisher.publish({ userId: message.userId, uid: message.uid });
    }
    // The last check, with no await after it: once it passes, the reply is 250. If the client
    // left or the hook timed out, the sender was not told 250 and will retry, so undo.
    signal.throwIfAborted();
    deps.logger.info('smtp.delivered', {
      id: envelope.id,
      recipients: envelope.recipients.length,
      copies: stored.length,
    });
    return accept(REPLIES.messageStored);
  } catch (error) {
    await rollback(deps, stored);
    return tempfail(REPLIES.localError, error);
  }
}

function compose(
  deps: DeliveryDeps,
  pieces: readonly Buffer[],
  envelope: Envelope,
  copy: Copy,
  authenticationResults: string | undefined,
): ComposedMessage {
  const { user } = copy;
  return composeMessage({
    raw: pieces,
    publicKeyArmored: user.publicKey,
    envelopeFrom: envelope.from,
    recipients: copy.addresses,
    arrival: envelope.arrival,
    domain: deps.domain,
    // The outer To names the mailbox, never the alias the sender used.
    outerTo: `${user.username}@${user.username}.${deps.domain}`,
    format: user.payloadFormat,
    authenticationResults,
  });
}

/**
 * The transaction's mailboxes in RCPT order, each with her addresses (RCPT TO the same address
 * twice, in any case, is one address). Accepted at RCPT but gone or suspended since: try again
 * later, when RCPT will say so.
 */
async function mailboxesOf(
  deps: DeliveryDeps,
  recipients: readonly EnvelopeRecipient[],
): Promise<Copy[]> {
  const copies = new Map<string, Copy>();
  const seen = new Set<string>();
  for (const recipient of recipients) {
    const key = recipient.canonical.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    const user = recipient.user ?? (await lookUp(deps, recipient));
    if (!user || user.state !== 'active') throw new MailboxGoneError('mailbox not active');
    const copy = copies.get(user.id);
    if (copy) copy.addresses.push(recipient.address);
    else copies.set(user.id, { user, addresses: [recipient.address] });
  }
  return [...copies.values()];
}

async function lookUp(deps: DeliveryDeps, recipient: EnvelopeRecipient): Promise<User | null> {
  const parsed = parseRecipient(recipient.canonical, deps.domain);
  return parsed ? deps.users.byName(parsed.username) : null;
}

async function rollback(deps: DeliveryDeps, stored: readonly StoredMessage[]): Promise<void> {
  for (const message of stored) {
    try {
      await deps.messages.remove(message.userId, [message.id]);
    } catch (error) {
      // The copy stays; the sender retries, so this user may get the message twice.
      deps.logger.error('smtp.rollback_failed', { error: errorKind(error) });
    }
  }
}
