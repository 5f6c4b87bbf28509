/**
 * The two files of deploy/ that run as they are: generate-secrets.sh (run into a scratch folder)
 * and tor/torrc (checked by the real `tor --verify-config`, and by `kzymy doctor` against the
 * container configuration it serves).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { defaultDoctorDeps, runDoctor } from '../../src/cli/doctor';
import { testDataDir } from '../helpers/services';

const DEPLOY = join(__dirname, '..', '..', '..', 'deploy');

function run(
  command: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(command, args, { env: { ...process.env, ...env } }, (error, stdout, stderr) => {
      resolve({
        code: error ? Number((error as { code?: unknown }).code ?? 1) : 0,
        stdout,
        stderr,
      });
    });
  });
}

describe('deploy/generate-secrets.sh', function () {
  this.timeout(30_000);
  const NAMES = [
    'kzymy_mongodb_url',
    'kzymy_redis_url',
    'kzymy_web_secret',
    'mongo_keyfile',
    'mongo_kzymy_password',
    'mongo_root_password',
    'redis_password',
  ];
  let dir: string;
  const read = (name: string): string => readFileSync(join(dir, name), 'utf8');

  before(async () => {
    dir = join(mkdtempSync(join(testDataDir(), 'secrets-')), 'secrets');
    const result = await run('bash', [join(DEPLOY, 'generate-secrets.sh'), dir]);
    expect(result.code, result.stderr).to.equal(0);
  });

  it('writes every secret the compose file names, private to their owner', () => {
    const compose = readFileSync(join(DEPLOY, 'docker-compose.yml'), 'utf8');
    for (const name of NAMES) {
      expect(compose, name).to.include(`file: ./secrets/${name}\n`);
      expect(statSync(join(dir, name)).mode & 0o777, name).to.equal(0o600);
    }
  });

  it('builds the connection strings from the passwords it generated', () => {
    const kzymyPassword = read('mongo_kzymy_password').trim();
    const redisPassword = read('redis_password').trim();
    expect(kzymyPassword).to.match(/^[0-9a-f]{64}$/);
    expect(read('kzymy_mongodb_url')).to.equal(
      `mongodb://kzymy:${kzymyPassword}@mongo:27017/?replicaSet=rs0&authSource=admin\n`,
    );
    expect(read('kzymy_redis_url')).to.equal(`redis://:${redisPassword}@redis:6379/0\n`);
    expect(read('mongo_root_password').trim()).not.to.equal(kzymyPassword);
    // web.secretFile wants at least 32 random bytes.
    expect(read('kzymy_web_secret').trim()).to.match(/^[0-9a-f]{64}$/);
  });

  it('makes a keyfile mongod accepts: 6 to 1024 base64 characters', () => {
    const characters = read('mongo_keyfile').replace(/\s/g, '');
    expect(characters).to.match(/^[A-Za-z0-9+/=]+$/);
    expect(characters.length).to.be.within(6, 1024);
  });

  it('keeps existing secrets when run again, and says which certificate files are missing', async () => {
    const before = NAMES.map(read);
    const result = await run('bash', [join(DEPLOY, 'generate-secrets.sh'), dir]);
    expect(result.code).to.equal(0);
    expect(NAMES.map(read)).to.deep.equal(before);
    expect(result.stdout).to.include(`kept    ${join(dir, 'redis_password')}`);
    expect(result.stdout).to.include(`missing ${join(dir, 'tls.key')}`);
  });

  it('gives the files a kzymy container reads to uid 10001 when run as root', function () {
    if (process.getuid?.() !== 0) this.skip();
    for (const name of ['kzymy_mongodb_url', 'kzymy_redis_url', 'kzymy_web_secret']) {
      expect(statSync(join(dir, name)).uid, name).to.equal(10001);
    }
    // The database containers copy theirs as root: left to the operator.
    expect(statSync(join(dir, 'mongo_keyfile')).uid).to.equal(0);
  });
});

describe('deploy/tor/torrc', function () {
  this.timeout(30_000);
  let torrc: string;

  before(function () {
    try {
      execFileSync('tor', ['--version'], { stdio: 'ignore' });
    } catch {
      console.log('      (skipped: tor is not installed; scripts/setup.sh installs it)');
      this.skip();
    }
    // The shipped file with its two paths moved into a scratch folder: --verify-config checks
    // (and creates) the directories it names.
    const home = mkdtempSync(join(testDataDir(), 'torrc-'));
    mkdirSync(join(home, 'data'), { mode: 0o700 });
    torrc = join(home, 'torrc');
    writeFileSync(
      torrc,
      readFileSync(join(DEPLOY, 'tor', 'torrc'), 'utf8')
        .replace(/^DataDirectory .*$/m, `DataDirectory ${join(home, 'data')}`)
        .replace(/^HiddenServiceDir .*$/m, `HiddenServiceDir ${join(home, 'data', 'kzymy')}`),
    );
  });

  it('is accepted by tor --verify-config', async () => {
    const result = await run('tor', ['--verify-config', '-f', torrc]);
    expect(result.code, result.stdout).to.equal(0);
    expect(result.stdout).to.include('Configuration was valid');
  });

  it('publishes every user listener of the container configuration (kzymy doctor agrees)', async () => {
    const results = await runDoctor(
      {
        configFile: join(DEPLOY, 'kzymy.yaml'),
        online: false,
        torrc,
        // Servers that are not there: this test is about the torrc, and must touch no database.
        env: {
          KZYMY_DOMAIN: 'mail.example.org',
          MONGODB_URL: 'mongodb://127.0.0.1:1/',
          REDIS_URL: 'redis://127.0.0.1:1/0',
        },
      },
      { ...defaultDoctorDeps(), timeoutMs: 500 },
    );
    const tor = results.find((result) => result.check === 'tor');
    expect(tor?.verdict, tor?.message).to.equal('ok');
    expect(tor?.message).to.include('5 onion port(s)');
  });
});
