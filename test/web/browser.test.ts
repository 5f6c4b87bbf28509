/**
 * End to end in headless Chromium, once with JavaScript off (Tor Browser "Safest") and once with
 * it on: sign up, decrypt the activation message with gpg, activate, log in, disable a leaked
 * address, turn the catch-all off, delete the account — and at each step, real mail sent with
 * swaks through a real Haraka on the same store gets the answer the page promised. Every page is
 * saved as a screenshot under test-artifacts/web/.
 */
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { chromium, type Browser } from 'playwright-core';
import { startHaraka, type RunningHaraka } from '../../src/smtp/haraka/runner';
import { projectRoot } from '../../src/util/project-root';
import { CONTENT_SECURITY_POLICY } from '../../src/web/headers';
import { GpgHome } from '../helpers/gpg';
import { startWeb, type WebHarness } from './helpers/harness';
import { activationFields } from './helpers/http';

const run = promisify(execFile);
const DOMAIN = 'kzymy.test';
const ARTIFACTS = join(projectRoot(), 'test-artifacts', 'web');

describe('web signup end to end in Chromium', function () {
  this.timeout(180_000);
  let browser: Browser;
  let gpg: GpgHome;
  let armored: string;
  let web: WebHarness;
  let haraka: RunningHaraka;

  /** Sends a message with swaks; the SMTP answer that decided it (RCPT refusal or end of DATA). */
  async function send(address: string): Promise<string> {
    const { stdout } = await run('swaks', [
      '--server',
      `127.0.0.1:${haraka.port}`,
      '--from',
      'friend@example.org',
      '--to',
      address,
      '--header',
      'Subject: hello from the browser test',
    ]).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
    const answers = stdout
      .split('\n')
      .filter((line) => /^<(\*\*|-) {1,2}[245]\d\d [245]\.\d/.test(line));
    return (answers[answers.length - 1] ?? '').replace(/^<(\*\*|-) +/, '').slice(0, 9);
  }

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    gpg = await GpgHome.create();
    const key = await gpg.generateKey('curve25519', 'nym');
    armored = (await gpg.exportPublic(key.fingerprint)).toString('utf8');
    web = await startWeb({ powBits: 14 });
    haraka = await startHaraka(web.deps.config, {
      mongodbUrl: web.deps.config.mongodb.url,
      redisUrl: web.deps.config.redis.url,
      logger: web.deps.logger,
      port: 0,
      tls: web.deps.tls,
    });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
  });

  after(async () => {
    await browser?.close();
    await haraka?.close();
    await web?.close();
    await gpg?.dispose();
  });

  for (const javaScriptEnabled of [false, true]) {
    const variant = javaScriptEnabled ? 'js' : 'nojs';

    it(`signs up, activates, manages addresses and deletes the account with JavaScript ${javaScriptEnabled ? 'on' : 'off'}`, async () => {
      const context = await browser.newContext({ javaScriptEnabled });
      const page = await context.newPage();
      const requests: string[] = [];
      const cspViolations: string[] = [];
      const documents: Array<{ url: string; csp: string | undefined }> = [];
      page.on('request', (request) => requests.push(request.url()));
      page.on('console', (message) => {
        if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
      });
      page.on('response', (response) => {
        if (response.request().resourceType() !== 'document') return;
        documents.push({ url: response.url(), csp: response.headers()['content-security-policy'] });
      });
      let shot = 0;
      const screenshot = async (name: string): Promise<void> => {
        shot++;
        const file = `${variant}-${String(shot).padStart(2, '0')}-${name}.png`;
        await page.screenshot({ path: join(ARTIFACTS, file), fullPage: true });
      };

      try {
        await page.goto(web.base + '/');
        await screenshot('home');
        await page.getByRole('link', { name: 'How it works' }).click();
        await page.waitForURL('**/docs/signup');
        await screenshot('docs-signup');
        await page.goto(web.base + '/');
        await page.getByRole('link', { name: 'Sign up' }).first().click();
        await page.waitForURL('**/signup');
        await screenshot('signup');

        await page.locator('#key').fill(armored);
        await page.getByRole('button', { name: 'Check the key' }).click();
        await page.waitForURL('**/signup/key');
        expect(await page.locator('ul.userids').textContent()).to.include('nym');
        expect(await page.textContent('body')).to.include('can read these user IDs');
        await screenshot('key-review');

        if (javaScriptEnabled) {
          // pow.js marks the form when it has found the solution.
          await page.waitForSelector('form[data-pow-solved="true"]', { timeout: 120_000 });
          expect(await page.locator('#pow').inputValue()).to.match(/^\d+$/);
          expect(await page.locator('#pow-status').textContent()).to.include('Proof of work done');
        } else {
          const command = (await page.locator('#pow-command code').textContent()) ?? '';
          expect(command).to.match(/^python3 -c '/);
          const { stdout } = await run('sh', ['-c', command]);
          await page.locator('#pow').fill(stdout.trim());
        }
        await screenshot('pow-solved');

        await page.getByRole('button', { name: 'Create my account' }).click();
        await page.waitForURL('**/signup/create');
        await screenshot('activation-message');
        const message = (await page.locator('#activation-message code').textContent()) ?? '';
        const { code, password, username } = activationFields(
          (await gpg.decrypt(message)).toString('utf8'),
        );
        expect(await page.locator('#username').inputValue()).to.equal(username);
        expect((await web.deps.store.users.byName(username))?.state).to.equal('pending');

        await page.locator('#code').fill(code);
        await page.getByRole('button', { name: 'Activate' }).click();
        await page.waitForURL('**/activate');
        await screenshot('activated');
        const activated = (await page.textContent('main')) ?? '';
        expect(activated).to.include(`${username}.${DOMAIN}`);
        expect(activated).to.include(web.deps.config.web.onionAddress);
        expect((await web.deps.store.users.byName(username))?.state).to.equal('active');
        // Nothing set a cookie on the way here.
        expect(await context.cookies()).to.deep.equal([]);

        await page.locator('main').getByRole('link', { name: 'Log in' }).click();
        await page.waitForURL('**/login');
        await screenshot('login');
        await page.locator('#username').fill(username);
        await page.locator('#password').fill(password as string);
        await page.getByRole('button', { name: 'Log in' }).click();
        await page.waitForURL('**/account');
        await screenshot('account');
        const cookies = await context.cookies();
        expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite])).to.deep.equal([
          ['kzymy_session', true, 'Strict'],
        ]);

        const address = (local: string): string => `${local}@${username}.${DOMAIN}`;
        expect(await send(address('leaked'))).to.equal('250 2.0.0');
        await page.locator('#address-disable').fill(`leaked@${username}.${DOMAIN}`);
        await page.getByRole('button', { name: 'Disable' }).click();
        await page.waitForURL('**/account?done=disabled');
        await screenshot('address-disabled');
        expect(await page.locator('ul.addresses').first().textContent()).to.include('leaked@');
        expect(await send(address('leaked'))).to.equal('550 5.1.1');
        expect(await send(address('friends'))).to.equal('250 2.0.0');

        await page.getByRole('button', { name: 'Turn the catch-all off' }).click();
        await page.waitForURL('**/account?done=catch-all-off');
        await screenshot('catch-all-off');
        expect((await web.deps.store.users.byName(username))?.policy.catchAll).to.equal(false);
        expect(await send(address('friends'))).to.equal('550 5.1.1');

        await page.getByRole('link', { name: 'Mail client settings' }).click();
        await page.waitForURL('**/account/settings');
        await screenshot('client-settings');

        await page.goto(web.base + '/account');
        await page.getByRole('link', { name: 'Delete the account' }).last().click();
        await page.waitForURL('**/account/delete');
        await screenshot('delete-confirm');
        await page.locator('#confirm').fill(username);
        await page.getByRole('button', { name: 'Delete my account for good' }).click();
        await page.waitForURL('**/account/delete');
        await page.getByRole('heading', { name: 'Account deleted' }).waitFor();
        await screenshot('deleted');
        expect(await web.deps.store.users.byName(username)).to.equal(null);
        expect(await context.cookies()).to.deep.equal([]);
        expect(await send(address('anything'))).to.equal('550 5.1.1');

        // Every request went to this server; every page had the CSP; nothing was blocked by it.
        const origin = new URL(web.base).origin;
        expect(requests.filter((url) => new URL(url).origin !== origin)).to.deep.equal([]);
        expect(documents.length).to.be.greaterThan(10);
        for (const doc of documents) expect(doc.csp, doc.url).to.equal(CONTENT_SECURITY_POLICY);
        expect(cspViolations).to.deep.equal([]);
      } catch (error) {
        await screenshot('failure').catch(() => undefined);
        throw error;
      } finally {
        await context.close();
      }
    });
  }
});
