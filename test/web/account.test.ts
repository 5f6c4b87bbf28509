/**
 * Signup, activation and self-service over HTTP without JavaScript, against the real store and
 * Redis, with every PGP message decrypted by GnuPG.
 */
import { expect } from 'chai';
import { parseRecipient, policyAccepts } from '../../src/addresses/recipient';
import { verifyPassword } from '../../src/auth/password';
import { GpgHome, type TestKey } from '../helpers/gpg';
import { startWeb, type WebHarness } from './helpers/harness';
import {
  activationFields,
  inputValue,
  preText,
  problemText,
  solvePow,
  unescapeHtml,
  WebClient,
} from './helpers/http';
import { activate, createAccount, logIn, signUp, submitKey, type SignedUp } from './helpers/signup';

const DOMAIN = 'kzymy.test';

describe('web signup and self-service over HTTP', function () {
  this.timeout(60_000);
  let gpg: GpgHome;
  let key: TestKey;
  let newKey: TestKey;
  let armored: string;
  let web: WebHarness;

  before(async () => {
    gpg = await GpgHome.create();
    key = await gpg.generateKey('curve25519');
    newKey = await gpg.generateKey('rsa2048');
    armored = (await gpg.exportPublic(key.fingerprint)).toString('utf8');
    web = await startWeb({}, { auth: { failureDelayMs: 200 } });
  });

  after(async () => {
    await web?.close();
    await gpg?.dispose();
  });

  /** A fresh, active account and a client logged in to it. */
  async function activeAccount(): Promise<{ client: WebClient; account: SignedUp }> {
    const client = new WebClient(web.base);
    const account = await signUp(client, gpg, armored);
    expect((await activate(client, account)).status).to.equal(200);
    const login = await logIn(client, account.username, account.password);
    expect(login.status).to.equal(303);
    expect(login.location).to.equal('/account');
    return { client, account };
  }

  it('creates a pending account holding only hashes, and activates it with the decrypted code', async () => {
    const client = new WebClient(web.base);
    const account = await signUp(client, gpg, armored);
    const pending = await web.deps.store.users.byName(account.username);
    expect(pending?.state).to.equal('pending');
    expect(pending?.fingerprint).to.equal(key.fingerprint.toLowerCase());
    expect(pending?.publicKey).to.match(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
    expect(pending?.passwordHash).not.to.include(account.password);
    expect(await verifyPassword(account.password, pending?.passwordHash ?? '')).to.equal(true);
    // Neither the code nor the password is in Redis, only a hash of the code.
    const prefix = web.deps.config.redis.prefix;
    const redisKeys = await web.deps.redis.keys(`${prefix}*`);
    for (const k of redisKeys) {
      if ((await web.deps.redis.type(k)) !== 'string') continue;
      const value = (await web.deps.redis.get(k)) ?? '';
      expect(value).not.to.include(account.code);
      expect(value).not.to.include(account.password);
    }

    // The code waits as long as a pending account lives (retention.pendingSeconds), no longer.
    const ttl = await web.deps.redis.ttl(`${prefix}web:activate:${pending?.id}`);
    expect(ttl).to.be.within(3590, 3600);

    // What GnuPG 2.2 reads: SEIPDv1 with an MDC (mdc_method 2), no AEAD.
    const { status } = await gpg.decryptWithStatus(account.message);
    expect(status).to.include('DECRYPTION_OKAY');
    expect(status.find((line) => line.startsWith('DECRYPTION_INFO '))).to.match(
      /^DECRYPTION_INFO 2 \d+( 0)?$/,
    );

    const done = await activate(client, account);
    expect(done.status).to.equal(200);
    const page = unescapeHtml(done.body);
    expect(page).to.include(`${account.username}.${DOMAIN}`);
    expect(page).to.include(web.deps.config.web.onionAddress);
    for (const client of ['kzymy-fetch', 'fetchmail', 'getmail', 'Thunderbird']) {
      expect(page).to.include(client);
    }
    expect(page).to.include(`username = ${account.username}`);
    expect((await web.deps.store.users.byName(account.username))?.state).to.equal('active');
    // The code is used up.
    const form = await client.get('/activate');
    const again = await activate(client, { ...account, csrf: inputValue(form.body, 'csrf') });
    expect(again.status).to.equal(422);
    expect(problemText(again.body)).to.match(/No account is waiting for activation/);
  });

  it('refuses a wrong activation code, then takes the right one', async () => {
    const client = new WebClient(web.base);
    const account = await signUp(client, gpg, armored);
    const wrong = await activate(client, { ...account, code: 'AAAA-BBBB-CCCC-DDDD-EEEE' });
    expect(wrong.status).to.equal(422);
    expect(problemText(wrong.body)).to.match(/activation code is not right/);
    // Typed in lowercase without dashes: still the code.
    const typed = account.code.toLowerCase().replace(/-/g, ' ');
    const right = await activate(client, {
      ...account,
      csrf: inputValue(wrong.body, 'csrf'),
      code: typed,
    });
    expect(right.status).to.equal(200);
  });

  it('sets its one cookie only at login: HttpOnly, SameSite=Strict, not Secure on loopback', async () => {
    const client = new WebClient(web.base);
    const account = await signUp(client, gpg, armored);
    await activate(client, account);
    const login = await logIn(client, account.username, account.password);
    const cookies = login.headers.getSetCookie();
    expect(cookies).to.have.length(1);
    expect(cookies[0]).to.match(
      /^kzymy_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/,
    );
    const accountPage = await client.get('/account');
    expect(accountPage.status).to.equal(200);
    expect(unescapeHtml(accountPage.body)).to.include(`${account.username}.${DOMAIN}`);
    // Only the server-side session makes it valid: a made-up cookie gets the login page.
    const stranger = new WebClient(web.base);
    stranger.cookies.set('kzymy_session', 'x'.repeat(43));
    const refused = await stranger.get('/account');
    expect(refused.status).to.equal(303);
    expect(refused.location).to.equal('/login');
  });

  it('wrong web passwords from a stranger never keep the owner out (no lock-out)', async () => {
    const victim = new WebClient(web.base);
    const account = await signUp(victim, gpg, armored);
    await activate(victim, account);
    const attacker = new WebClient(web.base);
    for (let i = 0; i < 20; i++) {
      const started = Date.now();
      const res = await logIn(attacker, account.username, `wrong-password-${i}`);
      expect(res.status).to.equal(401);
      expect(problemText(res.body)).to.equal('Wrong username or password.');
      expect(res.headers.getSetCookie()).to.have.length(0);
      // Each wrong answer is held for auth.failureDelayMs (200 ms here).
      expect(Date.now() - started).to.be.at.least(200);
    }
    const owner = await logIn(victim, account.username, account.password);
    expect(owner.status).to.equal(303);
    expect(owner.location).to.equal('/account');
    // A name nobody has answers exactly like a wrong password.
    const nobody = await logIn(attacker, 'nosuchuser2345', 'whatever');
    expect(nobody.status).to.equal(401);
    expect(problemText(nobody.body)).to.equal('Wrong username or password.');
  });

  it('tells the key holder, after activation only, how many other accounts share her key', async () => {
    const shared = await gpg.generateKey('curve25519');
    const sharedArmored = (await gpg.exportPublic(shared.fingerprint)).toString('utf8');
    const warnings: string[] = [];
    for (let i = 0; i < 3; i++) {
      const client = new WebClient(web.base);
      const review = await submitKey(client, sharedArmored);
      // Before the key is proven, nothing is said about other accounts: anyone can upload
      // anyone's public key.
      expect(unescapeHtml(review.body)).not.to.match(/other accounts? on this server/);
      const account = await signUp(client, gpg, sharedArmored);
      const activated = await activate(client, account);
      expect(activated.status).to.equal(200);
      const text = unescapeHtml(activated.body).replace(/\s+/g, ' ');
      warnings.push(/also the key of (\d+) other accounts?/.exec(text)?.[1] ?? 'none');
      // Only the onion address is configured: no clearnet address is shown.
      expect(text).to.include('Onion address');
      expect(text).not.to.include('Clearnet address');
      if (i === 2) {
        await logIn(client, account.username, account.password);
        const page = unescapeHtml((await client.get('/account')).body).replace(/\s+/g, ' ');
        expect(page).to.include('also the key of 2 other accounts');
      }
    }
    expect(warnings).to.deep.equal(['none', '1', '2']);
  });

  it('tells the owner of a disabled account so at login, and lets her in once enabled', async () => {
    const { account } = await activeAccount();
    const user = await web.deps.store.users.byName(account.username);
    await web.deps.store.users.disable(user!.id);
    const client = new WebClient(web.base);
    const refused = await logIn(client, account.username, account.password);
    expect(refused.status).to.equal(403);
    expect(problemText(refused.body)).to.equal(
      'This account has been disabled by the server operator.',
    );
    // A wrong password gets the usual answer: the state is told only to the owner.
    expect(problemText((await logIn(client, account.username, 'wrong')).body)).to.equal(
      'Wrong username or password.',
    );
    await web.deps.store.users.enable(user!.id);
    expect((await logIn(client, account.username, account.password)).status).to.equal(303);
  });

  it('kills a leaked address in one step, and turns the catch-all off and on', async () => {
    const { client, account } = await activeAccount();
    const domain = `${account.username}.${DOMAIN}`;
    const accepts = async (address: string): Promise<boolean> => {
      const recipient = parseRecipient(address, DOMAIN);
      const user = await web.deps.store.users.byName(recipient?.username ?? '');
      return !!user && !!recipient && policyAccepts(user.policy, recipient.local);
    };
    expect(await accepts(`leaked@${domain}`)).to.equal(true);

    const page = await client.get('/account');
    const csrf = inputValue(page.body, 'csrf');
    const disabled = await client.post('/account/addresses', {
      csrf,
      action: 'disable',
      address: `Leaked@${domain}`,
    });
    expect(disabled.status).to.equal(303);
    const shown = await client.follow(disabled);
    expect(unescapeHtml(shown.body)).to.include('The address is disabled');
    expect(unescapeHtml(shown.body)).to.include(`leaked@${domain}`);
    expect(await accepts(`leaked@${domain}`)).to.equal(false);
    expect(await accepts(`shop@${domain}`)).to.equal(true);

    await client.follow(await client.post('/account/catch-all', { csrf, catchall: 'off' }));
    await client.follow(
      await client.post('/account/addresses', { csrf, action: 'allow', address: 'shop' }),
    );
    expect(await accepts(`shop@${domain}`)).to.equal(true);
    expect(await accepts(`other@${domain}`)).to.equal(false);
    expect(await accepts(`leaked@${domain}`)).to.equal(false);

    // An address of somebody else's domain is refused with a reason, and changes nothing.
    const foreign = await client.post('/account/addresses', {
      csrf,
      action: 'allow',
      address: `x@someoneelse.${DOMAIN}`,
    });
    expect(foreign.status).to.equal(422);
    expect(problemText(foreign.body)).to.match(/not one of yours/);

    await client.follow(await client.post('/account/catch-all', { csrf, catchall: 'on' }));
    expect(await accepts(`other@${domain}`)).to.equal(true);
    expect(await accepts(`leaked@${domain}`)).to.equal(false);
  });

  it('chooses the payload without JavaScript: protected by default, the exact message, and back', async () => {
    const { client, account } = await activeAccount();
    const format = async (): Promise<string | undefined> =>
      (await web.deps.store.users.byName(account.username))?.payloadFormat;
    const page = await client.get('/account');
    expect(unescapeHtml(page.body)).to.include('What you receive: protected headers');
    expect(await format()).to.equal('protected');
    const csrf = inputValue(page.body, 'csrf');
    expect(inputValue(page.body, 'payload')).to.equal('exact');

    const exact = await client.post('/account/payload', { csrf, payload: 'exact' });
    expect(exact.status).to.equal(303);
    const shown = unescapeHtml((await client.follow(exact)).body);
    expect(shown).to.include('New mail comes as the exact message');
    expect(shown).to.include('What you receive: the exact message');
    expect(inputValue(shown, 'payload')).to.equal('protected');
    expect(await format()).to.equal('exact');

    const refused = await client.post('/account/payload', { csrf, payload: 'raw' });
    expect(refused.status).to.equal(422);
    expect(problemText(refused.body)).to.equal('Unknown choice.');
    expect(await format()).to.equal('exact');
    expect((await client.post('/account/payload', { payload: 'protected' })).status).to.equal(403);
    expect(await format()).to.equal('exact');

    await client.follow(await client.post('/account/payload', { csrf, payload: 'protected' }));
    expect(await format()).to.equal('protected');
  });

  it('refuses account changes without the session token or the session', async () => {
    const { client, account } = await activeAccount();
    const noToken = await client.post('/account/catch-all', { catchall: 'off' });
    expect(noToken.status).to.equal(403);
    const stranger = await new WebClient(web.base).post('/account/catch-all', {
      csrf: 'anything',
      catchall: 'off',
    });
    expect(stranger.status).to.equal(403);
    expect((await web.deps.store.users.byName(account.username))?.policy.catchAll).to.equal(true);
  });

  it('makes a new password, shown only encrypted to the key; the old one stops working', async () => {
    const { client, account } = await activeAccount();
    const other = new WebClient(web.base);
    expect((await logIn(other, account.username, account.password)).status).to.equal(303);

    const page = await client.get('/account');
    const res = await client.post('/account/password', { csrf: inputValue(page.body, 'csrf') });
    expect(res.status).to.equal(200);
    const plain = (await gpg.decrypt(preText(res.body, 'encrypted-message'))).toString('utf8');
    const password = /^Password:\s+(\S+)$/m.exec(plain)?.[1] as string;
    expect(password).to.match(/^[a-z2-9-]{27}$/);
    expect(res.body).not.to.include(password);

    expect(
      (await logIn(new WebClient(web.base), account.username, account.password)).status,
    ).to.equal(401);
    expect((await logIn(new WebClient(web.base), account.username, password)).status).to.equal(303);
    // This session goes on; the other one has ended.
    expect((await client.get('/account')).status).to.equal(200);
    expect((await other.get('/account')).status).to.equal(303);
  });

  it('replaces the key only with the current password and the code encrypted to the new key', async () => {
    const { client, account } = await activeAccount();
    const newArmored = (await gpg.exportPublic(newKey.fingerprint)).toString('utf8');
    const form = await client.get('/account/key');
    const csrf = inputValue(form.body, 'csrf');

    const badPassword = await client.post('/account/key', {
      csrf,
      key: newArmored,
      password: 'nope',
    });
    expect(badPassword.status).to.equal(401);
    expect(problemText(badPassword.body)).to.match(/not your current password/);

    const started = await client.post('/account/key', {
      csrf,
      key: newArmored,
      password: account.password,
    });
    expect(started.status).to.equal(200);
    expect(unescapeHtml(started.body)).to.include(newKey.userId);
    // Until the code comes back, mail still goes to the old key.
    let user = await web.deps.store.users.byName(account.username);
    expect(user?.fingerprint).to.equal(key.fingerprint.toLowerCase());

    const message = preText(started.body, 'activation-message');
    const { status } = await gpg.decryptWithStatus(message);
    // Encrypted to the new key (its RSA encryption subkey), not the old one.
    const recipients = status.filter((line) => line.startsWith('ENC_TO '));
    expect(recipients).to.have.length(1);
    expect(recipients[0]).to.match(/ENC_TO [0-9A-F]{16} 1 /);
    const { code } = activationFields((await gpg.decrypt(message)).toString('utf8'));

    const wrong = await client.post('/account/key/confirm', {
      csrf,
      code: 'AAAA-AAAA-AAAA-AAAA-AAAA',
    });
    expect(wrong.status).to.equal(422);
    const done = await client.post('/account/key/confirm', { csrf, code });
    expect(done.status).to.equal(303);
    expect(unescapeHtml((await client.follow(done)).body)).to.include('The new key is in use');
    user = await web.deps.store.users.byName(account.username);
    expect(user?.fingerprint).to.equal(newKey.fingerprint.toLowerCase());
    expect(user?.publicKey).to.match(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
  });

  it('deletes the account only when the username is typed, and ends the session', async () => {
    const { client, account } = await activeAccount();
    const form = await client.get('/account/delete');
    const csrf = inputValue(form.body, 'csrf');
    const typo = await client.post('/account/delete', { csrf, confirm: account.username + 'x' });
    expect(typo.status).to.equal(422);
    expect(await web.deps.store.users.byName(account.username)).not.to.equal(null);

    const deleted = await client.post('/account/delete', {
      csrf,
      confirm: account.username.toUpperCase(),
    });
    expect(deleted.status).to.equal(200);
    expect(deleted.body).to.include('Account deleted');
    expect(deleted.headers.getSetCookie()[0]).to.match(/^kzymy_session=; Max-Age=0/);
    expect(await web.deps.store.users.byName(account.username)).to.equal(null);
    expect(parseRecipient(`any@${account.username}.${DOMAIN}`, DOMAIN)?.username).to.equal(
      account.username,
    );
    expect((await client.get('/account')).status).to.equal(303);
    expect(
      (await logIn(new WebClient(web.base), account.username, account.password)).status,
    ).to.equal(401);
  });

  it('refuses to create a second account with a proof of work already used', async () => {
    const client = new WebClient(web.base);
    const review = await submitKey(client, armored);
    const challenge = inputValue(review.body, 'challenge');
    const fields = {
      csrf: inputValue(review.body, 'csrf'),
      key: inputValue(review.body, 'key'),
      challenge,
      pow: solvePow(challenge, web.deps.config.web.powBits),
    };
    const before = (await web.deps.store.users.list()).length;
    expect((await client.post('/signup/create', fields)).status).to.equal(200);
    const replay = await client.post('/signup/create', fields);
    expect(replay.status).to.equal(422);
    expect(problemText(replay.body)).to.match(/already been used/);
    // A fresh puzzle is offered instead.
    expect(inputValue(replay.body, 'challenge')).not.to.equal(challenge);
    expect(await web.deps.store.users.list()).to.have.length(before + 1);
    expect(web.deps.logLines.join('\n')).to.include('"reason":"replayed"');
  });

  it('never logs a password, an activation code or a key', async () => {
    const { client, account } = await activeAccount();
    const page = await client.get('/account');
    await client.post('/account/password', { csrf: inputValue(page.body, 'csrf') });
    const logs = web.deps.logLines.join('\n');
    expect(logs).to.include('"event":"web.activated"');
    expect(logs).not.to.include(account.password);
    expect(logs).not.to.include(account.code);
    expect(logs).not.to.include(account.username);
    for (const line of armored.split('\n').filter((l) => l.length > 40)) {
      expect(logs).not.to.include(line);
    }
  });

  it('asks for the solution when the proof of work is left empty, keeping the same puzzle', async () => {
    const client = new WebClient(web.base);
    const review = await submitKey(client, armored);
    const res = await client.post('/signup/create', {
      csrf: inputValue(review.body, 'csrf'),
      key: inputValue(review.body, 'key'),
      challenge: inputValue(review.body, 'challenge'),
      pow: '',
    });
    expect(res.status).to.equal(422);
    expect(problemText(res.body)).to.match(/Solve the proof of work first/);
    expect(inputValue(res.body, 'challenge')).to.equal(inputValue(review.body, 'challenge'));
    expect((await createAccount(client, res)).status).to.equal(200);
  });
});

describe('web signup: global hourly limit', function () {
  this.timeout(60_000);
  let gpg: GpgHome;
  let web: WebHarness;
  let armored: string;

  before(async () => {
    gpg = await GpgHome.create();
    const key = await gpg.generateKey('curve25519');
    armored = (await gpg.exportPublic(key.fingerprint)).toString('utf8');
    web = await startWeb({ signupsPerHour: 2 });
  });

  after(async () => {
    await web?.close();
    await gpg?.dispose();
  });

  it('accepts the hour’s signups, then refuses with a time to wait and creates nothing', async () => {
    const client = new WebClient(web.base);
    for (let i = 0; i < 2; i++) await signUp(client, gpg, armored);
    const review = await submitKey(client, armored);
    const refused = await createAccount(client, review);
    expect(refused.status).to.equal(429);
    expect(unescapeHtml(refused.body)).to.match(/Try again in about \d+ minutes/);
    expect(await web.deps.store.users.list()).to.have.length(2);
    // The signup page says so before anyone solves a puzzle.
    expect(unescapeHtml((await client.get('/signup')).body)).to.include('taken all the signups');
  });
});
