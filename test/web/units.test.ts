/** Small pure pieces of the web service: the web secret, Markdown for the docs, address input. */
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { validateConfig } from '../../src/config/load';
import type { KzymyConfig } from '../../src/config/schema';
import { renderMarkdown } from '../../src/web/markdown';
import { localPart } from '../../src/web/routes/account';
import { loadWebKeys } from '../../src/web/secret';
import { isLoopback } from '../../src/web/server';
import { loadStaticAssets } from '../../src/web/static';
import { hostOf, mailServers } from '../../src/web/views/client-settings';
import { activatedPage } from '../../src/web/views/signup';
import { testDataDir } from '../helpers/services';

function config(web: Record<string, unknown>, dataDir: string): Readonly<KzymyConfig> {
  const result = validateConfig({ dataDir, web });
  if (!result.ok) throw new Error(result.problems.join('; '));
  return result.config;
}

describe('web secret', () => {
  it('is generated once under the data directory, private, and the same for every daemon', async () => {
    const dataDir = mkdtempSync(join(testDataDir(), 'secret-'));
    const all = await Promise.all([1, 2, 3, 4].map(() => loadWebKeys(config({}, dataDir))));
    const file = join(dataDir, 'web', 'secret');
    expect(readFileSync(file)).to.have.length(32);
    expect(statSync(file).mode & 0o777).to.equal(0o600);
    for (const keys of all) {
      expect(keys.pow).to.deep.equal(all[0]?.pow as Buffer);
      expect(keys.form).to.deep.equal(all[0]?.form as Buffer);
    }
    // One key per purpose: a form token can never pass as a proof-of-work challenge.
    expect(all[0]?.pow).to.not.deep.equal(all[0]?.form);
    const again = await loadWebKeys(config({}, dataDir));
    expect(again.pow).to.deep.equal(all[0]?.pow as Buffer);
  });

  it('reads web.secretFile, and refuses one too short to be a key', async () => {
    const dir = mkdtempSync(join(testDataDir(), 'secret-'));
    const good = join(dir, 'good');
    const short = join(dir, 'short');
    writeFileSync(good, Buffer.alloc(40, 7));
    writeFileSync(short, 'password');
    const keys = await loadWebKeys(config({ secretFile: good }, dir));
    expect(keys.pow).to.have.length(32);
    let problem = '';
    await loadWebKeys(config({ secretFile: short }, dir)).catch(
      (e: Error) => (problem = e.message),
    );
    expect(problem).to.match(/^web\.secretFile: .*holds 8 bytes; it needs at least 32/);
    await loadWebKeys(config({ secretFile: join(dir, 'missing') }, dir)).catch(
      (e: Error) => (problem = e.message),
    );
    expect(problem).to.match(/^web\.secretFile: cannot read .*ENOENT/);
  });

  it('is a config error to add an unknown web setting', () => {
    const result = validateConfig({ web: { secretFiel: 'x' } });
    expect(result.ok).to.equal(false);
    expect(result.ok ? [] : result.problems).to.deep.equal(['web.secretFiel: unknown setting']);
  });
});

describe('web Markdown for docs/signup.md', () => {
  it('escapes everything and links only within the site', () => {
    const out = String(
      renderMarkdown(
        '# Title <b>\n\nSee [signup](/signup), [there](https://example.org/) and `<code>`.\n\n' +
          '```\n<script>x</script>\n```\n\n- one **two**\n- three\n',
      ),
    );
    expect(out).to.include('<h1>Title &lt;b&gt;</h1>');
    expect(out).to.include('<a href="/signup">signup</a>');
    expect(out).to.include(' there and <code>&lt;code&gt;</code>.');
    expect(out).not.to.include('example.org');
    expect(out).to.include('<pre>&lt;script&gt;x&lt;/script&gt;</pre>');
    expect(out).to.include('<ul><li>one <strong>two</strong></li><li>three</li></ul>');
  });
});

describe('web address input', () => {
  it('takes a local part or a full address of the account, lowercased', () => {
    expect(localPart('Leaked', 'abc', 'kzymy.test')).to.deep.equal({ ok: true, local: 'leaked' });
    expect(localPart(' shop@ABC.kzymy.test ', 'abc', 'kzymy.test')).to.deep.equal({
      ok: true,
      local: 'shop',
    });
    expect(localPart('first.last+tag', 'abc', 'kzymy.test')).to.deep.equal({
      ok: true,
      local: 'first.last+tag',
    });
  });

  it('refuses other accounts’ addresses and malformed ones', () => {
    for (const input of [
      'x@other.kzymy.test',
      'x@abc.example.org',
      'a b',
      '.x',
      'x..y',
      'a'.repeat(65),
      '',
    ]) {
      expect(localPart(input, 'abc', 'kzymy.test').ok, input).to.equal(false);
    }
  });
});

describe('web listener details', () => {
  it('knows loopback hosts (where the session cookie cannot be Secure)', () => {
    expect(['127.0.0.1', '127.9.8.7', '::1', 'localhost'].every(isLoopback)).to.equal(true);
    expect(['0.0.0.0', '192.0.2.1', 'example.org', '::'].some(isLoopback)).to.equal(false);
  });

  it('refuses to start without its stylesheet and scripts, naming the folder', () => {
    const empty = mkdtempSync(join(testDataDir(), 'static-'));
    expect(() => loadStaticAssets(empty)).to.throw(
      /style\.css, pow\.js, pow-worker\.js, copy\.js not found in .*static-/,
    );
    expect([...loadStaticAssets().keys()].sort()).to.deep.equal([
      'copy.js',
      'pow-worker.js',
      'pow.js',
      'style.css',
    ]);
  });

  it('takes the host name out of a configured onion or clearnet address', () => {
    expect(hostOf('http://abc.onion/')).to.equal('abc.onion');
    expect(hostOf('ABC.onion:80')).to.equal('abc.onion');
    expect(hostOf('mail.example.org')).to.equal('mail.example.org');
    expect(hostOf('')).to.equal('');
  });

  it('calls a server without a configured address neither onion nor clearnet', () => {
    const dataDir = mkdtempSync(join(testDataDir(), 'servers-'));
    const servers = mailServers(config({}, dataDir), '127.0.0.1:8080');
    expect(servers).to.deep.equal([
      { host: '127.0.0.1', via: 'direct', imapPort: 1143, pop3Port: 1110 },
    ]);
    const text = String(
      activatedPage({ username: 'k3x', mailDomain: 'k3x.kzymy.test', servers, sharedKey: 0 }),
    );
    expect(text).to.include('<dt>Server (no onion or clearnet address is configured)</dt>');
    expect(text).not.to.include('Clearnet address');
    expect(text).not.to.include('Onion address');
  });
});
