/**
 * A program that needs a terminal (neomutt), run in a detached tmux session inside the sandbox:
 * the test reads the screen and types keys as a user would. Each session has its own tmux
 * server (-L), stopped afterwards.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sandboxCommand, type SandboxOptions, type SandboxRun } from './sandbox';

function tmux(server: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('tmux', ['-L', server, '-f', '/dev/null', ...args], { env }, (error, stdout) =>
      error ? reject(error) : resolve(stdout),
    );
  });
}

function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export class Terminal {
  private constructor(
    private readonly server: string,
    private readonly statusFile: string,
  ) {}

  /** Starts `command` (run by sh in the sandbox) on a 160×50 screen. */
  static async start(command: string, options: SandboxOptions, scratch: string): Promise<Terminal> {
    const server = `kz-${randomBytes(4).toString('hex')}`;
    const statusFile = join(scratch, `${server}.status`);
    // The exit status lands outside the home directory, where the test can read it.
    const { argv, env } = sandboxCommand(`${command}; echo $? > ${quote(statusFile)}`, options);
    await tmux(
      server,
      ['new-session', '-d', '-x', '160', '-y', '50', '-s', 'main', argv.map(quote).join(' ')],
      { ...env, TERM: 'xterm-256color' },
    );
    return new Terminal(server, statusFile);
  }

  screen(): Promise<string> {
    return tmux(this.server, ['capture-pane', '-p', '-t', 'main']).catch(() => '');
  }

  /** Waits until the screen matches `pattern`; returns the screen. */
  async waitFor(pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = await this.screen();
      if (pattern.test(screen)) return screen;
      if (this.exited() || Date.now() > deadline)
        throw new Error(`screen never matched ${pattern}:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Waits until `test` holds (something outside the screen, such as a file). */
  async waitUntil(test: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await test())) {
      if (this.exited() || Date.now() > deadline)
        throw new Error(`not done in time; the screen:\n${await this.screen()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Types keys (tmux key names: 'Enter', 'q', …). */
  async keys(...keys: string[]): Promise<void> {
    await tmux(this.server, ['send-keys', '-t', 'main', ...keys]);
  }

  exited(): boolean {
    return existsSync(this.statusFile);
  }

  /** Waits for the program to end; its exit status and last screen. */
  async ended(timeoutMs = 20_000): Promise<SandboxRun> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (!this.exited()) {
      last = (await this.screen()) || last;
      if (Date.now() > deadline) {
        await this.stop();
        return { code: null, stdout: last, stderr: 'did not end in time' };
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await this.stop();
    return { code: Number(readFileSync(this.statusFile, 'utf8').trim()), stdout: last, stderr: '' };
  }

  async stop(): Promise<void> {
    await tmux(this.server, ['kill-server']).catch(() => undefined);
  }
}
