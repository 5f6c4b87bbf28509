/**
 * docs/clients/forwarding.md as written: its torrc lines go through the real `tor
 * --verify-config`, and its `kzymy` commands run line by line — the placeholders filled in, the
 * destinations onion MX hosts behind the Tor stand-in — against the run's store engine.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { projectRoot } from '../../src/util/project-root';
import { docSnippet, fillIn } from '../kzymy-fetch/helpers/doc-snippets';
import {
  startMicrosocks,
  startOnionProxy,
  type Microsocks,
  type OnionProxy,
} from '../kzymy-fetch/helpers/proxies';
import { testDataDir } from '../helpers/services';
import { startDestination, type TestDestination } from './helpers/destination';
import { ForwardFixture, onionName } from './helpers/fixture';

const run = promisify(execFile);
const DOC = 'clients/forwarding.md';
const CLI = join(projectRoot(), 'dist', 'src', 'cli', 'kzymy.js');

describe('forward: docs/clients/forwarding.md, as written', function () {
  this.timeout(120_000);

  it('has onion-service lines that tor --verify-config accepts', async () => {
    const home = mkdtempSync(join(testDataDir(), 'onion-mx-'));
    mkdirSync(join(home, 'data'), { mode: 0o700 });
    const torrc = join(home, 'torrc');
    // The lines go into an existing torrc: here one with a data directory and nothing else.
    const lines = fillIn(docSnippet(DOC, 'onion-mx-torrc'), {
      '/var/lib/tor/mail/': `${join(home, 'data', 'mail')}/`,
    });
    writeFileSync(torrc, `DataDirectory ${join(home, 'data')}\nSocksPort 0\n${lines}`);
    const { stdout } = await run('tor', ['--verify-config', '-f', torrc]);
    expect(stdout).to.include('Configuration was valid');
  });

  describe('the operator commands', () => {
    let fixture: ForwardFixture;
    let destination: TestDestination;
    let socks: Microsocks;
    let proxy: OnionProxy;
    let configFile: string;
    const atOnion = onionName();
    const mxOnion = onionName();

    before(async () => {
      fixture = await ForwardFixture.start();
      destination = await startDestination();
      socks = await startMicrosocks();
      proxy = await startOnionProxy(socks.port, {
        [atOnion]: { 25: destination.port },
        [mxOnion]: { 25: destination.port },
      });
      const dir = mkdtempSync(join(testDataDir(), 'forward-doc-'));
      configFile = join(dir, 'kzymy.yaml');
      writeFileSync(
        configFile,
        [
          'domain: kzymy.test',
          ...fixture.storeYaml(),
          'forward:',
          '  enabled: true',
          `  proxy: socks5h://127.0.0.1:${proxy.port}`,
          '',
        ].join('\n'),
      );
    });
    after(async () => {
      await proxy?.close();
      await socks?.stop();
      await destination?.close();
      await fixture?.close();
    });

    it('run as shown: a code to each onion destination, the state, the code back, and off', async () => {
      const user = await fixture.addUser();
      const commands = docSnippet(DOC, 'forward-cli').trim().split('\n');
      expect(commands).to.have.length(5);
      const lastCode = async (): Promise<string> => {
        const mail = destination.received.at(-1);
        const text = (await fixture.gpg.decrypt(mail?.data ?? '')).toString('utf8');
        return /^Forwarding code:\s+(\S+)\r?$/m.exec(text)?.[1] ?? '';
      };
      const values: Array<Record<string, string>> = [
        { NAME: user.username, ADDRESS: `you@${atOnion}` },
        { NAME: user.username, ADDRESS: 'you@example.org', 'MX-HOST': mxOnion },
        { NAME: user.username },
        { NAME: user.username, CODE: '' },
        { NAME: user.username },
      ];
      const outputs: string[] = [];
      for (const [i, line] of commands.entries()) {
        const fill = values[i] ?? {};
        if ('CODE' in fill) fill.CODE = await lastCode();
        const [program, ...args] = fillIn(line, fill).split(' ');
        expect(program).to.equal('kzymy');
        const { stdout } = await run(process.execPath, [CLI, ...args, '--config', configFile]);
        outputs.push(stdout);
      }
      // The first two went to the onion names, by name, through the proxy.
      expect(proxy.requests.map((r) => `${r.addressType} ${r.host}:${r.port}`)).to.deep.equal([
        `3 ${atOnion}:25`,
        `3 ${mxOnion}:25`,
      ]);
      expect(destination.received.map((r) => r.to[0])).to.deep.equal([
        `you@${atOnion}`,
        'you@example.org',
      ]);
      expect(outputs[2]).to.match(
        new RegExp(`^forward: pending you@example\\.org via ${mxOnion}`, 'm'),
      );
      expect(outputs[3]).to.equal(`${user.username}: forwarding on\n`);
      expect(outputs[4]).to.equal(`${user.username}: forwarding off; mail waits for pickup\n`);
    });
  });
});
