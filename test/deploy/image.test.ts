/**
 * The Dockerfile and its build context, checked without a Docker engine: the Dockerfile through
 * dockerfile-utils' validator (the parser of the VS Code Docker tooling); its stages against what
 * CI does; .dockerignore through @balena/dockerignore (Docker's matching rules) against the
 * repository's real file list; the compiled code against the runtime-only dependencies the image
 * installs; and the entrypoint script by running it.
 */
import { execFile, execFileSync } from 'node:child_process';
import {
  type Dirent,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import ignore from '@balena/dockerignore';
import { expect } from 'chai';
import { DockerfileParser } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';

const ROOT = join(__dirname, '..', '..', '..');
const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const LINES = DOCKERFILE.split('\n');

interface Stage {
  from: string;
  name: string;
  instructions: Array<{ keyword: string; args: string }>;
}

function stages(): Stage[] {
  const out: Stage[] = [];
  for (const instruction of DockerfileParser.parse(DOCKERFILE).getInstructions()) {
    const keyword = instruction.getKeyword();
    // The instruction's own text, flags included (getArgumentsContent() leaves out --from=...),
    // continuation lines joined.
    const range = instruction.getRange();
    const args = LINES.slice(range.start.line, range.end.line + 1)
      .map((line) => line.replace(/\\$/, '').trim())
      .join(' ')
      .replace(/^\S+\s+/, '');
    if (keyword === 'FROM') {
      const [from = '', , name = ''] = args.split(/\s+/);
      out.push({ from, name, instructions: [] });
    } else if (out.length > 0) {
      out[out.length - 1]?.instructions.push({ keyword, args });
    }
  }
  return out;
}

function runs(stage: Stage | undefined): string[] {
  return (stage?.instructions ?? []).filter((i) => i.keyword === 'RUN').map((i) => i.args);
}

describe('Dockerfile', () => {
  it('has no problem dockerfile-utils can find', () => {
    expect(validate(DOCKERFILE)).to.deep.equal([]);
    // ...which does find them when they are there.
    expect(validate('FROM node:20\nCOPY\nEXPOSE notaport\n')).to.have.length.greaterThan(0);
  });

  it('builds every stage on one base, node:20-bookworm-slim, that a build argument can pin by digest', () => {
    const instructions = DockerfileParser.parse(DOCKERFILE).getInstructions();
    // A global ARG (before the first FROM) is what FROM lines may use, so
    // `--build-arg NODE_IMAGE=node:20-bookworm-slim@sha256:…` moves every stage at once.
    const firstFrom = instructions.findIndex((i) => i.getKeyword() === 'FROM');
    const globalArgs = instructions
      .slice(0, firstFrom)
      .filter((i) => i.getKeyword() === 'ARG')
      .map((i) => i.getArgumentsContent());
    expect(globalArgs).to.deep.equal(['NODE_IMAGE=node:20-bookworm-slim']);
    for (const stage of stages()) expect(stage.from).to.equal('${NODE_IMAGE}');
  });

  it('builds exactly as CI does: npm ci, then npm run build, which is tsc -p tsconfig.json', () => {
    const [build, deps, runtime] = stages();
    expect(stages().map((s) => s.name)).to.deep.equal(['build', 'deps', 'runtime']);
    expect(runs(build)).to.deep.equal([
      'npm ci --no-audit --no-fund --ignore-scripts',
      'npm run build',
    ]);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.build).to.equal('tsc -p tsconfig.json');
    // .ci/run installs with `npm ci` and builds through the same npm scripts.
    const ci = readFileSync(join(ROOT, '.ci', 'run'), 'utf8');
    expect(ci).to.match(/^npm ci\b/m);
    expect(pkg.scripts.test).to.match(/^npm run build\b/);
    // The one native add-on kzymy runs is built from source against the image's Node headers.
    expect(runs(deps).pop()).to.equal(
      'npm ci --omit=dev --no-audit --no-fund --ignore-scripts ' +
        '&& npm rebuild better-sqlite3 --build-from-source --nodedir=/usr/local ' +
        '&& npm cache clean --force',
    );
    // The runtime stage takes only the compiled server code and the production node_modules.
    const copies = (runtime?.instructions ?? [])
      .filter((i) => i.keyword === 'COPY')
      .map((i) => i.args);
    expect(copies).to.include('--from=deps /app/node_modules ./node_modules');
    expect(copies).to.include('--from=build /src/dist/src ./dist/src');
    expect(copies).to.include('--from=build /src/dist/haraka-plugins ./dist/haraka-plugins');
    expect(copies.filter((c) => c.includes('dist/test'))).to.deep.equal([]);
  });

  it('runs as an unprivileged numeric user under tini, either role by its command', () => {
    const runtime = stages()[2];
    const last = (keyword: string): string | undefined =>
      runtime?.instructions.filter((i) => i.keyword === keyword).pop()?.args;
    expect(last('USER')).to.equal('10001:10001');
    expect(runs(runtime).join('\n')).to.include('useradd --system --uid 10001');
    expect(runs(runtime).join('\n')).to.include('install -y --no-install-recommends tini openssl');
    expect(last('ENTRYPOINT')).to.equal(
      '["/usr/bin/tini", "--", "/usr/local/bin/kzymy-entrypoint"]',
    );
    expect(last('CMD')).to.equal('["node", "dist/src/main.js", "--role", "all"]');
    expect(last('HEALTHCHECK')).to.include(
      'CMD ["node", "dist/src/metrics/healthcheck.js", "9465"]',
    );
  });
});

describe('Dockerfile: the runtime image', () => {
  it('holds the files kzymy reads from the project at run time, besides dist/', () => {
    // src/web/static.ts serves src/web/static; src/web/server.ts renders docs/signup.md.
    for (const path of ['src/web/static', 'docs/signup.md']) {
      const copy = LINES.find((line) => /^COPY\s/.test(line) && line.includes(` ${path} `));
      expect(copy, `COPY of ${path}`).to.not.equal(undefined);
    }
  });
});

describe('.dockerignore', () => {
  const rules = ignore().add(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
  // Tracked files and files not yet committed, as the context of a build from this work tree.
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
  })
    .toString()
    .split('\n')
    .filter(Boolean);
  const inContext = (path: string): boolean => !rules.ignores(path);

  it('lets in everything the build stage compiles and the runtime stage copies', () => {
    const needed = [
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'config/kzymy.example.yaml',
      'deploy/docker/entrypoint.sh',
    ];
    for (const path of needed) expect(inContext(path), path).to.equal(true);
    // Every path a COPY takes from the build context (not --from another stage) must be in it.
    const copied = LINES.filter((line) => /^COPY\s/.test(line) && !/--from=/.test(line))
      .map((line) =>
        line
          .replace(/^COPY\s+(--\S+\s+)*/, '')
          .trim()
          .split(/\s+/)
          .slice(0, -1),
      )
      .flat()
      .filter((path) => path !== '.');
    for (const path of copied) {
      const tracked = files.filter((f) => f === path || f.startsWith(path.replace(/\/?$/, '/')));
      expect(tracked, `${path} exists`).to.not.deep.equal([]);
      expect(
        tracked.filter((f) => !inContext(f)),
        `${path} reaches the build context`,
      ).to.deep.equal([]);
    }
    // tsconfig.json compiles these trees: every TypeScript file in them must reach the build.
    const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as {
      include: string[];
    };
    const trees = tsconfig.include.map((glob) => glob.split('/')[0] as string);
    const sources = files.filter(
      (f) => trees.includes(f.split('/')[0] as string) && f.endsWith('.ts'),
    );
    expect(sources.length).to.be.greaterThan(10);
    expect(sources.filter((f) => !inContext(f))).to.deep.equal([]);
  });

  it('keeps out data, secrets, build output, dependencies and history', () => {
    for (const path of [
      '.git/config',
      'node_modules/mongodb/package.json',
      'dist/src/main.js',
      'var/ferretdb/sqlite/kzymy.sqlite',
      'var/tls/self-signed.key',
      'deploy/secrets/redis_password',
      'deploy/secrets/tls.key',
      'deploy/.env',
      'config/kzymy.yaml',
      'src/some/node_modules/x.js',
      'test/fixtures/server.pem',
      '.tools/ferretdb-v1.24.2-kzymy1/ferretdb',
    ]) {
      expect(inContext(path), path).to.equal(false);
    }
    expect(files.filter((f) => f.startsWith('deploy/secrets/') && inContext(f))).to.deep.equal([]);
  });
});

describe('the image runs on its runtime dependencies alone', () => {
  it('requires nothing from devDependencies in dist/src or dist/haraka-plugins', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
    const problems: string[] = [];
    for (const folder of ['dist/src', 'dist/haraka-plugins']) {
      for (const file of jsFiles(join(ROOT, folder))) {
        const code = readFileSync(file, 'utf8');
        for (const match of code.matchAll(/\brequire\("([^"]+)"\)/g)) {
          const specifier = match[1] as string;
          if (specifier.startsWith('.') || builtins.has(specifier)) continue;
          const name = specifier.startsWith('@')
            ? specifier.split('/').slice(0, 2).join('/')
            : (specifier.split('/')[0] as string);
          if (!(name in pkg.dependencies)) problems.push(`${relative(ROOT, file)}: ${specifier}`);
        }
      }
    }
    expect(problems, 'move these packages to dependencies, or stop requiring them').to.deep.equal(
      [],
    );
  });
});

describe('deploy/docker/entrypoint.sh', () => {
  const script = join(ROOT, 'deploy', 'docker', 'entrypoint.sh');
  const dir = mkdtempSync(join(tmpdir(), 'kzymy-entrypoint-'));
  const run = (
    env: Record<string, string>,
  ): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      execFile(
        'sh',
        [
          script,
          'sh',
          '-c',
          'echo "url=${MONGODB_URL:-} redis=${REDIS_URL:-} file=${MONGODB_URL_FILE:-unset}"',
        ],
        { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } },
        (error, stdout, stderr) => {
          resolve({ code: error ? Number((error as { code?: unknown }).code) : 0, stdout, stderr });
        },
      );
    });

  it('turns NAME_FILE into NAME (without the trailing newline) and unsets NAME_FILE', async () => {
    writeFileSync(join(dir, 'mongo'), 'mongodb://kzymy:s3cret@mongo:27017/?replicaSet=rs0\n');
    writeFileSync(join(dir, 'redis'), 'redis://:pw@redis:6379/0\n');
    const result = await run({
      MONGODB_URL_FILE: join(dir, 'mongo'),
      REDIS_URL_FILE: join(dir, 'redis'),
    });
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.equal(
      'url=mongodb://kzymy:s3cret@mongo:27017/?replicaSet=rs0 redis=redis://:pw@redis:6379/0 file=unset\n',
    );
  });

  it('passes the environment through when no _FILE is set', async () => {
    const result = await run({ MONGODB_URL: 'mongodb://x/' });
    expect(result.stdout).to.equal('url=mongodb://x/ redis= file=unset\n');
  });

  it('refuses both NAME and NAME_FILE (78), and an unreadable file (66), naming the variable', async () => {
    writeFileSync(join(dir, 'm'), 'mongodb://a/');
    const both = await run({ MONGODB_URL: 'mongodb://b/', MONGODB_URL_FILE: join(dir, 'm') });
    expect(both.code).to.equal(78);
    expect(both.stderr).to.include('both MONGODB_URL and MONGODB_URL_FILE are set');
    const missing = await run({ REDIS_URL_FILE: join(dir, 'nope') });
    expect(missing.code).to.equal(66);
    expect(missing.stderr).to.include(`cannot read REDIS_URL_FILE (${join(dir, 'nope')})`);
    expect(missing.stdout).to.equal('');
  });

  it('is executable, and COPY --chmod=0755 installs it so in the image', () => {
    expect(statSync(script).mode & 0o111).to.equal(0o111);
    expect(DOCKERFILE).to.include(
      'COPY --chmod=0755 deploy/docker/entrypoint.sh /usr/local/bin/kzymy-entrypoint',
    );
  });
});

function jsFiles(dir: string): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return jsFiles(path);
    return entry.name.endsWith('.js') ? [path] : [];
  });
}
