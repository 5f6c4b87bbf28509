/**
 * Proof of key possession: a random code (and, at signup, the account password) encrypted to
 * the user's key. Only the holder of the private key can read it back, so entering the code
 * proves the key is hers — the modern form of a nym server's "reply to confirm".
 *
 * The message is an ordinary armored OpenPGP message that `gpg --decrypt` reads, made by
 * src/pgp/encryption.ts like the mail itself. The code itself is src/auth/activation-code.ts.
 */

export interface ActivationText {
  username: string;
  mailDomain: string;
  code: string;
  /** Given at signup and on a password change; absent for a key replacement. */
  password?: string;
  validMinutes: number;
}

/** The plaintext of an activation message; the lines "Activation code:" and "Password:" are fixed. */
export function activationText(t: ActivationText): string {
  const lines = [
    'kzymy account',
    '',
    `Username:         ${t.username}`,
    `Mail domain:      ${t.mailDomain}`,
    `Activation code:  ${t.code}`,
  ];
  if (t.password) lines.push(`Password:         ${t.password}`);
  lines.push(
    '',
    `Enter the activation code on the page you came from within ${t.validMinutes} minutes.`,
  );
  if (t.password) {
    lines.push(
      'Keep the password: your mail client needs it, and so does the account page.',
      'kzymy keeps only a hash of it and cannot show it to you again.',
    );
  }
  return lines.join('\n') + '\n';
}

export function passwordText(username: string, password: string): string {
  return [
    'kzymy account',
    '',
    `Username:  ${username}`,
    `Password:  ${password}`,
    '',
    'This is your new password; the old one no longer works.',
    'Update your mail clients. kzymy keeps only a hash of it.',
    '',
  ].join('\n');
}
