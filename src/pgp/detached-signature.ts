// Checking the detached signature of an RFC 3156 PGP/MIME signed message against the key on
// file: a message is sent as the nym only when this says so (docs/sending.md). The answer is
// data: the signature re-armored by OpenPGP.js (no armor headers of the client's program) with
// the micalg it implies, or one problem from a closed set.
import * as openpgp from 'openpgp';
import { MAX_CLOCK_SKEW_MS, parsePublicKey } from './key-check';

export type SignatureProblem =
  /** Not one readable OpenPGP signature packet. */
  | 'not-a-signature'
  /** Made by a key other than the one on file. */
  | 'wrong-key'
  /** By the key on file, but the data changed, or the key was not valid when it signed. */
  | 'bad-signature'
  /** Older than the allowed age, or too far in the future: a replayed or mis-dated message. */
  | 'stale'
  /** The key on file cannot be read (a store problem, not the client's). */
  | 'key-unusable';

export type SignatureCheck =
  | {
      ok: true;
      /** The signature as OpenPGP.js armors it. */
      armored: string;
      /** RFC 3156 §5 micalg: "pgp-" and the hash algorithm's lowercase name. */
      micalg: string;
      created: Date;
    }
  | { ok: false; problem: SignatureProblem };

const ARMOR_CONFIG: openpgp.PartialConfig = { showVersion: false, showComment: false };

export async function checkDetachedSignature(input: {
  /** RFC 3156 §5: the signed part exactly as transmitted, MIME headers and CRLFs included. */
  signed: Uint8Array;
  armoredSignature: string;
  publicKeyArmored: string;
  now: Date;
  /** A signature older than this is refused (a replay of an old signed message). */
  maxAgeMs: number;
}): Promise<SignatureCheck> {
  let signature: openpgp.Signature;
  try {
    signature = await openpgp.readSignature({ armoredSignature: input.armoredSignature });
  } catch {
    return { ok: false, problem: 'not-a-signature' };
  }
  const packet = signature.packets[0];
  // One signature, over the data (RFC 9580 §5.2.1: 0x00 binary or 0x01 canonical text).
  if (
    signature.packets.length !== 1 ||
    !packet ||
    packet.hashAlgorithm === null ||
    (packet.signatureType !== openpgp.enums.signature.binary &&
      packet.signatureType !== openpgp.enums.signature.text)
  ) {
    return { ok: false, problem: 'not-a-signature' };
  }
  let key: openpgp.PublicKey;
  try {
    key = await parsePublicKey(input.publicKeyArmored);
  } catch {
    return { ok: false, problem: 'key-unusable' };
  }
  const ours = new Set(key.getKeyIDs().map((id) => id.toHex()));
  if (!signature.getSigningKeyIDs().some((id) => ours.has(id.toHex()))) {
    return { ok: false, problem: 'wrong-key' };
  }
  const created = packet.created;
  const now = input.now.getTime();
  if (!created || created.getTime() < now - input.maxAgeMs) return { ok: false, problem: 'stale' };
  // A clock running ahead (Tails sets its clock from Tor) signs "in the future": judged at the
  // signature's own time when it is within the skew kzymy allows for keys, refused beyond.
  if (created.getTime() > now + MAX_CLOCK_SKEW_MS) return { ok: false, problem: 'stale' };
  const at = new Date(Math.max(now, created.getTime()));
  try {
    const result = await openpgp.verify({
      message: await openpgp.createMessage({ binary: input.signed }),
      signature,
      verificationKeys: key,
      date: at,
      expectSigned: true,
      format: 'binary',
    });
    for (const entry of result.signatures) await entry.verified;
  } catch {
    return { ok: false, problem: 'bad-signature' };
  }
  const hash = openpgp.enums.read(openpgp.enums.hash, packet.hashAlgorithm);
  return {
    ok: true,
    armored: signature.armor({ ...openpgp.config, ...ARMOR_CONFIG }),
    micalg: `pgp-${String(hash).toLowerCase()}`,
    created,
  };
}
