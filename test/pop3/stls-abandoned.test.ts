/**
 * Regression test from fuzzing (fuzz/targets/pop3-server.ts, docs/fuzzing.md): a client that
 * sends STLS and then closes without a TLS handshake must not leave a connection behind. The
 * engine took every listener off the socket for the handshake and only ended the connection on
 * success or a socket error, so such a connection never closed and was counted forever.
 */
import { expect } from 'chai';
import { connect } from 'node:net';
import { waitForLog } from '../helpers/deps';
import { useMailboxServers, type MailboxServers } from '../helpers/mailbox-servers';
import { RawPop3 } from '../helpers/raw-pop3';

describe('POP3: STLS without a handshake (found by fuzzing)', function () {
  this.timeout(60_000);
  const fixture = useMailboxServers('pop3');

  it('closes the session when the client hangs up after STLS', async function () {
    const { deps, servers } = fixture as MailboxServers;
    const from = deps.logLines.length;
    const socket = connect(servers.plain.port, '127.0.0.1');
    socket.on('error', () => undefined);
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const waitFor = async (text: string): Promise<void> => {
      for (let i = 0; i < 500 && !Buffer.concat(received).toString().includes(text); i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(Buffer.concat(received).toString()).to.contain(text);
    };
    await waitFor('+OK kzymy POP3 server ready');
    socket.write('STLS\r\n');
    await waitFor('+OK Begin TLS negotiation');
    socket.end();
    const closed = await waitForLog(deps.logLines, 'pop3.session_closed', () => true, {
      from,
      timeoutMs: 10_000,
    });
    expect(closed).to.include({ quit: false, received: 0 });

    // And the listener goes on serving.
    const { greeting, client } = await RawPop3.connect({ port: servers.plain.port });
    expect(greeting).to.equal('+OK kzymy POP3 server ready');
    await client.quit();
  });
});
