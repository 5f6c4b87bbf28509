/**
 * What every response promises: a strict CSP and hardening headers, no cookie before login, no
 * URL of another site, escaped output, bounded bodies, and forms that only this site can post.
 */
import { expect } from 'chai';
import { CONTENT_SECURITY_POLICY } from '../../src/web/headers';
import { GpgHome } from '../helpers/gpg';
import { startWeb, type WebHarness } from './helpers/harness';
import { inputValue, problemText, WebClient, type WebResponse } from './helpers/http';
import { activate, logIn, signUp, submitKey } from './helpers/signup';

const HOSTILE_USER_ID = '"><script>alert(1)</script> & nym';

/** Every http(s) URL in a page whose host is not one of `own`. */
export function foreignUrls(body: string, own: readonly string[]): string[] {
  const urls = body.match(/\bhttps?:\/\/[^\s"'<>)]+/gi) ?? [];
  return urls.filter((url) => !own.includes(new URL(url).host));
}

describe('web responses: headers, cookies, URLs, escaping, limits', function () {
  this.timeout(60_000);
  let gpg: GpgHome;
  let armored: string;
  let web: WebHarness;

  before(async () => {
    gpg = await GpgHome.create();
    const key = await gpg.generateKey('curve25519', HOSTILE_USER_ID);
    armored = (await gpg.exportPublic(key.fingerprint)).toString('utf8');
    web = await startWeb();
  });

  after(async () => {
    await web?.close();
    await gpg?.dispose();
  });

  function expectHardened(res: WebResponse, what: string): void {
    expect(res.headers.get('content-security-policy'), what).to.equal(CONTENT_SECURITY_POLICY);
    expect(CONTENT_SECURITY_POLICY).to.include("default-src 'self'");
    expect(res.headers.get('x-content-type-options'), what).to.equal('nosniff');
    expect(res.headers.get('x-frame-options'), what).to.equal('DENY');
    expect(res.headers.get('referrer-policy'), what).to.equal('same-origin');
  }

  it('sends the CSP and no cookie on every public page and asset, and links nowhere else', async () => {
    const client = new WebClient(web.base);
    const own = [new URL(web.base).host];
    for (const path of [
      '/',
      '/signup',
      '/activate',
      '/login',
      '/docs/signup',
      '/static/style.css',
      '/static/pow.js',
      '/static/copy.js',
      '/no-such-page',
      '/static/../package.json',
    ]) {
      const res = await client.get(path);
      expectHardened(res, path);
      expect(res.headers.getSetCookie(), path).to.deep.equal([]);
      expect(foreignUrls(res.body, own), path).to.deep.equal([]);
      if (res.headers.get('content-type')?.startsWith('text/html')) {
        // No inline script or style: the CSP would block them, so none may be needed.
        expect(res.body, path).not.to.match(/<script(?![^>]*\ssrc=)[^>]*>/);
        expect(res.body, path).not.to.match(/\sstyle=|<style|\son[a-z]+=/i);
        expect(res.headers.get('cache-control'), path).to.equal('no-store');
      }
    }
    expect((await client.get('/no-such-page')).status).to.equal(404);
    expect((await client.get('/static/../package.json')).status).to.equal(404);
    expect((await client.get('/docs/signup')).body).to.include('<h1>Signing up for kzymy</h1>');
    expect((await client.get('/static/pow.js')).headers.get('content-type')).to.match(
      /^text\/javascript/,
    );
  });

  it('sets no cookie anywhere in signup and activation; the first one comes with login', async () => {
    const client = new WebClient(web.base);
    const own = [new URL(web.base).host];
    const account = await signUp(client, gpg, armored);
    await activate(client, account);
    expect(client.seen.map((s) => `${s.method} ${s.path}`)).to.deep.equal([
      'GET /signup',
      'POST /signup/key',
      'POST /signup/create',
      'POST /activate',
    ]);
    for (const { method, path, response } of client.seen) {
      expectHardened(response, `${method} ${path}`);
      expect(response.headers.getSetCookie(), `${method} ${path}`).to.deep.equal([]);
      expect(foreignUrls(response.body, own), `${method} ${path}`).to.deep.equal([]);
    }
    const login = await logIn(client, account.username, account.password);
    expect(login.headers.getSetCookie()).to.have.length(1);
    for (const path of ['/account', '/account/settings', '/account/key', '/account/delete']) {
      const res = await client.get(path);
      expect(res.status, path).to.equal(200);
      expectHardened(res, path);
      expect(foreignUrls(res.body, own), path).to.deep.equal([]);
    }
  });

  it('escapes what the key says about itself', async () => {
    const res = await submitKey(new WebClient(web.base), armored);
    expect(res.status).to.equal(200);
    expect(res.body).not.to.include('<script>alert(1)</script>');
    expect(res.body).to.include('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; nym');
  });

  it('refuses pre-login forms without a valid token or from another site', async () => {
    const client = new WebClient(web.base);
    const page = await client.get('/signup');
    const csrf = inputValue(page.body, 'csrf');
    const login = inputValue((await client.get('/login')).body, 'csrf');
    const attempts: Array<[Record<string, string>, Record<string, string>]> = [
      [{ key: armored }, {}],
      [{ key: armored, csrf: 'forged' }, {}],
      [{ key: armored, csrf: csrf.replace(/.$/, (c) => (c === '0' ? '1' : '0')) }, {}],
      // A token of another form does not do.
      [{ key: armored, csrf: login }, {}],
      [{ key: armored, csrf }, { 'sec-fetch-site': 'cross-site' }],
      [{ key: armored, csrf }, { origin: 'http://attacker.example' }],
    ];
    for (const [fields, headers] of attempts) {
      const res = await client.post('/signup/key', fields, headers);
      expect(res.status, JSON.stringify(headers)).to.equal(403);
      expect(problemText(res.body)).to.match(/expired or did not come from this site/);
    }
    const ok = await client.post(
      '/signup/key',
      { key: armored, csrf },
      { 'sec-fetch-site': 'same-origin', origin: web.base },
    );
    expect(ok.status).to.equal(200);
  });

  it('refuses a body over the limit without reading it all', async () => {
    const client = new WebClient(web.base);
    const csrf = inputValue((await client.get('/signup')).body, 'csrf');
    const res = await client.post('/signup/key', { csrf, key: 'A'.repeat(1024 * 1024) });
    expect(res.status).to.equal(413);
    expectHardened(res, 'too large');
  });

  it('logs no client address', async () => {
    const client = new WebClient(web.base);
    await client.get('/signup');
    await client.post('/login', { username: 'x', password: 'y' });
    const logs = web.deps.logLines.join('\n');
    expect(logs).to.include('"event":"web.request"');
    expect(logs).not.to.include('127.0.0.1');
    expect(logs).not.to.match(/::1|::ffff/);
  });
});

describe('web session cookie behind a TLS proxy', function () {
  this.timeout(60_000);
  let gpg: GpgHome;
  let web: WebHarness;

  before(async () => {
    gpg = await GpgHome.create();
    web = await startWeb({ secureCookie: 'always' });
  });

  after(async () => {
    await web?.close();
    await gpg?.dispose();
  });

  it('marks the cookie Secure when configured so', async () => {
    const key = await gpg.generateKey('curve25519', 'nym');
    const client = new WebClient(web.base);
    const account = await signUp(client, gpg, (await gpg.exportPublic(key.fingerprint)).toString());
    await activate(client, account);
    const login = await logIn(client, account.username, account.password);
    expect(login.headers.getSetCookie()[0]).to.match(/; HttpOnly; Secure; SameSite=Strict$/);
  });
});
