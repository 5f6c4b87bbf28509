/**
 * The web service's HMAC key: signs proof-of-work challenges and pre-login form tokens, so that
 * neither needs server-side state until it is used. From `web.secretFile`, or generated once
 * under the data directory. Each use gets its own subkey, so a token of one kind can never pass
 * as another.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { link, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KzymyConfig } from '../config/schema';
import { resolveDataDir } from '../embedded/paths';

const MIN_SECRET_BYTES = 32;

export type SecretPurpose = 'pow' | 'form';

export interface WebKeys {
  pow: Buffer;
  form: Buffer;
}

export async function loadWebKeys(config: Readonly<KzymyConfig>): Promise<WebKeys> {
  const secret = config.web.secretFile
    ? await readConfigured(config.web.secretFile)
    : await readOrCreate(join(resolveDataDir(config.dataDir), 'web', 'secret'));
  return { pow: subkey(secret, 'pow'), form: subkey(secret, 'form') };
}

function subkey(secret: Buffer, purpose: SecretPurpose): Buffer {
  return createHmac('sha256', secret).update(`kzymy web ${purpose}`).digest();
}

async function readConfigured(file: string): Promise<Buffer> {
  let secret: Buffer;
  try {
    secret = await readFile(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new Error(`web.secretFile: cannot read ${file} (${code})`);
  }
  if (secret.length < MIN_SECRET_BYTES) {
    throw new Error(
      `web.secretFile: ${file} holds ${secret.length} bytes; it needs at least ${MIN_SECRET_BYTES} random bytes (head -c 32 /dev/urandom > FILE)`,
    );
  }
  return secret;
}

async function readOrCreate(file: string): Promise<Buffer> {
  mkdirSync(join(file, '..'), { recursive: true, mode: 0o700 });
  // Written aside, then linked into place: link() fails if the file exists, so exactly one
  // process creates it, and nobody ever reads a half-written one.
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await writeFile(draft, randomBytes(MIN_SECRET_BYTES), { flag: 'wx', mode: 0o600 });
  try {
    await link(draft, file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    await unlink(draft);
  }
  return readConfigured(file);
}
