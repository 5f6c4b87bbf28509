/**
 * The addresses the Web Key Directory publishes a user's key for (docs/wkd.md): user IDs of her
 * key with a valid self-signature, under her own subdomain, that receive mail. One rule for the
 * directory (routes/wkd.ts) and for what the account page shows.
 */
import { policyAccepts } from '../addresses/recipient';
import { keyAddresses } from '../pgp/wkd';
import type { User } from '../store/types';

export async function publishedAddresses(
  user: User,
  mailDomain: string,
  now: Date,
): Promise<string[]> {
  const addresses = await keyAddresses(user.publicKey, mailDomain, now);
  return addresses.filter((address) =>
    policyAccepts(user.policy, address.slice(0, address.lastIndexOf('@'))),
  );
}
