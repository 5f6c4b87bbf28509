/**
 * Who a submitted message says it is from, and what it carries that would identify the machine
 * it was written on. Each check returns a decision (src/submission/decision.ts).
 */
import addressparser from 'nodemailer/lib/addressparser';
import { parseRecipient } from '../addresses/recipient';
import {
  ACCEPT,
  fromNotYours,
  identifyingSignedHeader,
  refuse,
  REPLIES,
  type Decision,
} from './decision';
import { fieldsNamed, type Entity } from './headers';

/**
 * The header fields of the submitted message that leave with it, in its order. Everything
 * else is dropped: Received, User-Agent, X-Mailer, X-Originating-*, the client's Message-ID and
 * Date (kzymy writes its own), Sender, Bcc, Content-Language, Autocrypt, List-*, X-* … — a list
 * of what may stay cannot miss a new identifying field the way a list of what must go can.
 */
export const KEPT_FIELDS: readonly string[] = [
  'from',
  'to',
  'cc',
  'subject',
  'reply-to',
  'in-reply-to',
  'references',
];

/** RFC 5322 §3.6: each of these may occur at most once in a message. */
const SINGLE_FIELDS: readonly string[] = KEPT_FIELDS;

/** MIME's own fields: the structure of the content, not the machine. */
function isContentField(key: string): boolean {
  return key === 'mime-version' || key.startsWith('content-');
}

/** The one address of a From field, lowercased; null for none, several, or a group. */
export function singleFromAddress(value: string): string | null {
  const list = addressparser(value);
  if (list.length !== 1) return null;
  const only = list[0];
  if (!only || !('address' in only) || !only.address.includes('@')) return null;
  return only.address.toLowerCase();
}

/** An address under `<username>.<domain>`, and nobody else's. */
export function isOwnAddress(address: string, username: string, domain: string): boolean {
  return parseRecipient(address, domain)?.username === username;
}

/** RFC 5322 §3.6: From exactly once, with one address, under her own subdomain. */
export function checkFrom(message: Entity, username: string, domain: string): Decision {
  const mailDomain = `${username}.${domain}`;
  for (const key of SINGLE_FIELDS) {
    if (fieldsNamed(message, key).length > 1) return refuse(REPLIES.malformed, 'malformed');
  }
  const [from] = fieldsNamed(message, 'from');
  const address = from ? singleFromAddress(from.value) : null;
  if (!address || !isOwnAddress(address, username, domain))
    return refuse(fromNotYours(mailDomain), 'from');
  return ACCEPT;
}

/**
 * With sign-as-nym, the signed part leaves byte for byte, its header fields included (clients
 * repeat From, Subject and more there as "protected headers"). A field kzymy would drop from
 * the outer header must then not be in it either: kzymy refuses rather than send it.
 */
export function checkSignedHeader(signed: Entity, username: string, domain: string): Decision {
  for (const field of signed.fields) {
    if (KEPT_FIELDS.includes(field.key) || isContentField(field.key)) continue;
    return refuse(
      identifyingSignedHeader(field.raw.slice(0, field.raw.indexOf(':')).trim()),
      'identifying_signed_header',
    );
  }
  // A From inside must be hers as well: some clients show the protected From.
  if (fieldsNamed(signed, 'from').length > 0) return checkFrom(signed, username, domain);
  return ACCEPT;
}

/** The signed part's own MIME fields, for when it becomes the whole message's content. */
export function contentFields(signed: Entity): string[] {
  return signed.fields
    .filter((field) =>
      ['content-type', 'content-transfer-encoding', 'content-disposition'].includes(field.key),
    )
    .map((field) => field.raw);
}
