/**
 * Canary: what a user sends is never kept. A message with a unique string in its body and
 * subject, to a unique recipient address, is sent and refused in several ways; afterwards
 * neither string (raw, or base64 at any alignment) nor the user's name is in kzymy's log lines,
 * its metrics, Redis, or any file of the test run's data directory (the database files
 * included), and the store holds no message for her. Only the relay has the message.
 */
import { randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { GpgHome } from '../helpers/gpg';
import { testDataDir } from '../helpers/services';
import {
  createSender,
  signedMessage,
  startSubmission,
  swaksSubmit,
  type SubmissionHarness,
} from './helpers/harness';

function needles(canary: string): Buffer[] {
  const found = [Buffer.from(canary)];
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.from('xx'.slice(0, shift) + canary).toString('base64');
    found.push(Buffer.from(encoded.slice(Math.ceil((shift * 4) / 3) + 1, -4)));
  }
  return found;
}

async function filesContaining(dir: string, search: Buffer[]): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await filesContaining(path, search)));
    else if (entry.isFile()) {
      const content = await readFile(path).catch(() => Buffer.alloc(0));
      if (search.some((needle) => content.includes(needle))) found.push(path);
    }
  }
  return found;
}

describe('submission: nothing of a sent message is kept', function () {
  this.timeout(120_000);
  let harness: SubmissionHarness;

  before(async () => {
    harness = await startSubmission({ messagesPerHour: 2 });
  });

  after(async () => {
    await harness?.close();
  });

  it('keeps no body, subject or recipient in logs, metrics, Redis or files', async () => {
    const canary = `canary-${randomBytes(8).toString('hex')}`;
    const recipient = `rcpt-${randomBytes(6).toString('hex')}@example.org`;
    const sender = await createSender(harness);
    const from = `nym@${sender.mailDomain}`;
    const spec = { from, to: [recipient], subject: `subject ${canary}`, body: `body ${canary}` };
    const send = (data: string) =>
      swaksSubmit(harness.servers.plain.port, {
        user: sender.user.username,
        password: sender.password,
        from,
        to: [recipient],
        data,
      });

    const sent = await send(await signedMessage(sender, harness.gpg, spec));
    expect(sent.last, sent.transcript).to.equal('250 2.0.0 Sent');
    const stranger = await GpgHome.create();
    try {
      const fingerprint = (await stranger.generateKey('curve25519', 'x')).fingerprint;
      const wrongKey = await signedMessage(sender, harness.gpg, {
        ...spec,
        signer: { gpg: stranger, fingerprint },
      });
      expect((await send(wrongKey)).last).to.match(/^550 5\.7\.1/);
    } finally {
      await stranger.dispose();
    }
    const tampered = await signedMessage(sender, harness.gpg, {
      ...spec,
      tamper: (s) => s.replace('body', 'BODY'),
    });
    expect((await send(tampered)).last).to.match(/^550 5\.7\.1/);
    await send(await signedMessage(sender, harness.gpg, spec));
    expect((await send(await signedMessage(sender, harness.gpg, spec))).last).to.match(
      /^451 4\.7\.0/,
    );

    // The relay got it: the canary was really in play.
    expect(harness.relay.received.some((m) => m.raw.includes(canary))).to.equal(true);
    expect(harness.relay.received.some((m) => m.to.includes(recipient))).to.equal(true);

    const secrets = [canary, recipient, sender.user.username];
    const logs = harness.deps.logLines.join('\n');
    expect(logs).to.include('submission.refused');
    const metrics = await harness.deps.metrics.registry.metrics();
    expect(metrics).to.match(/kzymy_submissions_total\{outcome="sent"\} 2/);
    const redis = harness.deps.redis;
    const keys = await redis.keys(`${harness.deps.config.redis.prefix}*`);
    const values = await Promise.all(
      keys.map(async (key) => ((await redis.type(key)) === 'string' ? await redis.get(key) : '')),
    );
    for (const secret of secrets) {
      expect(logs, secret).not.to.include(secret);
      expect(metrics, secret).not.to.include(secret);
      expect(keys.join('\n'), secret).not.to.include(secret);
      expect(values.join('\n'), secret).not.to.include(secret);
    }
    expect(
      keys.every((key) => /:(send|auth):/.test(key)),
      keys.join('\n'),
    ).to.equal(true);
    expect(await filesContaining(testDataDir(), needles(canary))).to.deep.equal([]);
    expect(await filesContaining(testDataDir(), needles(recipient))).to.deep.equal([]);
    expect(await harness.deps.store.messages.count(sender.user.id)).to.equal(0);
  });
});
