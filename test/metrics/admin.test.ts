/**
 * The metrics registry and the admin listener, against the run's real FerretDB and Redis (and a
 * redis-server of its own that the test stops), scraped over real HTTP.
 */
import { execFile, fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Redis } from '../../src/redis/connection';
import type { RunningServer } from '../../src/util/running-server';
import { connectRedis } from '../../src/redis/connection';
import { createLogger } from '../../src/log/logger';
import { startAdminServer, type AdminDeps } from '../../src/metrics/admin-server';
import { aggregatedMetrics } from '../../src/metrics/child-metrics';
import {
  createMetrics,
  DELETE_REASONS,
  FETCH_PROTOCOLS,
  LOGIN_PROTOCOLS,
  REFUSAL_REASONS,
  type RefusalReason,
} from '../../src/metrics/registry';
import { startRedis } from '../../src/embedded/services';
import { freePort } from '../../src/util/ports';
import { makeTestDeps, type TestDeps } from '../helpers/deps';
import { testDataDir } from '../helpers/services';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format (0.0.4) into samples; comment lines are skipped. */
function samples(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1] as string] = pair[2] as string;
    }
    out.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return out;
}

function value(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return samples(text).find(
    (s) =>
      s.name === name &&
      Object.keys(labels).length === Object.keys(s.labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;
}

async function get(
  port: number,
  path: string,
  method = 'GET',
): Promise<{ status: number; type: string; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return {
    status: response.status,
    type: response.headers.get('content-type') ?? '',
    body: await response.text(),
  };
}

describe('metrics registry', () => {
  it('counts each event under its closed-set label, every series present from the start', async () => {
    const metrics = createMetrics({ processMetrics: false, version: '9.9.9' });
    let text = await metrics.registry.metrics();
    for (const reason of REFUSAL_REASONS) {
      expect(value(text, 'kzymy_messages_refused_total', { reason }), reason).to.equal(0);
    }
    for (const protocol of FETCH_PROTOCOLS) {
      expect(value(text, 'kzymy_messages_fetched_total', { protocol })).to.equal(0);
    }
    for (const reason of DELETE_REASONS) {
      expect(value(text, 'kzymy_messages_deleted_total', { reason })).to.equal(0);
    }
    for (const protocol of LOGIN_PROTOCOLS) {
      expect(value(text, 'kzymy_login_failures_total', { protocol })).to.equal(0);
    }

    metrics.messageAccepted();
    metrics.messageAccepted();
    metrics.messageRefused('quota');
    metrics.messageRefused('unknown_user');
    metrics.messageRefused('unknown_user');
    metrics.messageFetched('pop3');
    metrics.messagesDeleted('fetched', 3);
    metrics.messagesDeleted('grace_expired');
    metrics.loginFailed('imap');
    metrics.observeDeliverySeconds(0.003);
    metrics.observeDeliverySeconds(0.2);
    metrics.observeDeliverySeconds(45);

    text = await metrics.registry.metrics();
    expect(value(text, 'kzymy_messages_accepted_total')).to.equal(2);
    expect(value(text, 'kzymy_messages_refused_total', { reason: 'quota' })).to.equal(1);
    expect(value(text, 'kzymy_messages_refused_total', { reason: 'unknown_user' })).to.equal(2);
    expect(value(text, 'kzymy_messages_refused_total', { reason: 'size' })).to.equal(0);
    expect(value(text, 'kzymy_messages_fetched_total', { protocol: 'pop3' })).to.equal(1);
    expect(value(text, 'kzymy_messages_fetched_total', { protocol: 'imap' })).to.equal(0);
    expect(value(text, 'kzymy_messages_deleted_total', { reason: 'fetched' })).to.equal(3);
    expect(value(text, 'kzymy_messages_deleted_total', { reason: 'grace_expired' })).to.equal(1);
    expect(value(text, 'kzymy_login_failures_total', { protocol: 'imap' })).to.equal(1);
    // Fixed buckets: 0.003 ≤ 0.005; 0.2 ≤ 0.25; 45 only in +Inf.
    expect(value(text, 'kzymy_delivery_seconds_bucket', { le: '0.005' })).to.equal(1);
    expect(value(text, 'kzymy_delivery_seconds_bucket', { le: '0.1' })).to.equal(1);
    expect(value(text, 'kzymy_delivery_seconds_bucket', { le: '0.25' })).to.equal(2);
    expect(value(text, 'kzymy_delivery_seconds_bucket', { le: '30' })).to.equal(2);
    expect(value(text, 'kzymy_delivery_seconds_bucket', { le: '+Inf' })).to.equal(3);
    expect(value(text, 'kzymy_delivery_seconds_count')).to.equal(3);
    expect(value(text, 'kzymy_delivery_seconds_sum')).to.be.closeTo(45.203, 1e-9);
    expect(value(text, 'kzymy_build_info', { version: '9.9.9' })).to.equal(1);
  });

  it('drops a label value outside its set instead of making a new series, and counts the drop', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const before = samples(await metrics.registry.metrics()).length;
    // What a JavaScript caller (or a cast) could pass: an address would be a per-user label.
    metrics.messageRefused('alice@bob.kzymy.test' as RefusalReason);
    metrics.messagesDeleted('fetched', -1);
    const text = await metrics.registry.metrics();
    expect(text).not.to.include('alice');
    expect(samples(text).length).to.equal(before + 2);
    expect(
      value(text, 'kzymy_metrics_invalid_label_total', { metric: 'kzymy_messages_refused_total' }),
    ).to.equal(1);
    expect(
      value(text, 'kzymy_metrics_invalid_label_total', { metric: 'kzymy_messages_deleted_total' }),
    ).to.equal(1);
  });

  it('has no label that could name a user: every kzymy label is one of a fixed few', async () => {
    const metrics = createMetrics();
    metrics.loginFailed('web');
    metrics.startDeliveryTimer()();
    const text = await metrics.registry.metrics();
    const names = new Set(
      samples(text)
        .filter((s) => s.name.startsWith('kzymy_'))
        .flatMap((s) => Object.keys(s.labels)),
    );
    // `outcome` is kzymy_submissions_total's, `result` the forwarding counters', `action`,
    // `listener` and `service` the connection limits' and the supervisor's: closed sets.
    expect([...names].sort()).to.deep.equal([
      'action',
      'le',
      'listener',
      'outcome',
      'protocol',
      'reason',
      'result',
      'service',
      'version',
    ]);
    // prom-client's process metrics are there too, and describe only the process.
    expect(value(text, 'process_cpu_user_seconds_total')).to.be.a('number');
    expect(value(text, 'kzymy_delivery_seconds_count')).to.equal(1);
  });

  it('times a delivery once, however often the stop function is called', async () => {
    const metrics = createMetrics({ processMetrics: false });
    const stop = metrics.startDeliveryTimer();
    stop();
    stop();
    const text = await metrics.registry.metrics();
    expect(value(text, 'kzymy_delivery_seconds_count')).to.equal(1);
    expect(value(text, 'kzymy_delivery_seconds_sum')).to.be.within(0, 1);
  });
});

describe('admin listener', function () {
  this.timeout(60_000);
  let deps: TestDeps;
  let server: RunningServer;
  const metrics = createMetrics({ processMetrics: false });

  before(async () => {
    deps = await makeTestDeps();
    server = await startAdminServer(deps, metrics.registry, { port: 0 });
  });
  after(async () => {
    await server?.close();
    await deps?.close();
  });

  it('answers /healthz with 200 when the store and Redis answer', async () => {
    const response = await get(server.port, '/healthz');
    expect(response.status).to.equal(200);
    expect(response.type).to.equal('application/json');
    expect(JSON.parse(response.body)).to.deep.equal({ status: 'ok', store: 'ok', redis: 'ok' });
    const head = await get(server.port, '/healthz', 'HEAD');
    expect(head.status).to.equal(200);
    expect(head.body).to.equal('');
  });

  it('serves /metrics in the Prometheus text format', async () => {
    metrics.messageAccepted();
    metrics.messageRefused('foreign_domain');
    const response = await get(server.port, '/metrics?ignored=1');
    expect(response.status).to.equal(200);
    expect(response.type).to.equal('text/plain; version=0.0.4; charset=utf-8');
    expect(response.body).to.include('# TYPE kzymy_messages_accepted_total counter');
    expect(value(response.body, 'kzymy_messages_accepted_total')).to.equal(1);
    expect(
      value(response.body, 'kzymy_messages_refused_total', { reason: 'foreign_domain' }),
    ).to.equal(1);
  });

  it('serves nothing else, and takes no writes', async () => {
    expect((await get(server.port, '/')).status).to.equal(404);
    expect((await get(server.port, '/metrics.txt')).status).to.equal(404);
    const post = await fetch(`http://127.0.0.1:${server.port}/metrics`, {
      method: 'POST',
      body: 'x',
    });
    expect(post.status).to.equal(405);
    expect(post.headers.get('allow')).to.equal('GET, HEAD');
  });

  it('listens on the configured host, loopback by default', async () => {
    expect(deps.config.admin).to.deep.equal({ enabled: true, host: '127.0.0.1', port: 9465 });
    const other = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    expect(other.status).to.equal(200);
  });

  it('reports 503 naming Redis when its server goes away, and logs no address', async () => {
    const dataDir = mkdtempSync(join(testDataDir(), 'admin-redis-'));
    const ownRedis = await startRedis({ dataDir, port: 0 });
    let client: Redis | undefined;
    let local: RunningServer | undefined;
    try {
      client = await connectRedis(ownRedis.url);
      client.on('error', () => undefined);
      const lines: string[] = [];
      const logger = createLogger({ component: 'test', sink: (line) => lines.push(line) });
      const adminDeps: AdminDeps = {
        config: deps.config,
        store: deps.store,
        redis: client,
        logger,
      };
      local = await startAdminServer(adminDeps, metrics.registry, {
        port: 0,
        probeTimeoutMs: 1000,
      });
      expect((await get(local.port, '/healthz')).status).to.equal(200);

      await ownRedis.stop();
      const response = await get(local.port, '/healthz');
      expect(response.status).to.equal(503);
      const body = JSON.parse(response.body) as Record<string, string>;
      expect(body.status).to.equal('fail');
      expect(body.store).to.equal('ok');
      expect(body.redis).to.be.oneOf(['fail', 'timeout']);
      expect(lines.some((line) => line.includes('"event":"redis.error"'))).to.equal(true);
      expect(lines.join('\n')).not.to.match(/127\.0\.0\.1:\d+|redis:\/\//);
    } finally {
      client?.disconnect();
      await local?.close();
      await ownRedis.stop();
    }
  });

  it('refuses to start on a port already taken, instead of running without a listener', async () => {
    let error: unknown;
    try {
      await startAdminServer(deps, metrics.registry, { port: server.port });
    } catch (caught) {
      error = caught;
    }
    expect((error as NodeJS.ErrnoException | undefined)?.code).to.equal('EADDRINUSE');
  });

  describe('the container health check (dist/src/metrics/healthcheck.js)', () => {
    const script = join(__dirname, '..', '..', 'src', 'metrics', 'healthcheck.js');
    const run = (args: string[]): Promise<{ code: number; stdout: string }> =>
      new Promise((resolve) => {
        execFile(process.execPath, [script, ...args], (error, stdout) => {
          resolve({ code: error ? Number((error as { code?: unknown }).code) : 0, stdout });
        });
      });

    it('exits 0 against a healthy node', async () => {
      const result = await run([String(server.port)]);
      expect(result.code).to.equal(0);
      expect(result.stdout).to.match(/^200 \{"status":"ok"/);
    });

    it('exits 1 when nothing listens', async () => {
      const result = await run([String(await freePort())]);
      expect(result.code).to.equal(1);
      expect(result.stdout).to.match(/^unreachable/);
    });
  });
});

describe("a child process's metrics (Haraka's) in the parent's scrape", function () {
  this.timeout(30_000);
  let child: ChildProcess | undefined;

  afterEach(() => {
    child?.kill('SIGKILL');
    child = undefined;
  });

  it("adds the child's counters to the parent's, and serves the parent's alone once the child is gone", async () => {
    child = fork(join(__dirname, 'fixtures', 'metrics-child.js'), [], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    await new Promise<void>((resolve, reject) => {
      child?.once('message', () => resolve());
      child?.once('exit', (code) => reject(new Error(`child exited with ${code}`)));
    });
    const parent = createMetrics({ processMetrics: false });
    parent.messageAccepted();
    parent.messageRefused('quota');
    parent.observeDeliverySeconds(0.02);
    const running = child;
    const source = aggregatedMetrics(
      parent.registry,
      () => (running.connected ? [running] : []),
      2000,
    );

    let text = await source.metrics();
    expect(value(text, 'kzymy_messages_accepted_total')).to.equal(4);
    expect(value(text, 'kzymy_messages_refused_total', { reason: 'quota' })).to.equal(3);
    expect(value(text, 'kzymy_messages_refused_total', { reason: 'size' })).to.equal(0);
    expect(value(text, 'kzymy_delivery_seconds_bucket', { le: '0.025' })).to.equal(2);
    // Every process has the same version: the aggregate shows it once, as 1.
    expect(
      samples(text)
        .filter((s) => s.name === 'kzymy_build_info')
        .map((s) => s.value),
    ).to.deep.equal([1]);
    expect(source.contentType).to.equal('text/plain; version=0.0.4; charset=utf-8');

    running.kill('SIGKILL');
    await new Promise((resolve) => running.once('exit', resolve));
    text = await source.metrics();
    expect(value(text, 'kzymy_messages_accepted_total')).to.equal(1);
  });

  it('leaves out a child that does not answer in time', async () => {
    // A child with an IPC channel that never answers: plain node reading nothing.
    child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const parent = createMetrics({ processMetrics: false });
    parent.messageAccepted();
    const silent = child;
    const started = Date.now();
    const text = await aggregatedMetrics(parent.registry, () => [silent], 300).metrics();
    expect(Date.now() - started).to.be.below(2000);
    expect(value(text, 'kzymy_messages_accepted_total')).to.equal(1);
  });
});
