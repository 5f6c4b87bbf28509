/**
 * The heart of kzymy end to end: swaks → Haraka → kzymy plugin → OpenPGP → FerretDB, then
 * gpg --decrypt gives back the original byte for byte, the outer message says nothing, a
 * new-mail event went out, and a canary never reaches a file or a log in plaintext.
 */
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { sqliteStoreFile } from '../../src/embedded/paths';
import { testDataDir } from '../helpers/services';
import { expectedPlaintext, headerSection, SmtpHarness, swaksReplies } from './helpers/harness';
import { SmtpClient } from './helpers/smtp-client';

describe('smtp: delivery end to end', function () {
  this.timeout(60_000);
  let h: SmtpHarness;

  before(async () => {
    // Haraka at its most verbose, to show the log hook (not the log level) keeps data out.
    h = await SmtpHarness.start({ haraka: { harakaLogLevel: 'data' } });
  });
  after(async () => h?.close());

  it('stores a message that gpg decrypts to Return-Path + Delivered-To + the original, byte for byte', async () => {
    // The exact format: the payload is the delivery headers, then the original (the protected
    // format's end-to-end test is in header-protection.test.ts).
    const alice = await h.addUser({ payloadFormat: 'exact' });
    const rcpt = alice.address('Shop.Alias-7');
    const from = 'sender@example.org';
    const original = Buffer.from(
      [
        'From: Sender <sender@example.org>',
        `To: <${rcpt}>`,
        'Subject: quarterly numbers',
        'Message-ID: <orig-1234@example.org>',
        'Date: Mon, 02 Dec 2024 10:00:00 +0000',
        '',
        'Hello,',
        '.a line that starts with a dot',
        'bye',
        '',
      ].join('\r\n'),
    );
    const file = join(h.deps.config.dataDir, 'original.eml');
    // swaks sends the file, then CR LF . CR LF: the file leaves out the message's last CR LF.
    await writeFile(file, original.subarray(0, -2));
    const event = h.nextEvent(alice.user);
    const { code, transcript } = await h.swaks([
      '--to',
      rcpt,
      '--from',
      from,
      '--tls',
      '--data',
      `@${file}`,
    ]);
    expect(code, transcript).to.equal(0);
    expect(swaksReplies(transcript)).to.include.members(['220 Go ahead.']);
    // The 250 names the delivery by the id of its smtp.delivered log line.
    const id = /^<~ {2}250 2\.0\.0 Message accepted \((\S+)\)$/m.exec(transcript)?.[1];
    expect(id, transcript).to.be.a('string');
    const delivered = (await readFile(h.haraka.logFile, 'utf8'))
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((record) => record.event === 'smtp.delivered');
    expect(delivered.map((record) => record.id)).to.include(id);

    const ciphertext = await h.onlyCiphertext(alice.user);
    const plain = await h.gpg.decrypt(ciphertext);
    expect(plain.toString('latin1')).to.equal(
      expectedPlaintext(from, rcpt, original).toString('latin1'),
    );

    const outer = headerSection(ciphertext);
    for (const secret of [
      'quarterly',
      'sender@example.org',
      'Shop.Alias-7',
      'shop.alias-7',
      'orig-1234',
      '02 Dec 2024',
    ]) {
      expect(outer.toLowerCase()).not.to.include(secret.toLowerCase());
    }
    expect(outer).to.match(/^Subject: \.\.\.$/m);
    expect(outer).to.match(
      /^Content-Type: multipart\/encrypted; protocol="application\/pgp-encrypted";/m,
    );

    const stored = await h.deps.store.messages.list(alice.user.id);
    expect(await event).to.deep.equal({ userId: alice.user.id, uid: stored[0]?.uid });
  });

  it('never writes a canary from Subject or body to the database files, the Haraka directory or any log', async () => {
    const canary = `CANARY${randomBytes(12).toString('hex')}`;
    const bob = await h.addUser();
    const { code, transcript } = await h.swaks([
      '--to',
      bob.address(),
      '--from',
      'x@example.net',
      '--header',
      `Subject: ${canary} subject`,
      '--body',
      `body ${canary} body`,
    ]);
    expect(code, transcript).to.equal(0);
    expect(await h.count(bob.user)).to.equal(1);
    // The plaintext is really in there (so the search below could find it if it leaked).
    expect((await h.gpg.decrypt(await h.onlyCiphertext(bob.user))).toString()).to.include(canary);
    // A clean QUIT from a second client makes sure Haraka has finished its logging.
    const client = await SmtpClient.ready(h.port);
    await client.quit();

    const needles = canaryNeedles(canary);
    // The whole run's data directory: this test's dataDir with the sqlite store (file, log and
    // shared memory), the Haraka directory and Haraka's log; FerretDB's SQLite files and logs,
    // Redis's directory.
    const leaks = await filesContaining(testDataDir(), needles);
    expect(leaks).to.deep.equal([]);
    if (h.deps.config.store.engine === 'sqlite' || !process.env.MONGODB_URL) {
      // The search does read the database: the user's name (stored in clear) is found there.
      const storeDir =
        h.deps.config.store.engine === 'sqlite'
          ? dirname(sqliteStoreFile(h.deps.config.dataDir))
          : join(testDataDir(), 'ferretdb');
      const seen = await filesContaining(storeDir, [Buffer.from(bob.user.username)]);
      expect(seen).not.to.deep.equal([]);
    }
    const logText = h.deps.logLines.join('\n');
    for (const needle of needles) expect(logText).not.to.include(needle.toString('latin1'));
    // Haraka's spool directory is never created (spool_after=-1, and it points nowhere).
    expect(await exists(join(h.haraka.dir, 'no-spool'))).to.equal(false);
  });

  it('keeps client IP addresses and envelope addresses out of Haraka output at every Haraka log level', async () => {
    const carol = await h.addUser();
    const { code } = await h.swaks(['--to', carol.address('ip-test'), '--from', 'ip@example.com']);
    expect(code).to.equal(0);
    const client = await SmtpClient.ready(h.port);
    await client.quit();
    const log = await readFile(h.haraka.logFile, 'utf8');
    expect(log).to.include('"event":"smtp.haraka"');
    // The server's own listening address is the only IP that may appear (clients are on the
    // same loopback address here, so lines are told apart by what they are).
    const lines = log.split('\n').filter((line) => !/"message":"Listening on /.test(line));
    expect(lines.join('\n')).not.to.include('127.0.0.1');
    expect(log).not.to.include('ip@example.com');
    expect(log).not.to.include(carol.user.username);
  });
});

/** The canary as bytes, and base64 of it at each alignment (how a Binary field would hold it). */
function canaryNeedles(canary: string): Buffer[] {
  const needles = [Buffer.from(canary)];
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.from('xx'.slice(0, shift) + canary).toString('base64');
    // Drop the characters that depend on the prefix and on what follows.
    needles.push(Buffer.from(encoded.slice(Math.ceil((shift * 4) / 3) + 1, -4)));
  }
  return needles;
}

async function filesContaining(dir: string, needles: Buffer[]): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await filesContaining(path, needles)));
    else if (entry.isFile()) {
      const content = await readFile(path);
      if (needles.some((needle) => content.includes(needle))) found.push(path);
    }
  }
  return found;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
