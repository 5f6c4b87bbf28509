/**
 * Test helper: Debian's Thunderbird (153 ESR), headless, driven through Marionette, its own
 * remote-control protocol (chrome/remote/content/marionette in Thunderbird's omni.ja): a fresh
 * profile, `--headless --marionette --remote-allow-system-access`, Marionette on a port of its
 * choosing (marionette.port 0, read back from the profile's MarionetteActivePort), and scripts
 * run in Thunderbird's chrome context, where its own modules (MailServices, RNP) are at hand.
 *
 * Protocol (Marionette protocol 3): each message is `<length>:<JSON>`; the server greets with
 * `{"applicationType":"gecko","marionetteProtocol":3}`; a command is `[0, id, name, params]`
 * and its answer `[1, id, error, result]`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { stopChild } from '../../src/util/stop-child';

const PREFS = [
  // Marionette on a free port, written to <profile>/MarionetteActivePort.
  'user_pref("marionette.port", 0);',
  // No first-run dialogs, updates, telemetry or default-client checks in a test.
  'user_pref("mail.shell.checkDefaultClient", false);',
  'user_pref("mail.provider.suppress_dialog_on_startup", true);',
  'user_pref("mail.spotlight.firstRunDone", true);',
  'user_pref("mailnews.start_page.enabled", false);',
  'user_pref("datareporting.policy.dataSubmissionEnabled", false);',
  'user_pref("toolkit.telemetry.enabled", false);',
  'user_pref("app.update.auto", false);',
  // Never check mail by itself: the test says when.
  'user_pref("mail.server.default.check_new_mail", false);',
  'user_pref("mail.server.default.login_at_startup", false);',
];

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

export class Thunderbird {
  private buffer = Buffer.alloc(0);
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private greeted: (() => void) | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly socket: Socket,
    readonly profile: string,
    readonly output: string[],
  ) {
    socket.on('data', (data: Buffer) => this.onData(data));
  }

  /** Starts Thunderbird on a fresh profile under `parent` and opens a chrome-context session. */
  static async start(parent: string): Promise<Thunderbird> {
    const profile = mkdtempSync(join(parent, 'tb-profile-'));
    writeFileSync(join(profile, 'user.js'), PREFS.join('\n') + '\n');
    const child = spawn(
      'thunderbird',
      [
        '--headless',
        '--marionette',
        '--remote-allow-system-access',
        '--no-remote',
        '--profile',
        profile,
      ],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, MOZ_CRASHREPORTER_DISABLE: '1' },
      },
    );
    const output: string[] = [];
    child.stdout?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => output.push(chunk.toString('utf8')));
    try {
      const portFile = join(profile, 'MarionetteActivePort');
      const deadline = Date.now() + 90_000;
      while (!existsSync(portFile)) {
        if (child.exitCode !== null || Date.now() > deadline)
          throw new Error(`Thunderbird did not start Marionette:\n${output.join('')}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const port = Number(readFileSync(portFile, 'utf8').trim());
      const socket = connect({ host: '127.0.0.1', port });
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      const tb = new Thunderbird(child, socket, profile, output);
      await new Promise<void>((resolve) => (tb.greeted = resolve));
      await tb.command('WebDriver:NewSession', { capabilities: {} });
      await tb.command('Marionette:SetContext', { value: 'chrome' });
      await tb.command('WebDriver:SetTimeouts', { script: 120_000 });
      return tb;
    } catch (error) {
      await stopChild(child, 'SIGTERM', 10_000);
      throw error;
    }
  }

  /**
   * Runs `body` in Thunderbird's chrome context as an async function of `args`; resolves with
   * what it returns (JSON-serialisable).
   */
  async run<T>(body: string, ...args: unknown[]): Promise<T> {
    const script = `const [resolve] = arguments.length ? [arguments[arguments.length - 1]] : [];
const args = Array.from(arguments).slice(0, -1);
(async (...args) => { ${body} })(...args).then(
  (value) => resolve({ ok: true, value }),
  (error) => resolve({ ok: false, error: String(error) + '\\n' + (error && error.stack) }),
);`;
    const result = (await this.command('WebDriver:ExecuteAsyncScript', { script, args })) as {
      value: { ok: boolean; value?: T; error?: string };
    };
    if (!result.value.ok) throw new Error(`in Thunderbird: ${result.value.error}`);
    return result.value.value as T;
  }

  /** Quits as the user would (File > Quit): Thunderbird logs out of its servers first. */
  async quit(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    await this.command('Marionette:Quit', { flags: ['eAttemptQuit'] }).catch(() => undefined);
    await exited;
    this.socket.destroy();
  }

  async close(): Promise<void> {
    this.socket.destroy();
    await stopChild(this.child, 'SIGTERM', 10_000);
  }

  private command(name: string, params: object): Promise<unknown> {
    const id = ++this.nextId;
    const body = JSON.stringify([0, id, name, params]);
    this.socket.write(`${Buffer.byteLength(body)}:${body}`);
    return new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
  }

  private onData(data: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, data]);
    for (;;) {
      const colon = this.buffer.indexOf(':');
      if (colon < 0) return;
      const length = Number(this.buffer.subarray(0, colon).toString('ascii'));
      if (this.buffer.length < colon + 1 + length) return;
      const message = JSON.parse(this.buffer.subarray(colon + 1, colon + 1 + length).toString());
      this.buffer = this.buffer.subarray(colon + 1 + length);
      if (this.greeted) {
        const greeted = this.greeted;
        this.greeted = undefined;
        greeted();
        continue;
      }
      const [, id, error, result] = message as [number, number, unknown, unknown];
      const waiting = this.pending.get(id);
      this.pending.delete(id);
      if (error) waiting?.reject(new Error(`Marionette: ${JSON.stringify(error)}`));
      else waiting?.resolve(result);
    }
  }
}
