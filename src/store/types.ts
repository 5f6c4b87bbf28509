/** What the rest of kzymy sees of stored data: plain objects with string ids, no driver types. */

import type { AddressPolicy } from '../addresses/recipient';

export type { AddressPolicy };

/**
 * 'deleting' is transient: set while an account is purged, so no new mail is stored.
 * 'disabled': stopped by the operator (`kzymy user disable`): mail is refused, logins too, and
 * what is stored stays until its retention ends or the operator enables the account again.
 */
export type UserState = 'pending' | 'active' | 'disabled' | 'deleting';

export const USER_STATES: readonly UserState[] = ['pending', 'active', 'disabled', 'deleting'];

/** Sending as the nym (docs/sending.md): each switch is off until the user turns it on. */
export interface SendingSettings {
  /** The submission listener may send mail as her nym (when the operator enabled sending). */
  enabled: boolean;
  /** Her OpenPGP signature stays on what leaves; otherwise the signed content goes without it. */
  signAsNym: boolean;
}

/**
 * What `gpg --decrypt` gives the user (src/pgp/protected-payload.ts, docs/message-format.md):
 * 'protected' (header protection, Authentication-Results, size padding; the default) or 'exact'
 * (delivery headers, then the original byte for byte).
 */
export type PayloadFormat = 'protected' | 'exact';

export interface User {
  id: string;
  username: string;
  state: UserState;
  fingerprint: string;
  publicKey: string;
  passwordHash: string;
  createdAt: Date;
  policy: AddressPolicy;
  sending: SendingSettings;
  /** RFC 3501 §2.3.1.1: constant for the life of the mailbox, since UIDs are never reused. */
  uidValidity: number;
  /** The UID the next stored message will get. */
  uidNext: number;
  /** 'protected' unless she chose 'exact' (web account page, `kzymy user set`). */
  payloadFormat: PayloadFormat;
  /** The UTC day (YYYY-MM-DD) of the last IMAP or POP3 login; null before the first. */
  lastFetchDay: string | null;
  /** Push delivery (src/forward/): where her mail is forwarded, or null when it waits for pickup. */
  forward: ForwardSetting | null;
}

/**
 * 'pending' until the user types back the code mailed to the destination (encrypted to her key),
 * so that kzymy cannot be aimed at an address she does not control; 'active' from then on.
 */
export type ForwardState = 'pending' | 'active';

/** A destination's permanent refusal (RFC 5321 §4.2.1: a 5yz reply): shown, never bounced. */
export interface ForwardFailure {
  at: Date;
  /** The reply code, 500-599. */
  code: number;
  /** The RFC 3463 enhanced status code when the reply had one ("5.1.1"), else null. */
  status: string | null;
}

export interface ForwardSetting {
  /** The destination mailbox (RFC 5321 §4.1.2 Mailbox), ASCII, as the user gave it. */
  address: string;
  /** The MX host given explicitly (an onion name, with an optional ":port"); null: the MX of the address's domain. */
  host: string | null;
  state: ForwardState;
  /** While pending: a hash of the code mailed to the destination, and when it stops counting. */
  codeHash: string | null;
  codeExpiresAt: Date | null;
  /** The last permanent refusal; cleared when a message next goes through. */
  failure: ForwardFailure | null;
}

/**
 * A message one forwarding attempt may send now (src/forward/worker.ts); handed back with
 * release() or refuse(). `holder` is the attempt's random token: only it ends its own lease.
 */
export interface ForwardClaim {
  userId: string;
  messageId: string;
  holder: string;
}

export interface NewUser {
  fingerprint: string;
  publicKey: string;
  passwordHash: string;
  state: UserState;
  /** Given by tests; otherwise a random username is allocated. */
  username?: string;
}

export interface StoredMessage {
  id: string;
  userId: string;
  uid: number;
  arrivedAt: Date;
  /** Ciphertext size in bytes (RFC822.SIZE of what a client receives). */
  size: number;
  flags: string[];
  /** When a client first received the whole message; null until then. */
  fetchedAt: Date | null;
}

export type DeleteReason =
  | 'fetched'
  | 'expunged'
  | 'grace-expired'
  | 'retention'
  | 'user-deleted'
  | 'forwarded';

/** What a read needs of a message: which one, and how long its ciphertext is. */
export type MessageRef = Pick<StoredMessage, 'id' | 'size'>;

/** A ciphertext in consecutive pieces of any size, possibly produced while it is written. */
export type CiphertextPieces = Iterable<Uint8Array> | AsyncIterable<Uint8Array>;
