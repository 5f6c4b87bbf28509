/**
 * kzymy's TLS policy, in one place: what every TLS listener offers (docs/threat-model.md, "TLS").
 *
 * - User-facing listeners (IMAP STARTTLS and IMAPS, POP3 STLS and POP3S; the web, when a TLS
 *   proxy fronts it, should match): TLS 1.2 or 1.3 only, and in TLS 1.2 only suites with an
 *   ephemeral key exchange (ECDHE: forward secrecy, so a key stolen later does not decrypt a
 *   recorded session and the LOGIN password in it) and an AEAD cipher (GCM, ChaCha20-Poly1305:
 *   no CBC padding oracles such as LUCKY13). Every client kzymy documents speaks these.
 * - The public MX (Haraka's STARTTLS, config/tls.ini from src/smtp/haraka/config-files.ts): TLS 1.2 or
 *   1.3 with Node's default suites, which still include static-RSA and CBC ones. STARTTLS between
 *   MTAs is opportunistic (RFC 3207 §4.1, RFC 7435): an MTA that cannot agree on a suite sends in
 *   plaintext instead, which is worse than any suite on the list.
 * - Everywhere: client-initiated renegotiation is refused (OpenSSL's SSL_OP_NO_RENEGOTIATION).
 *   Each renegotiation costs the server a full handshake, so a client could spend its CPU at will;
 *   Node's own limit (tls.CLIENT_RENEG_LIMIT) is enforced only on sockets a tls.Server created,
 *   not on the STARTTLS sockets that the engines and Haraka build with `new TLSSocket`, and TLS
 *   1.3 has no renegotiation at all, so nothing legitimate is lost.
 */
import { constants } from 'node:crypto';
import {
  createSecureContext,
  DEFAULT_CIPHERS,
  type SecureContext,
  type SecureContextOptions,
} from 'node:tls';

/** RFC 8446 §B.4: every TLS 1.3 suite is AEAD with an ephemeral key exchange. */
const TLS13_SUITES = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'TLS_AES_128_GCM_SHA256',
];

/** TLS 1.2 suites with ECDHE and an AEAD cipher (RFC 5289, RFC 7905), strongest first. */
const TLS12_FORWARD_SECRET_AEAD = [
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
];

/** The options every user-facing TLS context and server is built with. */
export const USER_TLS_POLICY = Object.freeze({
  minVersion: 'TLSv1.2',
  ciphers: [...TLS13_SUITES, ...TLS12_FORWARD_SECRET_AEAD].join(':'),
  // The server picks from its own order, so a client offering a weak suite first still gets
  // the strongest one both sides have.
  honorCipherOrder: true,
  secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
} as const satisfies SecureContextOptions);

/** The public MX: wider suites for opportunistic STARTTLS, renegotiation refused all the same. */
export const MX_TLS_POLICY = Object.freeze({
  minVersion: 'TLSv1.2',
  ciphers: DEFAULT_CIPHERS,
  honorCipherOrder: true,
  secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
} as const satisfies SecureContextOptions);

/** A context for a user-facing listener (also what an SNI callback hands back). */
export function userTlsContext(key: Buffer, cert: Buffer): SecureContext {
  return createSecureContext({ key, cert, ...USER_TLS_POLICY });
}

/**
 * The MX policy as Haraka's config/tls.ini [main] lines. Haraka 3.3.4 passes `ciphers`,
 * `minVersion`, `honorCipherOrder` and `secureOptions` from there to tls.createSecureContext
 * (tls_socket.js), and its INI reader turns the number into an integer.
 */
export function harakaTlsIniLines(): string[] {
  return [
    `minVersion=${MX_TLS_POLICY.minVersion}`,
    `ciphers=${MX_TLS_POLICY.ciphers}`,
    `honorCipherOrder=${String(MX_TLS_POLICY.honorCipherOrder)}`,
    `secureOptions=${MX_TLS_POLICY.secureOptions}`,
  ];
}
