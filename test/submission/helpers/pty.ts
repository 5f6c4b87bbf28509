/**
 * Drives a full-screen program (neomutt) as a person would: under util-linux `script`, which gives
 * it a pseudo-terminal, answering each prompt once it is on the screen — never after a fixed
 * sleep.
 */
import { spawn } from 'node:child_process';

export interface PtyStep {
  /** What must appear on the screen (escape sequences removed) before `send` is typed. */
  wait: RegExp;
  send: string;
}

export interface PtyResult {
  code: number | null;
  /** Everything the program showed, escape sequences removed. */
  screen: string;
}

const ESC = String.fromCharCode(0x1b);
/** ECMA-48 control sequences (CSI), charset selection, keypad modes. */
const CSI = new RegExp(`${ESC}\\[[0-9;?]*[ -/]*[@-~]`, 'g');
const CHARSET = new RegExp(`${ESC}[()][0-9A-B]`, 'g');
const KEYPAD = new RegExp(`${ESC}[=>]`, 'g');

/** The text a screen shows: cursor moves become a space, the other sequences nothing. */
function plain(text: string): string {
  return text.replace(CSI, ' ').replace(CHARSET, '').replace(KEYPAD, '');
}

export function drive(
  command: string,
  env: NodeJS.ProcessEnv,
  steps: readonly PtyStep[],
  timeoutMs: number,
): Promise<PtyResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      env: { ...env, TERM: 'xterm' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let screen = '';
    let next = 0;
    let seenUpTo = 0;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out waiting for ${String(steps[next]?.wait)}; screen:\n${screen}`));
    }, timeoutMs);
    const advance = (): void => {
      const step = steps[next];
      if (!step) return;
      const match = step.wait.exec(screen.slice(seenUpTo));
      if (!match) return;
      seenUpTo += match.index + match[0].length;
      next++;
      child.stdin.write(step.send);
      advance();
    };
    child.stdout.on('data', (chunk: Buffer) => {
      screen += plain(chunk.toString('utf8'));
      advance();
    });
    child.stderr.on('data', (chunk: Buffer) => (screen += plain(chunk.toString('utf8'))));
    child.stdin.on('error', () => undefined);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, screen });
    });
  });
}
