/**
 * The end of DATA on the submission listener: every check, then the relay, as one decision.
 *
 *   the account may send → PGP/MIME signed (RFC 3156) → by the key on file, recently →
 *   From is hers → (sign-as-nym: nothing identifying inside the signed part) → within the caps →
 *   rebuilt (src/submission/outgoing.ts) → DKIM-signed → handed to the relay, all recipients
 *   or none.
 *
 * Nothing is written anywhere on the way: the message lives in this call's memory, and once the
 * relay has answered nothing about it is kept (docs/sending.md).
 */
import type { DaemonDeps } from '../daemon-deps';
import { checkDetachedSignature, type SignatureProblem } from '../pgp/detached-signature';
import type { SendCaps } from './caps';
import {
  ACCEPT,
  capReached,
  refuse,
  REPLIES,
  type Decision,
  type Refusal,
  type SmtpReply,
} from './decision';
import { dkimSignMessage, type DkimKey } from './dkim';
import { readEntity } from './headers';
import { composeOutgoing } from './outgoing';
import { relayMessage, type RelayOutcome, type RelayTarget } from './relay';
import { checkFrom, checkSignedHeader } from './sender-check';
import { readSigned } from './signed-parts';

export interface SubmissionContext {
  deps: DaemonDeps;
  caps: SendCaps;
  dkim: DkimKey;
  relay: RelayTarget;
}

/** Who authenticated on the connection. */
export interface SessionUser {
  id: string;
  username: string;
}

/** A signature made longer ago than this is refused: an old signed message replayed. */
export const MAX_SIGNATURE_AGE_MS = 24 * 3_600_000;

const SIGNATURE_REFUSALS: Record<
  Exclude<SignatureProblem, 'key-unusable'>,
  { reply: SmtpReply; reason: Refusal }
> = {
  'not-a-signature': { reply: REPLIES.unsigned, reason: 'unsigned' },
  'wrong-key': { reply: REPLIES.wrongKey, reason: 'wrong_key' },
  'bad-signature': { reply: REPLIES.badSignature, reason: 'bad_signature' },
  stale: { reply: REPLIES.staleSignature, reason: 'stale_signature' },
};

/** Whether the account may send at all (also asked at MAIL FROM). */
export async function mayUserSend(deps: DaemonDeps, userId: string): Promise<boolean> {
  const user = await deps.store.users.byId(userId);
  return user !== null && user.state === 'active' && user.sending.enabled;
}

export async function submitMessage(
  ctx: SubmissionContext,
  who: SessionUser,
  envelope: { from: string; to: readonly string[] },
  raw: Buffer,
): Promise<Decision> {
  const { deps } = ctx;
  const domain = deps.config.domain;
  // Read again: the switch or the key may have changed since AUTH.
  const user = await deps.store.users.byId(who.id);
  if (!user || user.state !== 'active' || !user.sending.enabled)
    return refuse(REPLIES.sendingOff, 'sending_off');

  const message = readEntity(raw.toString('latin1'));
  if (!message) return refuse(REPLIES.malformed, 'malformed');
  const signed = readSigned(message);
  if (!signed.ok) {
    return signed.problem === 'unsigned'
      ? refuse(REPLIES.unsigned, 'unsigned')
      : refuse(REPLIES.malformed, 'malformed');
  }
  const { parts } = signed;
  const now = deps.clock();
  const signature = await checkDetachedSignature({
    signed: Buffer.from(parts.signed, 'latin1'),
    armoredSignature: parts.armoredSignature,
    publicKeyArmored: user.publicKey,
    now,
    maxAgeMs: MAX_SIGNATURE_AGE_MS,
  });
  if (!signature.ok) {
    if (signature.problem === 'key-unusable') return refuse(REPLIES.localError, 'tempfail');
    const { reply, reason } = SIGNATURE_REFUSALS[signature.problem];
    return refuse(reply, reason);
  }
  const from = checkFrom(message, user.username, domain);
  if (from.kind !== 'accept') return from;
  const keep = user.sending.signAsNym;
  if (keep) {
    const inside = checkSignedHeader(parts.signedEntity, user.username, domain);
    if (inside.kind !== 'accept') return inside;
  }

  const reservation = await ctx.caps.reserve(user.id, envelope.to.length);
  if (!reservation.ok) {
    return refuse(
      capReached(reservation.unit, reservation.per, reservation.limit),
      reservation.per === 'hour' ? 'hourly_cap' : 'daily_cap',
    );
  }
  let outcome: RelayOutcome | undefined;
  try {
    const outgoing = composeOutgoing({
      message,
      parts,
      signature: keep ? { armored: signature.armored, micalg: signature.micalg } : null,
      submittedAt: now,
      domain,
    });
    const dkimSigned = await dkimSignMessage(ctx.dkim, Buffer.from(outgoing, 'latin1'), now);
    outcome = await relayMessage(ctx.relay, envelope, dkimSigned);
    return relayDecision(outcome);
  } finally {
    // Counted only what the relay took. (A failure to uncount leaves the cap a little tighter.)
    if (outcome?.kind !== 'sent') await reservation.release().catch(() => undefined);
  }
}

function relayDecision(outcome: RelayOutcome): Decision {
  switch (outcome.kind) {
    case 'sent':
      return ACCEPT;
    case 'unavailable':
      return refuse(REPLIES.relayUnavailable, 'relay_unavailable');
    case 'refused':
      if (outcome.stage === 'recipient') {
        return outcome.permanent
          ? refuse(REPLIES.relayRefusedRecipient, 'relay_refused')
          : refuse(REPLIES.relayDeferredRecipient, 'relay_refused');
      }
      return outcome.permanent
        ? refuse(REPLIES.relayRefused, 'relay_refused')
        : refuse(REPLIES.relayDeferred, 'relay_refused');
  }
}
