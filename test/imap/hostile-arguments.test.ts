/**
 * Regression test from fuzzing (fuzz/targets/imap-server.ts, docs/fuzzing.md): NIL where
 * imap-core expects a string or a list made a command module throw out of the engine's socket
 * handler, ending the whole process — `ID (NIL NIL)` even before login; a SEARCH date that
 * passed the engine's pattern but was no date threw later, from a timer.
 */
import { expect } from 'chai';
import { waitForLog } from '../helpers/deps';
import { createAccount, storeMessages } from '../helpers/mail-fixtures';
import { useMailboxServers, type MailboxServers } from '../helpers/mailbox-servers';
import { RawImap } from '../helpers/raw-imap';

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

  for (const [command, answer] of [
    ['SEARCH NIL', 'BAD Invalid arguments'],
    ['UID SEARCH (NIL)', 'BAD Invalid arguments'],
    ['FETCH 1 NIL', 'BAD Invalid arguments'],
    ['LSUB NIL NIL', 'BAD Invalid arguments'],
    // Passes imap-core's date pattern, is no date: threw from a timer while matching.
    ['SEARCH ON 32-Jan-2020', 'NO [CLIENTBUG] SEARCH completed'],
    ['UID SEARCH OR SEEN NOT SENTBEFORE 0-Jan-2020', 'NO [CLIENTBUG] UID SEARCH completed'],
  ] as const) {
    it(`answers ${command} with ${answer.split(' ')[0]} and goes on`, async function () {
      const { deps, servers, pgp } = fixture as MailboxServers;
      const account = await createAccount(deps, {
        fingerprint: pgp.fingerprint,
        publicKey: pgp.publicKey,
      });
      await storeMessages(deps, pgp, account.user.id, 1);
      const client = await RawImap.connect({ port: servers.plain.port });
      await client.login(account.user.username, account.password);
      expect((await client.command('SELECT INBOX')).status).to.equal('OK');
      expect((await client.command(command)).tagged).to.equal(`t3 ${answer}`);
      expect((await client.command('UID SEARCH ALL')).status).to.equal('OK');
      await client.logout();
    });
  }

  it('does not echo a long unknown SEARCH term (found by fuzzing): the BAD text is cut', async function () {
    const { deps, servers } = fixture as MailboxServers;
    const account = await createAccount(deps);
    const client = await RawImap.connect({ port: servers.plain.port });
    await client.login(account.user.username, account.password);
    expect((await client.command('SELECT INBOX')).status).to.equal('OK');
    const term = `CHA${'Q'.repeat(4000)}`;
    const bad = (await client.command(`SEARCH ${term}`)).tagged;
    expect(bad).to.match(/^t3 BAD Unknown search term CHAQ+\.\.\.$/);
    expect(bad.length).to.be.below(80);
    expect((await client.command('NOOP')).status).to.equal('OK');
    await client.logout();
  });
});
