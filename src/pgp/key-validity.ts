/** When a key is judged valid: at signup and at each encryption (src/pgp/encryption.ts). */
import type * as openpgp from 'openpgp';

/**
 * How far ahead of ours the clock of the machine that made a key may run. Tails sets its clock
 * from the Tor consensus and can be hours off; a key "created in the future" is otherwise
 * invalid to OpenPGP.js until that moment comes.
 */
export const MAX_CLOCK_SKEW_MS = 2 * 86_400_000;

/**
 * The time at which to judge `key`'s validity: `now`, or, when the key or its newest
 * self-signature was made by a clock running ahead of ours (by at most MAX_CLOCK_SKEW_MS),
 * that moment. Used for signup and for each encryption.
 */
export function keyValidityDate(key: openpgp.Key, now: Date): Date {
  const limit = now.getTime() + MAX_CLOCK_SKEW_MS;
  let newest = now.getTime();
  const consider = (d: Date | null | undefined): void => {
    const t = d?.getTime();
    if (t !== undefined && t > newest && t <= limit) newest = t;
  };
  consider(key.getCreationTime());
  for (const user of key.users) user.selfCertifications.forEach((s) => consider(s.created));
  for (const subkey of key.subkeys) {
    consider(subkey.getCreationTime());
    subkey.bindingSignatures.forEach((s) => consider(s.created));
  }
  return new Date(newest);
}
