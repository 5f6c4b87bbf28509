/**
 * Sending as the nym end to end: swaks submits GnuPG-signed PGP/MIME messages to kzymy's
 * submission listener, which checks them and hands them to a real `smtp-server` relay. What the
 * relay receives is checked byte for byte (From the nym, none of the machine's headers, a DKIM
 * signature mailauth verifies against the record the test publishes); every refusal is a clear
 * reply with nothing handed over.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { readEntity, fieldsNamed } from '../../src/submission/headers';
import { readSigned } from '../../src/submission/signed-parts';
import { GpgHome } from '../helpers/gpg';
import {
  createSender,
  MACHINE_HEADERS,
  signedMessage,
  startSubmission,
  swaksSubmit,
  type MessageSpec,
  type Sender,
  type SubmissionHarness,
} from './helpers/harness';

/** The DNS the relay's recipients would ask: only the test's DKIM record exists. */
function resolverFor(harness: SubmissionHarness) {
  return async (name: string, type: string): Promise<string[][]> => {
    if (type === 'TXT' && name === `${harness.dkimSelector}._domainkey.kzymy.test`)
      return [[harness.dkimRecord]];
    throw Object.assign(new Error(`${name} not found`), { code: 'ENOTFOUND' });
  };
}

function headerOf(raw: Buffer): string {
  const text = raw.toString('latin1');
  return text.slice(0, text.indexOf('\r\n\r\n'));
}

describe('submission: sending as the nym', function () {
  this.timeout(120_000);
  let harness: SubmissionHarness;
  let sender: Sender;
  let nym: string;

  before(async () => {
    harness = await startSubmission();
    sender = await createSender(harness);
    nym = `nym@${sender.mailDomain}`;
  });

  after(async () => {
    await harness?.close();
  });

  function spec(extra: Partial<MessageSpec> = {}): MessageSpec {
    return {
      from: nym,
      to: ['friend@example.org'],
      subject: 'hello from the nym',
      body: 'Hello,\nthis is signed.\n-- \nnym',
      ...extra,
    };
  }

  async function submit(who: Sender, data: string, envelope: { to?: string[] } = {}) {
    return swaksSubmit(harness.servers.plain.port, {
      user: who.user.username,
      password: who.password,
      from: `nym@${who.mailDomain}`,
      to: envelope.to ?? ['friend@example.org'],
      data,
    });
  }

  it('sends a signed message: From the nym, DKIM-signed, nothing of the machine, no signature', async () => {
    const before = harness.relay.received.length;
    const started = Date.now();
    const data = await signedMessage(sender, harness.gpg, spec());
    const result = await submit(sender, data, { to: ['friend@example.org', 'other@example.net'] });

    expect(result.last, harness.deps.logLines.join('\n')).to.equal('250 2.0.0 Sent');
    expect(harness.relay.received.length).to.equal(before + 1);
    const relayed = harness.relay.received[before]!;
    expect(relayed.from).to.equal(nym);
    expect(relayed.to).to.deep.equal(['friend@example.org', 'other@example.net']);

    const header = headerOf(relayed.raw);
    for (const line of MACHINE_HEADERS) {
      const name = line.slice(0, line.indexOf(':'));
      expect(header, name).not.to.include(line);
    }
    expect(header).not.to.match(
      /^(Received|User-Agent|X-Mailer|X-Originating-IP|Content-Language):/im,
    );
    expect(relayed.raw.toString('latin1')).not.to.include('laptop.home.example');
    expect(relayed.raw.toString('latin1')).not.to.include('192.168.1.23');
    const message = readEntity(relayed.raw.toString('latin1'))!;
    expect(fieldsNamed(message, 'from').map((f) => f.value)).to.deep.equal([`Nym <${nym}>`]);
    const [date] = fieldsNamed(message, 'date');
    expect(date?.value).to.match(/ \+0000$/);
    const sentAt = Date.parse(date!.value);
    expect(sentAt).to.be.within(Math.floor(started / 1000) * 1000, Date.now());
    const [messageId] = fieldsNamed(message, 'message-id');
    expect(messageId?.value).to.match(/^<[0-9a-f]{32}@kzymy\.test>$/);
    // Not sign-as-nym: the signed content is the message, without the signature.
    expect(fieldsNamed(message, 'content-type')[0]?.value).to.equal('text/plain; charset=utf-8');
    expect(message.body).to.equal('Hello,\r\nthis is signed.\r\n-- \r\nnym\r\n');
    expect(relayed.raw.toString('latin1')).not.to.include('PGP SIGNATURE');

    const dkim = await dkimVerify(relayed.raw, { resolver: resolverFor(harness) });
    expect(dkim.results).to.have.length(1);
    expect(dkim.results[0]?.status.result, dkim.results[0]?.info).to.equal('pass');
    expect(dkim.results[0]?.signingDomain).to.equal('kzymy.test');
  });

  it('keeps the signature with sign-as-nym, and GnuPG verifies it on what the relay got', async () => {
    const signer = await createSender(harness, { signAsNym: true });
    const before = harness.relay.received.length;
    const data = await signedMessage(
      signer,
      harness.gpg,
      spec({ from: `nym@${signer.mailDomain}` }),
    );
    const result = await submit(signer, data);

    expect(result.last, result.transcript).to.equal('250 2.0.0 Sent');
    const relayed = harness.relay.received[before]!;
    const text = relayed.raw.toString('latin1');
    expect(text).not.to.include('This is an OpenPGP/MIME signed message');
    expect(text).not.to.include('OpenPGP_signature.asc');
    expect(text).not.to.include('------------sA7yq3Pqv0ZK9w1lWmG2b0sW');
    const message = readEntity(text)!;
    const signed = readSigned(message);
    if (!signed.ok) throw new Error(`relayed message is not multipart/signed: ${signed.problem}`);

    const verifier = await GpgHome.create();
    try {
      await verifier.importKeys(await harness.gpg.exportPublic(signer.fingerprint));
      const sigFile = join(verifier.dir, 'signature.asc');
      const dataFile = join(verifier.dir, 'signed.txt');
      await writeFile(sigFile, signed.parts.armoredSignature);
      await writeFile(dataFile, Buffer.from(signed.parts.signed, 'latin1'));
      const verified = await verifier.run(['--status-fd', '1', '--verify', sigFile, dataFile]);
      expect(verified.stdout.toString()).to.match(/\[GNUPG:\] GOODSIG /);
      expect(verified.stdout.toString()).to.include(`VALIDSIG ${signer.fingerprint}`);
    } finally {
      await verifier.dispose();
    }
    const dkim = await dkimVerify(relayed.raw, { resolver: resolverFor(harness) });
    expect(dkim.results[0]?.status.result).to.equal('pass');
  });

  it('sends 8-bit text and lines that start with a dot byte for byte', async () => {
    const before = harness.relay.received.length;
    const body = 'Grüße aus dem Versteck — ½ €\n.a line starting with a dot\n..and two';
    const data = await signedMessage(sender, harness.gpg, spec({ body }));
    const result = await submit(sender, Buffer.from(data, 'utf8').toString('latin1'));
    expect(result.last, result.transcript).to.equal('250 2.0.0 Sent');
    const relayed = harness.relay.received[before]!;
    const message = readEntity(relayed.raw.toString('latin1'))!;
    expect(Buffer.from(message.body, 'latin1').toString('utf8')).to.equal(
      body.replace(/\n/g, '\r\n') + '\r\n',
    );
    const dkim = await dkimVerify(relayed.raw, { resolver: resolverFor(harness) });
    expect(dkim.results[0]?.status.result).to.equal('pass');
  });

  it('accepts a text-mode signature (gpg --textmode, as neomutt asks for)', async () => {
    const before = harness.relay.received.length;
    const data = await signedMessage(sender, harness.gpg, spec({ textmode: true }));
    const result = await submit(sender, data);
    expect(result.last, result.transcript).to.equal('250 2.0.0 Sent');
    expect(harness.relay.received.length).to.equal(before + 1);
  });

  it('takes the same on the implicit-TLS port (RFC 8314)', async () => {
    const before = harness.relay.received.length;
    const data = await signedMessage(sender, harness.gpg, spec());
    const result = await swaksSubmit(harness.servers.tls.port, {
      user: sender.user.username,
      password: sender.password,
      from: nym,
      to: ['friend@example.org'],
      data,
      tls: 'on-connect',
    });
    expect(result.last, result.transcript).to.equal('250 2.0.0 Sent');
    expect(harness.relay.received.length).to.equal(before + 1);
  });

  it('lets a loopback (onion) client log in without TLS, and refuses a wrong password with 535', async () => {
    const data = await signedMessage(sender, harness.gpg, spec());
    const clear = await swaksSubmit(harness.servers.plain.port, {
      user: sender.user.username,
      password: sender.password,
      from: nym,
      to: ['friend@example.org'],
      data,
      tls: 'none',
    });
    expect(clear.transcript).not.to.include('TLS started');
    expect(clear.last, clear.transcript).to.equal('250 2.0.0 Sent');

    const wrong = await swaksSubmit(harness.servers.plain.port, {
      user: sender.user.username,
      password: 'not-the-password',
      from: nym,
      to: ['friend@example.org'],
      data,
    });
    expect(wrong.replies).to.include('535 5.7.8 Authentication failed');
  });
});
