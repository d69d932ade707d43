// The wire codec's limits (peer/wire/limits.ts): block and bitfield sizes fixed to the file,
// and the documented defaults. The codec itself: wire-codec.test.ts.
import test from 'ava';
import { MAX_REFS, type Message, type UpdateEntry } from '../peer/core/messages.ts';
import {
  BLOCK_HEADER_BYTES,
  DEFAULT_LIMITS,
  MAX_BLOCK_SIZE,
  MAX_KNOWN_PER_UPDATE,
  MAX_SKETCH_BYTES,
  UPDATE_KNOWN_MAX_BYTES,
  blockCount,
  encode,
  encodedLength,
  limitsFor,
  maxUpdateBytes,
  varintLength,
} from '../peer/wire/index.ts';
import { codeOf, delta, entry } from './fixtures/wire-messages.ts';

/** A BLOCK's digest in these frames (the codec does not check it against the data). */
const DIGEST = new Uint8Array(16).map((_, i) => 0xd0 + i);

// ---------------------------------------------------------------- limits

test('limitsFor fixes block and bitfield sizes to the file', (t) => {
  const KiB = 1024;
  const l = limitsFor(1024 * 1024 * KiB, 256 * KiB); // 4096 blocks
  t.is(l.maxBlockBytes, 256 * KiB);
  t.is(l.maxBitfieldBytes, 4096 / 8);
  t.is(l.maxEntries, DEFAULT_LIMITS.maxEntries);
  t.true(l.maxFrameBytes >= 256 * KiB + BLOCK_HEADER_BYTES && l.maxFrameBytes <= DEFAULT_LIMITS.maxFrameBytes);
  // The largest UPDATE a sender sends: every entry an INTRO with the longest id and host, the
  // longest seq and estimate and a FULL bitfield, the most known blocks (the largest indexes
  // below the bitfield's end: no gap shorter), and the largest sketch.
  const largest = (limits: typeof l): Message => ({
    type: 'UPDATE',
    entries: Array.from({ length: limits.maxEntries }, (_, i) =>
      entry({
        ref: i % MAX_REFS,
        seq: 2 ** 32 - 1 - i,
        intro: { originId: 'a'.repeat(64), host: 'h'.repeat(255), port: 1 },
        estimate: { n: 2 ** 32 - 1, ageS: 255 },
        body: { kind: 'full', bits: new Uint8Array(limits.maxBitfieldBytes) },
      })),
    known: Array.from({ length: Math.min(MAX_KNOWN_PER_UPDATE, limits.maxBitfieldBytes * 8) }, (_, i) => i),
    sketch: new Uint8Array(MAX_SKETCH_BYTES),
  });
  t.is(codeOf(encode(largest(l)), l), 'ok', 'the largest UPDATE fits the frame limit');
  const known = (largest(l) as { known: number[] }).known;
  const knownSlack = UPDATE_KNOWN_MAX_BYTES - (varintLength(known.length) + known.length); // gaps of 0: one byte each
  t.is(maxUpdateBytes(l.maxEntries, l.maxBitfieldBytes) - encodedLength(largest(l)), l.maxEntries * (5 - varintLength(l.maxBitfieldBytes)) + knownSlack, 'the bound is tight but for varints');

  // A file of many small blocks: the largest UPDATE sets the frame limit, not the block.
  const small = limitsFor(64 * 1024 * KiB, KiB); // 65536 blocks, 8 KiB of bitfield
  t.is(small.maxFrameBytes, maxUpdateBytes(256, 8192));
  t.is(small.maxFrameBytes, 4 + 256 * (311 + 8192) + (2 + 5 * 1024) + 4098);
  t.is(codeOf(encode(largest(small)), small), 'ok');
  t.is(limitsFor(64 * 1024 * KiB, 256 * KiB).maxFrameBytes, 256 * KiB + BLOCK_HEADER_BYTES, 'big blocks: a BLOCK sets it');
  t.is(limitsFor(1024 * 1024 * KiB, KiB).maxFrameBytes, DEFAULT_LIMITS.maxFrameBytes, 'capped by the base limit');

  t.is(limitsFor(8 * KiB + 1, KiB).maxBitfieldBytes, 2); // 9 blocks
  t.is(limitsFor(8 * KiB, KiB).maxBitfieldBytes, 1);
  t.is(limitsFor(0, KiB).maxBitfieldBytes, 0);
  t.is(blockCount(Number.MAX_SAFE_INTEGER, 3 * KiB), Math.ceil(Number.MAX_SAFE_INTEGER / (3 * KiB)) + 0);
  t.is(blockCount(3 * KiB * 1000 + 1, 3 * KiB), 1001);

  const tight = limitsFor(9 * 2048, 2048); // 9 blocks: 2 bytes of bitfield, DELTA indexes below 16
  const update = (e: UpdateEntry): Uint8Array => encode({ type: 'UPDATE', entries: [e] });
  t.is(codeOf(encode({ type: 'BLOCK', index: 0, digest: DIGEST, data: new Uint8Array(2048) }), tight), 'ok');
  t.is(codeOf(encode({ type: 'BLOCK', index: 0, digest: DIGEST, data: new Uint8Array(2049) }), tight), 'BLOCK_TOO_LARGE');
  t.is(codeOf(update(entry({ body: { kind: 'full', bits: new Uint8Array(3) } })), tight), 'BITFIELD_TOO_LARGE');
  t.is(codeOf(update(entry({ body: { kind: 'full', bits: new Uint8Array(2) } })), tight), 'ok');
  t.is(codeOf(update(delta([15])), tight), 'ok');
  t.is(codeOf(update(delta([16])), tight), 'DELTA_RANGE');
  t.is(codeOf(update(delta(Array.from({ length: 16 }, (_, i) => i))), tight), 'ok');
  t.is(codeOf(update(delta(Array.from({ length: 17 }, (_, i) => i))), tight), 'DELTA_RANGE');

  t.throws(() => limitsFor(-1, KiB), { instanceOf: RangeError });
  t.throws(() => limitsFor(1.5, KiB), { instanceOf: RangeError });
  t.throws(() => limitsFor(KiB, KiB - 1), { instanceOf: RangeError });
  t.throws(() => limitsFor(KiB, MAX_BLOCK_SIZE + 1), { instanceOf: RangeError });
  t.throws(() => limitsFor(8 * 1024 * 1024 * KiB + 1, KiB), { message: /bitfield/ }); // one block past 1 MiB of bitfield
  t.throws(() => limitsFor(KiB, 2 * KiB, { ...DEFAULT_LIMITS, maxBlockBytes: KiB }), { message: /blockSize/ });
});

test('DEFAULT_LIMITS are the documented ones', (t) => {
  t.is(DEFAULT_LIMITS.maxBlockBytes, MAX_BLOCK_SIZE);
  t.is(DEFAULT_LIMITS.maxFrameBytes, DEFAULT_LIMITS.maxBlockBytes + 64);
  t.is(DEFAULT_LIMITS.maxEntries, 256);
  t.is(DEFAULT_LIMITS.maxBitfieldBytes, 1024 * 1024);
  t.true(Object.isFrozen(DEFAULT_LIMITS));
});
