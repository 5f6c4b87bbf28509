import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { loadConfig, validateConfig } from '../../src/config/load';

describe('config', () => {
  it('reports an unknown key and an invalid port in one run', () => {
    const result = validateConfig({ smtp: { port: 70000 }, imap: { colour: 'blue' } });
    expect(result.ok).to.equal(false);
    if (result.ok) return;
    expect(result.problems).to.include('imap.colour: unknown setting');
    expect(result.problems.some((problem) => problem.startsWith('smtp.port:'))).to.equal(true);
  });

  it('applies environment overrides and validates them too', () => {
    const result = validateConfig(
      {},
      { MONGODB_URL: 'mongodb://db.example/', KZYMY_SMTP_PORT: '25', KZYMY_WEB_PORT: 'eighty' },
    );
    expect(result.ok).to.equal(false);
    if (result.ok) return;
    expect(result.problems).to.deep.equal([
      'KZYMY_WEB_PORT: must be a port number from 0 to 65535, got "eighty"',
    ]);
    const good = validateConfig(
      {},
      { MONGODB_URL: 'mongodb://db.example/', KZYMY_SMTP_PORT: '25' },
    );
    expect(good.ok && good.config.mongodb.url).to.equal('mongodb://db.example/');
    expect(good.ok && good.config.smtp.port).to.equal(25);
  });

  it('has the documented defaults and freezes the result', () => {
    const result = validateConfig({});
    if (!result.ok) throw new Error(result.problems.join('; '));
    const { config } = result;
    expect(config.domain).to.equal('kzymy.test');
    expect([
      config.smtp.port,
      config.imap.port,
      config.imap.tlsPort,
      config.pop3.port,
      config.pop3.tlsPort,
      config.web.port,
    ]).to.deep.equal([2525, 1143, 1993, 1110, 1995, 8080]);
    expect(config.smtp.maxMessageBytes).to.equal(25 * 1024 * 1024);
    expect(Object.isFrozen(config.smtp)).to.equal(true);
  });

  it('picks the store engine: sqlite by default, mongodb when a MongoDB URL is given', () => {
    const engine = (document: object, env: Record<string, string> = {}) => {
      const result = validateConfig(document, env);
      return result.ok ? result.config.store.engine : result.problems;
    };
    expect(engine({})).to.equal('sqlite');
    expect(engine({}, { MONGODB_URL: 'mongodb://db.example/' })).to.equal('mongodb');
    expect(engine({ mongodb: { url: 'mongodb://db.example/' } })).to.equal('mongodb');
    // mongodb without a URL: the embedded FerretDB.
    expect(engine({ store: { engine: 'mongodb' } })).to.equal('mongodb');
    expect(engine({ store: { engine: 'sqlite' } })).to.equal('sqlite');
    const defaults = validateConfig({});
    expect(defaults.ok && defaults.config.store.sqlite.maintenanceSeconds).to.equal(60);
  });

  it('refuses an unknown engine and a contradictory one, naming the settings', () => {
    const unknown = validateConfig({ store: { engine: 'postgres', sqlite: { cache: 1 } } });
    expect(unknown.ok).to.equal(false);
    if (unknown.ok) return;
    expect(unknown.problems.some((problem) => problem.startsWith('store.engine:'))).to.equal(true);
    expect(unknown.problems).to.include('store.sqlite.cache: unknown setting');
    const contradictory = validateConfig(
      { store: { engine: 'sqlite' } },
      { MONGODB_URL: 'mongodb://db.example/' },
    );
    expect(!contradictory.ok && contradictory.problems).to.deep.equal([
      'store.engine: is sqlite, but mongodb.url (or MONGODB_URL) is set: choose one — store.engine: mongodb, or no mongodb.url',
    ]);
  });

  it('loads the example file shipped in config/ without a problem', async () => {
    const result = await loadConfig(
      join(__dirname, '..', '..', '..', 'config', 'kzymy.example.yaml'),
      {},
    );
    expect(result.ok ? [] : result.problems).to.deep.equal([]);
  });

  it('keeps sending off by default and names what sending needs once it is on', () => {
    const defaults = validateConfig({});
    expect(defaults.ok && defaults.config.send.enabled).to.equal(false);
    const on = validateConfig({ send: { enabled: true } });
    expect(!on.ok && on.problems).to.deep.equal([
      'send.relay.url: required when send.enabled',
      'send.dkim.keyFile: required when send.enabled',
    ]);
    const bad = validateConfig({
      send: { relay: { url: 'http://relay.example' }, dkim: { selector: 'Not_A_Label' } },
    });
    expect(!bad.ok && bad.problems).to.deep.equal([
      'send.relay.url: must be smtp://[user:password@]host[:port] or smtps://…, or empty',
      'send.dkim.selector: must be one lowercase DNS label',
    ]);
    const good = validateConfig({
      send: {
        enabled: true,
        relay: { url: 'smtps://kzymy:p%40ss@relay.example:465' },
        dkim: { keyFile: '/etc/kzymy/dkim.pem' },
      },
    });
    expect(good.ok ? [] : good.problems).to.deep.equal([]);
  });

  it('refuses smtp.nodes: Haraka runs as one process, kzymy scales by processes', () => {
    const result = validateConfig({ smtp: { nodes: 4 } });
    expect(!result.ok && result.problems).to.deep.equal(['smtp.nodes: unknown setting']);
  });

  it('names the file when it is not YAML or not a mapping', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kzymy-config-'));
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'smtp: [unclosed');
    const result = await loadConfig(broken, {});
    expect(!result.ok && result.problems[0]).to.match(/broken\.yaml: not valid YAML/);
    const list = join(dir, 'list.yaml');
    writeFileSync(list, '- a\n- b\n');
    const listResult = await loadConfig(list, {});
    expect(!listResult.ok && listResult.problems[0]).to.match(/mapping/);
  });
});
