/**
 * The web forms: every POST route of the Hono app (src/web/app.ts; form reading in
 * src/web/form.ts; signup, activation, login, account, key-replacement, forwarding and sending
 * handling in src/web/routes/) driven in process with app.request(), on the real store (SQLite,
 * the default engine) and Redis. Forwarding and sending are switched on for the app, so that
 * their forms are read past the 404 an operator who left them off gets; forwarding's code
 * message goes to a proxy on a closed loopback port and the MX lookup to a resolver that finds
 * nothing, so no input reaches the network.
 *
 * Inputs are posts built from the forms' field names with hostile values, valid form tokens and
 * session cookies (so that the handlers past the checks run too), seed keys (public and private),
 * over-long values and HTML, encoded as url-encoded or multipart (or not at all), with odd
 * content types and origins, the body sometimes damaged.
 *
 * Crashes: a 5xx or any status outside the documented set; an error logged; the private seed
 * key, the account password (sent as a password) or an unescaped "<script" from the input in a
 * response.
 */
import * as fc from 'fast-check';
import { randomBytes, scryptSync } from 'node:crypto';
import type { Hono } from 'hono';
import type { User } from '../../src/store/types';
import { createWebApp } from '../../src/web/app';
import type { WebEnv } from '../../src/web/context';
import type { FormPurpose } from '../../src/web/csrf';
import { ForwardService } from '../../src/forward/service';
import { buildWebContext } from '../../src/web/server';
import { SESSION_COOKIE } from '../../src/web/session';
import type { TestDeps } from '../../test/helpers/deps';
import { hostileText, mutate, mutation, type Mutation } from '../harness/bytes';
import { seedKeys } from '../harness/pgp-keys';
import { defineTarget, invariant } from '../harness/target';
import type { FuzzServices } from '../harness/services';
import type { WebContext } from '../../src/web/context';

const HOST = 'kzymy.test';
const PASSWORD = 'fuzz-web-password';
/** Statuses the app answers forms with (src/web/errors.ts and the routes). */
const STATUSES = new Set([200, 303, 400, 401, 403, 404, 413, 415, 422, 429]);

/** POST routes, with the form token each checks. */
const ROUTES: ReadonlyArray<{ path: string; purpose: FormPurpose | 'session' | null }> = [
  { path: '/signup/key', purpose: 'signup' },
  { path: '/signup/create', purpose: 'create' },
  { path: '/activate', purpose: 'activate' },
  { path: '/login', purpose: 'login' },
  { path: '/account/catch-all', purpose: 'session' },
  { path: '/account/addresses', purpose: 'session' },
  { path: '/account/password', purpose: 'session' },
  { path: '/account/key', purpose: 'session' },
  { path: '/account/key/confirm', purpose: 'session' },
  { path: '/account/delete', purpose: 'session' },
  { path: '/account/forward', purpose: 'session' },
  { path: '/account/forward/confirm', purpose: 'session' },
  { path: '/account/forward/stop', purpose: 'session' },
  { path: '/account/forward/retry', purpose: 'session' },
  { path: '/account/sending', purpose: 'session' },
  { path: '/account/sign-as-nym', purpose: 'session' },
  { path: '/logout', purpose: 'session' },
  { path: '/nowhere', purpose: null },
];
const FIELDS = [
  'csrf',
  'key',
  'keyfile',
  'username',
  'password',
  'challenge',
  'pow',
  'code',
  'action',
  'address',
  'catchall',
  'confirm',
  'host',
  'send',
  'sign',
];

type Value =
  | { kind: 'token' | 'password' | 'public-key' | 'private-key' | 'username' }
  | { kind: 'text'; text: string }
  | { kind: 'long'; length: number };

interface Input {
  route: number;
  /** Starts the form with its valid token (most inputs), so that the handlers past it run. */
  csrf: boolean;
  fields: Array<{ name: string; value: Value }>;
  encoding: 'urlencoded' | 'multipart' | 'none';
  contentType: number;
  origin: number;
  cookie: boolean;
  mutations: Mutation[];
}

interface Context {
  deps: TestDeps;
  web: WebContext;
  app: Hono<WebEnv>;
  user: User;
  cheapHash: string;
  publicKey: string;
  privateKey: string;
  /** A line of the private key's base64: it must never come back in a page. */
  privateMarker: string;
}

function cheapHash(password: string): string {
  const salt = randomBytes(16);
  const key = scryptSync(password, salt, 32, { N: 16, r: 8, p: 1 });
  return ['scrypt', 16, 8, 1, salt.toString('base64url'), key.toString('base64url')].join('$');
}

async function setup(services: FuzzServices): Promise<Context> {
  const deps = await services.deps({
    web: {
      powBits: 1,
      onionAddress: 'kzymyfuzzonionaddressxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.onion',
    },
    // The password gate without its wait: a wrong password is held 1 s by default
    // (src/auth/password-gate.ts), which would make the fuzzer wait instead of work.
    auth: { failureDelayMs: 1 },
    // Nothing listens on port 1 of loopback: a code message fails at once, without the network.
    forward: { enabled: true, proxy: 'socks5h://127.0.0.1:1' },
  });
  const built = await buildWebContext(deps);
  // Sending needs a relay and a DKIM key to start; its two forms only read send.enabled.
  const config = { ...deps.config, send: { ...deps.config.send, enabled: true } };
  const web: WebContext = {
    ...built,
    config,
    forward: new ForwardService({
      config,
      store: deps.store,
      logger: deps.logger.child('forward'),
      metrics: deps.metrics,
      clock: deps.clock,
      // Every MX lookup finds no domain (answered as a refusal): no DNS query leaves.
      resolver: {
        resolveMx: () => Promise.reject(Object.assign(new Error('offline'), { code: 'ENOTFOUND' })),
      },
      // No per-hour limit on code messages (daemonForwardService's): after the first few inputs
      // it would answer 429 before reading the destination.
    }),
  };
  const keys = seedKeys();
  const publicKey = keys.get('ed25519-cv25519.pub.asc') as string;
  const privateKey = keys.get('ed25519-cv25519.private.asc') as string;
  const hash = cheapHash(PASSWORD);
  const user = await deps.store.users.create({
    fingerprint: randomBytes(20).toString('hex'),
    publicKey,
    passwordHash: hash,
    state: 'active',
  });
  const privateMarker = privateKey.split('\n').find((line) => line.length >= 60) ?? privateKey;
  return {
    deps,
    web,
    app: createWebApp(web),
    user,
    cheapHash: hash,
    publicKey,
    privateKey,
    privateMarker,
  };
}

const value: fc.Arbitrary<Value> = fc.oneof(
  fc.constantFrom<Value>(
    { kind: 'token' },
    { kind: 'token' },
    { kind: 'password' },
    { kind: 'public-key' },
    { kind: 'private-key' },
    { kind: 'username' },
    { kind: 'text', text: '"><script>fuzz()</script>' },
    { kind: 'text', text: 'add' },
    { kind: 'text', text: 'remove' },
    { kind: 'text', text: 'on' },
    { kind: 'text', text: 'x@y.kzymy.test' },
    // A forwarding destination and host that pass the checks: the code message is then tried.
    { kind: 'text', text: 'nym@example.org' },
    { kind: 'text', text: 'mx.example.org:2525' },
  ),
  hostileText(40).map((text): Value => ({ kind: 'text', text })),
  fc
    .constantFrom(63, 64, 200, 201, 320, 321, 65_537, 140_000)
    .map((length): Value => ({ kind: 'long', length })),
);

function text(v: Value, ctx: Context, token: string): string {
  switch (v.kind) {
    case 'token':
      return token;
    case 'password':
      return PASSWORD;
    case 'public-key':
      return ctx.publicKey;
    case 'private-key':
      return ctx.privateKey;
    case 'username':
      return ctx.user.username;
    case 'text':
      return v.text;
    case 'long':
      return 'a'.repeat(v.length);
  }
}

const CONTENT_TYPES = [
  (boundary: string, encoding: Input['encoding']) =>
    encoding === 'multipart'
      ? `multipart/form-data; boundary=${boundary}`
      : 'application/x-www-form-urlencoded',
  () => 'multipart/form-data',
  (boundary: string) => `multipart/form-data; boundary="${boundary}x"`,
  () => 'text/plain',
  () => null,
  () => 'application/x-www-form-urlencoded; charset=utf-16',
  () => 'multipart/form-data; boundary=',
];
const ORIGINS: ReadonlyArray<Record<string, string>> = [
  {},
  { origin: `http://${HOST}` },
  { origin: 'http://evil.example' },
  { origin: 'null' },
  { 'sec-fetch-site': 'cross-site' },
  { 'sec-fetch-site': 'same-origin', origin: `http://${HOST}` },
  { origin: 'not a url' },
];

async function request(input: Input, ctx: Context): Promise<{ status: number; body: string }> {
  const route = ROUTES[input.route % ROUTES.length] as (typeof ROUTES)[number];
  const session = await ctx.web.sessions.create(ctx.user.id);
  const token =
    route.purpose === 'session'
      ? session.session.csrf
      : route.purpose
        ? ctx.web.forms.issue(route.purpose)
        : '';
  const boundary = `fuzz${randomBytes(6).toString('hex')}`;
  const fields = [
    ...(input.csrf ? [['csrf', token] as const] : []),
    ...input.fields.map(({ name, value: v }) => [name, text(v, ctx, token)] as const),
  ];
  let body: Buffer;
  if (input.encoding === 'urlencoded') {
    body = Buffer.from(
      new URLSearchParams(fields.map(([n, v]): [string, string] => [n, v])).toString(),
    );
  } else if (input.encoding === 'multipart') {
    const parts = fields.map(([name, v]) =>
      name === 'keyfile'
        ? `--${boundary}\r\nContent-Disposition: form-data; name="keyfile"; filename="key.asc"\r\nContent-Type: application/pgp-keys\r\n\r\n${v}\r\n`
        : `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${v}\r\n`,
    );
    body = Buffer.from(parts.join('') + `--${boundary}--\r\n`, 'latin1');
  } else {
    body = Buffer.from(fields.map(([n, v]) => `${n}=${v}`).join('&'), 'latin1');
  }
  body = mutate(body, input.mutations);
  const contentType = (
    CONTENT_TYPES[input.contentType % CONTENT_TYPES.length] as (typeof CONTENT_TYPES)[number]
  )(boundary, input.encoding);
  const headers: Record<string, string> = {
    host: HOST,
    ...(ORIGINS[input.origin % ORIGINS.length] as Record<string, string>),
    ...(contentType === null ? {} : { 'content-type': contentType }),
    ...(input.cookie ? { cookie: `${SESSION_COOKIE}=${session.token}` } : {}),
  };
  const response = await ctx.app.request(`http://${HOST}${route.path}`, {
    method: 'POST',
    headers,
    body,
  });
  return { status: response.status, body: await response.text() };
}

export default defineTarget<Input, Context>({
  name: 'web-forms',
  covers: 'src/web/form.ts and every POST route (signup, activate, login, account, key) in process',
  services: true,
  setup,
  inputs() {
    return fc.record({
      route: fc.nat({ max: ROUTES.length - 1 }),
      csrf: fc.oneof(
        { arbitrary: fc.constant(true), weight: 5 },
        { arbitrary: fc.constant(false), weight: 1 },
      ),
      fields: fc.array(
        fc.record({
          name: fc.oneof(
            { arbitrary: fc.constantFrom(...FIELDS), weight: 6 },
            { arbitrary: hostileText(10), weight: 1 },
          ),
          value,
        }),
        { maxLength: 7 },
      ),
      encoding: fc.constantFrom('urlencoded' as const, 'multipart' as const, 'none' as const),
      contentType: fc.oneof(
        { arbitrary: fc.constant(0), weight: 6 },
        { arbitrary: fc.nat({ max: 6 }), weight: 1 },
      ),
      origin: fc.oneof(
        { arbitrary: fc.constantFrom(0, 1, 5), weight: 6 },
        { arbitrary: fc.nat({ max: 6 }), weight: 1 },
      ),
      cookie: fc.oneof(
        { arbitrary: fc.constant(true), weight: 4 },
        { arbitrary: fc.constant(false), weight: 1 },
      ),
      mutations: fc.oneof(
        { arbitrary: fc.constant<Mutation[]>([]), weight: 4 },
        { arbitrary: fc.array(mutation(), { maxLength: 3 }), weight: 1 },
      ),
    });
  },
  async run(input, ctx) {
    const logs = ctx.deps.logLines;
    try {
      const { status, body } = await request(input, ctx);
      invariant(STATUSES.has(status), `status ${status}`);
      const errors = logs.filter((line) => line.includes('"level":"error"'));
      invariant(errors.length === 0, `error logged: ${errors.join('\n')}`);
      invariant(!body.includes(ctx.privateMarker), 'a page shows the private key');
      // A form may show back what was typed into a name or address field, never a password.
      const passwordOnlyAsPassword = input.fields.every(
        (f) => f.value.kind !== 'password' || f.name === 'password',
      );
      if (passwordOnlyAsPassword) {
        invariant(!body.includes(PASSWORD), 'a page shows the password');
      }
      invariant(!/<script>fuzz/i.test(body), 'a page carries the input unescaped');
    } finally {
      logs.length = 0;
      // The password and delete forms change the account: put it back for the next input.
      const user = await ctx.deps.store.users.byId(ctx.user.id);
      if (!user || user.passwordHash !== ctx.cheapHash) {
        if (user) await ctx.deps.store.users.setPasswordHash(ctx.user.id, ctx.cheapHash);
        else
          ctx.user = await ctx.deps.store.users.create({
            fingerprint: randomBytes(20).toString('hex'),
            publicKey: ctx.publicKey,
            passwordHash: ctx.cheapHash,
            state: 'active',
          });
      }
    }
  },
  smokeRuns: 200,
  slowMs: 15_000,
});
