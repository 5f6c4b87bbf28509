/**
 * Self-healing (src/embedded/supervisor.ts), on the whole stack as `npm start` runs it with its
 * own embedded services: on the default sqlite engine its redis-server, on the mongodb engine its
 * FerretDB too. `kill -9` of any of them, and deliveries are answered 250 again within seconds,
 * with no operator action and nothing lost; when a service cannot be started again, the process
 * exits non-zero for its own supervisor to restart (checked once, on sqlite).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import type { StoreEngineName } from '../../src/config/schema';
import type { EmbeddedService } from '../../src/metrics/registry';
import { freePort } from '../../src/util/ports';
import { ENGINES } from '../helpers/engines';
import { GpgHome } from '../helpers/gpg';
import { imapFetchAll, newDeployment, StackProcess, type Deployment } from './helpers/stack';

const run = promisify(execFile);

/** The pid the process logged for an embedded service (at start, or at its latest restart). */
function servicePid(stack: StackProcess, service: string): number {
  let pid = 0;
  for (const line of stack.output) {
    if (!line.startsWith('{')) continue;
    const record = JSON.parse(line) as Record<string, unknown>;
    if (
      (record.event === 'service.ready' || record.event === 'service.restart') &&
      record.service === service &&
      typeof record.pid === 'number'
    )
      pid = record.pid;
  }
  if (!pid) throw new Error(`no pid logged for ${service}`);
  return pid;
}

/** One message with swaks; resolves with the final reply code (swaks exits non-zero on 4xx). */
async function deliver(port: number, to: string, label: string): Promise<number> {
  const result = await run('swaks', [
    '--server',
    `127.0.0.1:${port}`,
    '--from',
    'alice@example.org',
    '--to',
    to,
    '--header',
    `Subject: heal ${label}`,
  ]).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
  // swaks marks replies "<-  250 ..." and refusals "<** 451 ...": the last one before QUIT's
  // 221 is the verdict (the reply to the end of data, or the refusal that ended the transaction).
  const codes = [...result.stdout.matchAll(/^<(?:-|\*\*) +(\d{3})[ -]/gm)]
    .map((m) => Number(m[1]))
    .filter((code) => code !== 221);
  return codes[codes.length - 1] ?? 0;
}

/** Delivers until one is answered 250; resolves with how long that took (ms). */
async function deliverUntilAccepted(
  port: number,
  to: string,
  label: string,
  timeoutMs: number,
): Promise<{ ms: number; tempfails: number }> {
  const started = Date.now();
  let tempfails = 0;
  for (;;) {
    const code = await deliver(port, to, label);
    if (code === 250) return { ms: Date.now() - started, tempfails };
    // Fail closed meanwhile: only ever a temporary refusal (or a dropped connection).
    expect([0, 421, 451]).to.include(code);
    tempfails += 1;
    if (Date.now() - started > timeoutMs)
      throw new Error(`no 250 within ${timeoutMs} ms (${tempfails} refusals)`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Asks /healthz until it answers 200 or `timeoutMs` has passed; resolves with the last status. */
async function healthyWithin(port: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { status } = await fetch(`http://127.0.0.1:${port}/healthz`);
    if (status === 200 || Date.now() > deadline) return status;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function metricValue(text: string, sample: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return Number(line?.split(' ')[1] ?? NaN);
}

/**
 * The embedded services each engine runs: Redis always; FerretDB only for the mongodb engine
 * (the default sqlite engine is a file in the process, with nothing to restart).
 */
const SERVICES: Record<StoreEngineName, readonly EmbeddedService[]> = {
  sqlite: ['redis'],
  mongodb: ['redis', 'ferretdb'],
};

describe('e2e: embedded services heal themselves', function () {
  this.timeout(300_000);

  for (const engine of ENGINES) {
    describe(`[${engine}]`, () => {
      let deployment: Deployment;
      let stack: StackProcess;
      let gpg: GpgHome;
      let account: { username: string; domain: string; password: string };
      let accepted = 0;

      before(async () => {
        deployment = newDeployment(engine);
        // Embedded services on fixed ports (picked free), so that `kzymy user add` finds them.
        stack = await StackProcess.start(deployment, 'all', {
          ...(engine === 'mongodb'
            ? {
                mongodb: { url: '', embeddedPort: await freePort(), database: deployment.database },
              }
            : {}),
          redis: { url: '', embeddedPort: await freePort(), prefix: deployment.prefix },
        });
        gpg = await GpgHome.create();
        const key = await gpg.generateKey('curve25519', 'nym');
        const keyFile = join(stack.dataDir, 'user.asc');
        writeFileSync(keyFile, await gpg.exportPublic(key.fingerprint));
        account = await stack.addUser(keyFile);
      });
      after(async () => {
        await gpg?.dispose();
        await stack?.stop();
      });

      const to = (): string => `heal@${account.domain}`;

      it('delivers before anything is killed', async () => {
        expect(await deliver(stack.ports.smtp as number, to(), 'before')).to.equal(250);
        accepted += 1;
        // Only what this engine needs was started.
        const started = stack.output
          .filter((line) => line.includes('"event":"service.ready"') && line.includes('"pid"'))
          .map((line) => (JSON.parse(line) as { service: string }).service);
        expect(started.sort()).to.deep.equal([...SERVICES[engine]].sort());
      });

      for (const service of SERVICES[engine]) {
        it(`kill -9 of the embedded ${service}: 250 again within seconds, restart logged and counted`, async () => {
          const pid = servicePid(stack, service);
          process.kill(pid, 'SIGKILL');
          const healed = await deliverUntilAccepted(
            stack.ports.smtp as number,
            to(),
            service,
            30_000,
          );
          accepted += 1;
          expect(healed.ms).to.be.below(30_000);
          expect(servicePid(stack, service)).to.not.equal(pid);
          const restart = stack.output.find(
            (line) =>
              line.includes('"event":"service.restart"') && line.includes(`"service":"${service}"`),
          );
          expect(restart, stack.output.join('\n')).to.be.a('string');
          const metrics = await stack.metrics();
          expect(
            metricValue(metrics, `kzymy_service_restarts_total{service="${service}"}`),
          ).to.equal(1);
          // The admin listener sees the store and Redis healthy again, within seconds too: its
          // own connections reconnect on their own backoff, which may trail Haraka's by a
          // second or two.
          expect(await healthyWithin(stack.ports.admin as number, 10_000)).to.equal(200);
        });
      }

      it('loses nothing: every message answered 250 is there to fetch', async () => {
        const delivered = await imapFetchAll(stack.ports.imap as number, account);
        expect(delivered).to.have.length(accepted);
      });

      if (engine !== 'sqlite') return;

      it('exits non-zero when a service cannot be started again', async () => {
        const pid = servicePid(stack, 'redis');
        const port = JSON.parse(
          stack.output.find(
            (line) => line.includes('"service":"redis"') && line.includes('"pid"'),
          ) as string,
        ).port as number;
        const exited = new Promise<number | null>((resolve) => stack.child.once('exit', resolve));
        process.kill(pid, 'SIGKILL');
        // Something else takes the port before the restart can: every restart fails.
        const squatter = await squat(port);
        try {
          const code = await exited;
          expect(code).to.equal(1);
          expect(stack.output.some((line) => line.includes('"event":"service.gave_up"'))).to.equal(
            true,
          );
        } finally {
          squatter.close();
        }
      });
    });
  }
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
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
