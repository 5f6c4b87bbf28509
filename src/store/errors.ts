/** The errors every store engine throws where the caller must tell them apart. */

/** The mailbox (or the message) is gone, suspended, or its key changed: the caller answers 4xx. */
export class MailboxGoneError extends Error {
  override name = 'MailboxGoneError';
}

/** A username asked for is reserved or held by another user. */
export class UsernameTakenError extends Error {
  override name = 'UsernameTakenError';
}
