// decode()'s error codes (peer/wire/errors.ts): crafted frames, each with the one code it must
// yield (or 'ok' at the edge of a rule), and a check that every code in the table is produced
// by at least one of them. Asserts codes, never the wording of `detail`.
import test from 'ava';
import { readFileSync } from 'node:fs';
import {
  DEFAULT_LIMITS,
  MAX_BLOCK_SIZE,
  MAX_SKETCH_BYTES,
  UPDATE_HEADER_BYTES,
  MIN_BLOCK_SIZE,
  WIRE_ERRORS,
  WIRE_ERROR_CODES,
  decode,
  encode,
  type WireErrorCode,
  type WireLimits,
} from '../peer/wire/index.ts';
import { E, H, LOOSE, ascii, be, concat, delta, entry, heartbeat, hello, leb, patch, splice } from './fixtures/wire-messages.ts';

/** A BLOCK's digest in these frames (the codec does not check it against the data). */
const DIGEST = new Uint8Array(16).map((_, i) => 0xd0 + i);

type Case = { expect: WireErrorCode | 'ok'; what: string; frame: unknown; limits?: Partial<WireLimits> };
const ok = (what: string, frame: unknown, limits?: Partial<WireLimits>): Case => ({ expect: 'ok', what, frame, limits });
const bad = (expect: WireErrorCode, what: string, frame: unknown, limits?: Partial<WireLimits>): Case => ({ expect, what, frame, limits });

const helloFrame = encode(hello());

const notFrames: Case[] = [
  ...[null, undefined, 'abc', new ArrayBuffer(4), [1, 0, 0, 0, 0], {}].map((v) => bad('TEXT_FRAME', `a ${typeof v}`, v)),
  bad('EMPTY_FRAME', 'no bytes', new Uint8Array(0)),
  bad('UNKNOWN_TYPE', '0x7f', Uint8Array.of(0x7f)),
  bad('UNKNOWN_TYPE', '0x00 with a body', Uint8Array.of(0x00, 0, 0, 0, 0)),
  bad('UNKNOWN_TYPE', '0x0a, one past PROOF', Uint8Array.of(0x0a, 0, 0)),
  bad('TRUNCATED', 'a CHALLENGE nonce of 15 bytes', concat([0x08], new Uint8Array(15))),
  bad('TRAILING_BYTES', 'a PROOF of 33 bytes', concat([0x09], new Uint8Array(33))),
  ok('a PROOF of 32 bytes', concat([0x09], new Uint8Array(32))),
  bad('UNKNOWN_TYPE', '0xff', Uint8Array.of(0xff)),
  bad('FRAME_TOO_LARGE', 'one byte over maxFrameBytes', helloFrame, { maxFrameBytes: helloFrame.length - 1 }),
  ok('exactly maxFrameBytes', helloFrame, { maxFrameBytes: helloFrame.length }),
  bad('FRAME_TOO_LARGE', 'over the default limit', concat([0x04], new Uint8Array(DEFAULT_LIMITS.maxFrameBytes))),
];

/** A peer's own entry with an ESTIMATE: FORMAT.md's fourth example; n is at frame offset 9. */
const estimateFrame = encode({
  type: 'UPDATE',
  entries: [{ ref: 0, seq: 1, hops: 0, degree: 3, sourceBusy: false, estimate: { n: 1000, ageS: 12 }, body: { kind: 'delta', added: [0] } }],
});

/** One valid frame per type; with its last byte cut it is TRUNCATED, with a byte added TRAILING_BYTES. */
const framesByType: [string, Uint8Array][] = [
  ['HELLO', helloFrame],
  ['UPDATE, no entries', encode({ type: 'UPDATE', entries: [] })],
  ['UPDATE, INTRO + FULL', encode({ type: 'UPDATE', entries: [entry()] })],
  ['UPDATE, heartbeat', encode({ type: 'UPDATE', entries: [heartbeat()] })],
  ['UPDATE, DELTA', encode({ type: 'UPDATE', entries: [delta()] })],
  ['UPDATE, ESTIMATE', estimateFrame],
  ['UPDATE, empty sketch', encode({ type: 'UPDATE', entries: [], sketch: new Uint8Array(0) })],
  ['UPDATE, entries and sketch', encode({ type: 'UPDATE', entries: [heartbeat(), delta()], sketch: Uint8Array.of(1, 2, 3) })],
  ['REQUEST', encode({ type: 'REQUEST', index: 1 })],
  ['BLOCK', encode({ type: 'BLOCK', index: 1, digest: DIGEST, data: Uint8Array.of(1, 2) })],
  ['REJECT', encode({ type: 'REJECT', index: 1, reason: 'busy' })],
  ['BYE', encode({ type: 'BYE', reason: 'bye' })],
];
const oneEntry = encode({ type: 'UPDATE', entries: [entry()] });

const cutOrPadded: Case[] = [
  ...framesByType.flatMap(([what, f]) => [
    ok(what, f),
    bad('TRUNCATED', `${what} cut by a byte`, f.subarray(0, f.length - 1)),
    bad('TRAILING_BYTES', `${what} and a byte more`, concat(f, [0])),
  ]),
  bad('TRUNCATED', 'UPDATE without its flags', Uint8Array.of(0x02)),
  bad('TRUNCATED', 'UPDATE without its count', Uint8Array.of(0x02, 0)),
  bad('TRUNCATED', 'UPDATE count 1, no entry', Uint8Array.of(0x02, 0, 0, 1)),
  bad('TRUNCATED', 'UPDATE count 2, one entry', patch(oneEntry, 2, 2, 2)),
  bad('TRUNCATED', 'UPDATE SKETCH flag, no sketch', patch(oneEntry, 1, 1, 1)),
  bad('TRUNCATED', 'UPDATE sketch length 5, 4 bytes', concat([0x02, 1, 0, 0], [5], [1, 2, 3, 4])),
  bad('TRUNCATED', 'a varint cut after a continuation byte', Uint8Array.of(0x02, 0, 0, 1, 0, 0, 0x80)),
  bad('TRUNCATED', 'a DELTA of 3 indexes with 2', Uint8Array.of(0x02, 0, 0, 1, 0x02, 0, 0, 0, 0, 3, 5, 0)),
  bad('TRUNCATED', 'a DELTA count of maxBitfieldBytes × 8 and no index', concat([0x02, 0, 0, 1, 0x02, 0, 0, 0, 0], leb(DEFAULT_LIMITS.maxBitfieldBytes * 8))),
  bad('TRUNCATED', 'an ESTIMATE form bit without the estimate', Uint8Array.of(0x02, 0, 0, 1, 0x10, 0, 0, 0, 0)),
  bad('TRUNCATED', 'an INTRO whose originId is cut', Uint8Array.of(0x02, 0, 0, 1, 0x04, 0, 8, 0xab, 0xcd, 0, 0, 0)),
  bad('TRUNCATED', 'BYE length 2, one byte', patch(encode({ type: 'BYE', reason: 'x' }), 1, 2, 2)),
  bad('TRUNCATED', 'BLOCK length 2, one byte', patch(encode({ type: 'BLOCK', index: 0, digest: DIGEST, data: Uint8Array.of(1) }), 21, 4, 2)),
];

const shortId = encode(hello({ peerId: '11'.repeat(8) }));
const longId = encode(hello({ peerId: '11'.repeat(32) }));
const oneCharHost = encode(hello({ host: 'h' }));

const helloFields: Case[] = [
  bad('PORT_RANGE', 'port 0', patch(helloFrame, H.port, 2, 0)),
  ok('port 1', patch(helloFrame, H.port, 2, 1)),
  bad('SIZE_RANGE', 'size 2^53', patch(helloFrame, H.sizeHigh, 4, 0x200000)),
  ok('size 2^53 - 1', patch(patch(patch(helloFrame, H.sizeHigh, 4, 0x1fffff), H.sizeLow, 4, 2 ** 32 - 1), H.blockSize, 4, MAX_BLOCK_SIZE), LOOSE),
  bad('BLOCK_SIZE_RANGE', 'blockSize 1 KiB - 1', patch(helloFrame, H.blockSize, 4, MIN_BLOCK_SIZE - 1)),
  bad('BLOCK_SIZE_RANGE', 'blockSize 16 MiB + 1', patch(helloFrame, H.blockSize, 4, MAX_BLOCK_SIZE + 1)),
  bad('BLOCK_TOO_LARGE', 'blockSize over maxBlockBytes', helloFrame, { maxBlockBytes: 128 * 1024 }),
  ok('blockSize at maxBlockBytes', helloFrame, { maxBlockBytes: 256 * 1024 }),
  bad('TOO_MANY_BLOCKS', '40 blocks, 4 bytes of bitfield allowed', helloFrame, { maxBitfieldBytes: 4 }),
  ok('40 blocks, 5 bytes of bitfield allowed', helloFrame, { maxBitfieldBytes: 5 }),
  bad('TOO_MANY_BLOCKS', 'over 2^31 blocks', patch(patch(patch(helloFrame, H.sizeHigh, 4, 0x1fffff), H.sizeLow, 4, 0), H.blockSize, 4, MIN_BLOCK_SIZE), LOOSE),
  bad('NOT_ASCII', 'host byte 0x1f', patch(helloFrame, H.host + 3, 1, 0x1f)),
  bad('NOT_ASCII', 'host byte 0x7f', patch(helloFrame, H.host, 1, 0x7f)),
  bad('NOT_ASCII', 'host byte 0xc3', patch(helloFrame, H.host, 1, 0xc3)),
  bad('EMPTY_HOST', 'host length 0', concat(oneCharHost.subarray(0, H.hostLen), [0], oneCharHost.subarray(H.hostLen + 2))),
  bad('ID_LENGTH', 'peerId 7 bytes', concat(shortId.subarray(0, H.peerIdLen), [7], shortId.subarray(H.peerIdLen + 2))),
  bad('ID_LENGTH', 'peerId 33 bytes', concat(longId.subarray(0, H.peerIdLen), [33, 0x22], longId.subarray(H.peerIdLen + 1))),
  // A bad field wins over a trailing byte: the field is read first.
  bad('PORT_RANGE', 'port 0 and a byte more', concat(patch(helloFrame, H.port, 2, 0), [0])),
];

// Three entries of entry() (an INTRO + FULL, 29 bytes each: offsets in E); the first starts at 4.
const update3 = encode({ type: 'UPDATE', entries: [entry(), entry(), entry()] });
const at = (field: keyof typeof E): number => UPDATE_HEADER_BYTES + E[field];

const updateFields: Case[] = [
  bad('TOO_MANY_ENTRIES', '3 entries, 2 allowed', update3, { maxEntries: 2 }),
  ok('3 entries, 3 allowed', update3, { maxEntries: 3 }),
  bad('TOO_MANY_ENTRIES', 'a count over the default, nothing after', patch(Uint8Array.of(2, 0, 0, 0), 2, 2, DEFAULT_LIMITS.maxEntries + 1)),
  bad('BITFIELD_TOO_LARGE', '2-byte bitfields, 1 allowed', update3, { maxBitfieldBytes: 1 }),
  ok('2-byte bitfields, 2 allowed', update3, { maxBitfieldBytes: 2 }),
  bad('BITFIELD_TOO_LARGE', 'a bits length over the default', splice(update3, at('bitsLen'), 1, leb(DEFAULT_LIMITS.maxBitfieldBytes + 1))),
  bad('BITFIELD_TOO_LARGE', 'a bits length of 2^32 - 1', splice(update3, at('bitsLen'), 1, leb(2 ** 32 - 1)), LOOSE),
  bad('PORT_RANGE', 'INTRO port 0', patch(update3, at('port'), 2, 0)),
  bad('PORT_RANGE', 'INTRO port 0, third entry', patch(update3, at('port') + 2 * 29, 2, 0)),
  bad('ID_LENGTH', 'INTRO originId 7 bytes', patch(update3, at('idLen'), 1, 7)),
  bad('ID_LENGTH', 'INTRO originId 33 bytes', patch(update3, at('idLen'), 1, 33)),
  bad('EMPTY_HOST', 'INTRO host length 0', patch(update3, at('hostLen'), 1, 0)),
  bad('NOT_ASCII', 'INTRO host byte 0x0a', patch(update3, at('host') + 2, 1, 0x0a)),

  // The flags byte.
  bad('BAD_FLAGS', 'flags bit 2', patch(update3, 1, 1, 0x04)),
  bad('BAD_FLAGS', 'flags bit 7', patch(update3, 1, 1, 0x80)),
  bad('BAD_FLAGS', 'flags 0xff', patch(update3, 1, 1, 0xff)),
  bad('BAD_FLAGS', 'flags bit 2 and a count over maxEntries: flags come first', patch(patch(update3, 1, 1, 0x04), 2, 2, 0xffff)),
  ok('flags 0x01 with a sketch', concat(patch(update3, 1, 1, 0x01), [0])),
  ok('flags 0x02 with known blocks 3 and 5', concat(patch(update3, 1, 1, 0x02), [2, 3, 1])),
  ok('flags 0x03: known blocks, then a sketch', concat(patch(update3, 1, 1, 0x03), [1, 0, 0])),
  bad('DELTA_RANGE', 'known blocks: a count of 0', concat(patch(update3, 1, 1, 0x02), [0])),

  // The form byte: FULL + INTRO is 0x05.
  bad('BAD_FORM', 'body 3', patch(update3, at('form'), 1, 0x07)),
  bad('BAD_FORM', 'body 3, no other bit', Uint8Array.of(0x02, 0, 0, 1, 0x03)),
  bad('BAD_FORM', 'form bit 5', patch(update3, at('form'), 1, 0x25)),
  bad('BAD_FORM', 'form bit 6', patch(update3, at('form'), 1, 0x45)),
  bad('BAD_FORM', 'form bit 7, third entry', patch(update3, at('form') + 2 * 29, 1, 0x85)),
  ok('SOURCE_BUSY set', patch(update3, at('form'), 1, 0x0d)),

  // Varints, in seq (frame offset 6 of a heartbeat of ref 0: 02 00 00 01 00 00 <seq> 00 00).
  ...(
    [
      ['VARINT_OVERLONG', '0 in 2 bytes', [0x80, 0x00]],
      ['VARINT_OVERLONG', '1 in 2 bytes', [0x81, 0x00]],
      ['VARINT_OVERLONG', '0 in 5 bytes', [0x80, 0x80, 0x80, 0x80, 0x00]],
      ['VARINT_OVERLONG', '2^21 in 4 bytes', [0x80, 0x80, 0x80, 0x01 | 0x80, 0x00]],
      ['ok', '2^32 - 1', [0xff, 0xff, 0xff, 0xff, 0x0f]],
      ['ok', '2^28', [0x80, 0x80, 0x80, 0x80, 0x01]],
      ['VARINT_RANGE', '2^32', [0x80, 0x80, 0x80, 0x80, 0x10]],
      ['VARINT_RANGE', 'a 5th byte 0x7f', [0xff, 0xff, 0xff, 0xff, 0x7f]],
      ['VARINT_RANGE', 'a 5th byte with a continuation', [0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
      ['VARINT_RANGE', '0 in 6 bytes', [0x80, 0x80, 0x80, 0x80, 0x80, 0x00]],
    ] as const
  ).map(([code, what, seq]) => ({ expect: code, what: `seq ${what}`, frame: concat([0x02, 0, 0, 1, 0, 0], seq, [0, 0]) })),
  bad('VARINT_OVERLONG', 'an overlong DELTA gap', splice(encode({ type: 'UPDATE', entries: [delta()] }), 11, 1, [0x80, 0x00])),
  bad('VARINT_RANGE', 'a bits length of 2^32', splice(update3, at('bitsLen'), 1, [0x80, 0x80, 0x80, 0x80, 0x10])),

  // ESTIMATE n.
  bad('ESTIMATE_RANGE', 'n 0', splice(estimateFrame, 9, 2, [0])),
  ok('n 1', splice(estimateFrame, 9, 2, [1])),
  ok('n 2^32 - 1', splice(estimateFrame, 9, 2, leb(2 ** 32 - 1))),
  bad('VARINT_RANGE', 'n 2^32', splice(estimateFrame, 9, 2, [0x80, 0x80, 0x80, 0x80, 0x10])),

  // DELTA: 02 00 00 01 | 0a 01 08 02 04 | 03 05 00 c1 01 (count at 9: blocks 5, 6, 200).
  bad('DELTA_RANGE', 'count 0', patch(encode({ type: 'UPDATE', entries: [delta()] }), 9, 1, 0)),
  bad('DELTA_RANGE', 'count 0, nothing after', Uint8Array.of(0x02, 0, 0, 1, 0x02, 0, 0, 0, 0, 0)),
  bad('DELTA_RANGE', 'count over maxBitfieldBytes × 8', concat([0x02, 0, 0, 1, 0x02, 0, 0, 0, 0], leb(DEFAULT_LIMITS.maxBitfieldBytes * 8 + 1))),
  bad('DELTA_RANGE', 'any DELTA when maxBitfieldBytes is 0', encode({ type: 'UPDATE', entries: [delta([0])] }), { maxBitfieldBytes: 0 }),
  bad('DELTA_RANGE', 'index 200, maxBitfieldBytes 25 (below 200)', encode({ type: 'UPDATE', entries: [delta()] }), { maxBitfieldBytes: 25 }),
  ok('index 200, maxBitfieldBytes 26 (below 208)', encode({ type: 'UPDATE', entries: [delta()] }), { maxBitfieldBytes: 26 }),
  bad('DELTA_RANGE', 'a first index of 2^31', concat([0x02, 0, 0, 1, 0x02, 0, 0, 0, 0, 1], leb(2 ** 31)), LOOSE),
  ok('a first index of 2^31 - 1', concat([0x02, 0, 0, 1, 0x02, 0, 0, 0, 0, 1], leb(2 ** 31 - 1)), LOOSE),
  bad('DELTA_RANGE', 'a gap of 0 after 2^31 - 1', concat([0x02, 0, 0, 1, 0x02, 0, 0, 0, 0, 2], leb(2 ** 31 - 1), [0]), LOOSE),
  bad('DELTA_RANGE', 'a gap past maxBitfieldBytes × 8', concat([0x02, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 5], leb(DEFAULT_LIMITS.maxBitfieldBytes * 8 - 6))),
  ok('a gap to the last index of maxBitfieldBytes × 8', concat([0x02, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 5], leb(DEFAULT_LIMITS.maxBitfieldBytes * 8 - 7))),
  bad('DELTA_RANGE', 'gaps of 2^32 - 1 add past 2^31', concat([0x02, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0], leb(2 ** 32 - 1)), LOOSE),

  // The sketch.
  bad('SKETCH_TOO_LARGE', 'a sketch of 4097 bytes', concat([0x02, 1, 0, 0], leb(MAX_SKETCH_BYTES + 1), new Uint8Array(MAX_SKETCH_BYTES + 1))),
  ok('a sketch of 4096 bytes', concat([0x02, 1, 0, 0], leb(MAX_SKETCH_BYTES), new Uint8Array(MAX_SKETCH_BYTES))),
  bad('SKETCH_TOO_LARGE', 'a sketch length of 2^32 - 1, nothing after', concat([0x02, 1, 0, 0], leb(2 ** 32 - 1))),
  bad('TRAILING_BYTES', 'sketch bytes without the SKETCH flag', concat([0x02, 0, 0, 0], [1, 9])),
];

const indexed = [
  encode({ type: 'REQUEST', index: 5 }),
  encode({ type: 'BLOCK', index: 5, digest: DIGEST, data: Uint8Array.of(1) }),
  encode({ type: 'REJECT', index: 5, reason: 'missing' }),
];
const reject = encode({ type: 'REJECT', index: 5, reason: 'busy' });
const block2k = encode({ type: 'BLOCK', index: 5, digest: DIGEST, data: new Uint8Array(2048) });

const otherFields: Case[] = [
  ...indexed.flatMap((f) => [
    bad('INDEX_RANGE', `type ${f[0]} index 2^31`, patch(f, 1, 4, 2 ** 31)),
    bad('INDEX_RANGE', `type ${f[0]} index 2^32 - 1`, patch(f, 1, 4, 2 ** 32 - 1)),
    ok(`type ${f[0]} index 2^31 - 1`, patch(f, 1, 4, 2 ** 31 - 1)),
  ]),
  bad('REJECT_REASON', 'reason 0', patch(reject, 5, 1, 0)),
  bad('REJECT_REASON', 'reason 3', patch(reject, 5, 1, 3)),
  bad('BLOCK_TOO_LARGE', '2048 bytes, 2047 allowed', block2k, { maxBlockBytes: 2047 }),
  ok('2048 bytes, 2048 allowed', block2k, { maxBlockBytes: 2048 }),
  bad('BLOCK_TOO_LARGE', 'a length of 2^32 - 1', concat([4, 0, 0, 0, 0], DIGEST, [0xff, 0xff, 0xff, 0xff])),
  bad('DIGESTS_RANGE', 'DIGESTS of 0 blocks', Uint8Array.of(0x07, 0)),
  bad('DIGESTS_RANGE', 'DIGESTS of 1025 blocks', concat([0x07], leb(1025))),
  bad('DIGESTS_RANGE', 'a DIGESTS index past the bitfield limit', concat([0x07, 1], leb(16), DIGEST), { maxBitfieldBytes: 2 }),
  ok('a DIGESTS index just inside the bitfield limit', concat([0x07, 1], leb(15), DIGEST), { maxBitfieldBytes: 2 }),
  bad('TRUNCATED', 'a DIGESTS digest cut short', concat([0x07, 1, 0], DIGEST.subarray(0, 15))),
  bad('EMPTY_BLOCK', 'length 0', concat([4, 0, 0, 0, 0], DIGEST, [0, 0, 0, 0])),
  bad('BYE_TOO_LONG', '257 bytes', concat([6], be(257, 2), ascii('a'.repeat(257)))),
  ok('256 bytes', concat([6], be(256, 2), ascii('a'.repeat(256)))),
  bad('NOT_ASCII', 'BYE byte 0x00', concat([6], be(2, 2), [0x61, 0x00])),
  bad('NOT_ASCII', 'BYE byte 0x80', concat([6], be(1, 2), [0x80])),
];

/** Limits whose getter throws: the stand-in for a bug inside decode, which must still not throw. */
const throwingLimits = {
  get maxEntries(): number {
    throw new Error('a bug');
  },
};
const internal: Case[] = [bad('INTERNAL', 'a throw inside decode', oneEntry, throwingLimits)];

const groups: Record<string, Case[]> = {
  'frames that are not frames': notFrames,
  'frames cut short or padded, per type': cutOrPadded,
  'HELLO fields out of range': helloFields,
  'UPDATE limits and fields out of range': updateFields,
  'indexes, REJECT reasons, BLOCK sizes, BYE reasons': otherFields,
  'INTERNAL, for a bug of the decoder': internal,
};

for (const [name, cases] of Object.entries(groups)) {
  test(name, (t) => {
    for (const c of cases) {
      const r = decode(c.frame as Uint8Array, c.limits);
      t.is(r.ok ? 'ok' : r.code, c.expect, c.what);
      if (!r.ok) t.true(typeof r.detail === 'string' && r.detail.length > 0, c.what);
    }
  });
}

test('every code in the table is produced by at least one crafted frame', (t) => {
  const produced = new Set(Object.values(groups).flatMap((cases) => cases.map((c) => c.expect)));
  t.deepEqual(WIRE_ERROR_CODES.filter((code) => !produced.has(code)), [], 'codes no crafted frame yields');
  t.deepEqual([...produced].filter((code) => code !== 'ok' && !(code in WIRE_ERRORS)), [], 'codes outside the table');
});

test('the Errors section of FORMAT.md lists exactly the codes of errors.ts', (t) => {
  const format = readFileSync(new URL('../peer/wire/FORMAT.md', import.meta.url), 'utf8');
  const section = format.split(/^## /m).find((s) => s.startsWith('Errors')) ?? '';
  const listed = [...section.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
  t.deepEqual(listed, WIRE_ERROR_CODES);
});
