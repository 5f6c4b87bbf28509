/**
 * No lock-out (src/auth/password-gate.ts): a stranger who knows a username — it is part of every
 * address its owner gives out — can guess as much as he likes and never keep the owner out.
 * Guesses are cheap for the server (no scrypt once the owner's password is known to the daemon),
 * each wrong answer is held for auth.failureDelayMs, scrypt runs one at a time per account, and
 * the right password is never refused. On IMAP and POP3, with the default delay.
 */
import { expect } from 'chai';
import { generatePassword, hashPassword } from '../../src/auth/password';
import { passwordGate } from '../../src/mailbox-access/login';
import { startImapServers, type ImapServers } from '../../src/imap/server';
import { startPop3Servers, type Pop3Servers } from '../../src/pop3/server';
import { makeTestDeps, type TestDeps } from '../helpers/deps';
import { createAccount, type TestAccount } from '../helpers/mail-fixtures';
import { RawImap } from '../helpers/raw-imap';
import { RawPop3 } from '../helpers/raw-pop3';

const IMAP_FAILED = 'NO [AUTHENTICATIONFAILED] Invalid credentials';
const POP3_FAILED = '-ERR [AUTH] Authentication failed';

describe('no lock-out: guessing never keeps the owner out', function () {
  this.timeout(120_000);
  let deps: TestDeps;
  let imap: ImapServers;
  let pop3: Pop3Servers;

  before(async function () {
    deps = await makeTestDeps({ imap: { port: 0, tlsPort: 0 }, pop3: { port: 0, tlsPort: 0 } });
    imap = await startImapServers(deps);
    pop3 = await startPop3Servers(deps);
  });

  after(async function () {
    for (const servers of [imap, pop3]) {
      await servers?.plain.close();
      await servers?.tls.close();
    }
    await deps?.close();
  });

  /** One IMAP connection making `count` LOGIN attempts in a row: their answers. */
  async function imapGuesses(name: string, count: number, label: string): Promise<string[]> {
    const client = await RawImap.connect({ port: imap.plain.port });
    const answers = [];
    for (let i = 0; i < count; i++) {
      const reply = await client.command(`LOGIN ${name} "${label}-${i}"`);
      answers.push(reply.tagged.replace(/^t\d+ /, ''));
    }
    client.destroy();
    return answers;
  }

  async function pop3Guesses(name: string, count: number, label: string): Promise<string[]> {
    const { client } = await RawPop3.connect({ port: pop3.plain.port });
    const answers = [];
    for (let i = 0; i < count; i++) {
      await client.command(`USER ${name}`);
      answers.push(await client.command(`PASS ${label}-${i}`));
    }
    client.destroy();
    return answers;
  }

  /** One LOGIN on a fresh connection: whether it worked, and how long the answer took. */
  async function imapLogin(name: string, password: string): Promise<{ ok: boolean; ms: number }> {
    const client = await RawImap.connect({ port: imap.plain.port });
    const start = Date.now();
    const reply = await client.command(`LOGIN ${name} "${password}"`);
    const ms = Date.now() - start;
    await client.logout();
    return { ok: reply.status === 'OK', ms };
  }

  async function pop3Login(name: string, password: string): Promise<{ reply: string; ms: number }> {
    const { client } = await RawPop3.connect({ port: pop3.plain.port });
    await client.command(`USER ${name}`);
    const start = Date.now();
    const reply = await client.command(`PASS ${password}`);
    const ms = Date.now() - start;
    await client.quit();
    return { reply, ms };
  }

  it("1,000 wrong passwords from a stranger cost no scrypt, and the owner's password then works at once", async function () {
    const owner = await createAccount(deps);
    const name = owner.user.username;
    // She fetches her mail as usual: the daemon has seen her password.
    expect((await imapLogin(name, owner.password)).ok).to.equal(true);
    const gate = passwordGate(deps);
    const hashedBefore = gate.stats().hashed;

    // The stranger: 100 IMAP and 100 POP3 connections, 5 guesses each.
    const started = Date.now();
    const answers = (
      await Promise.all([
        ...Array.from({ length: 100 }, (_, i) => imapGuesses(name, 5, `imap${i}`)),
        ...Array.from({ length: 100 }, (_, i) => pop3Guesses(name, 5, `pop${i}`)),
      ])
    ).flat();
    const seconds = (Date.now() - started) / 1000;

    expect(answers).to.have.length(1000);
    expect(answers.filter((a) => a === IMAP_FAILED)).to.have.length(500);
    expect(answers.filter((a) => a === POP3_FAILED)).to.have.length(500);
    // Cheap: not one scrypt for the 1,000 guesses (each would cost ~90 ms of CPU and 32 MiB).
    expect(gate.stats().hashed - hashedBefore).to.equal(0);
    // Each answer was held a second (auth.failureDelayMs): five in a row take five seconds.
    expect(seconds).to.be.at.least(5);

    // The owner, right after: in at once, on both protocols.
    const viaImap = await imapLogin(name, owner.password);
    expect(viaImap.ok).to.equal(true);
    expect(viaImap.ms).to.be.below(500);
    const viaPop3 = await pop3Login(name, owner.password);
    expect(viaPop3.reply).to.match(/^\+OK/);
    expect(viaPop3.ms).to.be.below(500);
    expect(
      deps.logLines.filter((line) => line.includes('"imap.auth_failed"')).length,
    ).to.be.at.least(500);
  });

  it('scrypt runs one check at a time per account; an owner the daemon has not seen waits in line and gets in', async function () {
    const first = await createAccount(deps);
    const second = await createAccount(deps);
    const gate = passwordGate(deps);
    const before = gate.stats();
    let maxHashing = 0;
    const sampler = setInterval(() => (maxHashing = Math.max(maxHashing, gate.stats().hashing)), 5);
    try {
      // Ten guesses queue for each account; each owner's login comes after them.
      const guesses = [first, second].flatMap((account) =>
        Array.from({ length: 10 }, (_, i) => imapGuesses(account.user.username, 1, `q${i}`)),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
      const owners = [first, second].map((account, i) =>
        i === 0
          ? imapLogin(account.user.username, account.password).then((r) => r.ok)
          : pop3Login(account.user.username, account.password).then((r) => /^\+OK/.test(r.reply)),
      );
      expect(await Promise.all(owners)).to.deep.equal([true, true]);
      expect((await Promise.all(guesses)).flat().every((a) => a === IMAP_FAILED)).to.equal(true);
    } finally {
      clearInterval(sampler);
    }
    const after = gate.stats();
    // Every guess and each owner's first login were checked with scrypt (the daemon knew none).
    expect(after.hashed - before.hashed).to.be.at.least(12);
    expect(after.maxPerAccount).to.equal(1);
    expect(Math.max(maxHashing, after.maxHashing)).to.be.at.most(2);
    expect(after.waiting).to.equal(0);
  });

  it('a wrong answer takes auth.failureDelayMs whether the name exists, is known to the daemon, or not', async function () {
    const known = await createAccount(deps);
    expect((await imapLogin(known.user.username, known.password)).ok).to.equal(true);
    const unseen = await createAccount(deps);
    const timings: Record<string, number> = {};
    for (const [label, name] of [
      ['no such user', 'zzzzzzzzzzzz'],
      ['known to the daemon', known.user.username],
      ['not seen yet', unseen.user.username],
    ] as const) {
      const start = Date.now();
      expect(await imapGuesses(name, 1, 'wrong')).to.deep.equal([IMAP_FAILED]);
      timings[label] = Date.now() - start;
    }
    for (const [label, ms] of Object.entries(timings)) {
      expect(ms, label).to.be.at.least(deps.config.auth.failureDelayMs);
      expect(ms, label).to.be.below(deps.config.auth.failureDelayMs + 1000);
    }
  });

  it('a new password replaces the remembered one at once', async function () {
    const account: TestAccount = await createAccount(deps);
    const name = account.user.username;
    expect((await imapLogin(name, account.password)).ok).to.equal(true);
    const next = generatePassword();
    await deps.store.users.setPasswordHash(account.user.id, await hashPassword(next));
    expect((await imapLogin(name, account.password)).ok).to.equal(false);
    expect((await imapLogin(name, next)).ok).to.equal(true);
  });
});
