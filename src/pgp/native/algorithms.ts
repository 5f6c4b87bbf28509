/** The symmetric and hash algorithms the native path uses, by their RFC 9580 §9 IDs. */

export interface AesAlgorithm {
  /** RFC 9580 §9.3 symmetric key algorithm ID. */
  id: number;
  keyBytes: number;
  /** Node's name for the cipher in CFB mode with a full-block segment (RFC 9580 §12.9). */
  cfb: string;
  /** Node's name for the RFC 3394 AES key wrap with this key size. */
  wrap: string;
}

/** RFC 9580 §9.3: 7 AES with 128-bit key, 8 AES with 192-bit key, 9 AES with 256-bit key. */
const AES: ReadonlyMap<number, AesAlgorithm> = new Map(
  [
    { id: 7, keyBytes: 16, cfb: 'aes-128-cfb', wrap: 'id-aes128-wrap' },
    { id: 8, keyBytes: 24, cfb: 'aes-192-cfb', wrap: 'id-aes192-wrap' },
    { id: 9, keyBytes: 32, cfb: 'aes-256-cfb', wrap: 'id-aes256-wrap' },
  ].map((a) => [a.id, a]),
);

/** The AES variant with this ID, or undefined for any other cipher (left to OpenPGP.js). */
export function aes(id: number): AesAlgorithm | undefined {
  return AES.get(id);
}

/** Every AES variant has 128-bit blocks. */
export const AES_BLOCK_BYTES = 16;

/**
 * RFC 9580 §9.5 hash IDs Node knows by name, for the ECDH KDF: 8 SHA2-256, 9 SHA2-384,
 * 10 SHA2-512. RFC 9580 §11.4 requires "SHA2-256 or stronger", so SHA2-224 (11) is not here.
 */
const KDF_HASHES: ReadonlyMap<number, string> = new Map([
  [8, 'sha256'],
  [9, 'sha384'],
  [10, 'sha512'],
]);

export function kdfHash(id: number): string | undefined {
  return KDF_HASHES.get(id);
}
