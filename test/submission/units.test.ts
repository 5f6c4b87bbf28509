/**
 * The small pieces of sending as the nym, each on the inputs that decide it: multipart bodies
 * (RFC 2046 §5.1.1), header sections, the From rule, what is rebuilt, the caps' windows in the
 * real Redis with a moving clock, and z-base-32.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { connectRedis } from '../../src/redis/connection';
import { wkdHash, zBase32 } from '../../src/pgp/wkd';
import { SendCaps } from '../../src/submission/caps';
import { readEntity } from '../../src/submission/headers';
import { composeOutgoing, rfc5322Date } from '../../src/submission/outgoing';
import { checkFrom, singleFromAddress } from '../../src/submission/sender-check';
import { readSigned, splitMultipart } from '../../src/submission/signed-parts';
import { testRedisUrl } from '../helpers/services';

describe('submission: the pieces', () => {
  describe('multipart bodies (RFC 2046 §5.1.1)', () => {
    it('splits at delimiter lines only, the CRLF before a delimiter belonging to it', () => {
      const body = [
        'preamble',
        '--b  ', // transport padding after the delimiter
        'Content-Type: text/plain',
        '',
        'one',
        '--bx is not a delimiter',
        ' --b neither',
        '--b',
        '',
        'two (no header fields)',
        '--b-- ',
        'epilogue',
      ].join('\r\n');
      expect(splitMultipart(body, 'b')).to.deep.equal([
        'Content-Type: text/plain\r\n\r\none\r\n--bx is not a delimiter\r\n --b neither',
        '\r\ntwo (no header fields)',
      ]);
    });

    it('refuses a body without its close delimiter', () => {
      expect(splitMultipart('--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n', 'b')).to.equal(null);
    });

    it('tells unsigned from malformed', () => {
      const entity = (header: string, body: string) => readEntity(`${header}\r\n\r\n${body}`)!;
      expect(readSigned(entity('Content-Type: text/plain', 'x'))).to.deep.equal({
        ok: false,
        problem: 'unsigned',
      });
      expect(
        readSigned(
          entity(
            'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary=b',
            '',
          ),
        ),
      ).to.deep.equal({ ok: false, problem: 'unsigned' });
      const signed = 'Content-Type: multipart/signed; protocol="application/pgp-signature";';
      // Three parts, or a second part that is no signature: not RFC 3156.
      const three = '--b\r\n\r\na\r\n--b\r\n\r\nb\r\n--b\r\n\r\nc\r\n--b--\r\n';
      expect(readSigned(entity(`${signed} boundary=b`, three))).to.deep.equal({
        ok: false,
        problem: 'malformed',
      });
      const notSig = '--b\r\n\r\na\r\n--b\r\nContent-Type: text/plain\r\n\r\nb\r\n--b--\r\n';
      expect(readSigned(entity(`${signed} boundary=b`, notSig))).to.deep.equal({
        ok: false,
        problem: 'malformed',
      });
    });
  });

  describe('header sections', () => {
    it('keeps folded fields whole and refuses a line that is no field', () => {
      const entity = readEntity('Subject: one\r\n two\r\nX-A:b\r\n\r\nbody')!;
      expect(entity.fields.map((f) => [f.key, f.raw, f.value])).to.deep.equal([
        ['subject', 'Subject: one\r\n two', 'one two'],
        ['x-a', 'X-A:b', 'b'],
      ]);
      expect(entity.body).to.equal('body');
      expect(readEntity('Subject: x\r\nnot a field\r\n\r\n')).to.equal(null);
      expect(readEntity('Subject: no empty line')).to.equal(null);
    });
  });

  describe('From', () => {
    it('takes exactly one address, under her own subdomain', () => {
      expect(singleFromAddress('"Nym, the" <NYM@Alice.kzymy.test>')).to.equal(
        'nym@alice.kzymy.test',
      );
      expect(singleFromAddress('a@x.test, b@x.test')).to.equal(null);
      expect(singleFromAddress('group: a@x.test;')).to.equal(null);
      expect(singleFromAddress('no address')).to.equal(null);
      const from = (value: string) =>
        checkFrom(readEntity(`From: ${value}\r\n\r\n`)!, 'alice', 'kzymy.test').kind;
      expect(from('nym <nym@alice.kzymy.test>')).to.equal('accept');
      expect(from('nym@alice.kzymy.test.')).to.equal('accept');
      expect(from('nym@bob.kzymy.test')).to.equal('refuse');
      expect(from('alice.kzymy.test <nym@evil.example>')).to.equal('refuse');
      const twice = readEntity('From: nym@alice.kzymy.test\r\nFrom: x@alice.kzymy.test\r\n\r\n')!;
      expect(checkFrom(twice, 'alice', 'kzymy.test')).to.include({
        kind: 'refuse',
        reason: 'malformed',
      });
    });
  });

  describe('what leaves', () => {
    it('writes the date in UTC as RFC 5322 wants it', () => {
      expect(rfc5322Date(new Date('2025-04-01T12:03:07.123Z'))).to.equal(
        'Tue, 01 Apr 2025 12:03:07 +0000',
      );
    });

    it('wraps the signed part so that it reads back byte for byte, CRLF throughout', () => {
      const message = readEntity('From: a@alice.kzymy.test\r\n\r\n')!;
      const signed = 'Content-Type: text/plain\r\n\r\n--kzymy- looks like ours\r\n';
      const out = composeOutgoing({
        message,
        parts: { signed, signedEntity: readEntity(signed)!, armoredSignature: '' },
        signature: {
          armored: '-----BEGIN PGP SIGNATURE-----\n\nx\n-----END PGP SIGNATURE-----\n',
          micalg: 'pgp-sha256',
        },
        submittedAt: new Date(0),
        domain: 'kzymy.test',
      });
      const boundary = /boundary="([^"]+)"/.exec(out)?.[1] as string;
      expect(signed).not.to.include(boundary);
      const reread = readSigned(readEntity(out)!);
      expect(reread.ok && reread.parts.signed).to.equal(signed);
      // CRLF throughout, the armor's LFs included.
      expect(out).not.to.match(/(^|[^\r])\n/);
    });
  });

  describe('caps in Redis', () => {
    it('counts per clock hour and UTC day, all of a message or nothing, and uncounts exactly', async () => {
      const redis = await connectRedis(testRedisUrl());
      try {
        let now = Date.UTC(2030, 0, 1, 10, 30);
        const caps = new SendCaps(
          redis,
          `caps-${randomBytes(4).toString('hex')}:`,
          { messagesPerHour: 2, messagesPerDay: 3, recipientsPerHour: 5, recipientsPerDay: 100 },
          () => new Date(now),
        );
        const one = await caps.reserve('u1', 3);
        expect(one.ok).to.equal(true);
        // 3 + 3 > 5 recipients this hour: refused, and not counted.
        expect(await caps.reserve('u1', 3)).to.deep.equal({
          ok: false,
          unit: 'recipients',
          per: 'hour',
          limit: 5,
        });
        expect((await caps.reserve('u1', 2)).ok).to.equal(true);
        expect(await caps.check('u1')).to.deep.equal({
          ok: false,
          unit: 'messages',
          per: 'hour',
          limit: 2,
        });
        expect((await caps.check('u2')).ok).to.equal(true);
        if (one.ok) await one.release();
        expect((await caps.check('u1')).ok).to.equal(true);
        expect((await caps.reserve('u1', 1)).ok).to.equal(true);
        now += 3_600_000;
        // A new hour, the same day: 3 messages today.
        expect((await caps.reserve('u1', 1)).ok).to.equal(true);
        expect(await caps.check('u1')).to.deep.equal({
          ok: false,
          unit: 'messages',
          per: 'day',
          limit: 3,
        });
        now += 14 * 3_600_000; // the next UTC day
        expect((await caps.check('u1')).ok).to.equal(true);
      } finally {
        redis.disconnect();
      }
    });
  });

  describe('z-base-32', () => {
    it('encodes as RFC 6189 §5.1.6 and the WKD draft example do', () => {
      expect(zBase32(new Uint8Array([]))).to.equal('');
      expect(zBase32(new Uint8Array([0xf0, 0xbf, 0xc7]))).to.equal('6n9hq');
      // draft-koch-openpgp-webkey-service §3.1: "Joe.Doe" → iy9q119eutrkn8s1mk4r39qejnbu3n5q.
      expect(wkdHash('Joe.Doe')).to.equal('iy9q119eutrkn8s1mk4r39qejnbu3n5q');
    });
  });
});
