/**
 * Sending as the nym, with real parts: kzymy's submission listeners on real deps (a store on the
 * test engine, sqlite unless KZYMY_TEST_STORE says otherwise, and the run's Redis), a real
 * `smtp-server` as the relay (STARTTLS, AUTH, recording what it is handed), a DKIM key made here, users with GnuPG keys, PGP/MIME messages signed by `gpg
 * --detach-sign`, and swaks as the submitting client.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import type { KzymyConfig } from '../../../src/config/schema';
import { hashPassword } from '../../../src/auth/password';
import { checkPublicKey } from '../../../src/pgp/key-check';
import { loadTls } from '../../../src/tls/material';
import type { User } from '../../../src/store/types';
import { startSubmissionServers, type SubmissionServers } from '../../../src/submission/server';
import { makeTestDeps, type TestDeps } from '../../helpers/deps';
import { GpgHome } from '../../helpers/gpg';
import { testDataDir } from '../../helpers/services';

export interface Relayed {
  from: string;
  to: string[];
  raw: Buffer;
}

export interface Relay {
  port: number;
  received: Relayed[];
  /** Connections that reached DATA and went away without an end of data. */
  aborted: number;
  close(): Promise<void>;
}

export const RELAY_USER = 'kzymy-relay';
export const RELAY_PASSWORD = 'relay-secret';

/**
 * A relay that takes mail only over TLS with the right credentials. A recipient whose local part
 * starts with `refuse` gets 550 at RCPT, `defer` 450.
 */
export async function startRelay(tls: { key: Buffer; cert: Buffer }): Promise<Relay> {
  const received: Relayed[] = [];
  const relay = { aborted: 0 };
  const server = new SMTPServer({
    key: tls.key,
    cert: tls.cert,
    authMethods: ['PLAIN', 'LOGIN'],
    disableReverseLookup: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === RELAY_USER && auth.password === RELAY_PASSWORD)
        return callback(null, { user: RELAY_USER });
      callback(new Error('Invalid credentials'));
    },
    onRcptTo(address, _session, callback) {
      if (/^refuse/.test(address.address))
        return callback(Object.assign(new Error('No such user'), { responseCode: 550 }));
      if (/^defer/.test(address.address))
        return callback(Object.assign(new Error('Try later'), { responseCode: 450 }));
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      let ended = false;
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        ended = true;
        received.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks),
        });
        callback(null, 'queued');
      });
      stream.on('close', () => {
        if (!ended) relay.aborted++;
      });
    },
    onClose(session) {
      void session;
    },
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  let closing: Promise<void> | undefined;
  return {
    port,
    received,
    get aborted() {
      return relay.aborted;
    },
    close: () => (closing ??= new Promise<void>((resolve) => server.close(() => resolve()))),
  };
}

type SendSettings = Partial<Omit<KzymyConfig['send'], 'relay' | 'dkim'>>;

export interface SubmissionHarness {
  deps: TestDeps;
  servers: SubmissionServers;
  relay: Relay;
  gpg: GpgHome;
  /** The DKIM public key record, as DNS would publish it. */
  dkimRecord: string;
  dkimSelector: string;
  close(): Promise<void>;
}

export async function startSubmission(send: SendSettings = {}): Promise<SubmissionHarness> {
  const dir = mkdtempSync(join(testDataDir(), 'send-'));
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = join(dir, 'dkim.pem');
  writeFileSync(keyFile, privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const dkimRecord = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
  // The run's development pair names 127.0.0.1 and is its own CA.
  const tls = await loadTls({ key: '', cert: '', dataDir: testDataDir(), domain: 'kzymy.test' });
  const relay = await startRelay(tls);
  const deps = await makeTestDeps({
    send: {
      enabled: true,
      host: '127.0.0.1',
      port: 0,
      tlsPort: 0,
      ...send,
      relay: {
        url: `smtp://${RELAY_USER}:${RELAY_PASSWORD}@127.0.0.1:${relay.port}`,
        caFile: tls.certFile,
      },
      dkim: { keyFile, selector: 'kzymy' },
    },
  });
  const servers = await startSubmissionServers(deps);
  const gpg = await GpgHome.create();
  return {
    deps,
    servers,
    relay,
    gpg,
    dkimRecord,
    dkimSelector: 'kzymy',
    async close() {
      await servers.plain.close();
      await servers.tls.close();
      await relay.close();
      await gpg.dispose();
      await deps.close();
    },
  };
}

export interface Sender {
  user: User;
  password: string;
  fingerprint: string;
  /** <username>.kzymy.test */
  mailDomain: string;
}

/** An active user with a GnuPG key of `gpg`, sending switched as given. */
export async function createSender(
  harness: SubmissionHarness,
  sending: { enabled?: boolean; signAsNym?: boolean } = {},
  gpg: GpgHome = harness.gpg,
  /** Makes the key at this `--faked-system-time` (e.g. '20200101T000000'), valid from then on. */
  keyMadeAt?: string,
): Promise<Sender> {
  const username = `s${randomBytes(5).toString('hex')}`;
  const uid = `nym <nym@${username}.kzymy.test>`;
  let fingerprint: string;
  if (keyMadeAt) {
    const then = { fakedTime: keyMadeAt };
    await gpg.run(['--quick-gen-key', uid, 'ed25519', 'sign,cert', 'never'], then);
    fingerprint = await gpg.fingerprintOf(uid);
    await gpg.run(['--quick-add-key', fingerprint, 'cv25519', 'encr', 'never'], then);
  } else {
    fingerprint = (await gpg.generateKey('curve25519', uid)).fingerprint;
  }
  const key = { fingerprint };
  const checked = await checkPublicKey((await gpg.exportPublic(key.fingerprint)).toString());
  if (!checked.ok) throw new Error(checked.message);
  const password = randomBytes(12).toString('hex');
  const user = await harness.deps.store.users.create({
    username,
    fingerprint: checked.key.fingerprint,
    publicKey: checked.key.armored,
    passwordHash: await hashPassword(password),
    state: 'active',
  });
  await harness.deps.store.users.setSending(user.id, {
    enabled: sending.enabled ?? true,
    signAsNym: sending.signAsNym ?? false,
  });
  return {
    user: (await harness.deps.store.users.byId(user.id)) as User,
    password,
    fingerprint: key.fingerprint,
    mailDomain: `${username}.kzymy.test`,
  };
}

/** What a user's machine puts in a message, all of which must stay behind. */
export const MACHINE_HEADERS = [
  'Received: from laptop.home.example (laptop.home.example [192.168.1.23]) by localhost',
  'Date: Tue, 1 Apr 2025 14:03:07 +0200',
  'Message-ID: <20250401140307.GA1234@laptop.home.example>',
  'User-Agent: NeoMutt/20250113',
  'X-Mailer: Thunderbird 128.3.1',
  'X-Originating-IP: [192.168.1.23]',
  'Content-Language: de-DE',
];

export interface MessageSpec {
  from: string;
  to: string[];
  subject: string;
  /** The text of the signed text/plain part (CRLF line ends are added). */
  body: string;
  /** Header fields of the signed part besides its Content-Type. */
  signedHeaders?: string[];
  /** Signs with `--textmode` (what neomutt asks of GnuPG). */
  textmode?: boolean;
  /** Signs as this key instead of the sender's. */
  signer?: { gpg: GpgHome; fingerprint: string };
  /** Changes the signed part after signing. */
  tamper?: (signed: string) => string;
  /** `gpg --faked-system-time` for the signature, e.g. '20200101T000000'. */
  signedAt?: string;
}

/** An RFC 3156 multipart/signed message as a mail program makes it, with gpg's signature. */
export async function signedMessage(
  sender: Sender,
  gpg: GpgHome,
  spec: MessageSpec,
): Promise<string> {
  const signed = [
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    ...(spec.signedHeaders ?? []),
    '',
    ...spec.body.split('\n'),
    '',
  ].join('\r\n');
  const signer = spec.signer ?? { gpg, fingerprint: sender.fingerprint };
  const { stdout } = await signer.gpg.run(
    [
      '--armor',
      '--detach-sign',
      ...(spec.textmode ? ['--textmode'] : []),
      '--local-user',
      signer.fingerprint,
    ],
    { input: signed, ...(spec.signedAt ? { fakedTime: spec.signedAt } : {}) },
  );
  const signature = stdout.toString('latin1').replace(/\r?\n/g, '\r\n');
  const boundary = '------------sA7yq3Pqv0ZK9w1lWmG2b0sW';
  return [
    ...MACHINE_HEADERS,
    `From: Nym <${spec.from}>`,
    `To: ${spec.to.join(', ')}`,
    `Subject: ${spec.subject}`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/signed; micalg=pgp-sha256;',
    ` protocol="application/pgp-signature"; boundary="${boundary}"`,
    '',
    'This is an OpenPGP/MIME signed message (RFC 4880 and 3156)',
    `--${boundary}`,
    spec.tamper ? spec.tamper(signed) : signed,
    `--${boundary}`,
    'Content-Type: application/pgp-signature; name="OpenPGP_signature.asc"',
    'Content-Description: OpenPGP digital signature',
    'Content-Disposition: attachment; filename="OpenPGP_signature.asc"',
    '',
    signature + `--${boundary}--`,
    '',
  ].join('\r\n');
}

export interface SwaksResult {
  code: number;
  transcript: string;
  /** The server's replies, "250 ...", "550 5.7.1 ...". */
  replies: string[];
  /** The last reply before QUIT's: the one that decided. */
  last: string;
}

/** swaks with STARTTLS and AUTH PLAIN against `port`; `data` is the message file's content. */
export async function swaksSubmit(
  port: number,
  options: {
    user: string;
    password: string;
    from: string;
    to: string[];
    data: string;
    /** STARTTLS (the default), implicit TLS (RFC 8314), or none (a loopback/onion client). */
    tls?: 'starttls' | 'on-connect' | 'none';
    args?: string[];
  },
): Promise<SwaksResult> {
  // The client's file, outside the data directory the canary test searches; removed after.
  const dir = mkdtempSync(join(tmpdir(), 'kzymy-swaks-'));
  const file = join(dir, 'message.eml');
  writeFileSync(file, options.data, 'latin1');
  const tls = { starttls: ['--tls'], 'on-connect': ['--tls-on-connect'], none: [] }[
    options.tls ?? 'starttls'
  ];
  const args = [
    '--server',
    `127.0.0.1:${port}`,
    '--helo',
    'laptop.home.example',
    ...tls,
    '--auth',
    'PLAIN',
    '--auth-user',
    options.user,
    '--auth-password',
    options.password,
    '--from',
    options.from,
    '--to',
    options.to.join(','),
    '--data',
    `@${file}`,
    ...(options.args ?? []),
  ];
  return new Promise<SwaksResult>((resolve, reject) => {
    execFile('swaks', args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? ((error as { code?: unknown }).code ?? -1) : 0;
      if (typeof code !== 'number') return reject(error);
      const transcript = `${stdout}${stderr}`;
      const replies = transcript
        .split('\n')
        .filter((line) => /^<[-~*]{1,2}\*?\s+\d{3}[ -]/.test(line))
        .map((line) => line.replace(/^<\S*\s+/, ''));
      // The reply that decided: the last one before QUIT's 221.
      const decided = replies.filter((reply) => !reply.startsWith('221 '));
      resolve({ code, transcript, replies, last: decided[decided.length - 1] ?? '' });
    });
  }).finally(() => rmSync(dir, { recursive: true, force: true }));
}
