/**
 * Reading form posts: url-encoded or multipart (for the key file), bounded as a whole by the
 * body limit in app.ts and field by field here. Values are never echoed into errors.
 */
import type { Context } from 'hono';
import { MAX_KEY_BYTES } from '../pgp/key-check';
import { WebError } from './errors';

/** Largest request body: a maximal key pasted *and* carried along as a hidden field, with room. */
export const MAX_BODY_BYTES = 4 * MAX_KEY_BYTES;

export type FormBody = Record<string, string | File>;

export async function readForm(c: Context): Promise<FormBody> {
  const type = c.req.header('content-type') ?? '';
  if (
    !type.startsWith('application/x-www-form-urlencoded') &&
    !type.startsWith('multipart/form-data')
  ) {
    throw new WebError(415, 'Send this form from the page it belongs to.', 'Form refused');
  }
  try {
    return (await c.req.parseBody()) as FormBody;
  } catch (error) {
    if (error instanceof WebError) throw error;
    throw new WebError(400, 'The form data could not be read. Reload the page and try again.');
  }
}

/** A text field, trimmed; '' when absent; a WebError when longer than `max`. */
export function textField(body: FormBody, name: string, max: number): string {
  const value = body[name];
  if (typeof value !== 'string') return '';
  if (value.length > max) {
    throw new WebError(413, `The field "${name}" is too long.`, 'Form refused');
  }
  return value.trim();
}

export type KeyUpload = { kind: 'none' } | { kind: 'data'; data: string | Uint8Array };

/** The key from the file field if a file was chosen, else from the paste field. */
export async function keyUpload(
  body: FormBody,
  fileField: string,
  textName: string,
): Promise<KeyUpload> {
  const file = body[fileField];
  if (file instanceof File && file.size > 0) {
    // Read at most one byte over the limit: key-check reports the size problem itself.
    const bytes = new Uint8Array(await file.slice(0, MAX_KEY_BYTES + 1).arrayBuffer());
    return { kind: 'data', data: bytes };
  }
  const text = body[textName];
  if (typeof text === 'string' && text.trim() !== '') {
    return {
      kind: 'data',
      data: text.length > MAX_KEY_BYTES + 1 ? text.slice(0, MAX_KEY_BYTES + 1) : text,
    };
  }
  return { kind: 'none' };
}
