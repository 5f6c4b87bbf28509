/**
 * The web listener's bounds (src/web/connection-limit.ts): past its cap, idle sockets make room
 * for a real request; a client that trickles its headers is cut off after requestTimeoutSeconds.
 */
import { connect } from 'node:net';
import { expect } from 'chai';
import type { RunningServer } from '../../src/util/running-server';
import { startWebServer } from '../../src/web/server';
import { makeTestDeps, type TestDeps } from '../helpers/deps';
import { Flood, limitCount } from '../helpers/flood';

describe('web: bounded resources', function () {
  this.timeout(60_000);
  const CAP = 5;
  const FLOOD = 30;
  let deps: TestDeps;
  let server: RunningServer;

  before(async () => {
    deps = await makeTestDeps({
      web: { host: '127.0.0.1', port: 0, powBits: 8 },
      limits: { web: { maxConnections: CAP, requestTimeoutSeconds: 1 } },
    });
    server = await startWebServer(deps);
  });
  after(async () => {
    await server?.close();
    await deps?.close();
  });

  it(`${FLOOD} idle sockets on a cap of ${CAP}: a request is still answered`, async () => {
    const flood = await Flood.open(server.port, FLOOD);
    try {
      await flood.closedUntil((closed) => closed === FLOOD - CAP);
      const response = await fetch(`http://127.0.0.1:${server.port}/`);
      expect(response.status).to.equal(200);
      await response.text();
      expect(await limitCount(deps.metrics, 'web', 'evicted')).to.be.at.least(FLOOD - CAP + 1);
    } finally {
      flood.destroy();
    }
  });

  it('a client that trickles its request headers is cut off after requestTimeoutSeconds', async () => {
    const socket = connect({ host: '127.0.0.1', port: server.port });
    socket.on('error', () => undefined);
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const started = Date.now();
    const trickle = setInterval(() => socket.write('X-Slow: a\r\n'), 200);
    try {
      await new Promise((resolve) => socket.once('close', resolve));
    } finally {
      clearInterval(trickle);
    }
    // 1 s allowed, checked every second.
    expect(Date.now() - started).to.be.below(3500);
    expect(answer).to.match(/^HTTP\/1\.1 408 /);
  });
});
