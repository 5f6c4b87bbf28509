/**
 * What the client tests stand on: the real IMAP and POP3 servers (FetchFixture), a stand-in for
 * Tor that knows one onion name and one clearnet name (mail.kzymy.test, the TLS ports) and
 * forwards through a real SOCKS5 proxy (microsocks), a DNS witness, and a way to run a set-up
 * from src/client-settings in a sandboxed home directory, exactly as the pages and docs show it.
 *
 * What a test changes in the shown text, and why: the password placeholder (the user's one
 * replacement); Tor's port 9050 for the stand-in's, in fetchmail's plugin line, in torsocks'
 * environment (TORSOCKS_TOR_PORT, as torsocks.conf would say) and in kzymy-fetch's settings
 * file (`proxy:`, as a user with Tor Browser would write). Running as root (the test machines
 * do), getmail refuses to start procmail without `allow_root_commands = true`, which is added.
 * The test server's certificate is self-signed: the sandbox's CA list trusts it (mounted over
 * /etc/ssl/certs/ca-certificates.crt, and NODE_EXTRA_CA_CERTS for kzymy-fetch), as a machine
 * trusts a real server's CA; without that, every clearnet set-up refuses the server.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientSetup } from '../../../src/client-settings';
import type { MailServer } from '../../../src/client-settings/servers';
import {
  PASSWORD_PLACEHOLDER,
  SOCKS_PROXY,
  passwordFileCommands,
  type ClientId,
  type ClientSetup,
  type Protocol,
} from '../../../src/client-settings/setup';
import type { Account } from '../../kzymy-fetch/helpers/fixture';
import { FetchFixture, onionName } from '../../kzymy-fetch/helpers/fixture';
import { PROXY_EXIT, startOnionProxy, type OnionProxy } from '../../kzymy-fetch/helpers/proxies';
import { startDnsWitness, type DnsWitness } from './dns-witness';
import {
  binDir,
  homePath,
  inSandbox,
  writeHomeFile,
  type SandboxOptions,
  type SandboxRun,
} from './sandbox';

export type Variant = 'onion' | 'clearnet' | 'loopback';

/** The clearnet name of the test server (its certificate covers *.kzymy.test). */
export const CLEARNET_NAME = 'mail.kzymy.test';

export class ClientWorld {
  private constructor(
    readonly fixture: FetchFixture,
    readonly onion: OnionProxy,
    readonly onionName: string,
    readonly dns: DnsWitness,
    private readonly resolvConf: string,
    private readonly bin: string,
    private readonly caBundle: string,
  ) {}

  static async start(): Promise<ClientWorld> {
    const fixture = await FetchFixture.start();
    const name = onionName();
    // The onion service's virtual ports, through the witnesses in front of the plain listeners;
    // the clearnet name's TLS ports (IMAPS through its witness).
    const onion = await startOnionProxy(fixture.socks.port, {
      [name]: { 143: fixture.witness.imap.port, 110: fixture.witness.pop3.port },
      [CLEARNET_NAME]: { 993: fixture.witness.imaps.port, 995: fixture.pop3.tls.port },
    });
    const dns = await startDnsWitness();
    const resolvConf = join(fixture.dir, 'resolv.conf');
    writeFileSync(resolvConf, `nameserver ${dns.address}\n`);
    const caBundle = join(fixture.dir, 'ca-certificates.crt');
    writeFileSync(
      caBundle,
      Buffer.concat([
        readFileSync('/etc/ssl/certs/ca-certificates.crt'),
        readFileSync(fixture.deps.tls.certFile),
      ]),
    );
    return new ClientWorld(fixture, onion, name, dns, resolvConf, binDir(fixture.dir), caBundle);
  }

  /** The server as the page would show it for this variant. */
  server(variant: Variant): MailServer {
    if (variant === 'onion')
      return { host: this.onionName, via: 'onion', imapPort: 143, pop3Port: 110 };
    if (variant === 'clearnet')
      return { host: CLEARNET_NAME, via: 'clearnet', imapPort: 993, pop3Port: 995 };
    return {
      host: '127.0.0.1',
      via: 'direct',
      imapPort: this.fixture.imap.plain.port,
      pop3Port: this.fixture.pop3.plain.port,
    };
  }

  setup(client: ClientId, variant: Variant, account: Account, protocol: Protocol): ClientSetup {
    return clientSetup(client, this.server(variant), account.user.username, protocol);
  }

  /**
   * A home directory for one user of one set-up: the user's secret key in ~/.gnupg, the set-up's
   * files written, and the commands run once (the password file among them).
   */
  async home(setup: ClientSetup, account: Account, variant: Variant): Promise<string> {
    const home = this.fixture.scratch(`${setup.client}-${setup.protocol}-${variant}`);
    const gnupg = join(home, '.gnupg');
    mkdirSync(gnupg, { mode: 0o700 });
    await runGpg(gnupg, await this.fixture.gpg.exportSecret(this.fixture.key.fingerprint));
    for (const file of setup.files) {
      let text = file.text.split(PASSWORD_PLACEHOLDER).join(account.password);
      if (variant !== 'loopback') text = text.split(SOCKS_PROXY).join(this.proxyAddress());
      if (setup.client === 'getmail' && process.getuid?.() === 0)
        text = text.replace('path = /usr/bin/procmail\n', '$&allow_root_commands = true\n');
      writeHomeFile(home, file.path, text);
    }
    if (setup.client === 'kzymy-fetch' && variant !== 'loopback') {
      writeHomeFile(home, '~/.config/kzymy/fetch.yaml', `proxy: ${this.proxyAddress()}\n`);
    }
    const once = [...passwordFileCommands(), ...setup.prepare]
      .join('\n')
      .split(PASSWORD_PLACEHOLDER)
      .join(account.password);
    const prepared = await this.run(home, once);
    if (prepared.code !== 0) throw new Error(`preparing failed: ${prepared.stderr}`);
    return home;
  }

  /** A shell command in the sandbox with `home` as /root. */
  run(home: string, command: string, timeoutMs = 60_000): Promise<SandboxRun> {
    return inSandbox(command, this.sandboxOptions(home, timeoutMs));
  }

  sandboxOptions(home: string, timeoutMs = 60_000): SandboxOptions {
    return {
      home,
      resolvConf: this.resolvConf,
      caBundle: this.caBundle,
      timeoutMs,
      env: {
        PATH: `${this.bin}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`,
        TORSOCKS_TOR_ADDRESS: '127.0.0.1',
        TORSOCKS_TOR_PORT: String(this.onion.port),
        // Node keeps its own list of CAs: this is how it is told about one more.
        NODE_EXTRA_CA_CERTS: this.fixture.deps.tls.certFile,
      },
    };
  }

  proxyAddress(): string {
    return `127.0.0.1:${this.onion.port}`;
  }

  /**
   * What must hold after a run through Tor (the onion service or the clearnet name) that started
   * when the proxy had seen `requestsBefore` requests and the DNS witness `queriesBefore`
   * queries: at least one CONNECT, each to the server's name — by name, or (clearnet, under
   * torsocks) by the address Tor's RESOLVE gave for it; the onion name never looked up, not even
   * through Tor; no local DNS query for the name; every connection the server saw came from the
   * proxy.
   */
  leaks(variant: Variant, requestsBefore: number, queriesBefore: number): string[] {
    const name = variant === 'onion' ? this.onionName : CLEARNET_NAME;
    const problems: string[] = [];
    const requests = this.onion.requests.slice(requestsBefore);
    const connects = requests.filter((request) => request.command === 1);
    if (connects.length === 0) problems.push('no connection went through the proxy');
    for (const request of connects) {
      const to = this.onion.resolved.get(request.host) ?? request.host;
      if (to !== name) problems.push(`a CONNECT not to ${name}: ${JSON.stringify(request)}`);
    }
    // Tor's RESOLVE of the onion name: nothing knows it but the CONNECT. (getmail's lookups of
    // the machine's own name go to Tor this way too: docs/clients/getmail.md.)
    for (const request of requests.filter((r) => r.command !== 1 && r.host === this.onionName))
      problems.push(`a SOCKS command ${request.command} (lookup) for the onion name`);
    for (const query of this.dns.queries.slice(queriesBefore)) {
      if (query.endsWith('.onion') || query === name)
        problems.push(`a local DNS query for ${query}`);
    }
    const remotes = [
      ...this.fixture.witness.imap.remotes,
      ...this.fixture.witness.pop3.remotes,
      ...this.fixture.witness.imaps.remotes,
    ];
    if (!remotes.every((address) => address === PROXY_EXIT))
      problems.push('a connection reached the server without the proxy');
    return problems;
  }

  async close(): Promise<void> {
    await this.dns.close();
    await this.onion.close();
    await this.fixture.close();
  }
}

/**
 * Every message of a Maildir (new/ and cur/) a reader would still show, in name order: a file
 * flagged T ("trashed", the Maildir spec's info ":2,…T") is on its way out — what mbsync with
 * `Sync Pull` makes of a message the server deleted.
 */
export function maildirFiles(dir: string): Buffer[] {
  const files: string[] = [];
  for (const sub of ['new', 'cur']) {
    try {
      for (const name of readdirSync(join(dir, sub))) {
        if (!/:2,[A-Z]*T/.test(name)) files.push(join(dir, sub, name));
      }
    } catch {
      // not created: nothing there
    }
  }
  return files.sort().map((file) => readFileSync(file));
}

export { homePath };

function runGpg(gnupg: string, secret: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('gpg', ['--homedir', gnupg, '--batch', '--import'], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => {
      // The agent that import started; the sandbox's gpg starts its own.
      spawn('gpgconf', ['--homedir', gnupg, '--kill', 'all'], { stdio: 'ignore' }).on(
        'close',
        () => (code === 0 ? resolve() : reject(new Error(`gpg --import: ${stderr}`))),
      );
    });
    child.stdin.end(secret);
  });
}
