/**
 * Regression test from fuzzing (fuzz/targets/pop3-server.ts, docs/fuzzing.md): a message number
 * that Number() reads but that is not a decimal number ("1.5") made the engine look up a message
 * that does not exist; the TypeError escaped its socket handler and ended the whole process.
 */
import { expect } from 'chai';
import { createAccount, storeMessages } from '../helpers/mail-fixtures';
import { useMailboxServers, type MailboxServers } from '../helpers/mailbox-servers';
import { RawPop3 } from '../helpers/raw-pop3';

describe('POP3: malformed message numbers (found by fuzzing)', function () {
  this.timeout(60_000);
  const fixture = useMailboxServers('pop3');

  for (const command of ['RETR 1.5', 'DELE 1.5', 'TOP 1.5 0', 'TOP 1 1.5', 'RETR 1e0', 'DELE -0']) {
    it(`answers "${command}" with -ERR and keeps serving`, async function () {
      const { deps, servers, pgp } = fixture as MailboxServers;
      const account = await createAccount(deps, {
        fingerprint: pgp.fingerprint,
        publicKey: pgp.publicKey,
      });
      await storeMessages(deps, pgp, account.user.id, 2);
      const { client } = await RawPop3.connect({ port: servers.plain.port });
      expect(await client.command(`USER ${account.user.username}`)).to.match(/^\+OK/);
      expect(await client.command(`PASS ${account.password}`)).to.match(/^\+OK/);
      expect(await client.command(command)).to.equal('-ERR malformed command');

      // The server is still there, and nothing was marked: message 1 is whole.
      const { client: next } = await RawPop3.connect({ port: servers.plain.port });
      expect(await next.command(`USER ${account.user.username}`)).to.match(/^\+OK/);
      expect(await next.command(`PASS ${account.password}`)).to.match(/^\+OK maildrop has 2/);
      expect((await next.multi('RETR 1')).status).to.match(/^\+OK/);
      await next.quit();
    });
  }
});
