/**
 * The account page's sender sections over HTTP without JavaScript: the sending switches (only
 * where the operator offers sending), and the addresses the Web Key Directory publishes.
 */
import { expect } from 'chai';
import { checkPublicKey } from '../../src/pgp/key-check';
import { GpgHome, type TestKey } from '../helpers/gpg';
import { startWeb, type WebHarness } from './helpers/harness';
import { inputValue, unescapeHtml, WebClient } from './helpers/http';
import { activate, logIn, signUp, type SignedUp } from './helpers/signup';

const SENDING = {
  enabled: true,
  // The web pages never reach the relay or read the key; the config needs them all the same.
  relay: { url: 'smtps://relay.example:465', caFile: '' },
  dkim: { keyFile: '/nonexistent/dkim.pem', selector: 'kzymy' },
};

describe('web: sender settings on the account page', function () {
  this.timeout(60_000);
  let gpg: GpgHome;
  let key: TestKey;
  let armored: string;
  let web: WebHarness;
  let receiveOnly: WebHarness;

  before(async () => {
    gpg = await GpgHome.create();
    key = await gpg.generateKey('curve25519', 'nym');
    armored = (await gpg.exportPublic(key.fingerprint)).toString('utf8');
    web = await startWeb({}, { send: SENDING });
    receiveOnly = await startWeb();
  });

  after(async () => {
    await web?.close();
    await receiveOnly?.close();
    await gpg?.dispose();
  });

  async function activeAccount(
    harness: WebHarness,
  ): Promise<{ client: WebClient; account: SignedUp }> {
    const client = new WebClient(harness.base);
    const account = await signUp(client, gpg, armored);
    expect((await activate(client, account)).status).to.equal(200);
    expect((await logIn(client, account.username, account.password)).status).to.equal(303);
    return { client, account };
  }

  it('switches sending and sign-as-nym on and off, each on its own', async () => {
    const { client, account } = await activeAccount(web);
    const stored = async () => (await web.deps.store.users.byName(account.username))?.sending;
    let page = unescapeHtml((await client.get('/account')).body);
    expect(page).to.include('Sending as the nym is off');
    expect(page).to.include('Sign as the nym: off');
    const csrf = inputValue(page, 'csrf');

    page = unescapeHtml(
      (await client.follow(await client.post('/account/sending', { csrf, send: 'on' }))).body,
    );
    expect(page).to.include('Sending is on: messages signed with your key are sent.');
    expect(page).to.include('Sending as the nym is on');
    expect(await stored()).to.deep.equal({ enabled: true, signAsNym: false });

    await client.follow(await client.post('/account/sign-as-nym', { csrf, sign: 'on' }));
    expect(await stored()).to.deep.equal({ enabled: true, signAsNym: true });
    page = unescapeHtml(
      (await client.follow(await client.post('/account/sending', { csrf, send: 'off' }))).body,
    );
    expect(page).to.include('Sending as the nym is off');
    expect(page).to.include('Sign as the nym: on');
    expect(await stored()).to.deep.equal({ enabled: false, signAsNym: true });

    // Without the session's form token nothing changes.
    expect((await client.post('/account/sending', { send: 'on' })).status).to.equal(403);
    expect(await stored()).to.deep.equal({ enabled: false, signAsNym: true });
  });

  it('offers no sending where the operator has not enabled it', async () => {
    const { client, account } = await activeAccount(receiveOnly);
    const page = unescapeHtml((await client.get('/account')).body);
    expect(page).not.to.include('Sending as the nym');
    const csrf = inputValue(page, 'csrf');
    expect((await client.post('/account/sending', { csrf, send: 'on' })).status).to.equal(404);
    const user = await receiveOnly.deps.store.users.byName(account.username);
    expect(user?.sending.enabled).to.equal(false);
  });

  it('lists the addresses the Web Key Directory publishes, and drops a disabled one', async () => {
    const { client, account } = await activeAccount(web);
    const domain = `${account.username}.kzymy.test`;
    let page = unescapeHtml((await client.get('/account')).body);
    expect(page).to.include(`None: your key has no user ID under <code>${domain}</code>`);

    // The key with a user ID under her subdomain (what "Replace the key" would store).
    const own = await GpgHome.create();
    try {
      await own.importKeys(await gpg.exportSecret(key.fingerprint));
      await own.run(['--quick-add-uid', key.fingerprint, `nym@${domain}`]);
      const checked = await checkPublicKey((await own.exportPublic(key.fingerprint)).toString());
      if (!checked.ok) throw new Error(checked.message);
      const user = await web.deps.store.users.byName(account.username);
      await web.deps.store.users.setKey(user!.id, checked.key.fingerprint, checked.key.armored);
    } finally {
      await own.dispose();
    }
    page = unescapeHtml((await client.get('/account')).body);
    expect(page).to.include('Key published for senders');
    expect(page).to.include(`<li><code>nym@${domain}</code></li>`);

    const csrf = inputValue(page, 'csrf');
    await client.follow(
      await client.post('/account/addresses', { csrf, action: 'disable', address: 'nym' }),
    );
    page = unescapeHtml((await client.get('/account')).body);
    expect(page).not.to.include(`<li><code>nym@${domain}</code></li>`);
  });
});
