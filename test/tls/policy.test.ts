/**
 * The TLS policy of src/tls/policy.ts, as `openssl s_client` finds it on every TLS
 * listener kzymy runs: IMAP STARTTLS and IMAPS, POP3 STLS and POP3S (user-facing: TLS 1.2+,
 * forward-secret AEAD suites only) and Haraka's STARTTLS (the public MX: wider suites), all of
 * them refusing client-initiated renegotiation. Two controls first prove that the checks see a
 * listener without the policy for what it is.
 */
import { createServer, type Server } from 'node:net';
import { createSecureContext, DEFAULT_CIPHERS, TLSSocket } from 'node:tls';
import { constants } from 'node:crypto';
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'chai';
import { startImapServers, type ImapServers } from '../../src/imap/server';
import { startPop3Servers, type Pop3Servers } from '../../src/pop3/server';
import { harakaFiles } from '../../src/smtp/haraka/config-files';
import { validateConfig } from '../../src/config/load';
import { SmtpHarness } from '../smtp/helpers/harness';
import { makeTestDeps, type TestDeps } from '../helpers/deps';
import { handshake, tryRenegotiation, type StartTls } from '../helpers/openssl';

interface Listener {
  name: string;
  port: () => number;
  starttls?: StartTls;
  command: string;
  reply: RegExp;
}

describe('TLS policy: every listener, as openssl s_client sees it', function () {
  this.timeout(120_000);
  let deps: TestDeps;
  let imap: ImapServers;
  let pop3: Pop3Servers;
  let smtp: SmtpHarness;
  let bare: Server;

  before(async () => {
    deps = await makeTestDeps({ imap: { port: 0, tlsPort: 0 }, pop3: { port: 0, tlsPort: 0 } });
    imap = await startImapServers(deps);
    pop3 = await startPop3Servers(deps);
    smtp = await SmtpHarness.start();
    // A TLS listener as Node builds it by default: the STARTTLS case (a TLSSocket over an
    // accepted socket), with only the certificate and TLS 1.2 as a minimum.
    const context = createSecureContext({
      key: deps.tls.key,
      cert: deps.tls.cert,
      minVersion: 'TLSv1.2',
    });
    bare = createServer((socket) => {
      const secure = new TLSSocket(socket, { isServer: true, secureContext: context });
      secure.on('error', () => undefined);
      secure.on('data', (data: Buffer) => {
        if (data.toString().startsWith('PING')) secure.write('PONG\r\n');
      });
    });
    await new Promise<void>((resolve) => bare.listen(0, '127.0.0.1', resolve));
  });

  after(async () => {
    await new Promise((resolve) => bare?.close(resolve));
    await smtp?.close();
    await imap?.plain.close();
    await imap?.tls.close();
    await pop3?.plain.close();
    await pop3?.tls.close();
    await deps?.close();
  });

  const barePort = (): number => {
    const address = bare.address();
    return typeof address === 'object' && address ? address.port : 0;
  };

  describe('controls: the checks recognise a listener without the policy', () => {
    it('a default Node TLS socket lets the client renegotiate', async () => {
      const result = await tryRenegotiation(barePort(), { command: 'PING', reply: /^PONG$/ });
      expect(result.accepted, result.output).to.equal(true);
    });

    it('and agrees to a static-RSA suite', async () => {
      const result = await handshake(barePort(), {
        version: 'tls1_2',
        cipher: 'AES256-GCM-SHA384',
      });
      expect(result.cipher, result.output).to.equal('AES256-GCM-SHA384');
    });
  });

  const userFacing: Listener[] = [
    {
      name: 'IMAP STARTTLS',
      port: () => imap.plain.port,
      starttls: 'imap',
      command: 'a NOOP',
      reply: /^a OK/,
    },
    { name: 'IMAPS', port: () => imap.tls.port, command: 'a NOOP', reply: /^a OK/ },
    {
      name: 'POP3 STLS',
      port: () => pop3.plain.port,
      starttls: 'pop3',
      command: 'CAPA',
      // s_client may print the greeting it read before STLS on the same line.
      reply: /\+OK Capability list follows$/,
    },
    {
      name: 'POP3S',
      port: () => pop3.tls.port,
      command: 'CAPA',
      // s_client may print the greeting it read before STLS on the same line.
      reply: /\+OK Capability list follows$/,
    },
  ];

  for (const listener of userFacing) {
    describe(`${listener.name} (user-facing)`, () => {
      it('refuses client-initiated renegotiation', async () => {
        const result = await tryRenegotiation(listener.port(), listener);
        expect(/RENEGOTIATING/.test(result.output), result.output).to.equal(true);
        expect(result.accepted, result.output).to.equal(false);
      });

      it('refuses static-RSA key exchange (no forward secrecy) and CBC suites', async () => {
        for (const cipher of ['AES256-GCM-SHA384', 'AES128-SHA256', 'ECDHE-RSA-AES128-SHA256']) {
          const result = await handshake(listener.port(), {
            starttls: listener.starttls,
            version: 'tls1_2',
            cipher,
          });
          expect(result.ok, `${cipher}: ${result.output}`).to.equal(false);
        }
      });

      it('refuses TLS 1.1, even to a client that would take anything', async () => {
        const result = await handshake(listener.port(), {
          starttls: listener.starttls,
          version: 'tls1_1',
          cipher: 'ALL:@SECLEVEL=0',
        });
        expect(result.ok, result.output).to.equal(false);
      });

      it('agrees to ECDHE with AES-GCM on TLS 1.2, and to TLS 1.3', async () => {
        const tls12 = await handshake(listener.port(), {
          starttls: listener.starttls,
          version: 'tls1_2',
        });
        expect(tls12.cipher, tls12.output).to.match(/^ECDHE-RSA-(AES256-GCM-SHA384|CHACHA20)/);
        const tls13 = await handshake(listener.port(), {
          starttls: listener.starttls,
          version: 'tls1_3',
        });
        expect(tls13.cipher, tls13.output).to.match(/^TLS_/);
      });
    });
  }

  describe('SMTP STARTTLS (the public MX)', () => {
    it('refuses client-initiated renegotiation', async () => {
      const result = await tryRenegotiation(smtp.port, {
        starttls: 'smtp',
        command: 'NOOP',
        // Haraka's NOOP reply; s_client may also print the end of the EHLO reply (250 STARTTLS).
        reply: /^250 OK$/,
      });
      expect(/RENEGOTIATING/.test(result.output), result.output).to.equal(true);
      expect(result.accepted, result.output).to.equal(false);
    });

    it('stays wider for opportunistic TLS: a static-RSA suite is agreed, TLS 1.1 is not', async () => {
      const rsa = await handshake(smtp.port, {
        starttls: 'smtp',
        version: 'tls1_2',
        cipher: 'AES256-GCM-SHA384',
      });
      expect(rsa.cipher, rsa.output).to.equal('AES256-GCM-SHA384');
      const old = await handshake(smtp.port, {
        starttls: 'smtp',
        version: 'tls1_1',
        cipher: 'ALL:@SECLEVEL=0',
      });
      expect(old.ok, old.output).to.equal(false);
    });

    it("writes the policy into tls.ini in the form Haraka's reader parses", () => {
      const config = validateConfig({});
      if (!config.ok) throw new Error(config.problems.join('; '));
      const files = harakaFiles({
        config: config.config,
        host: '127.0.0.1',
        port: 2525,
        tlsKeyFile: '/keys/k.pem',
        tlsCertFile: '/keys/c.pem',
        pluginModule: '/x/kzymy.js',
        noSpoolDir: '/x/no-spool',
        internalCmdKey: 'k',
        maxLineBytes: 1 << 20,
        pluginTimeoutSeconds: 30,
        logLevel: 'warn',
      });
      const dir = mkdtempSync(join(tmpdir(), 'kzymy-tls-ini-'));
      try {
        for (const [name, content] of files) {
          mkdirSync(dirname(join(dir, name)), { recursive: true });
          writeFileSync(join(dir, name), content);
        }
        const harakaRequire = createRequire(require.resolve('Haraka/package.json'));
        const harakaConfig = harakaRequire('haraka-config') as {
          module_config(dir: string): {
            get(name: string, options?: object): { main?: Record<string, unknown> };
          };
        };
        // The booleans tls_socket.js load_tls_ini declares.
        const tls = harakaConfig
          .module_config(dir)
          .get('tls.ini', { booleans: ['+main.honorCipherOrder', '-main.requestCert'] });
        expect(tls.main?.secureOptions).to.equal(constants.SSL_OP_NO_RENEGOTIATION);
        expect(tls.main?.ciphers).to.equal(DEFAULT_CIPHERS);
        expect(tls.main?.minVersion).to.equal('TLSv1.2');
        expect(tls.main?.honorCipherOrder).to.equal(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });
});
