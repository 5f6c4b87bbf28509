/**
 * The supervisor on its own (src/embedded/supervisor.ts), with a real redis-server as the
 * service: it knows nothing of which service it keeps, only how to start it on its port. A
 * service killed with -9 is started again on the same port and answers there; one that cannot be
 * started again is given up on after `maxFailures` tries, once; a stopped supervisor restarts
 * nothing. (The whole process, on both store engines: test/e2e/self-healing.test.ts.)
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { expect } from 'chai';
import { startRedis, type RunningService } from '../../src/embedded/services';
import { Supervisor, type SupervisorOptions } from '../../src/embedded/supervisor';
import { createLogger } from '../../src/log/logger';
import { connectRedis } from '../../src/redis/connection';
import { testDataDir } from '../helpers/services';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(
  test: () => boolean,
  timeoutMs: number,
  between: () => Promise<unknown> = () => sleep(20),
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await between();
  }
}

/** Events the supervisor logged, by name. */
function events(lines: string[], name: string): Array<Record<string, unknown>> {
  return lines
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((record) => record.event === name);
}

describe('embedded: the supervisor', function () {
  this.timeout(60_000);
  let dataDir: string;
  let lines: string[];
  let restarts: string[];
  let gaveUp: string[];
  let supervisor: Supervisor | undefined;

  const supervise = (first: RunningService, options: Partial<SupervisorOptions> = {}): Supervisor =>
    new Supervisor(first, {
      name: 'redis',
      start: (port) => startRedis({ dataDir, port }),
      logger: createLogger({ component: 'test', level: 'debug', sink: (line) => lines.push(line) }),
      onRestart: (name) => restarts.push(name),
      onGiveUp: (name) => gaveUp.push(name),
      initialDelayMs: 50,
      ...options,
    });

  beforeEach(() => {
    dataDir = mkdtempSync(join(testDataDir(), 'supervisor-'));
    lines = [];
    restarts = [];
    gaveUp = [];
  });
  afterEach(async () => {
    await supervisor?.stop();
    supervisor = undefined;
  });

  it('starts a service killed with -9 again on its port, where its clients find it', async () => {
    const first = await startRedis({ dataDir, port: 0 });
    // A death this soon after a start would count as a failed start (default: within 10 s).
    supervisor = supervise(first, { stableMs: 0 });
    const client = await connectRedis(supervisor.url);
    // As every kzymy connection has one (src/roles/create-deps.ts): refused while it is down.
    client.on('error', () => undefined);
    try {
      await client.set('before', '1');
      process.kill(first.pid, 'SIGKILL');
      await until(() => restarts.length === 1, 10_000);
      expect(supervisor.pid).to.not.equal(first.pid);
      expect(supervisor.port).to.equal(first.port);
      // The client reconnects by itself to the new process (the old one's data is gone: Redis
      // holds nothing that must outlive it here).
      let answer = '';
      await until(
        () => answer === 'PONG',
        10_000,
        async () => {
          await sleep(50);
          answer = await client.ping().catch(() => '');
        },
      );
      expect(events(lines, 'service.exit')[0]).to.include({ service: 'redis', signal: 'SIGKILL' });
      expect(events(lines, 'service.restart')[0]).to.include({
        service: 'redis',
        port: first.port,
        attempt: 1,
      });
      expect(gaveUp).to.deep.equal([]);
    } finally {
      client.disconnect();
    }
  });

  it('gives up, once, when every start fails, and says so', async () => {
    const first = await startRedis({ dataDir, port: 0 });
    supervisor = supervise(first, { maxFailures: 3 });
    process.kill(first.pid, 'SIGKILL');
    // Something else takes the port first: each start of redis-server there fails.
    const squatter = await squat(first.port);
    try {
      await until(() => gaveUp.length > 0, 20_000);
      await sleep(500);
      expect(gaveUp).to.deep.equal(['redis']);
      // A start can look ready for a moment (the squatter answers on the port) before its
      // process exits: a death that soon after a start counts as a failed start all the same.
      const gaveUpEvents = events(lines, 'service.gave_up');
      expect(gaveUpEvents).to.have.length(1);
      expect(gaveUpEvents[0]).to.include({ service: 'redis', failures: 3 });
    } finally {
      squatter.close();
    }
  });

  it('restarts nothing once stopped', async () => {
    const first = await startRedis({ dataDir, port: 0 });
    supervisor = supervise(first);
    await supervisor.stop();
    await first.exited;
    await sleep(300);
    expect(restarts).to.deep.equal([]);
    expect(events(lines, 'service.exit')).to.deep.equal([]);
  });
});

/** Listens on `port` as soon as the killed process has let go of it. */
async function squat(port: number): Promise<Server> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const server = createServer((socket) => socket.destroy());
    const bound = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (bound) return server;
    if (Date.now() > deadline) throw new Error(`port ${port} never came free`);
    await sleep(5);
  }
}
