/**
 * `kzymy doctor` asks every enabled listener for its greeting: the real Haraka (SMTP 220), IMAP
 * and IMAPS ("* OK"), POP3 and POP3S ("+OK"), the web pages and the admin /healthz, all started
 * on free loopback ports; then one of them stops, then all of them.
 */
import { expect } from 'chai';
import { runDoctor, type CheckResult } from '../../src/cli/doctor';
import { defaultDoctorDeps } from '../../src/cli/doctor/common';
import type { RunningServer } from '../../src/util/running-server';
import { startImapServers } from '../../src/imap/server';
import { startAdminServer } from '../../src/metrics/admin-server';
import { startPop3Servers } from '../../src/pop3/server';
import { freePort } from '../../src/util/ports';
import { startHaraka, type RunningHaraka } from '../../src/smtp/haraka/runner';
import { startWebServer } from '../../src/web/server';
import { makeTestDeps, sharedStoreConfigLines, type TestDeps } from '../helpers/deps';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testDataDir } from '../helpers/services';

describe('kzymy doctor: every enabled listener answers', function () {
  this.timeout(60_000);
  let deps: TestDeps;
  let haraka: RunningHaraka;
  const servers: Record<string, RunningServer> = {};

  before(async () => {
    deps = await makeTestDeps({
      imap: { port: 0, tlsPort: 0 },
      pop3: { port: 0, tlsPort: 0 },
      web: { host: '127.0.0.1', port: 0 },
    });
    const imap = await startImapServers(deps);
    const pop3 = await startPop3Servers(deps);
    Object.assign(servers, {
      imap: imap.plain,
      imaps: imap.tls,
      pop3: pop3.plain,
      pop3s: pop3.tls,
    });
    servers.web = await startWebServer(deps);
    servers.admin = await startAdminServer(deps, deps.metrics.registry, { port: 0 });
    haraka = await startHaraka(deps.config, {
      mongodbUrl: deps.config.mongodb.url,
      redisUrl: deps.config.redis.url,
      logger: deps.logger,
      port: 0,
      tls: deps.tls,
    });
  });

  after(async () => {
    await haraka?.close();
    for (const server of Object.values(servers)) await server.close();
    await deps?.close();
  });

  /** A configuration naming these ports (and the run's store and Redis); doctor's verdict. */
  async function answering(ports: {
    smtp: number;
    imap: number;
    imaps: number;
    pop3: number;
    pop3s: number;
    web: number;
    admin: number;
    /** The submission pair of sending as the nym (send.enabled), when given. */
    submission?: { port: number; tlsPort: number };
  }): Promise<CheckResult> {
    const dir = mkdtempSync(join(testDataDir(), 'doctor-listeners-'));
    const file = join(dir, 'kzymy.yaml');
    writeFileSync(
      file,
      [
        'domain: kzymy.example',
        ...sharedStoreConfigLines(deps),
        `smtp: { port: ${ports.smtp} }`,
        `imap: { port: ${ports.imap}, tlsPort: ${ports.imaps} }`,
        `pop3: { port: ${ports.pop3}, tlsPort: ${ports.pop3s} }`,
        `web: { port: ${ports.web} }`,
        `admin: { port: ${ports.admin} }`,
        ...(ports.submission
          ? [
              'send:',
              '  enabled: true',
              `  port: ${ports.submission.port}`,
              `  tlsPort: ${ports.submission.tlsPort}`,
              "  relay: { url: 'smtp://relay.kzymy.example:25' }",
              `  dkim: { keyFile: ${join(dir, 'dkim.pem')} }`,
            ]
          : []),
        '',
      ].join('\n'),
    );
    const results = await runDoctor(
      { configFile: file, online: false, env: {} },
      { ...defaultDoctorDeps(), timeoutMs: 3000 },
    );
    const found = results.find((result) => result.check === 'answering');
    if (!found) throw new Error('no answering check');
    return found;
  }

  function running(): Parameters<typeof answering>[0] {
    return {
      smtp: haraka.port,
      imap: servers.imap!.port,
      imaps: servers.imaps!.port,
      pop3: servers.pop3!.port,
      pop3s: servers.pop3s!.port,
      web: servers.web!.port,
      admin: servers.admin!.port,
    };
  }

  it('is ok when SMTP, IMAP, IMAPS, POP3, POP3S, web and admin all greet', async () => {
    const result = await answering(running());
    expect(result.verdict, result.message).to.equal('ok');
    for (const name of ['SMTP', 'IMAP', 'IMAPS', 'POP3', 'POP3S', 'web', 'admin'])
      expect(result.message).to.include(`${name} 127.0.0.1:`);
  });

  it('fails naming the listener that does not answer, and warns when none does', async () => {
    const closed = await freePort();
    const one = await answering({ ...running(), pop3s: closed });
    expect(one.verdict).to.equal('fail');
    expect(one.message).to.equal(`not answering: POP3S 127.0.0.1:${closed} (connection refused)`);
    // A greeting from the wrong protocol is no answer either.
    const crossed = await answering({ ...running(), imap: servers.pop3!.port });
    expect(crossed.verdict).to.equal('fail');
    expect(crossed.message).to.match(/^not answering: IMAP 127\.0\.0\.1:\d+ \(\+OK/);
    const ports = await Promise.all(Array.from({ length: 7 }, () => freePort()));
    const none = await answering({
      smtp: ports[0]!,
      imap: ports[1]!,
      imaps: ports[2]!,
      pop3: ports[3]!,
      pop3s: ports[4]!,
      web: ports[5]!,
      admin: ports[6]!,
    });
    expect(none.verdict).to.equal('warn');
    expect(none.fix).to.include('start kzymy');
  });

  it('asks the submission listeners too when sending is enabled', async () => {
    // Haraka greets with 220 as a submission listener does; nothing listens on the TLS port.
    const closed = await freePort();
    const result = await answering({
      ...running(),
      submission: { port: haraka.port, tlsPort: closed },
    });
    expect(result.verdict).to.equal('fail');
    expect(result.message).to.equal(
      `not answering: submissions 127.0.0.1:${closed} (connection refused)`,
    );
  });
});
