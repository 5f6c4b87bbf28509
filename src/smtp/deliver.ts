/**
 * End of DATA: encrypt the message to each recipient's key, store the ciphertexts, announce
 * them, and only then say 250. All or nothing: any failure undoes what this transaction wrote
 * and answers 451 4.3.0, so the sender keeps the message and retries (docs/architecture.md, invariant "Fail closed").
 * There is no plaintext path: the bytes reach the store only as encryptToPgpMime's output.
 */
import type { NewMailPublisher } from '../redis/new-mail';
import { errorKind, type Logger } from '../log/logger';
import { parseRecipient } from '../addresses/recipient';
import { encryptToPgpMimeParts } from '../pgp/pgp-mime';
import { MailboxGoneError } from '../store/errors';
import type { MessageStore, UserStore } from '../store/store';
import type { StoredMessage, User } from '../store/types';
import { accept, REPLIES, tempfail, type Decision } from './decision';

export interface DeliveryDeps {
  users: Pick<UserStore, 'byName'>;
  messages: Pick<MessageStore, 'add' | 'remove'>;
  publisher: Pick<NewMailPublisher, 'publish'>;
  domain: string;
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

/** @param raw the message, in one Buffer or as consecutive pieces (DataCapture.pieces()). */
export async function deliverMessage(
  deps: DeliveryDeps,
  raw: Buffer | readonly Buffer[],
  envelope: Envelope,
  signal: AbortSignal,
): Promise<Decision> {
  const stored: StoredMessage[] = [];
  try {
    for (const recipient of uniqueAddresses(envelope.recipients)) {
      signal.throwIfAborted();
      stored.push(await deliverOne(deps, raw, envelope, recipient));
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
    deps.logger.info('smtp.delivered', { id: envelope.id, recipients: stored.length });
    return accept(REPLIES.messageStored);
  } catch (error) {
    await rollback(deps, stored);
    return tempfail(REPLIES.localError, error);
  }
}

async function deliverOne(
  deps: DeliveryDeps,
  raw: Buffer | readonly Buffer[],
  envelope: Envelope,
  recipient: EnvelopeRecipient,
): Promise<StoredMessage> {
  const user = recipient.user ?? (await lookUp(deps, recipient));
  // Accepted at RCPT but gone or suspended since: try again later, when RCPT will say so.
  if (!user || user.state !== 'active') throw new MailboxGoneError('mailbox not active');
  // A large message is encrypted as it is stored, never held whole as ciphertext.
  const ciphertext = await encryptToPgpMimeParts({
    raw,
    publicKeyArmored: user.publicKey,
    envelopeFrom: envelope.from,
    recipient: recipient.address,
    arrival: envelope.arrival,
    domain: deps.domain,
    // The outer To names the mailbox, never the alias the sender used.
    outerTo: `${user.username}@${user.username}.${deps.domain}`,
  });
  return deps.messages.add(user.id, ciphertext, envelope.arrival, {
    encryptedTo: user.publicKey,
  });
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

/** One copy per address (case-insensitive: RCPT TO the same address twice is one delivery). */
function uniqueAddresses(recipients: readonly EnvelopeRecipient[]): EnvelopeRecipient[] {
  const seen = new Set<string>();
  const unique: EnvelopeRecipient[] = [];
  for (const recipient of recipients) {
    const key = recipient.canonical.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(recipient);
  }
  return unique;
}
