/**
 * The README's first-mail walk-through, run as written: its server block (`npm start`) in the
 * background, then its client block in bash — a throwaway GnuPG key, `kzymy user add`, swaks,
 * `kzymy-fetch --decrypt` — and the decrypted mail must come out of the last `cat`. What differs
 * from a newcomer's terminal is the environment only: KZYMY_CONFIG names a configuration with its
 * own data directory (so the default sqlite store is a new file there, as on a first start), the
 * run's Redis, and every listener on a free port (0); the ports the README names (SMTP 2525,
 * IMAP 1143) are replaced by the ones bound, read from the service.ready line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { projectRoot } from '../../src/util/project-root';
import { hasProgram } from '../helpers/programs';
import { testDataDir, testRedisUrl } from '../helpers/services';

/** The fenced block after `<!-- walkthrough: NAME -->` in README.md. */
function readmeBlock(name: string): string {
  const text = readFileSync(join(projectRoot(), 'README.md'), 'utf8');
  const marker = `<!-- walkthrough: ${name} -->`;
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`README.md has no ${marker}`);
  const open = /```[^\n]*\n/.exec(text.slice(at));
  if (!open) throw new Error(`README.md: no code block after ${marker}`);
  const start = at + open.index + open[0].length;
  return text.slice(start, text.indexOf('\n```', start - 1) + 1);
}

/** Replaces each text, insisting that it occurs (a README that changed must fail here). */
function replaceAll(text: string, values: Record<string, string>): string {
  let out = text;
  for (const [from, to] of Object.entries(values)) {
    if (!out.includes(from)) throw new Error(`"${from}" not in:\n${text}`);
    out = out.split(from).join(to);
  }
  return out;
}

function cleanEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    if (name === 'MONGODB_URL' || name === 'REDIS_URL' || name.startsWith('KZYMY_'))
      delete env[name];
  }
  return { ...env, ...extra };
}

describe('README: the first encrypted mail, end to end, as written', function () {
  this.timeout(240_000);
  let server: ChildProcess | undefined;
  const output: string[] = [];

  before(async function () {
    for (const program of ['swaks', 'gpg', 'npm'])
      if (!(await hasProgram(program))) {
        console.warn(`    SKIPPED: ${program} is not installed`);
        this.skip();
      }
  });

  after(async () => {
    if (server?.pid && server.exitCode === null) {
      const exited = new Promise((resolve) => server?.once('exit', resolve));
      process.kill(-server.pid, 'SIGTERM');
      await exited;
    }
  });

  it('starts kzymy with npm start, and the client block ends with the decrypted mail', async () => {
    const dir = mkdtempSync(join(testDataDir(), 'walkthrough-'));
    const configFile = join(dir, 'kzymy.yaml');
    // JSON is YAML.
    writeFileSync(
      configFile,
      JSON.stringify({
        domain: 'kzymy.test',
        dataDir: join(dir, 'var'),
        redis: { url: testRedisUrl(), prefix: `kzymy-walk-${randomBytes(4).toString('hex')}:` },
        smtp: { port: 0 },
        imap: { port: 0, tlsPort: 0 },
        pop3: { port: 0, tlsPort: 0 },
        web: { port: 0 },
        admin: { port: 0 },
      }),
    );
    const env = cleanEnv({ KZYMY_CONFIG: configFile, TMPDIR: dir });

    // Terminal 1: npm start (its own process group, so the test can stop npm and kzymy).
    server = spawn('bash', ['-c', readmeBlock('server')], {
      cwd: projectRoot(),
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const ports = await new Promise<{ smtp: number; imap: number }>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`npm start did not get ready:\n${output.join('\n')}`)),
        180_000,
      );
      const onLine = (line: string): void => {
        output.push(line);
        if (!line.startsWith('{')) return;
        const record = JSON.parse(line) as Record<string, unknown>;
        if (record.event === 'service.ready' && record.role === 'all') {
          clearTimeout(timer);
          resolve({ smtp: Number(record.smtp), imap: Number(record.imap) });
        }
      };
      for (const stream of [server?.stdout, server?.stderr]) {
        let rest = '';
        stream?.on('data', (chunk: Buffer) => {
          const lines = (rest + chunk.toString('utf8')).split('\n');
          rest = lines.pop() ?? '';
          lines.forEach(onLine);
        });
      }
      server?.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`npm start exited with ${code}:\n${output.join('\n')}`));
      });
    });

    // Terminal 2: the client block, with the ports kzymy bound.
    const client = replaceAll(readmeBlock('client'), {
      '127.0.0.1:2525': `127.0.0.1:${ports.smtp}`,
      '--port 1143': `--port ${ports.imap}`,
    });
    const run = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve) => {
        const child = spawn('bash', ['-euo', 'pipefail', '-c', client], {
          cwd: projectRoot(),
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      },
    );

    expect(run.code, `${run.stdout}\n${run.stderr}`).to.equal(0);
    // The last cat: the mail as it was sent, decrypted by the throwaway key.
    expect(run.stdout).to.include('Subject: my first kzymy mail');
    expect(run.stdout).to.include('It works: this was encrypted before it was stored.');
    expect(run.stdout).to.match(/^Delivered-To: hello@[a-z0-9]+\.kzymy\.test$/m);
  });
});
