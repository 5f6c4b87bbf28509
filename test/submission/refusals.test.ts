/**
 * What the submission listener refuses, each with its own clear reply, and with nothing handed
 * to the relay: unsigned, signed by another key, changed after signing, signed long ago, From
 * outside the user's subdomain, a sender address not hers, sending switched off, and — with
 * sign-as-nym — a signed part that carries what would identify her machine.
 */
import { expect } from 'chai';
import { GpgHome } from '../helpers/gpg';
import {
  createSender,
  signedMessage,
  startSubmission,
  swaksSubmit,
  type MessageSpec,
  type Sender,
  type SubmissionHarness,
  type SwaksResult,
} from './helpers/harness';

describe('submission: refusals', function () {
  this.timeout(120_000);
  let harness: SubmissionHarness;
  let sender: Sender;
  let other: Sender;
  let stranger: GpgHome;
  let strangerKey: string;

  before(async () => {
    harness = await startSubmission();
    sender = await createSender(harness);
    other = await createSender(harness);
    stranger = await GpgHome.create();
    strangerKey = (await stranger.generateKey('curve25519', 'not the nym')).fingerprint;
  });

  after(async () => {
    await stranger?.dispose();
    await harness?.close();
  });

  function spec(extra: Partial<MessageSpec> = {}): MessageSpec {
    return {
      from: `nym@${sender.mailDomain}`,
      to: ['friend@example.org'],
      subject: 'should not leave',
      body: 'Nothing of this is sent.',
      ...extra,
    };
  }

  /** Submits and insists that the relay got nothing; returns swaks' result. */
  async function refused(
    who: Sender,
    data: string,
    from = `nym@${who.mailDomain}`,
  ): Promise<SwaksResult> {
    const before = harness.relay.received.length;
    const result = await swaksSubmit(harness.servers.plain.port, {
      user: who.user.username,
      password: who.password,
      from,
      to: ['friend@example.org'],
      data,
    });
    expect(harness.relay.received.length, result.transcript).to.equal(before);
    return result;
  }

  it('refuses an unsigned message', async () => {
    const data = [
      `From: nym@${sender.mailDomain}`,
      'To: friend@example.org',
      'Subject: plain',
      '',
      'Not signed at all.',
      '',
    ].join('\r\n');
    const result = await refused(sender, data);
    expect(result.last).to.equal(
      '550 5.7.1 Only messages signed with your key (PGP/MIME, RFC 3156) are sent; nothing was sent',
    );
  });

  it('refuses a message signed with another key', async () => {
    const data = await signedMessage(
      sender,
      harness.gpg,
      spec({ signer: { gpg: stranger, fingerprint: strangerKey } }),
    );
    const result = await refused(sender, data);
    expect(result.last).to.equal(
      '550 5.7.1 The message is signed with a key that is not the one on file; nothing was sent',
    );
  });

  it("refuses a message signed with another user's kzymy key", async () => {
    const data = await signedMessage(
      sender,
      harness.gpg,
      spec({ signer: { gpg: harness.gpg, fingerprint: other.fingerprint } }),
    );
    const result = await refused(sender, data);
    expect(result.last).to.match(/^550 5\.7\.1 The message is signed with a key that is not/);
  });

  it('refuses a message changed after it was signed', async () => {
    const data = await signedMessage(
      sender,
      harness.gpg,
      spec({ tamper: (signed) => signed.replace('Nothing of this', 'All of this') }),
    );
    const result = await refused(sender, data);
    expect(result.last).to.equal(
      '550 5.7.1 The signature does not match the message (changed after signing?); nothing was sent',
    );
  });

  it('refuses a signature made long ago (a replayed message)', async () => {
    // A key cannot sign before it exists, so this one was made in 2020.
    const old = await GpgHome.create();
    try {
      const replayed = await createSender(harness, {}, old, '20200101T000000');
      const lastYear = `${new Date().getUTCFullYear() - 1}0101T000000`;
      const data = await signedMessage(
        replayed,
        old,
        spec({ from: `nym@${replayed.mailDomain}`, signedAt: lastYear }),
      );
      const result = await refused(replayed, data);
      expect(result.last).to.match(/^550 5\.7\.1 The signature was not made within the last day/);
    } finally {
      await old.dispose();
    }
  });

  for (const [what, from] of [
    ['another domain', 'nym@example.org'],
    ["another user's subdomain", () => `nym@${other.mailDomain}`],
    ['a deeper subdomain', () => `nym@x.${sender.mailDomain}`],
    ['two addresses', () => `nym@${sender.mailDomain}, nym@example.org`],
  ] as const) {
    it(`refuses From ${what}`, async () => {
      const header = typeof from === 'function' ? from() : from;
      const data = (await signedMessage(sender, harness.gpg, spec())).replace(
        `From: Nym <nym@${sender.mailDomain}>`,
        `From: ${header}`,
      );
      const result = await refused(sender, data);
      expect(result.last).to.equal(
        `550 5.7.1 From must be exactly one address under ${sender.mailDomain}; nothing was sent`,
      );
    });
  }

  it('refuses a sender address (MAIL FROM) outside her subdomain before the message', async () => {
    const data = await signedMessage(sender, harness.gpg, spec());
    const result = await refused(sender, data, `nym@${other.mailDomain}`);
    expect(result.last).to.equal('553 5.7.1 The sender address must be under your own mail domain');
    expect(result.transcript).not.to.include('DATA');
  });

  it('refuses everything while the user has sending switched off', async () => {
    const off = await createSender(harness, { enabled: false });
    const data = await signedMessage(off, harness.gpg, spec({ from: `nym@${off.mailDomain}` }));
    const result = await refused(off, data);
    expect(result.last).to.equal(
      '550 5.7.1 Sending is off for this account; turn it on in the account settings',
    );
  });

  it('with sign-as-nym, refuses a signed part that carries a field kzymy would remove', async () => {
    const nym = await createSender(harness, { signAsNym: true });
    const data = await signedMessage(
      nym,
      harness.gpg,
      spec({
        from: `nym@${nym.mailDomain}`,
        signedHeaders: [
          `From: nym@${nym.mailDomain}`,
          'Subject: protected',
          'Message-ID: <20250401140307.GA1234@laptop.home.example>',
        ],
      }),
    );
    const result = await refused(nym, data);
    expect(result.last).to.equal(
      '550 5.7.1 The signed part carries a Message-ID header, which kzymy cannot remove without breaking your signature; turn it off in your mail program or turn sign-as-nym off; nothing was sent',
    );
    // Without sign-as-nym the same message goes: the signed part's own fields stay behind.
    await harness.deps.store.users.setSending(nym.user.id, { signAsNym: false });
    const before = harness.relay.received.length;
    const sent = await swaksSubmit(harness.servers.plain.port, {
      user: nym.user.username,
      password: nym.password,
      from: `nym@${nym.mailDomain}`,
      to: ['friend@example.org'],
      data,
    });
    expect(sent.last, sent.transcript).to.equal('250 2.0.0 Sent');
    const relayed = harness.relay.received[before]!.raw.toString('latin1');
    expect(relayed).not.to.include('laptop.home.example');
    expect(relayed).not.to.include('protected');
  });

  it('refuses a multipart/signed message whose parts cannot be found', async () => {
    const data = (await signedMessage(sender, harness.gpg, spec())).replace(
      /--------------sA7yq3Pqv0ZK9w1lWmG2b0sW--/,
      'the close delimiter is gone',
    );
    const result = await refused(sender, data);
    expect(result.last).to.equal(
      '550 5.6.0 The message could not be read as a MIME message; nothing was sent',
    );
  });
});
