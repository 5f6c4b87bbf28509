/**
 * Regression test from fuzzing (fuzz/targets/imap-server.ts, docs/fuzzing.md): NIL where
 * imap-core expects a string or a list made a command module throw out of the engine's socket
 * handler, ending the whole process — `ID (NIL NIL)` even before login.
 */
import { expect } from 'chai';
import {
  createAccount,
  RawImap,
  storeMessages,
  useMailboxServers,
  waitForLog,
  type MailboxServers,
} from '../helpers/clients';

describe('IMAP: NIL arguments the engine did not expect (found by fuzzing)', function () {
  this.timeout(60_000);
  const fixture = useMailboxServers('imap');

  it('answers ID (NIL NIL) before login with BAD and goes on', async function () {
    const { deps, servers } = fixture as MailboxServers;
    const from = deps.logLines.length;
    const client = await RawImap.connect({ port: servers.plain.port });
    expect((await client.command('ID (NIL NIL)')).tagged).to.match(/^t\d+ BAD Invalid arguments$/);
    expect((await client.command('NOOP')).status).to.equal('OK');
    const logged = await waitForLog(deps.logLines, 'imap.error', (r) => r.where === 'arguments', {
      from,
    });
    expect(logged).to.include({ level: 'info', kind: 'TypeError' });
    await client.logout();
  });

  for (const command of ['SEARCH NIL', 'UID SEARCH (NIL)', 'FETCH 1 NIL', 'LSUB NIL NIL']) {
    it(`answers ${command} with BAD and goes on`, async function () {
      const { deps, servers, pgp } = fixture as MailboxServers;
      const account = await createAccount(deps, {
        fingerprint: pgp.fingerprint,
        publicKey: pgp.publicKey,
      });
      await storeMessages(deps, pgp, account.user.id, 1);
      const client = await RawImap.connect({ port: servers.plain.port });
      await client.login(account.user.username, account.password);
      expect((await client.command('SELECT INBOX')).status).to.equal('OK');
      expect((await client.command(command)).tagged).to.match(/^t\d+ BAD Invalid arguments$/);
      expect((await client.command('UID SEARCH ALL')).status).to.equal('OK');
      await client.logout();
    });
  }
});
