import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

/**
 * Node 20 takes a key's lock both to export a key made by generateKeyPairSync and to free the
 * job that made it; if the collector frees the job during the export, the process hangs for
 * good. Exporting each ephemeral key after it was made (kzymy's first native version) hung this
 * child in 4 runs out of 4 at 150,000 messages (2 of 3 at 40,000); taking the public key from
 * the key generation itself finishes in about 11 s.
 */
describe('pgp/native: ephemeral X25519 keys and the garbage collector', function () {
  this.timeout(240_000);

  it('wraps 150,000 session keys with the collector running every few messages, and finishes', async () => {
    const child = spawn(
      process.execPath,
      ['--max-semi-space-size=1', join(__dirname, 'x25519-stress-child.js'), '150000'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    // A hang is the failure: give it far more than it needs, then stop it.
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    expect(err).to.equal('');
    expect({ code, out }).to.deep.equal({ code: 0, out: 'done\n' });
  });
});
