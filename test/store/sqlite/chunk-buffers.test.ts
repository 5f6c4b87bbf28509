/**
 * sqlite engine: a ciphertext's chunks in buffers that go to the writer thread and come back
 * (src/store/sqlite/chunks.ts), so that neither thread is left with a large message's worth of
 * buffers waiting for its garbage collector; and a staged ciphertext that leaves the writer's
 * temporary table whether its delivery commits or fails.
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { ChunkBuffers, rechunk } from '../../../src/store/sqlite/chunks';
import type { Job, JobResults } from '../../../src/store/sqlite/jobs';
import { CHUNK_BYTES, openConnection } from '../../../src/store/sqlite/schema';
import { startWriter, type CommitMode } from '../../../src/store/sqlite/writer';
import { Writes } from '../../../src/store/sqlite/writes';
import { expectBytes } from '../../helpers/bytes';
import { uniqueSqliteFile } from '../../helpers/services';

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const all: Uint8Array[] = [];
  for await (const chunk of chunks) all.push(chunk);
  return all;
}

function settings(file: string) {
  return {
    file,
    busyTimeoutMs: 5000,
    group: true,
    maintenanceMs: 3_600_000,
    vacuumFreePages: 256,
  };
}

describe('store [sqlite]: chunk buffers', function () {
  this.timeout(30_000);

  it('cuts pieces of any size into whole chunks in buffers of their own, the last one copied to its size, leaving the pieces as they were', async () => {
    const ciphertext = randomBytes(3 * CHUNK_BYTES + 1234);
    const original = Buffer.from(ciphertext);
    const sizes = [1, 300 * 1024, 100 * 1024, 3, 700 * 1024, 57];
    const pieces: Buffer[] = [];
    for (let at = 0, n = 0; at < ciphertext.length; n++) {
      const size = sizes[n % sizes.length] as number;
      pieces.push(ciphertext.subarray(at, at + size));
      at += size;
    }
    const chunks = await collect(rechunk(pieces, new ChunkBuffers()));
    expect(chunks.map((chunk) => chunk.byteLength)).to.deep.equal([
      CHUNK_BYTES,
      CHUNK_BYTES,
      CHUNK_BYTES,
      1234,
    ]);
    for (const chunk of chunks) {
      // Each chunk is all of its buffer: moving it to the writer moves nothing else.
      expect(chunk.byteOffset).to.equal(0);
      expect(chunk.buffer.byteLength).to.equal(chunk.byteLength);
      expect(chunk.buffer).to.not.equal(ciphertext.buffer);
    }
    expect(new Set(chunks.map((chunk) => chunk.buffer)).size).to.equal(chunks.length);
    expectBytes(Buffer.concat(chunks), original);
    expectBytes(ciphertext, original);
  });

  it('makes a small ciphertext one chunk of its exact size, and an empty one a single empty chunk', async () => {
    const small = randomBytes(10 * 1024);
    const [one, ...more] = await collect(rechunk([small], new ChunkBuffers()));
    expect(more).to.have.length(0);
    expect(one?.buffer.byteLength).to.equal(small.length);
    expectBytes(Buffer.from(one as Uint8Array), small);
    const empty = await collect(rechunk([], new ChunkBuffers()));
    expect(empty.map((chunk) => chunk.byteLength)).to.deep.equal([0]);
  });

  it('hands a buffer given back out again for the next chunk; keeps only whole-chunk buffers, and only a few', () => {
    const buffers = new ChunkBuffers();
    const first = buffers.take();
    expect(first.byteLength).to.equal(CHUNK_BYTES);
    buffers.give(first.buffer as ArrayBuffer);
    expect(buffers.take().buffer).to.equal(first.buffer);
    buffers.give(new ArrayBuffer(1000));
    expect(buffers.kept).to.equal(0);
    for (let i = 0; i < 100; i++) buffers.give(new ArrayBuffer(CHUNK_BYTES));
    expect(buffers.kept).to.be.within(1, 16);
  });

  for (const mode of ['worker', 'main'] as CommitMode[]) {
    it(`gives a job's chunk buffers back once it has run, committed or refused (${mode} writer)`, async () => {
      const writer = await startWriter(mode, settings(uniqueSqliteFile()));
      try {
        const chunk = writer.buffers.take();
        chunk.fill(7);
        await writer.submit({ op: 'stageAppend', stage: 1, n: 0, data: chunk });
        // On the writer thread, the buffer was moved there (this view is now empty), not copied.
        if (mode === 'worker') expect(chunk.byteLength).to.equal(0);
        expect(writer.buffers.kept).to.equal(1);
        await writer.submit({ op: 'stageDrop', stage: 1 });
        const refused = await writer
          .submit({
            op: 'deliver',
            userId: randomBytes(12).toString('hex'),
            arrivedAt: Date.now(),
            size: CHUNK_BYTES + 1,
            chunks: [writer.buffers.take(), new Uint8Array(1)],
          })
          .then(
            () => 'stored',
            (error: Error) => error.name,
          );
        expect(refused).to.equal('MailboxGoneError');
        // The whole chunk's buffer is back; the one-byte last chunk's is not kept.
        expect(writer.buffers.kept).to.equal(1);
      } finally {
        await writer.close();
      }
    });
  }
});

describe('store [sqlite]: staged ciphertext', function () {
  this.timeout(30_000);

  it("keeps the writer's page caches, of the file and of the staging table, at SQLite's 2 MB default", () => {
    const file = uniqueSqliteFile();
    const writer = openConnection(file, { busyTimeoutMs: 5000, create: true });
    const reader = openConnection(file, { busyTimeoutMs: 0, create: false });
    try {
      new Writes(writer);
      expect(writer.pragma('cache_size', { simple: true })).to.equal(-2000);
      expect(writer.pragma('temp.cache_size', { simple: true })).to.equal(-2000);
      // Read connections are left as they were (better-sqlite3's 16 MB).
      expect(reader.pragma('cache_size', { simple: true })).to.equal(-16000);
    } finally {
      reader.close();
      writer.close();
    }
  });

  it('leaves the temporary table once its delivery committed, and when its delivery was refused', () => {
    const db = openConnection(uniqueSqliteFile(), { busyTimeoutMs: 5000, create: true });
    try {
      const writes = new Writes(db);
      const run = <K extends Job['op']>(job: Job & { op: K }): JobResults[K] => {
        const [outcome] = writes.runAll([job], true);
        if (!outcome?.ok) throw new Error(outcome?.error.message);
        return outcome.value as JobResults[K];
      };
      const staged = (): number =>
        (db.prepare('SELECT COUNT(*) AS n FROM temp.staged').get() as { n: number }).n;
      const chunks = (): number =>
        (db.prepare('SELECT COUNT(*) AS n FROM chunks').get() as { n: number }).n;
      const user = run({
        op: 'createUser',
        input: { fingerprint: 'f', publicKey: 'pk', passwordHash: 'h', state: 'active' },
        createdAt: Date.now(),
      });
      const stage = (id: number): void => {
        for (let n = 0; n < 3; n++)
          run({ op: 'stageAppend', stage: id, n, data: new Uint8Array(CHUNK_BYTES).fill(n) });
      };
      const deliver = { op: 'deliver', userId: user.id, arrivedAt: 0, size: 3 * CHUNK_BYTES };

      stage(1);
      expect(staged()).to.equal(3);
      const [stored] = writes.runAll([{ ...deliver, op: 'deliver', stage: 1 }], true);
      expect(stored?.ok).to.equal(true);
      expect(staged()).to.equal(0);
      expect(chunks()).to.equal(3);

      run({ op: 'updateUser', userId: user.id, change: { kind: 'markDeleting' } });
      stage(2);
      const [refused] = writes.runAll([{ ...deliver, op: 'deliver', stage: 2 }], true);
      expect(refused?.ok).to.equal(false);
      expect(staged()).to.equal(0);
      expect(chunks()).to.equal(3);
    } finally {
      db.close();
    }
  });
});
