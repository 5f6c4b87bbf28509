/**
 * Per-user caps and the relay's refusals, on the wire (a raw SMTP client, so each reply is seen
 * where it is given): recipients per message at RCPT, messages per hour and per day at MAIL FROM,
 * recipients per hour at the end of DATA; and a relay that refuses or defers one recipient, or
 * cannot be reached, leaves nothing sent to anyone and nothing counted.
 */
import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { SMTPServer } from 'smtp-server';
import { relayMessage } from '../../src/submission/relay';
import { dotStuff, SmtpClient, type Reply } from '../smtp/helpers/smtp-client';
import { createTestCa } from '../web/helpers/tls-front';
import {
  createSender,
  RELAY_PASSWORD,
  RELAY_USER,
  signedMessage,
  startSubmission,
  type Sender,
  type SubmissionHarness,
} from './helpers/harness';

/** A logged-in client on the loopback listener (plaintext AUTH is allowed there, as for Tor). */
async function loggedIn(harness: SubmissionHarness, who: Sender): Promise<SmtpClient> {
  const client = await SmtpClient.ready(harness.servers.plain.port);
  const token = Buffer.from(`\0${who.user.username}\0${who.password}`).toString('base64');
  await client.command(`AUTH PLAIN ${token}`, 235);
  return client;
}

interface Attempt {
  /** The reply that ended the attempt. */
  reply: Reply;
  /** Replies to each RCPT, in order. */
  rcpt: number[];
}

/** MAIL, RCPTs, and DATA when every RCPT got 250 (else RSET): the deciding reply. */
async function attempt(
  harness: SubmissionHarness,
  who: Sender,
  to: string[],
  data?: string,
): Promise<Attempt> {
  const client = await loggedIn(harness, who);
  try {
    const mail = await client.command(`MAIL FROM:<nym@${who.mailDomain}>`);
    if (mail.code !== 250) return { reply: mail, rcpt: [] };
    const rcpt: number[] = [];
    let refusal: Reply | undefined;
    for (const address of to) {
      const reply = await client.command(`RCPT TO:<${address}>`);
      rcpt.push(reply.code);
      if (reply.code !== 250) refusal ??= reply;
    }
    if (refusal) {
      await client.command('RSET', 250);
      return { reply: refusal, rcpt };
    }
    await client.command('DATA', 354);
    const message =
      data ??
      (await signedMessage(who, harness.gpg, {
        from: `nym@${who.mailDomain}`,
        to,
        subject: 'capped',
        body: 'counted',
      }));
    client.write(Buffer.concat([dotStuff(Buffer.from(message, 'latin1')), Buffer.from('.\r\n')]));
    return { reply: await client.reply(), rcpt };
  } finally {
    await client.quit();
  }
}

const text = (reply: Reply): string => `${reply.code} ${reply.lines.join(' ')}`;

describe('submission: caps', function () {
  this.timeout(120_000);
  let harness: SubmissionHarness;
  const realClock = (): Date => new Date();
  let offsetMs = 0;

  before(async () => {
    harness = await startSubmission({
      maxRecipients: 3,
      messagesPerHour: 2,
      messagesPerDay: 3,
      recipientsPerHour: 4,
      recipientsPerDay: 100,
    });
    // An hour later still the same UTC day (the day cap must not reset under the test).
    const hour = new Date().getUTCHours();
    const base = hour >= 22 ? -3 * 3_600_000 : 0;
    offsetMs = base;
    harness.deps.clock = () => new Date(realClock().getTime() + offsetMs);
  });

  after(async () => {
    await harness?.close();
  });

  it('counts messages per hour (451 at MAIL FROM) and per day (550 at MAIL FROM)', async () => {
    const who = await createSender(harness);
    const relayed = harness.relay.received.length;
    expect(text((await attempt(harness, who, ['a@example.org'])).reply)).to.equal('250 2.0.0 Sent');
    expect(text((await attempt(harness, who, ['b@example.org'])).reply)).to.equal('250 2.0.0 Sent');
    const third = await attempt(harness, who, ['c@example.org']);
    expect(text(third.reply)).to.equal(
      '451 4.7.0 Sending limit reached: 2 messages an hour; nothing was sent, try again later',
    );
    expect(third.rcpt).to.deep.equal([]);

    offsetMs += 3_600_000;
    expect(text((await attempt(harness, who, ['c@example.org'])).reply)).to.equal('250 2.0.0 Sent');
    const fourth = await attempt(harness, who, ['d@example.org']);
    expect(text(fourth.reply)).to.equal(
      '550 5.4.5 Sending limit reached: 3 messages a day; nothing was sent, try again tomorrow',
    );
    expect(harness.relay.received.length).to.equal(relayed + 3);
  });

  it('refuses a recipient over the per-message limit with 452 4.5.3 (RFC 5321 §4.5.3.1.10)', async () => {
    const who = await createSender(harness);
    const result = await attempt(harness, who, [
      'a@example.org',
      'b@example.org',
      'c@example.org',
      'd@example.org',
    ]);
    expect(result.rcpt).to.deep.equal([250, 250, 250, 452]);
    expect(text(result.reply)).to.equal('452 4.5.3 Too many recipients: at most 3 a message');
  });

  it('counts recipients per hour at the end of DATA, a refused message not at all', async () => {
    const who = await createSender(harness);
    const relayed = harness.relay.received.length;
    const three = ['a@example.org', 'b@example.org', 'c@example.org'];
    expect(text((await attempt(harness, who, three)).reply)).to.equal('250 2.0.0 Sent');
    const over = await attempt(harness, who, ['d@example.org', 'e@example.org']);
    expect(over.rcpt).to.deep.equal([250, 250]);
    expect(text(over.reply)).to.equal(
      '451 4.7.0 Sending limit reached: 4 recipients an hour; nothing was sent, try again later',
    );
    // The refused message was not counted: one more recipient still fits.
    expect(text((await attempt(harness, who, ['d@example.org'])).reply)).to.equal('250 2.0.0 Sent');
    expect(harness.relay.received.length).to.equal(relayed + 2);
  });
});

describe('submission: the relay refuses, defers or is away', function () {
  this.timeout(120_000);
  let harness: SubmissionHarness;

  before(async () => {
    harness = await startSubmission({ messagesPerHour: 1 });
  });

  after(async () => {
    await harness?.close();
  });

  it('sends to nobody when the relay refuses one recipient, and counts nothing', async () => {
    const who = await createSender(harness);
    const relayed = harness.relay.received.length;
    const aborted = harness.relay.aborted;
    const refused = await attempt(harness, who, ['friend@example.org', 'refuse@example.org']);
    expect(text(refused.reply)).to.equal(
      '550 5.1.0 The relay refused a recipient; nothing was sent to anyone',
    );
    const deferred = await attempt(harness, who, ['friend@example.org', 'defer@example.org']);
    expect(text(deferred.reply)).to.equal(
      '451 4.1.0 The relay deferred a recipient; nothing was sent to anyone, try again later',
    );
    // The relay reached DATA twice and never saw an end of data.
    expect(harness.relay.received.length).to.equal(relayed);
    expect(harness.relay.aborted).to.equal(aborted + 2);
    // With one message an hour allowed, neither attempt was counted.
    expect(text((await attempt(harness, who, ['friend@example.org'])).reply)).to.equal(
      '250 2.0.0 Sent',
    );
  });

  it('hands nothing to a relay whose certificate it cannot verify, or without TLS', async () => {
    const ca = await createTestCa();
    try {
      const auth = { user: RELAY_USER, pass: RELAY_PASSWORD };
      const base = { host: '127.0.0.1', port: harness.relay.port, heloName: 'kzymy.test', auth };
      const envelope = { from: 'nym@x.kzymy.test', to: ['friend@example.org'] };
      const message = Buffer.from('Subject: x\r\n\r\nnot for a stranger\r\n');
      const relayed = harness.relay.received.length;
      const otherCa = await readFile(ca.caCert);
      expect(
        await relayMessage({ ...base, secure: false, ca: otherCa }, envelope, message),
      ).to.deep.equal({ kind: 'unavailable', step: 'connect' });
      // A relay that offers no STARTTLS gets nothing: kzymy does not send in clear.
      let plainReceived = 0;
      const plain = new SMTPServer({
        hideSTARTTLS: true,
        authOptional: true,
        disableReverseLookup: true,
        logger: false,
        onData(stream, _session, callback) {
          plainReceived++;
          stream.resume();
          stream.on('end', () => callback());
        },
      });
      await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
      const address = plain.server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      try {
        const outcome = await relayMessage(
          { host: '127.0.0.1', port, heloName: 'kzymy.test', secure: false },
          envelope,
          message,
        );
        expect(outcome.kind).to.equal('unavailable');
        expect(plainReceived).to.equal(0);
      } finally {
        await new Promise<void>((resolve) => plain.close(() => resolve()));
      }
      expect(harness.relay.received.length).to.equal(relayed);
    } finally {
      await ca.dispose();
    }
  });

  it('answers 451 4.4.1 when the relay cannot be reached, and counts nothing', async () => {
    const who = await createSender(harness);
    await harness.relay.close();
    const first = await attempt(harness, who, ['friend@example.org']);
    expect(text(first.reply)).to.equal(
      '451 4.4.1 The relay could not be reached; nothing was sent, try again later',
    );
    // Not the hourly cap (one message): the failed attempt was uncounted.
    const second = await attempt(harness, who, ['friend@example.org']);
    expect(text(second.reply)).to.equal(text(first.reply));
  });
});
