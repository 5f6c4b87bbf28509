/**
 * The one test every client set-up passes: for each variant (the onion service through the Tor
 * stand-in, the clearnet name with TLS through it, the loopback listener) and protocol the
 * client supports, the set-up as shown is
 * prepared in a fresh home directory and run twice, a new message waiting each time. After each
 * run the local copies are exactly the messages sent so far (the first survives the second run),
 * the server holds nothing, and an onion run leaked nothing (ClientWorld.leaks).
 */
import { expect } from 'chai';
import { CLIENTS } from '../../../src/client-settings';
import type { ClientId, ClientSetup, Protocol } from '../../../src/client-settings/setup';
import { lf, sampleMessage, type Account } from '../../kzymy-fetch/helpers/fixture';
import { hasProgram } from '../../helpers/programs';
import { isRoot, type SandboxRun } from './sandbox';
import { ClientWorld, homePath, maildirFiles, type Variant } from './world';

const VARIANTS: Record<Variant, string> = {
  onion: 'onion service through Tor',
  clearnet: 'clearnet name with TLS through Tor',
  loopback: 'loopback listener',
};

export interface TwiceOptions {
  /** Programs the set-ups need (a missing one skips the tests, loudly). */
  programs: string[];
  /** The Maildir, under the home directory, where the client keeps its copies. */
  keptIn: (protocol: Protocol) => string;
  /** Whether the kept copies are decrypted already (else the test decrypts them). */
  decrypted: boolean;
  /** How a user runs it; default: the set-up's command in the shell. */
  fetch?: (
    world: ClientWorld,
    home: string,
    setup: ClientSetup,
    waiting: number,
  ) => Promise<SandboxRun>;
}

export function describeTwice(client: ClientId, options: TwiceOptions): void {
  describe(`client set-up: ${client}, as shown, run twice`, function () {
    this.timeout(180_000);
    let world: ClientWorld;

    before(async function () {
      const missing = [];
      for (const program of ['unshare', 'torsocks', 'gpg', ...options.programs])
        if (!(await hasProgram(program))) missing.push(program);
      if (missing.length > 0 || !isRoot) {
        console.warn(`    SKIPPED: needs root and ${missing.join(', ') || 'nothing else'}`);
        this.skip();
      }
      world = await ClientWorld.start();
    });

    after(async function () {
      await world?.close();
    });

    for (const variant of ['onion', 'clearnet', 'loopback'] as Variant[]) {
      for (const protocol of CLIENTS[client].protocols) {
        it(`${protocol.toUpperCase()}, ${VARIANTS[variant]}: the first copy survives the second run`, async function () {
          const account: Account = await world.fixture.addAccount();
          const setup = world.setup(client, variant, account, protocol);
          const home = await world.home(setup, account, variant);
          const expected: string[] = [];
          for (const round of [1, 2]) {
            const message = sampleMessage(`${client}-${protocol}-${variant}-${round}`);
            expected.push(lf(await world.fixture.deposit(account.user, message)).toString());
            const requests = world.onion.requests.length;
            const queries = world.dns.queries.length;

            const waiting = await world.fixture.count(account.user);
            const run = await (options.fetch ?? shell)(world, home, setup, waiting);

            const output = `run ${round}: ${run.stdout}${run.stderr}`;
            expect(run.code, output).to.equal(0);
            const kept = await keptMessages(world, home, options, protocol);
            expect(kept.sort(), output).to.deep.equal([...expected].sort());
            expect(await world.fixture.count(account.user), 'left on the server').to.equal(0);
            if (variant !== 'loopback')
              expect(world.leaks(variant, requests, queries)).to.deep.equal([]);
          }
        });
      }
    }
  });
}

function shell(world: ClientWorld, home: string, setup: ClientSetup): Promise<SandboxRun> {
  return world.run(home, setup.run);
}

/** The kept copies as text with LF line ends, decrypted by the user's key when they are not. */
async function keptMessages(
  world: ClientWorld,
  home: string,
  options: TwiceOptions,
  protocol: Protocol,
): Promise<string[]> {
  const files = maildirFiles(homePath(home, options.keptIn(protocol)));
  const out = [];
  for (const file of files) {
    const plain = options.decrypted ? file : await world.fixture.gpg.decrypt(file);
    out.push(lf(plain).toString());
  }
  return out;
}
