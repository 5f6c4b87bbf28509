/**
 * The hook adapter, called the way Haraka calls a hook (plugins.js run_next_hook:
 * `plugin[method].call(plugin, next, connection, params)`), with haraka-constants' values.
 */
import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { accept, reject, REPLIES, tempfail, type Decision } from '../../src/smtp/decision';
import { DSN, HOOK_RESULT, type HarakaPlugin } from '../../src/smtp/haraka/api';
import { adaptHook, type HookHandler } from '../../src/smtp/haraka/hook-adapter';
import { createLogger } from '../../src/log/logger';

const plugin = {} as HarakaPlugin;

interface Call {
  result: number | undefined;
  msg: DSN | string | undefined;
}

/** Runs an adapted hook once; resolves at its first next() and records every later one. */
function run<P>(
  handler: HookHandler<unknown, P>,
  options: { timeoutMs?: number; object?: unknown; params?: P } = {},
): { first: Promise<Call>; calls: Call[]; lines: string[] } {
  const lines: string[] = [];
  const logger = createLogger({ component: 't', level: 'debug', sink: (l) => lines.push(l) });
  const calls: Call[] = [];
  const hook = adaptHook(handler, { hook: 'rcpt', timeoutMs: options.timeoutMs ?? 1000, logger });
  const first = new Promise<Call>((resolve) => {
    hook.call(
      plugin,
      (result, msg) => {
        calls.push({ result, msg });
        resolve({ result, msg });
      },
      options.object ?? { uuid: 'conn-1' },
      options.params as P,
    );
  });
  return { first, calls, lines };
}

/** Lets every pending promise job and timer of this tick run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('smtp: hook adapter', () => {
  it('uses the same result codes as Haraka (haraka-constants)', () => {
    const harakaRequire = createRequire(require.resolve('Haraka/package.json'));
    const constants = harakaRequire('haraka-constants') as Record<string, number>;
    expect(HOOK_RESULT).to.deep.equal({
      CONT: constants.cont,
      DENY: constants.deny,
      DENYSOFT: constants.denysoft,
      OK: constants.ok,
      DENYSOFTDISCONNECT: constants.denysoftdisconnect,
    });
  });

  it('maps accept to OK with its reply, reject to DENY, tempfail to DENYSOFT', async () => {
    const cases: Array<[Decision, number, number]> = [
      [accept(REPLIES.recipientOk), HOOK_RESULT.OK, 250],
      [reject(REPLIES.noSuchUser), HOOK_RESULT.DENY, 550],
      [tempfail(REPLIES.mailboxFull), HOOK_RESULT.DENYSOFT, 452],
    ];
    for (const [decision, result, code] of cases) {
      const { first } = run(async () => decision);
      const call = await first;
      expect(call.result).to.equal(result);
      // Haraka's respond() takes the code from an object whose constructor is named DSN.
      expect(call.msg).to.be.instanceOf(DSN);
      expect((call.msg as DSN).constructor.name).to.equal('DSN');
      expect((call.msg as DSN).code).to.equal(code);
      expect((call.msg as DSN).reply).to.match(/^\d\.\d\.\d /);
    }
  });

  it('logs a refusal the client caused (full mailbox, too many recipients) below a failure of ours', async () => {
    const full = run(() => tempfail(REPLIES.mailboxFull, undefined, 'quota'));
    expect((await full.first).result).to.equal(HOOK_RESULT.DENYSOFT);
    const many = run(() => tempfail(REPLIES.tooManyRecipients, undefined, 'too_many_recipients'));
    expect((await many.first).result).to.equal(HOOK_RESULT.DENYSOFT);
    const ours = run(() => tempfail(REPLIES.localError, new Error('store down')));
    expect((await ours.first).result).to.equal(HOOK_RESULT.DENYSOFT);
    const level = (lines: string[], event: string): unknown =>
      lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.event === event)
        ?.level;
    expect(level(full.lines, 'smtp.refused')).to.equal('info');
    expect(level(full.lines, 'smtp.tempfail')).to.equal(undefined);
    expect(level(many.lines, 'smtp.refused')).to.equal('info');
    expect(level(many.lines, 'smtp.tempfail')).to.equal(undefined);
    expect(level(ours.lines, 'smtp.tempfail')).to.equal('warn');
  });

  it('passes CONT when the handler has no opinion', async () => {
    const { first } = run(() => undefined);
    expect(await first).to.deep.equal({ result: HOOK_RESULT.CONT, msg: undefined });
  });

  it('turns a synchronous throw into DENYSOFT 451 4.3.0', async () => {
    const { first, lines } = run(() => {
      throw new TypeError('boom with user@example.com inside');
    });
    const call = await first;
    expect(call.result).to.equal(HOOK_RESULT.DENYSOFT);
    expect((call.msg as DSN).code).to.equal(451);
    expect((call.msg as DSN).reply).to.equal('4.3.0 Temporary local problem, try again later');
    // The error's kind is logged, never its message.
    expect(lines.join('\n')).to.include('"error":"TypeError"');
    expect(lines.join('\n')).not.to.include('example.com');
  });

  it('turns a rejected promise into DENYSOFT 451', async () => {
    const { first } = run(() => Promise.reject(new Error('store down')));
    const call = await first;
    expect(call.result).to.equal(HOOK_RESULT.DENYSOFT);
    expect((call.msg as DSN).code).to.equal(451);
  });

  it('turns a timeout into DENYSOFT 451, aborts the signal and ignores the late answer', async () => {
    let signal: AbortSignal | undefined;
    let finish: (decision: Decision) => void = () => undefined;
    const { first, calls } = run(
      (ctx) => {
        signal = ctx.signal;
        return new Promise<Decision>((resolve) => (finish = resolve));
      },
      { timeoutMs: 20 },
    );
    const call = await first;
    expect(call.result).to.equal(HOOK_RESULT.DENYSOFT);
    expect(signal?.aborted).to.equal(true);
    finish(accept());
    await settle();
    expect(calls).to.have.length(1);
  });

  it('calls next exactly once for an async handler', async () => {
    const { first, calls } = run(async () => {
      await settle();
      return accept();
    });
    await first;
    await settle();
    await settle();
    expect(calls).to.have.length(1);
  });

  it('aborts the signal when the client disconnects', async () => {
    const client = new EventEmitter();
    let signal: AbortSignal | undefined;
    let finish: () => void = () => undefined;
    const { first } = run(
      (ctx) => {
        signal = ctx.signal;
        return new Promise<Decision>((resolve) => {
          finish = () => resolve(ctx.signal.aborted ? tempfail(REPLIES.localError) : accept());
        });
      },
      { object: { uuid: 'c', client } },
    );
    client.emit('close');
    expect(signal?.aborted).to.equal(true);
    finish();
    expect((await first).result).to.equal(HOOK_RESULT.DENYSOFT);
    expect(client.listenerCount('close')).to.equal(0);
  });

  it('survives a next() that throws (Haraka responding on a dead socket)', async () => {
    const lines: string[] = [];
    const logger = createLogger({ component: 't', sink: (l) => lines.push(l) });
    const hook = adaptHook(() => accept(), { hook: 'queue', timeoutMs: 1000, logger });
    let called = 0;
    hook.call(
      plugin,
      () => {
        called++;
        throw new Error('write after end');
      },
      {},
      undefined,
    );
    await settle();
    expect(called).to.equal(1);
    expect(lines.join('\n')).to.include('"where":"next"');
  });
});
