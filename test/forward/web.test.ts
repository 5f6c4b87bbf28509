/**
 * Forwarding on the account pages, over HTTP without JavaScript: a real kzymy web server and
 * forwarding worker on the run's store engine and Redis, an `smtp-server` destination, and GnuPG
 * to read the code the destination received.
 */
import { expect } from 'chai';
import type { RunningServer } from '../../src/util/running-server';
import { startForwarder, type Forwarder } from '../../src/forward/worker';
import { startWebServer } from '../../src/web/server';
import { startWeb, type WebHarness } from '../web/helpers/harness';
import { inputValue, problemText, WebClient } from '../web/helpers/http';
import { activate, logIn, signUp } from '../web/helpers/signup';
import { startDestination, type TestDestination } from './helpers/destination';
import { ForwardFixture, waitFor } from './helpers/fixture';

/** The code in a decrypted code message. */
function forwardingCode(plaintext: string): string {
  const code = /^Forwarding code:\s+(\S+)\r?$/m.exec(plaintext)?.[1];
  if (!code) throw new Error('not a forwarding code message');
  return code;
}

describe('forward: account pages', function () {
  this.timeout(120_000);
  let fixture: ForwardFixture;
  let destination: TestDestination;
  let web: RunningServer;
  let forwarder: Forwarder;
  let base: string;

  before(async () => {
    fixture = await ForwardFixture.start({ web: { host: '127.0.0.1', port: 0, powBits: 10 } });
    destination = await startDestination();
    web = await startWebServer(fixture.deps);
    base = `http://127.0.0.1:${web.port}`;
    forwarder = startForwarder(fixture.deps);
    await forwarder.scan();
  });

  after(async () => {
    await forwarder?.stop();
    await web?.close();
    await destination?.close();
    await fixture?.close();
  });

  /** A new account, activated and logged in through the pages. */
  async function account(): Promise<{ client: WebClient; username: string }> {
    const client = new WebClient(base);
    const signed = await signUp(client, fixture.gpg, fixture.armored);
    expect((await activate(client, signed)).status).to.equal(200);
    expect((await logIn(client, signed.username, signed.password)).status).to.equal(303);
    return { client, username: signed.username };
  }

  async function post(
    client: WebClient,
    path: string,
    fields: Record<string, string> = {},
  ): Promise<{ status: number; body: string; location: string | null }> {
    const page = await client.get('/account/forward');
    const response = await client.post(path, { csrf: inputValue(page.body, 'csrf'), ...fields });
    return response.status === 303 ? client.follow(response) : response;
  }

  const host = (): string => `127.0.0.1:${destination.port}`;

  it('sets up a destination: a code mailed there encrypted to her key, typed back; then her mail goes there', async () => {
    const { client, username } = await account();
    const user = await fixture.deps.store.users.byName(username);
    if (!user) throw new Error('no user');
    const card = await client.get('/account');
    expect(card.body).to.include('<h2>Forwarding</h2>');
    expect(card.body).to.include('Set up forwarding');

    const before = destination.received.length;
    const sent = await post(client, '/account/forward', {
      address: 'her@example.org',
      host: host(),
    });
    expect(sent.status).to.equal(200);
    expect(sent.body).to.include('A code is on its way');
    const [codeMail] = destination.received.slice(before);
    if (!codeMail) throw new Error('no code message arrived');
    expect(codeMail.to).to.deep.equal(['her@example.org']);
    expect(codeMail.from).to.equal('');
    // The outside is a kzymy stub like every forwarded message; the code only inside.
    const outer = codeMail.data.toString('latin1');
    expect(outer).to.match(/^From: kzymy <postmaster@kzymy\.test>\r\n/);
    expect(outer).to.include(`\r\nTo: ${username}@${username}.kzymy.test\r\n`);
    expect(outer).to.include('\r\nSubject: ...\r\n');
    const code = forwardingCode((await fixture.gpg.decrypt(codeMail.data)).toString('utf8'));
    expect(outer).not.to.include(code);

    const pending = (await fixture.deps.store.users.byId(user.id))?.forward;
    expect(pending?.state).to.equal('pending');
    expect(JSON.stringify(pending)).not.to.include(code);
    expect(sent.body).to.include('Forwarding code');

    // Nothing is forwarded while the destination is unproven.
    await fixture.deposit(user, 1);
    expect((await forwarder.runUser(user.id)).delivered).to.equal(0);

    const wrong = await post(client, '/account/forward/confirm', {
      code: 'AAAA-BBBB-CCCC-DDDD-EEEE',
    });
    expect(wrong.status).to.equal(422);
    expect(problemText(wrong.body)).to.equal(
      'That is not the code mailed to the destination. Nothing was changed.',
    );
    expect((await fixture.deps.store.users.byId(user.id))?.forward?.state).to.equal('pending');

    // Typed as people type: lower case, spaces for dashes.
    const typed = code.toLowerCase().replace(/-/g, ' ');
    const on = await post(client, '/account/forward/confirm', { code: typed });
    expect(on.status).to.equal(200);
    expect(on.body).to.include('Forwarding is on.');
    expect((await fixture.deps.store.users.byId(user.id))?.forward?.state).to.equal('active');
    // The activation nudges the workers: the waiting message goes without another trigger.
    await waitFor('the waiting message forwarded', async () => {
      return (await fixture.deps.store.messages.count(user.id)) === 0;
    });
    const shown = await client.get('/account');
    expect(shown.body).to.include('On: each message goes to <code>her@example.org</code>');
  });

  it('refuses an address of its own domain, and a destination that refuses the code, changing nothing', async () => {
    const { client, username } = await account();
    const own = await post(client, '/account/forward', {
      address: `me@${username}.kzymy.test`,
      host: '',
    });
    expect(own.status).to.equal(422);
    expect(problemText(own.body)).to.equal(
      'Forwarding to an address at kzymy.test would send the mail in a circle.',
    );
    destination.behaviour.rcpt = { code: 550, text: '5.1.1 no such mailbox' };
    try {
      const refused = await post(client, '/account/forward', {
        address: 'nobody@example.org',
        host: host(),
      });
      expect(refused.status).to.equal(422);
      expect(problemText(refused.body)).to.equal(
        'The destination refused the message with the code (550 5.1.1). Check the address. Nothing was changed.',
      );
    } finally {
      destination.behaviour.rcpt = null;
    }
    expect((await fixture.deps.store.users.byName(username))?.forward).to.equal(null);
  });

  it('shows a refusal on the account page, keeps the message, tries again on request, and stops', async () => {
    const { client, username } = await account();
    const sent = await post(client, '/account/forward', {
      address: 'full@example.org',
      host: host(),
    });
    const code = forwardingCode(
      (await fixture.gpg.decrypt(destination.received.at(-1)?.data ?? '')).toString('utf8'),
    );
    expect(sent.status).to.equal(200);
    expect((await post(client, '/account/forward/confirm', { code })).status).to.equal(200);
    const user = await fixture.deps.store.users.byName(username);
    if (!user) throw new Error('no user');

    destination.behaviour.data = { code: 552, text: '5.2.2 mailbox full' };
    try {
      await fixture.deposit(user, 1);
      expect((await forwarder.runUser(user.id)).refused).to.equal(1);
    } finally {
      destination.behaviour.data = null;
    }
    const page = await client.get('/account');
    expect(page.body).to.match(
      /The destination refused a message on \d{4}-\d\d-\d\d \d\d:\d\d UTC/,
    );
    expect(page.body).to.include('<code>552 5.2.2</code>');
    expect(page.body).to.include('1 message is kept here for pickup');
    expect(await fixture.deps.store.messages.count(user.id)).to.equal(1);

    const again = await post(client, '/account/forward/retry');
    expect(again.body).to.include('The kept messages will be offered to the destination again.');
    await waitFor('the kept message forwarded', async () => {
      return (await fixture.deps.store.messages.count(user.id)) === 0;
    });
    expect((await client.get('/account')).body).not.to.include('kept here for pickup');

    const off = await post(client, '/account/forward/stop');
    expect(off.body).to.include('Forwarding is off');
    expect((await fixture.deps.store.users.byId(user.id))?.forward).to.equal(null);
    expect((await client.get('/account')).body).to.include('Off: your mail waits here');
  });

  it('lets an account mail five codes an hour, not more', async () => {
    const { client } = await account();
    for (let i = 0; i < 5; i++) {
      const ok = await post(client, '/account/forward', {
        address: 'her@example.org',
        host: host(),
      });
      expect(ok.status, `code ${i + 1}`).to.equal(200);
    }
    const before = destination.received.length;
    const limited = await post(client, '/account/forward', {
      address: 'her@example.org',
      host: host(),
    });
    expect(limited.status).to.equal(429);
    expect(problemText(limited.body)).to.equal(
      'That is 5 code messages this hour already. Nothing was sent; try again later.',
    );
    expect(destination.received.length).to.equal(before);
  });

  describe('when the operator has not enabled forwarding', () => {
    let plain: WebHarness;
    before(async () => {
      plain = await startWeb();
    });
    after(async () => {
      await plain?.close();
    });

    it('offers no forwarding at all', async () => {
      const client = new WebClient(plain.base);
      const signed = await signUp(client, fixture.gpg, fixture.armored);
      await activate(client, signed);
      await logIn(client, signed.username, signed.password);
      expect((await client.get('/account')).body).not.to.include('Forwarding');
      expect((await client.get('/account/forward')).status).to.equal(404);
    });
  });
});
