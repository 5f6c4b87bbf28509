/**
 * A child process that profiles one hot loop of kzymy code with the V8 sampling profiler (the
 * same profiler and file format as `node --cpu-prof`), leaving out start-up and warm-up.
 *
 *   node dist/bench/profile-child.js encrypt KEYFILE SIZE COUNT OUT.cpuprofile
 *   node dist/bench/profile-child.js encrypt-memory KEYFILE SIZE
 *   node dist/bench/profile-child.js capture-memory SIZE
 *
 * The memory jobs print {"growthKiB": N}: VmHWM after one encryption as a delivery makes it (or
 * one SMTP data capture, line by line as Haraka hands it over) minus VmRSS before, after a warm-up.
 * OpenPGP.js is loaded from its unminified build so that the profile names real functions
 * (`getEncryptionKey`, not `Gr`); the code is the same, only the names differ.
 */
import { writeFileSync, readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import Module from 'node:module';
import { DataCapture } from '../src/smtp/data-capture';
import type { EncryptInput } from '../src/pgp/pgp-mime';
import { benchEncryptInput, makeMessage } from './messages';
import { resetPeak, statusKiB } from './proc';

type Resolver = (request: string, ...rest: unknown[]) => string;
const moduleInternals = Module as unknown as { _resolveFilename: Resolver };
const resolve = moduleInternals._resolveFilename;
moduleInternals._resolveFilename = function (request: string, ...rest: unknown[]): string {
  const resolved = resolve.call(this, request, ...rest);
  return request === 'openpgp' ? resolved.replace(/openpgp\.min\.cjs$/, 'openpgp.cjs') : resolved;
};

async function main(): Promise<void> {
  const [job, ...args] = process.argv.slice(2);
  if (job === 'encrypt') return profileEncrypt(args);
  if (job === 'encrypt-memory') return encryptMemory(args);
  if (job === 'capture-memory') return captureMemory(args);
  throw new Error('usage: profile-child encrypt|encrypt-memory|capture-memory ...');
}

type PgpMime = typeof import('../src/pgp/pgp-mime');

function loadPgpMime(keyFile: string): { pgpMime: PgpMime; input: (raw: Buffer) => EncryptInput } {
  // Loaded after the resolver patch, so pgp-mime gets the unminified OpenPGP.js.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pgpMime = require('../src/pgp/pgp-mime') as PgpMime;
  const armored = readFileSync(keyFile, 'utf8');
  const input = (raw: Buffer): EncryptInput => benchEncryptInput(raw, armored);
  return { pgpMime, input };
}

function encrypter(keyFile: string): (raw: Buffer) => Promise<Buffer> {
  const { pgpMime, input } = loadPgpMime(keyFile);
  return (raw) => pgpMime.encryptToPgpMime(input(raw));
}

/**
 * Encrypts as a delivery does: the parts go on as they are made (to the chunk writes there,
 * dropped here), so only what the encryption itself holds is measured.
 */
function deliveryEncrypter(keyFile: string): (raw: Buffer) => Promise<number> {
  const { pgpMime, input } = loadPgpMime(keyFile);
  return async (raw) => {
    let bytes = 0;
    for await (const part of await pgpMime.encryptToPgpMimeParts(input(raw))) bytes += part.length;
    return bytes;
  };
}

async function profileEncrypt([keyFile, size, count, out]: string[]): Promise<void> {
  if (!keyFile || !size || !count || !out) throw new Error('usage: encrypt KEYFILE SIZE COUNT OUT');
  const encryptRaw = encrypter(keyFile);
  const raw = makeMessage(Number(size));
  const encrypt = (): Promise<Buffer> => encryptRaw(raw);
  for (let i = 0; i < 20; i++) await encrypt();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  for (let i = 0; i < Number(count); i++) await encrypt();
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(out, JSON.stringify(profile));
  session.disconnect();
}

async function encryptMemory([keyFile, size]: string[]): Promise<void> {
  if (!keyFile || !size) throw new Error('usage: encrypt-memory KEYFILE SIZE');
  const encrypt = deliveryEncrypter(keyFile);
  const raw = makeMessage(Number(size));
  await encrypt(makeMessage(10 * 1024));
  const growth = await measureGrowth(() => encrypt(raw));
  process.stdout.write(JSON.stringify({ growthKiB: growth }) + '\n');
}

async function captureMemory([size]: string[]): Promise<void> {
  if (!size) throw new Error('usage: capture-memory SIZE');
  const raw = makeMessage(Number(size));
  const growth = await measureGrowth(async () => {
    const capture = new DataCapture(raw.length + 1);
    // Haraka hands the DATA state one line (up to and including LF) at a time.
    for (let at = 0; at < raw.length; ) {
      const lf = raw.indexOf(0x0a, at);
      const end = lf < 0 ? raw.length : lf + 1;
      capture.push(raw.subarray(at, end));
      at = end;
    }
    return capture.pieces();
  });
  process.stdout.write(JSON.stringify({ growthKiB: growth }) + '\n');
}

async function measureGrowth(work: () => Promise<unknown>): Promise<number> {
  resetPeak(process.pid);
  const before = statusKiB(process.pid, 'VmRSS');
  const result = await work();
  const peak = statusKiB(process.pid, 'VmHWM');
  void result;
  return peak - before;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`profile-child: ${String(error)}\n`);
    process.exit(1);
  },
);
