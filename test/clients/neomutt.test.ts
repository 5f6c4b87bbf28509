/**
 * neomutt's set-up (src/client-settings/neomutt.ts), run twice as shown, in a terminal as a user
 * would: over IMAP it opens each waiting message and quits (reading is what `move` acts on);
 * over POP3 it presses G (fetch-mail) and quits. Both keep a local copy of everything fetched.
 */
import type { ClientSetup } from '../../src/client-settings/setup';
import { describeTwice } from './helpers/twice';
import { Terminal } from './helpers/terminal';
import { homePath, maildirFiles, type ClientWorld } from './helpers/world';

describeTwice('neomutt', {
  programs: ['neomutt', 'tmux'],
  keptIn: (protocol) => (protocol === 'imap' ? '~/Mail/kzymy-read' : '~/Mail/kzymy'),
  decrypted: false,
  fetch: readAndQuit,
});

/** The index's help line, shown once neomutt is ready for keys. */
const INDEX = /q:Quit\s+d:Del/;
/** The pager's help line. */
const PAGER = /i:Exit\s+-:PrevPg/;

async function readAndQuit(
  world: ClientWorld,
  home: string,
  setup: ClientSetup,
  waiting: number,
): ReturnType<typeof Terminal.prototype.ended> {
  const terminal = await Terminal.start(setup.run, world.sandboxOptions(home), world.fixture.dir);
  try {
    await terminal.waitFor(INDEX);
    if (setup.protocol === 'imap') {
      // Open each message (decrypted on screen), back to the index, next one.
      for (let i = 0; i < waiting; i++) {
        await pressUntil(terminal, 'Enter', PAGER);
        await pressUntil(terminal, 'i', INDEX);
        await terminal.keys('j');
      }
    } else {
      // G writes the messages into the Maildir (the index shows them at its next check).
      const spool = homePath(home, '~/Mail/kzymy');
      const before = maildirFiles(spool).length;
      await pressUntil(terminal, 'G', async () => maildirFiles(spool).length >= before + waiting);
    }
    await terminal.keys('q');
    return await terminal.ended();
  } catch (error) {
    await terminal.stop();
    throw error;
  }
}

/**
 * Presses `key` until the screen matches: neomutt drops keys typed while it is still settling
 * (after start-up, after a fetch), and a user would press again.
 */
async function pressUntil(
  terminal: Terminal,
  key: string,
  done: RegExp | (() => Promise<boolean>),
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    await terminal.keys(key);
    try {
      if (done instanceof RegExp) await terminal.waitFor(done, 3000);
      else await terminal.waitUntil(done, 3000);
      return;
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}
