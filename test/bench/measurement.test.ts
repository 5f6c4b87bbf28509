/**
 * The benchmarks assert nothing about speed (issue 7), but the figures are only worth reading
 * if the instruments are right. These check the instruments against real parts: the SMTP load
 * generator against kzymy's Haraka, the peak-memory and per-thread CPU readings against
 * processes whose peak and threads are known, the sqlite bench environment against the real
 * engine (every component on the one file), and the statistics and report against hand-worked
 * numbers.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { startBenchEnv } from '../../bench/env';
import { CpuMeter, nodeProcessClocks, OFF_MAIN, resetPeak, statusKiB } from '../../bench/proc';
import { engineLabel, renderMarkdown } from '../../bench/report';
import { openConfiguredStore } from '../../src/open-store';
import { runSmtpLoad } from '../../bench/smtp-load';
import { fmtSummary, pairedRatios, summarize } from '../../bench/stats';
import { SmtpHarness } from '../smtp/helpers/harness';

describe('bench: instruments', function () {
  this.timeout(60_000);

  it('the SMTP load generator counts exactly what the server accepted and refused', async () => {
    // The exact payload: the stored copy is compared with the message sent.
    const h = await SmtpHarness.start({ payloadFormat: 'exact' });
    try {
      const alice = await h.addUser();
      const nobody = `x@nobody.${h.domain}`;
      const result = await runSmtpLoad({
        host: '127.0.0.1',
        port: h.port,
        connections: 3,
        messages: 12,
        message: (i) => Buffer.from(`Subject: load ${i}\r\n\r\n.leading dot\r\n`),
        from: 'load@example.org',
        recipient: (i) => (i % 2 === 0 ? alice.address(`n${i}`) : nobody),
      });
      expect(result.accepted).to.equal(6);
      expect(result.latencies).to.have.length(6);
      expect([...result.refused.values()].reduce((a, b) => a + b, 0)).to.equal(6);
      expect([...result.refused.keys()].every((reply) => reply.startsWith('550'))).to.equal(true);
      expect(await h.count(alice.user)).to.equal(6);
      // Dot-stuffed on the way out, unstuffed by the server: the stored copy is the message.
      const [first] = await h.deps.store.messages.list(alice.user.id);
      const plain = await h.gpg.decrypt(await h.deps.store.messages.read(alice.user.id, first!));
      expect(plain.toString()).to.match(/\r\n\r\n\.leading dot\r\n$/);
    } finally {
      await h.close();
    }
  });

  it('a peak-memory reading starts again from a reset (/proc/PID/clear_refs)', async () => {
    // A child that touches 96 MiB, lets it go, then waits: its peak is known to be high.
    const child = spawn(
      process.execPath,
      [
        '--expose-gc',
        '-e',
        `let b = Buffer.alloc(96 * 1024 * 1024, 1); b = null; globalThis.gc();
         process.stdout.write('ready\\n'); setTimeout(() => {}, 60000);`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      await once(child.stdout, 'data');
      const pid = child.pid!;
      const before = statusKiB(pid, 'VmHWM');
      expect(before - statusKiB(pid, 'VmRSS')).to.be.above(64 * 1024);
      expect(resetPeak(pid)).to.equal(true);
      expect(statusKiB(pid, 'VmHWM') - statusKiB(pid, 'VmRSS')).to.be.below(8 * 1024);
    } finally {
      child.kill();
    }
  });

  it("splits a process's CPU into its main thread and the rest (a busy worker thread)", async () => {
    // The main thread waits while a worker thread burns CPU, as the sqlite writer thread does:
    // a fixed amount of work (about 0.4 s of CPU here), whatever else the machine is doing.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const { Worker } = require('node:worker_threads');
         process.stdin.once('data', () => {
           new Worker('let x = 0; for (let i = 0; i < 1e8; i++) x = (x + i) % 1000003;', { eval: true })
             .on('exit', () => process.stdout.write('done\\n'));
         });
         process.stdout.write('ready\\n');`,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    try {
      await once(child.stdout, 'data');
      const meter = new CpuMeter(new Map(nodeProcessClocks('child', child.pid!)));
      meter.start();
      child.stdin.write('go\n');
      await once(child.stdout, 'data');
      const used = meter.stop();
      const all = used.get('child')!;
      const offMain = used.get(`child${OFF_MAIN}`)!;
      expect(offMain).to.be.at.least(200);
      // Starting a worker costs the main thread a little; the loop is the worker's.
      expect(all - offMain).to.be.below(offMain / 4);
    } finally {
      child.kill();
    }
  });

  it('a sqlite bench environment puts every component on its one store file', async () => {
    const env = await startBenchEnv('sqlite');
    try {
      const [alice] = await env.createUsers(1);
      // What Haraka and the daemon open: their own data directory, the env's store.
      const config = env.config('component');
      expect(config.store.engine).to.equal('sqlite');
      expect(config.mongodb.url).to.equal('');
      const component = await openConfiguredStore(config);
      try {
        expect((await component.users.byName(alice!.user.username))?.id).to.equal(alice!.user.id);
        await component.messages.add(alice!.user.id, Buffer.from('ciphertext'), new Date());
        expect(await env.store.messages.count(alice!.user.id)).to.equal(1);
      } finally {
        await component.close();
      }
      expect(env.services().map(([name]) => name)).to.deep.equal(['redis']);
    } finally {
      await env.close();
    }
  });

  it('summarizes runs as median with min–max, and pairs ratios run by run', () => {
    const s = summarize([5, 1, 3, 2, 4]);
    expect([s.median, s.min, s.max, s.q1, s.q3]).to.deep.equal([3, 1, 5, 2, 4]);
    expect(fmtSummary(s, ' ms')).to.equal('3.00 ms (1.00–5.00)');
    // Paired per run: a slow round slows both sides and leaves the ratio alone.
    expect(pairedRatios([10, 40, 20], [5, 20, 10]).median).to.equal(2);
  });

  it('writes every target beside its result, met or not, and says how the run was made', () => {
    const md = renderMarkdown(
      [
        {
          id: 'x',
          title: 'Example',
          method: 'How.',
          columns: ['a'],
          rows: [['1']],
          targets: [
            { goal: 'fast', result: '2×', met: true },
            { goal: 'faster', result: '1×', met: false },
            { goal: 'unknown', result: '–', met: null },
          ],
          notes: ['A note.'],
        },
      ],
      {
        quick: true,
        runs: 3,
        startedAt: new Date('2026-01-02T03:04:05Z'),
        durationS: 90,
        loadAtEnd: 1.5,
        engines: ['sqlite', 'mongodb'],
        machine: {
          cpu: 'CPU',
          cores: 2,
          ramGiB: 4,
          os: 'OS',
          node: 'v20',
          gpg: 'gpg',
          openpgp: '6',
          haraka: '3',
          dovecot: '2',
          loadAtStart: 1,
        },
      },
      'Preface.',
      '## Findings',
    );
    expect(md).to.include('| fast | 2× | met |');
    expect(md).to.include('| faster | 1× | NOT met |');
    expect(md).to.include('| unknown | – | not measured |');
    expect(md).to.include('`--quick`, 3 runs per figure, 90 s');
    expect(md).to.include(`| store engines | sqlite, ${engineLabel('mongodb')} |`);
    expect(md).to.include('## Example');
  });
});
