/**
 * The generated Haraka configuration, read back with Haraka's own config reader, and the
 * plugin's refusal to run on a configuration that could spool, add headers or re-wrap lines.
 */
import { expect } from 'chai';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { validateConfig } from '../../src/config/load';
import { checkConnectionConfig, type HarakaConnectionCfg } from '../../src/smtp/haraka/data-patch';
import { harakaFiles, type HarakaFilesInput } from '../../src/smtp/haraka/config-files';
import { waitForPort } from '../../src/util/ports';
import { SmtpHarness } from './helpers/harness';

function input(overrides: Partial<HarakaFilesInput> = {}): HarakaFilesInput {
  const result = validateConfig({ domain: 'mx.example' });
  if (!result.ok) throw new Error(result.problems.join('; '));
  return {
    config: result.config,
    host: '127.0.0.1',
    port: 2525,
    tlsKeyFile: '/keys/k.pem',
    tlsCertFile: '/keys/c.pem',
    pluginModule: '/app/dist/haraka-plugins/kzymy.js',
    noSpoolDir: '/var/kzymy/haraka/no-spool',
    internalCmdKey: 'k'.repeat(64),
    maxLineBytes: 1 << 20,
    pluginTimeoutSeconds: 245,
    logLevel: 'warn',
    ...overrides,
  };
}

interface ReadIni {
  get(name: string, options?: unknown): Record<string, Record<string, unknown>>;
}

/** Haraka's own reader (haraka-config), on a directory holding the generated files. */
function readWithHaraka(files: Map<string, string>): { cfg: ReadIni; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'kzymy-haraka-cfg-'));
  for (const [name, content] of files) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  const harakaRequire = createRequire(require.resolve('Haraka/package.json'));
  const harakaConfig = harakaRequire('haraka-config') as { module_config(dir: string): ReadIni };
  return {
    cfg: harakaConfig.module_config(dir),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

describe('smtp: generated Haraka configuration', () => {
  it('passes the plugin check as Haraka parses it (no spool, no Received, kzymy sizes)', () => {
    const { cfg, cleanup } = readWithHaraka(harakaFiles(input()));
    try {
      // The same options connection.js passes for connection.ini.
      const connection = cfg.get('connection.ini', {
        booleans: [
          '-main.strict_rfc1869',
          '+main.smtputf8',
          '+headers.add_received',
          '+headers.show_version',
        ],
      }) as unknown as HarakaConnectionCfg & { main: { smtputf8: unknown } };
      expect(checkConnectionConfig(connection, 1 << 20)).to.deep.equal([]);
      expect(connection.main.smtputf8).to.equal(true);
      const smtp = cfg.get('smtp.ini');
      expect(smtp.main?.listen).to.equal('127.0.0.1:2525');
      expect(smtp.main?.nodes).to.equal(0);
      const tls = cfg.get('tls.ini', { booleans: ['-main.requestCert'] });
      expect(tls.main?.key).to.equal('/keys/k.pem');
    } finally {
      cleanup();
    }
  });

  it('brackets an IPv6 listen address and loads only tls and kzymy', () => {
    const files = harakaFiles(input({ host: '::1', port: 25 }));
    expect(files.get('config/smtp.ini')).to.include('listen=[::1]:25\n');
    expect(files.get('config/plugins')).to.equal('tls\nkzymy\n');
    expect(files.get('plugins/kzymy.js')).to.include(
      'require("/app/dist/haraka-plugins/kzymy.js")',
    );
  });

  it('names each unsafe connection setting', () => {
    const problems = checkConnectionConfig(
      {
        main: { spool_after: 1000 },
        headers: { add_received: true },
        max: { bytes: 26214400, data_line_length: 992 },
      },
      1 << 20,
    );
    expect(problems).to.have.length(4);
    expect(problems.join('\n')).to.include('spool_after');
    expect(problems.join('\n')).to.include('add_received');
    expect(problems.join('\n')).to.include('max.bytes');
    expect(problems.join('\n')).to.include('data_line_length');
  });
});

describe('smtp: Haraka runner', function () {
  this.timeout(60_000);

  it('starts Haraka on a free port and stops it on close()', async () => {
    const h = await SmtpHarness.start();
    const { port, pid } = h.haraka;
    expect(port).to.be.above(0);
    expect(() => process.kill(pid, 0)).not.to.throw();
    await h.close();
    // Haraka's SIGINT handler exits cleanly.
    expect(await h.haraka.exited).to.deep.equal({ code: 0, signal: null });
    const refused = await waitForPort('127.0.0.1', port, 0).then(
      () => false,
      () => true,
    );
    expect(refused).to.equal(true);
  });
});
