// prepareEncryption remembers OpenPGP.js's verdict on a key between the moments written in it
// (src/pgp/validity-window.ts). Proof that this changes nothing: for keys whose validity changes
// over time, at every arrival around every such moment, the remembered verdict equals what
// OpenPGP.js says of a freshly parsed copy of the key.
import { expect } from 'chai';
import * as openpgp from 'openpgp';
import { prepareEncryption } from '../../src/pgp/encryption';
import { keyValidityDate, MAX_CLOCK_SKEW_MS } from '../../src/pgp/key-validity';
import { GpgHome } from '../helpers/gpg';

const SECOND = 1000;
const DAY = 86_400_000;

interface Case {
  label: string;
  armored: string;
  /** Moments at which validity or the subkey choice changes, as the key was made. */
  moments: number[];
}

/** What OpenPGP.js says of a fresh copy of the key at `arrival`: the subkey's ID and cipher. */
async function fresh(armored: string, arrival: Date): Promise<string> {
  const key = await openpgp.readKey({ armoredKey: armored });
  const date = keyValidityDate(key, arrival);
  try {
    const subkey = await key.getEncryptionKey(undefined, date);
    const { algorithm } = await openpgp.generateSessionKey({ encryptionKeys: key, date });
    return `${subkey.getKeyID().toHex()} ${algorithm}`;
  } catch {
    return 'refused';
  }
}

/** The same through prepareEncryption, with one parsed key object reused across arrivals. */
async function remembered(key: openpgp.PublicKey, arrival: Date): Promise<string> {
  try {
    const e = await prepareEncryption(key, arrival);
    const algorithm = openpgp.enums.read(
      openpgp.enums.symmetric,
      e.cipher.id as openpgp.enums.symmetric,
    );
    return `${e.recipient?.keyId.toString('hex') ?? '?'} ${algorithm}`;
  } catch {
    return 'refused';
  }
}

/** Arrivals around each moment (and where the clock-skew allowance reaches it), ascending. */
function arrivalsAround(moments: number[], from: number, to: number): number[] {
  const times = new Set<number>();
  for (const moment of moments) {
    for (const base of [moment, moment - MAX_CLOCK_SKEW_MS]) {
      for (const offset of [-1001, -1000, -999, -1, 0, 1, 999, 1000, 1001, 3600 * SECOND]) {
        times.add(base + offset);
      }
    }
  }
  for (let t = from; t <= to; t += DAY / 2) times.add(t);
  return [...times].filter((t) => t >= from && t <= to).sort((a, b) => a - b);
}

describe('pgp/validity-window: remembered verdicts equal fresh OpenPGP.js verdicts', function () {
  this.timeout(300_000);
  const now = Math.floor(Date.now() / SECOND) * SECOND;
  const t0 = now - 10 * DAY;
  const cases: Case[] = [];
  let gpg: GpgHome;

  before(async function () {
    this.timeout(300_000);
    const made = new Date(t0);
    // Expires 20 days after it was made (primary and subkey).
    const expiring = await openpgp.generateKey({
      userIDs: [{ name: 'expiring' }],
      date: made,
      keyExpirationTime: 20 * 86_400,
      format: 'object',
    });
    cases.push({
      label: 'a key that expires',
      armored: expiring.publicKey.armor(),
      moments: [t0, t0 + 20 * DAY],
    });
    // A second encryption subkey dated a day ahead: the newer one is chosen from then on.
    const base = await openpgp.generateKey({
      userIDs: [{ name: 'gains a subkey' }],
      date: made,
      format: 'object',
    });
    const later = now + DAY;
    const withSubkey = await base.privateKey.addSubkey({ date: new Date(later) });
    cases.push({
      label: 'a key with a subkey dated in the future',
      armored: withSubkey.toPublic().armor(),
      moments: [t0, later],
    });
    // Its subkey expires five days after it was made; the primary never does.
    const shortSubkey = await openpgp.generateKey({
      userIDs: [{ name: 'short subkey' }],
      date: made,
      subkeys: [{ keyExpirationTime: 5 * 86_400 }],
      format: 'object',
    });
    cases.push({
      label: 'a key whose only encryption subkey expires',
      armored: shortSubkey.publicKey.armor(),
      moments: [t0, t0 + 5 * DAY],
    });
    // Revoked as superseded three days from now (a soft revocation takes effect at its date).
    const soft = await openpgp.revokeKey({
      key: (
        await openpgp.generateKey({ userIDs: [{ name: 'soft' }], date: made, format: 'object' })
      ).privateKey,
      date: new Date(now + 3 * DAY),
      reasonForRevocation: { flag: openpgp.enums.reasonForRevocation.keySuperseded },
      format: 'object',
    });
    cases.push({
      label: 'a key revoked as superseded from three days on',
      armored: soft.publicKey.armor(),
      moments: [t0, now + 3 * DAY],
    });
    // GnuPG: made 10 days ago to expire after 5, extended 7 days ago to 30 days from then.
    gpg = await GpgHome.create();
    const uid = 'kzymy test extended';
    const at = (ms: number): string =>
      new Date(ms)
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, '');
    await gpg.run(['--quick-gen-key', uid, 'ed25519', 'sign,cert', '5d'], { fakedTime: at(t0) });
    const fpr = await gpg.fingerprintOf(uid);
    await gpg.run(['--quick-add-key', fpr, 'cv25519', 'encr', '5d'], { fakedTime: at(t0) });
    const extended = t0 + 3 * DAY;
    await gpg.run(['--quick-set-expire', fpr, '30d'], { fakedTime: at(extended) });
    await gpg.run(['--quick-set-expire', fpr, '30d', '*'], { fakedTime: at(extended) });
    cases.push({
      label: 'a GnuPG key whose expiry was extended',
      armored: (await gpg.exportPublic(fpr)).toString('utf8'),
      moments: [t0, t0 + 5 * DAY, extended, extended + 30 * DAY],
    });
  });

  after(async () => {
    await gpg?.dispose();
  });

  it('gives the same subkey and cipher, or the same refusal, at every arrival in order', async () => {
    for (const c of cases) {
      const key = await openpgp.readKey({ armoredKey: c.armored });
      const verdicts = new Set<string>();
      for (const t of arrivalsAround(c.moments, t0 - 2 * DAY, now + 45 * DAY)) {
        const arrival = new Date(t);
        const expected = await fresh(c.armored, arrival);
        const got = await remembered(key, arrival);
        // Native key IDs are lower-case hex, as OpenPGP.js's toHex.
        expect(got, `${c.label} at ${arrival.toISOString()}`).to.equal(expected);
        verdicts.add(expected);
      }
      // Each key really changes over the range (so the windows were tested at their edges).
      expect(verdicts.size, c.label).to.be.greaterThan(1);
    }
  });

  it('gives the same verdicts when arrivals come out of order (a clock set back)', async () => {
    for (const c of cases.filter((x) => !x.label.includes('revoked'))) {
      const key = await openpgp.readKey({ armoredKey: c.armored });
      const times = arrivalsAround(c.moments, t0 - 2 * DAY, now + 45 * DAY);
      // A fixed shuffle: every third from the end, then the rest.
      const order = [...times.filter((_, i) => i % 3 === 0).reverse(), ...times];
      for (const t of order) {
        const arrival = new Date(t);
        expect(await remembered(key, arrival), `${c.label} at ${arrival.toISOString()}`).to.equal(
          await fresh(c.armored, arrival),
        );
      }
    }
  });
});
