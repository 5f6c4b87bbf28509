/** HMAC-SHA-256 signatures in lowercase hex, compared in constant time. */
import { createHmac, timingSafeEqual } from 'node:crypto';

export function sign(key: Buffer, data: string): string {
  return createHmac('sha256', key).update(data, 'utf8').digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

export function validSignature(key: Buffer, data: string, signature: string): boolean {
  return safeEqual(sign(key, data), signature);
}
