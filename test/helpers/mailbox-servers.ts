/**
 * Real IMAP or POP3 listeners over fresh deps for a test file, with a PGP fixture.
 */
import type { RunningServer } from '../../src/util/running-server';
import { startImapServers } from '../../src/imap/server';
import { startPop3Servers } from '../../src/pop3/server';
import { makeTestDeps, type TestDeps } from './deps';
import { PgpFixture } from './mail-fixtures';

export interface MailboxServers {
  deps: TestDeps;
  servers: { plain: RunningServer; tls: RunningServer };
  pgp: PgpFixture;
}

/**
 * Registers mocha hooks that start real IMAP or POP3 listeners (STARTTLS and implicit TLS, on free
 * ports) over fresh deps, with a PGP fixture, and stop them afterwards. The returned object is
 * filled in by the time the tests run.
 */
export function useMailboxServers(protocol: 'imap' | 'pop3'): MailboxServers {
  const fixture = {} as MailboxServers;
  before(async function () {
    fixture.deps = await makeTestDeps({ [protocol]: { port: 0, tlsPort: 0 } });
    fixture.servers = await (protocol === 'imap' ? startImapServers : startPop3Servers)(
      fixture.deps,
    );
    fixture.pgp = await PgpFixture.create();
  });
  after(async function () {
    await fixture.servers?.plain.close();
    await fixture.servers?.tls.close();
    await fixture.pgp?.dispose();
    await fixture.deps?.close();
  });
  return fixture;
}
