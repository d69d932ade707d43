// The wire codec (peer/wire): golden bytes against FORMAT.md, round trips at the edges, what
// encode refuses, zero-copy BLOCK data and copied UPDATE bits, limits, what UPDATE v2 entries
// cost, and seeded properties (round trip, hostile bytes never throw, prefixes are refused).
// Error codes: wire-errors.test.ts.
import test from 'ava';
import fc from 'fast-check';
import { deepStrictEqual } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { MAX_REFS, type EntryBody, type Message, type OriginIntro, type SizeEstimate, type UpdateEntry } from '../peer/core/messages.ts';
import { seedFrom } from '../estimation/random.ts';
import {
  BLOCK_HEADER_BYTES,
  DEFAULT_LIMITS,
  MAX_BLOCK_SIZE,
  MAX_HOST_BYTES,
  MAX_PEER_ID_BYTES,
  MAX_KNOWN_PER_UPDATE,
  MAX_SKETCH_BYTES,
  MIN_BLOCK_SIZE,
  UPDATE_ENTRY_MAX_OVERHEAD,
  UPDATE_HEADER_BYTES,
  UPDATE_INTRO_MAX_BYTES,
  UPDATE_KNOWN_MAX_BYTES,
  UPDATE_SKETCH_MAX_BYTES,
  WIRE_ERROR_CODES,
  blockCount,
  decode,
  encode,
  encodedLength,
  limitsFor,
  maxUpdateBytes,
  updateEntryLength,
  varintLength,
} from '../peer/wire/index.ts';
import {
  LOOSE,
  SWARM,
  ascii,
  be,
  codeOf,
  concat,
  delta,
  entry,
  heartbeat,
  hello,
  hexBytes,
  intro,
  leb,
  patch,
  toHex,
} from './fixtures/wire-messages.ts';

/** A BLOCK's digest in these frames (the codec does not check it against the data). */
const DIGEST = new Uint8Array(16).map((_, i) => 0xd0 + i);

const seed = seedFrom(process.env, 1);

// ---------------------------------------------------------------- layout (FORMAT.md)

test('every message has the byte layout FORMAT.md gives', (t) => {
  const h = hello({ size: 2 ** 32 + 5, peerId: '0102030405060708' });
  t.deepEqual(
    encode(h),
    concat(
      [0x01],
      be(3, 4),
      hexBytes(SWARM),
      [8],
      hexBytes('0102030405060708'),
      [9],
      ascii('127.0.0.1'),
      be(8080, 2),
      be(1, 4),
      be(5, 4),
      be(256 * 1024, 4),
      [1],
    ),
  );
  // Two entries, field by field: an INTRO + FULL with an ESTIMATE, then a DELTA; and a sketch.
  const e = entry({ seq: 2 ** 32 - 1, estimate: { n: 70000, ageS: 255 } });
  const d = delta([127, 128, 16384 + 129], { ref: 255, seq: 128, hops: 255, degree: 255, sourceBusy: false });
  t.deepEqual(
    encode({ type: 'UPDATE', entries: [e, d], sketch: Uint8Array.of(7, 8, 9) }),
    concat(
      [0x02, 0x01],
      be(2, 2),
      [0x15, 1, 8],
      hexBytes('cd'.repeat(8)),
      [9],
      ascii('localhost'),
      be(9000, 2),
      [0xff, 0xff, 0xff, 0xff, 0x0f, 2, 4], // seq 2^32 - 1, hops, degree
      [0xf0, 0xa2, 0x04, 0xff], // n 70000 = 0x11170, ageS
      [2, 0xf0, 0x01],
      [0x02, 255, 0x80, 0x01, 255, 255], // DELTA, ref, seq 128, hops, degree
      [3, 0x7f, 0x00, 0x80, 0x80, 0x01], // 3 indexes: 127, gap 0, gap 16384
      [3, 7, 8, 9],
    ),
  );
  t.deepEqual(encode({ type: 'REQUEST', index: 0x01020304 }), Uint8Array.of(0x03, 1, 2, 3, 4));
  t.deepEqual(encode({ type: 'BLOCK', index: 3, digest: DIGEST, data: Uint8Array.of(9, 8, 7) }), Uint8Array.of(0x04, 0, 0, 0, 3, ...DIGEST, 0, 0, 0, 3, 9, 8, 7));
  t.deepEqual(encode({ type: 'REJECT', index: 3, reason: 'missing' }), Uint8Array.of(0x05, 0, 0, 0, 3, 1));
  t.deepEqual(encode({ type: 'REJECT', index: 3, reason: 'busy' }), Uint8Array.of(0x05, 0, 0, 0, 3, 2));
  t.deepEqual(encode({ type: 'BYE', reason: 'done' }), concat([0x06], be(4, 2), ascii('done')));
});

test('encode into a reused buffer: the same bytes, in that buffer when it is long enough', (t) => {
  const msg: Message = { type: 'BLOCK', index: 3, digest: DIGEST, data: Uint8Array.of(9, 8, 7) };
  const into = new Uint8Array(BLOCK_HEADER_BYTES + 8).fill(0xee);
  const frame = encode(msg, into);
  t.deepEqual(frame, encode(msg));
  t.is(frame.buffer, into.buffer);
  t.is(frame.length, BLOCK_HEADER_BYTES + 3);
  const short = new Uint8Array(4);
  const fresh = encode(msg, short);
  t.not(fresh.buffer, short.buffer);
  t.deepEqual(fresh, encode(msg));
});

/** FORMAT.md's examples, as written there (backquoted hex, groups joined). */
const GOLDEN: [string, Message][] = [
  ['05 00 00 00 03 02', { type: 'REJECT', index: 3, reason: 'busy' }],
  ['06 00 04 64 6f 6e 65', { type: 'BYE', reason: 'done' }],
  ['02 00 00 01` `00 03 ac 02 01 05', { type: 'UPDATE', entries: [heartbeat()] }],
  ['02 00 00 01` `05 01 08 cd cd cd cd cd cd cd cd 09 6c 6f 63 61 6c 68 6f 73 74 23 28 07 02 04 02 f0 01', { type: 'UPDATE', entries: [entry()] }],
  ['02 00 00 01` `0a 01 08 02 04 03 05 00 c1 01', { type: 'UPDATE', entries: [delta()] }],
  [
    '02 00 00 01` `12 00 01 00 03 e8 07 0c 01 00',
    { type: 'UPDATE', entries: [{ ref: 0, seq: 1, hops: 0, degree: 3, sourceBusy: false, estimate: { n: 1000, ageS: 12 }, body: { kind: 'delta', added: [0] } }] },
  ],
  ['02 01 00 00 04 de ad be ef', { type: 'UPDATE', entries: [], sketch: Uint8Array.of(0xde, 0xad, 0xbe, 0xef) }],
];

test('the examples of FORMAT.md are the bytes the codec writes and reads', (t) => {
  const format = readFileSync(new URL('../peer/wire/FORMAT.md', import.meta.url), 'utf8').replace(/\s*\n\s*/g, ' ');
  for (const [written, msg] of GOLDEN) {
    t.true(format.includes(`\`${written}\``), `FORMAT.md shows \`${written}\``);
    const bytes = Uint8Array.from(hexBytes(written.replace(/[` ]/g, '')));
    t.deepEqual(encode(msg), bytes, written);
    t.deepEqual(decode(bytes), { ok: true, msg }, written);
  }
});

test('varints are LEB128, shortest first, up to 2^32 - 1', (t) => {
  const cases: [number, number[]][] = [
    [0, [0x00]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [300, [0xac, 0x02]],
    [16383, [0xff, 0x7f]],
    [16384, [0x80, 0x80, 0x01]],
    [2 ** 21 - 1, [0xff, 0xff, 0x7f]],
    [2 ** 28 - 1, [0xff, 0xff, 0xff, 0x7f]],
    [2 ** 28, [0x80, 0x80, 0x80, 0x80, 0x01]],
    [2 ** 32 - 1, [0xff, 0xff, 0xff, 0xff, 0x0f]],
  ];
  for (const [v, bytes] of cases) {
    t.deepEqual(leb(v), bytes, `fixture spelling of ${v}`);
    t.is(varintLength(v), bytes.length, `length of ${v}`);
    // seq is the entry's first varint: form 0, ref 0, seq, hops 0, degree 0.
    const frame = concat([0x02, 0, 0, 1, 0, 0], bytes, [0, 0]);
    t.deepEqual(encode({ type: 'UPDATE', entries: [heartbeat({ ref: 0, seq: v, hops: 0, degree: 0 })] }), frame, `seq ${v}`);
  }
});

// ---------------------------------------------------------------- round trips at the edges

const longestIntro: OriginIntro = { originId: 'e'.repeat(64), host: 'x'.repeat(255), port: 65535 };
const maxDeltaIndex = DEFAULT_LIMITS.maxBitfieldBytes * 8 - 1;

const edgeMessages: Message[] = [
  hello(),
  hello({ version: 0, port: 1, size: 0, blockSize: MIN_BLOCK_SIZE, flags: 0, peerId: '00'.repeat(8), host: 'h' }),
  hello({ version: 2 ** 32 - 1, port: 65535, blockSize: MAX_BLOCK_SIZE, flags: 255, peerId: 'ff'.repeat(32), host: '~'.repeat(255) }),
  hello({ size: 1024 * 8 * 1024 * 1024, blockSize: 1024 }), // exactly DEFAULT maxBitfieldBytes of bitfield
  hello({ size: 2 ** 32 - 1 }),
  hello({ size: 2 ** 32 }),
  { type: 'UPDATE', entries: [] },
  { type: 'UPDATE', entries: [], sketch: new Uint8Array(0) },
  { type: 'UPDATE', entries: [heartbeat()], sketch: new Uint8Array(MAX_SKETCH_BYTES).fill(0xa5) },
  {
    type: 'UPDATE',
    entries: [
      heartbeat({ ref: 0, seq: 0, hops: 0, degree: 0 }),
      heartbeat({ ref: MAX_REFS - 1, seq: 2 ** 32 - 1, hops: 255, degree: 255, sourceBusy: true }),
      entry({ intro: intro({ port: 1, host: ' ' }), body: { kind: 'full', bits: new Uint8Array(0) } }),
      entry({ intro: longestIntro, estimate: { n: 2 ** 32 - 1, ageS: 255 }, seq: 2 ** 32 - 1 }),
      { ref: 2, seq: 9, hops: 1, degree: 2, sourceBusy: false, estimate: { n: 1, ageS: 0 }, body: { kind: 'full', bits: Uint8Array.of(1) } },
      entry({ body: { kind: 'full', bits: new Uint8Array(DEFAULT_LIMITS.maxBitfieldBytes).fill(0xff) } }),
      delta([0]),
      delta([maxDeltaIndex]),
      delta([0, maxDeltaIndex]),
      delta(Array.from({ length: 5000 }, (_, i) => i * 3)),
      delta([1, 2], { intro: intro(), estimate: { n: 5, ageS: 1 } }),
    ],
  },
  { type: 'UPDATE', entries: Array.from({ length: DEFAULT_LIMITS.maxEntries }, (_, i) => entry({ seq: i, ref: i })) },
  { type: 'REQUEST', index: 0 },
  { type: 'REQUEST', index: 2 ** 31 - 1 },
  { type: 'BLOCK', index: 0, digest: DIGEST, data: Uint8Array.of(0) },
  { type: 'BLOCK', index: 2 ** 31 - 1, digest: DIGEST, data: new Uint8Array(MAX_BLOCK_SIZE).fill(0x5a) },
  { type: 'REJECT', index: 2 ** 31 - 1, reason: 'busy' },
  { type: 'REJECT', index: 0, reason: 'missing' },
  { type: 'BYE', reason: '' },
  { type: 'BYE', reason: ' '.repeat(128) + '~'.repeat(128) },
];

test('edge-value messages round-trip under the default limits', (t) => {
  for (const msg of edgeMessages) {
    const frame = encode(msg);
    t.is(frame.length, encodedLength(msg), msg.type);
    deepStrictEqual(decode(frame), { ok: true, msg }, msg.type); // ava's diffing is slow on 16 MiB
  }
  t.pass();
});

test('the largest file size round-trips when the limits allow its bitfield', (t) => {
  const msg = hello({ size: Number.MAX_SAFE_INTEGER, blockSize: MAX_BLOCK_SIZE });
  t.deepEqual(decode(encode(msg), LOOSE), { ok: true, msg });
  t.is(codeOf(encode(msg)), 'TOO_MANY_BLOCKS');
});

// ---------------------------------------------------------------- encode

test('encode refuses messages the decoder would refuse, naming the field', (t) => {
  const e = entry();
  // [message, the field path its error names]
  const bad: [Message, string][] = [
    [hello({ version: 2 ** 32 }), 'HELLO.version'],
    [hello({ version: -1 }), 'HELLO.version'],
    [hello({ version: 1.5 }), 'HELLO.version'],
    [hello({ port: 0 }), 'HELLO.port'],
    [hello({ port: 65536 }), 'HELLO.port'],
    [hello({ size: 2 ** 53 }), 'HELLO.size'],
    [hello({ size: -1 }), 'HELLO.size'],
    [hello({ size: Number.NaN }), 'HELLO.size'],
    [hello({ size: 2 ** 31 * 1024 + 1, blockSize: 1024 }), 'HELLO.size'], // 2^31 + 1 blocks
    [hello({ blockSize: 1023 }), 'HELLO.blockSize'],
    [hello({ blockSize: MAX_BLOCK_SIZE + 1 }), 'HELLO.blockSize'],
    [hello({ flags: 256 }), 'HELLO.flags'],
    [hello({ swarmId: SWARM.toUpperCase() }), 'HELLO.swarmId'],
    [hello({ swarmId: SWARM.slice(2) }), 'HELLO.swarmId'],
    [hello({ peerId: 'ab'.repeat(7) }), 'HELLO.peerId'],
    [hello({ peerId: 'ab'.repeat(33) }), 'HELLO.peerId'],
    [hello({ peerId: 'abc'.repeat(7) }), 'HELLO.peerId'], // odd length
    [hello({ peerId: 'AB'.repeat(8) }), 'HELLO.peerId'],
    [hello({ peerId: 'g0'.repeat(8) }), 'HELLO.peerId'],
    [hello({ host: '' }), 'HELLO.host'],
    [hello({ host: 'a'.repeat(256) }), 'HELLO.host'],
    [hello({ host: 'caf\u00e9' }), 'HELLO.host'],
    [hello({ host: 'a\tb' }), 'HELLO.host'],
    [{ type: 'UPDATE', entries: [{ ...e, seq: 2 ** 32 }] }, 'UPDATE.entries[0].seq'],
    [{ type: 'UPDATE', entries: [{ ...e, seq: -1 }] }, 'UPDATE.entries[0].seq'],
    [{ type: 'UPDATE', entries: [{ ...e, seq: 1.5 }] }, 'UPDATE.entries[0].seq'],
    [{ type: 'UPDATE', entries: [{ ...e, hops: 256 }] }, 'UPDATE.entries[0].hops'],
    [{ type: 'UPDATE', entries: [{ ...e, degree: 256 }] }, 'UPDATE.entries[0].degree'],
    [{ type: 'UPDATE', entries: [{ ...e, degree: -1 }] }, 'UPDATE.entries[0].degree'],
    [{ type: 'UPDATE', entries: [{ ...e, ref: MAX_REFS }] }, 'UPDATE.entries[0].ref'],
    [{ type: 'UPDATE', entries: [{ ...e, ref: -1 }] }, 'UPDATE.entries[0].ref'],
    [{ type: 'UPDATE', entries: [e, { ...e, intro: intro({ port: 0 }) }] }, 'UPDATE.entries[1].intro.port'],
    [{ type: 'UPDATE', entries: [{ ...e, intro: intro({ originId: 'ab'.repeat(7) }) }] }, 'UPDATE.entries[0].intro.originId'],
    [{ type: 'UPDATE', entries: [{ ...e, intro: intro({ host: '' }) }] }, 'UPDATE.entries[0].intro.host'],
    [{ type: 'UPDATE', entries: [{ ...e, sourceBusy: undefined as unknown as boolean }] }, 'UPDATE.entries[0].sourceBusy'],
    [{ type: 'UPDATE', entries: [{ ...e, sourceBusy: 1 as unknown as boolean }] }, 'UPDATE.entries[0].sourceBusy'],
    [{ type: 'UPDATE', entries: [{ ...e, estimate: { n: 0, ageS: 0 } }] }, 'UPDATE.entries[0].estimate.n'],
    [{ type: 'UPDATE', entries: [{ ...e, estimate: { n: 2 ** 32, ageS: 0 } }] }, 'UPDATE.entries[0].estimate.n'],
    [{ type: 'UPDATE', entries: [{ ...e, estimate: { n: 1, ageS: 256 } }] }, 'UPDATE.entries[0].estimate.ageS'],
    [{ type: 'UPDATE', entries: [{ ...e, body: { kind: 'nope' } as unknown as EntryBody }] }, 'UPDATE.entries[0].body'],
    [{ type: 'UPDATE', entries: [{ ...e, body: { kind: 'toString' } as unknown as EntryBody }] }, 'UPDATE.entries[0].body'],
    [{ type: 'UPDATE', entries: [{ ...e, body: undefined as unknown as EntryBody }] }, 'UPDATE.entries[0].body'],
    [{ type: 'UPDATE', entries: [{ ...e, body: { kind: 'full', bits: [1, 2] as unknown as Uint8Array } }] }, 'UPDATE.entries[0].body.bits'],
    [{ type: 'UPDATE', entries: [delta([])] }, 'UPDATE.entries[0].body.added'],
    [{ type: 'UPDATE', entries: [delta([3, 3])] }, 'UPDATE.entries[0].body.added'],
    [{ type: 'UPDATE', entries: [delta([4, 2])] }, 'UPDATE.entries[0].body.added'],
    [{ type: 'UPDATE', entries: [delta([-1])] }, 'UPDATE.entries[0].body.added'],
    [{ type: 'UPDATE', entries: [delta([1.5])] }, 'UPDATE.entries[0].body.added'],
    [{ type: 'UPDATE', entries: [delta([0, 2 ** 31])] }, 'UPDATE.entries[0].body.added'],
    [{ type: 'UPDATE', entries: [], sketch: new Uint8Array(MAX_SKETCH_BYTES + 1) }, 'UPDATE.sketch'],
    [{ type: 'UPDATE', entries: [], sketch: [1] as unknown as Uint8Array }, 'UPDATE.sketch'],
    [{ type: 'UPDATE', entries: Array.from({ length: 65536 }, () => e) }, 'UPDATE.entries'],
    [{ type: 'REQUEST', index: 2 ** 31 }, 'REQUEST.index'],
    [{ type: 'REQUEST', index: -1 }, 'REQUEST.index'],
    [{ type: 'BLOCK', index: 0, digest: DIGEST, data: new Uint8Array(0) }, 'BLOCK.data'],
    [{ type: 'BLOCK', index: 0, digest: DIGEST, data: new Uint8Array(MAX_BLOCK_SIZE + 1) }, 'BLOCK.data'],
    [{ type: 'REJECT', index: 0, reason: 'nope' as 'busy' }, 'REJECT.reason'],
    [{ type: 'REJECT', index: 0, reason: 'toString' as 'busy' }, 'REJECT.reason'],
    [{ type: 'BYE', reason: 'x'.repeat(257) }, 'BYE.reason'],
    [{ type: 'BYE', reason: 'line\n' }, 'BYE.reason'],
  ];
  bad.forEach(([msg, field], i) => {
    const err = t.throws(() => encode(msg), { instanceOf: RangeError }, `case ${i}: ${field}`);
    t.true(err?.message.includes(`${field}:`), `case ${i}: ${field} in "${err?.message}"`);
  });
  t.throws(() => encode({ type: 'NOPE' } as unknown as Message), { instanceOf: TypeError });
  t.throws(() => encode({ type: 'toString' } as unknown as Message), { instanceOf: TypeError });
});

test('the header sizes in limits.ts agree with the codec', (t) => {
  t.is(MAX_REFS, 256, 'a ref is a u8: a smaller MAX_REFS needs a range check and a code');
  t.is(encodedLength({ type: 'UPDATE', entries: [] }), UPDATE_HEADER_BYTES);
  t.is(encodedLength({ type: 'BLOCK', index: 0, digest: DIGEST, data: new Uint8Array(5) }), BLOCK_HEADER_BYTES + 5);
  t.is(encodedLength({ type: 'UPDATE', entries: [], sketch: new Uint8Array(MAX_SKETCH_BYTES) }), UPDATE_HEADER_BYTES + UPDATE_SKETCH_MAX_BYTES);
  const longestIntro: OriginIntro = { originId: 'ab'.repeat(MAX_PEER_ID_BYTES), host: 'h'.repeat(MAX_HOST_BYTES), port: 1 };
  const longest = entry({ intro: longestIntro, seq: 2 ** 32 - 1, estimate: { n: 2 ** 32 - 1, ageS: 0 }, body: { kind: 'full', bits: new Uint8Array(0) } });
  // The bound counts B's varint at 5 bytes (B < 2^28); B = 0 takes 1.
  t.is(updateEntryLength(longest), UPDATE_ENTRY_MAX_OVERHEAD - 4);
  t.is(updateEntryLength(longest) - updateEntryLength({ ...longest, intro: undefined }), UPDATE_INTRO_MAX_BYTES);
  t.is(encodedLength({ type: 'UPDATE', entries: [longest, entry()] }), UPDATE_HEADER_BYTES + updateEntryLength(longest) + updateEntryLength(entry()));
  t.is(varintLength(DEFAULT_LIMITS.maxBitfieldBytes), 3);
  t.is(varintLength(2 ** 28 - 1), 4, 'every B below 2^28 takes at most 4 bytes; the bound allows 5');
  // intro: undefined is the same as no intro.
  t.deepEqual(encode({ type: 'UPDATE', entries: [{ ...entry(), intro: undefined }] }), encode({ type: 'UPDATE', entries: [(({ intro: _, ...rest }) => rest)(entry())] }));
});

test('what UPDATE v2 entries cost: FORMAT.md\'s table, and a DELTA costs the same however large the file', (t) => {
  const me: OriginIntro = { originId: 'ab'.repeat(32), host: '127.0.0.1', port: 40000 };
  const seq = 1000; // a 2-byte varint, as the table assumes
  const costs = {
    heartbeat: updateEntryLength(heartbeat({ seq })),
    'DELTA of 1 block': updateEntryLength(delta([1000], { seq })),
    'DELTA of 4 blocks': updateEntryLength(delta([1000, 1001, 1050, 1100], { seq })),
    'INTRO + FULL, 128 blocks': updateEntryLength(entry({ intro: me, seq, body: { kind: 'full', bits: new Uint8Array(16) } })),
    'INTRO + FULL, 2048 blocks': updateEntryLength(entry({ intro: me, seq, body: { kind: 'full', bits: new Uint8Array(256) } })),
    'FULL without INTRO, 2048 blocks': updateEntryLength({ ...heartbeat({ seq }), body: { kind: 'full', bits: new Uint8Array(256) } }),
  };
  t.log(Object.entries(costs).map(([k, v]) => `${k}: ${v} bytes`).join('; '));
  t.deepEqual(costs, {
    heartbeat: 6,
    'DELTA of 1 block': 9,
    'DELTA of 4 blocks': 12,
    'INTRO + FULL, 128 blocks': 68,
    'INTRO + FULL, 2048 blocks': 309,
    'FULL without INTRO, 2048 blocks': 264,
  });
  // Two neighbouring new blocks, with seq of 2 bytes: 9 bytes in a 128-block file, 11 in a file
  // of 2^21 blocks (512 GiB of 256 KiB blocks), 12 in one of 2^28 blocks; the file's size only
  // enters through the varint of the first index. Never over 20 whatever seq and the indexes.
  t.is(updateEntryLength(delta([100, 101], { seq })), 9);
  t.is(updateEntryLength(delta([2 ** 21 - 2, 2 ** 21 - 1], { seq })), 11);
  t.is(updateEntryLength(delta([2 ** 28 - 2, 2 ** 28 - 1], { seq })), 12);
  t.is(updateEntryLength(delta([2 ** 28, 2 ** 29 + 1], { seq: 2 ** 32 - 1 })), 20); // index and gap of 5 bytes each
  // One origin announcing each of b blocks as it gets it: version 1 sent 56 + b/8 bytes each
  // time (b^2/8 in all), version 2 sends one INTRO + FULL, then deltas (about 9 bytes a block).
  for (const blocks of [128, 2048, 32768]) {
    const v1 = blocks * (15 + 32 + 9 + blocks / 8);
    let v2 = updateEntryLength(entry({ intro: me, seq: 0, body: { kind: 'full', bits: new Uint8Array(blocks / 8) } }));
    for (let i = 1; i < blocks; i++) v2 += updateEntryLength(delta([i], { seq: i }));
    t.log(`${blocks} blocks: version 1 ${v1} bytes, version 2 ${v2} bytes (${(v2 / blocks).toFixed(1)} a block)`);
    t.true(v2 / blocks < 12, `${blocks} blocks: ${v2} bytes`);
    if (blocks >= 2048) t.true(v2 * 20 < v1);
  }
});

// ---------------------------------------------------------------- memory: views, copies, offsets

test('BLOCK data is a zero-copy view; UPDATE bits and sketches are copies; Buffer slices of a pool decode', (t) => {
  const pool = new ArrayBuffer(1 << 16);
  const place = (frame: Uint8Array, at: number): Buffer => {
    const b = Buffer.from(pool, at, frame.length);
    b.set(frame);
    return b;
  };
  const data = new Uint8Array(4096).map((_, i) => i % 251);
  const block = place(encode({ type: 'BLOCK', index: 9, digest: DIGEST, data }), 13);
  const decoded = decode(block);
  if (!decoded.ok || decoded.msg.type !== 'BLOCK') return t.fail(String(!decoded.ok && decoded.code));
  t.is(decoded.msg.data.buffer, pool);
  t.is(decoded.msg.data.byteOffset, 13 + 25);
  t.is(Object.getPrototypeOf(decoded.msg.data), Uint8Array.prototype);
  t.deepEqual(decoded.msg.data, data);

  const msg: Message = {
    type: 'UPDATE',
    entries: [entry({ body: { kind: 'full', bits: Uint8Array.of(1, 2, 3) } }), delta([4, 9])],
    sketch: Uint8Array.of(5, 6),
  };
  const update = place(encode(msg), 30001);
  const u = decode(update);
  if (!u.ok || u.msg.type !== 'UPDATE') return t.fail(String(!u.ok && u.code));
  const body = u.msg.entries[0]?.body;
  const bits = body?.kind === 'full' ? body.bits : undefined;
  const added = u.msg.entries[1]?.body;
  const sketch = u.msg.sketch;
  t.deepEqual(bits, Uint8Array.of(1, 2, 3));
  t.is(Object.getPrototypeOf(bits), Uint8Array.prototype);
  t.not(bits?.buffer, pool);
  t.not(sketch?.buffer, pool);
  t.is(Object.getPrototypeOf(added?.kind === 'delta' ? added.added : undefined), Array.prototype);
  update.fill(0);
  t.deepEqual(bits, Uint8Array.of(1, 2, 3));
  t.deepEqual(sketch, Uint8Array.of(5, 6));
  t.deepEqual(added, { kind: 'delta', added: [4, 9] });
});

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

// ---------------------------------------------------------------- properties

const edge = (min: number, max: number): fc.Arbitrary<number> =>
  fc.oneof(fc.constantFrom(min, max), fc.integer({ min, max }));
const hexArb = (minBytes: number, maxBytes: number): fc.Arbitrary<string> =>
  fc.uint8Array({ minLength: minBytes, maxLength: maxBytes }).map(toHex);
const asciiArb = (min: number, max: number): fc.Arbitrary<string> =>
  fc.uint8Array({ minLength: min, maxLength: max }).map((b) => String.fromCharCode(...b.map((x) => 0x20 + (x % 95))));
const record = <T,>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> => fc.record(model, { noNullPrototype: true });
/** Exactly n printable characters from one random number: long random strings are slow to generate. */
const longAsciiArb = (n: number): fc.Arbitrary<string> =>
  fc.nat().map((k) => Array.from({ length: n }, (_, i) => String.fromCharCode(0x20 + ((k + i * 7919) % 95))).join(''));
const hostArb = fc.oneof(asciiArb(1, 20), longAsciiArb(255));

const helloArb: fc.Arbitrary<Message> = record({
  type: fc.constant('HELLO' as const),
  version: edge(0, 2 ** 32 - 1),
  swarmId: hexArb(32, 32),
  peerId: hexArb(8, 32),
  host: hostArb,
  port: edge(1, 65535),
  size: fc.oneof(fc.constantFrom(0, Number.MAX_SAFE_INTEGER, 2 ** 32 - 1, 2 ** 32), fc.maxSafeNat()),
  blockSize: edge(MIN_BLOCK_SIZE, MAX_BLOCK_SIZE),
  flags: edge(0, 255),
}).map((h) => ({ ...h, size: Math.min(h.size, h.blockSize * 2 ** 31) })); // at most 2^31 blocks
/** Whole numbers of 0 .. 2^32 - 1, often at a varint's length boundaries. */
const varintArb = (min = 0): fc.Arbitrary<number> =>
  fc.oneof(
    fc.constantFrom(...[0, 127, 128, 16383, 16384, 2 ** 21 - 1, 2 ** 21, 2 ** 28 - 1, 2 ** 28, 2 ** 32 - 1].filter((v) => v >= min)),
    fc.integer({ min, max: 127 }),
    fc.integer({ min, max: 2 ** 32 - 1 }),
  );
/** A DELTA's indexes: 1..20 distinct, ascending, some near each other and some anywhere below 2^31. */
const addedArb: fc.Arbitrary<number[]> = fc
  .uniqueArray(fc.oneof(fc.integer({ min: 0, max: 300 }), edge(0, 2 ** 31 - 1)), { minLength: 1, maxLength: 20 })
  .map((a) => a.sort((x, y) => x - y));
const bodyArb: fc.Arbitrary<EntryBody> = fc.oneof(
  fc.constant({ kind: 'same' as const }),
  record({ kind: fc.constant('full' as const), bits: fc.uint8Array({ maxLength: 40 }) }),
  record({ kind: fc.constant('delta' as const), added: addedArb }),
);
const introArb: fc.Arbitrary<OriginIntro> = record({ originId: hexArb(8, 32), host: hostArb, port: edge(1, 65535) });
const estimateArb: fc.Arbitrary<SizeEstimate> = record({ n: varintArb(1), ageS: edge(0, 255) });
/** Optional keys are absent or present, never present and undefined: decode leaves absent keys out. */
const entryArb: fc.Arbitrary<UpdateEntry> = fc.record(
  {
    ref: edge(0, MAX_REFS - 1),
    intro: introArb,
    seq: varintArb(),
    hops: edge(0, 255),
    degree: edge(0, 255),
    sourceBusy: fc.boolean(),
    estimate: estimateArb,
    body: bodyArb,
  },
  { requiredKeys: ['ref', 'seq', 'hops', 'degree', 'sourceBusy', 'body'], noNullPrototype: true },
);
const updateArb: fc.Arbitrary<Message> = fc.record(
  { type: fc.constant('UPDATE' as const), entries: fc.array(entryArb, { maxLength: 4 }), sketch: fc.uint8Array({ maxLength: 40 }) },
  { requiredKeys: ['type', 'entries'], noNullPrototype: true },
);
const messageArb: fc.Arbitrary<Message> = fc.oneof(
  helloArb,
  updateArb,
  record({ type: fc.constant('REQUEST' as const), index: edge(0, 2 ** 31 - 1) }),
  record({ type: fc.constant('BLOCK' as const), index: edge(0, 2 ** 31 - 1), digest: fc.uint8Array({ minLength: 16, maxLength: 16 }), data: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  record({ type: fc.constant('CHALLENGE' as const), nonce: fc.uint8Array({ minLength: 16, maxLength: 16 }) }),
  record({ type: fc.constant('PROOF' as const), mac: fc.uint8Array({ minLength: 32, maxLength: 32 }) }),
  record({
    type: fc.constant('DIGESTS' as const),
    blocks: fc.uniqueArray(record({ index: edge(0, 2 ** 31 - 1), digest: fc.uint8Array({ minLength: 16, maxLength: 16 }) }), { minLength: 1, maxLength: 6, selector: (d) => d.index })
      .map((a) => a.sort((x, y) => x.index - y.index)),
  }),
  record({ type: fc.constant('REJECT' as const), index: edge(0, 2 ** 31 - 1), reason: fc.constantFrom('missing' as const, 'busy' as const) }),
  record({ type: fc.constant('BYE' as const), reason: fc.oneof(asciiArb(0, 30), longAsciiArb(256)) }),
);

test('property: every valid message round-trips exactly, and encodedLength is exact', (t) => {
  t.log(`seed ${seed} (replay with SLURPIE_SEED=${seed})`);
  fc.assert(
    fc.property(messageArb, (msg) => {
      const frame = encode(msg);
      deepStrictEqual(frame.length, encodedLength(msg));
      deepStrictEqual(decode(frame, LOOSE), { ok: true, msg });
    }),
    { seed, numRuns: 1000 },
  );
  fc.assert(
    fc.property(updateArb, (msg) => {
      const frame = encode(msg);
      deepStrictEqual(frame.length, encodedLength(msg));
      if (msg.type === 'UPDATE') {
        const sum = msg.entries.reduce((n, e) => n + updateEntryLength(e), UPDATE_HEADER_BYTES);
        deepStrictEqual(frame.length, sum + (msg.sketch ? varintLength(msg.sketch.length) + msg.sketch.length : 0));
      }
      deepStrictEqual(decode(frame, LOOSE), { ok: true, msg });
    }),
    { seed, numRuns: 1000 },
  );
  t.pass();
});

/** Offset just past the varint at `at`, and its value (the frame is one encode() wrote). */
function skipVarint(f: Uint8Array, at: number): [end: number, value: number] {
  let v = 0;
  for (let i = 0, pos = at; pos < f.length; i++, pos++) {
    const b = f[pos] as number;
    v += (b & 0x7f) * 2 ** (7 * i);
    if (b < 0x80) return [pos + 1, v];
  }
  return [f.length, v];
}

/**
 * Where a frame's length fields, flags and form bytes and varints (and, lacking any, its index)
 * sit: [offset, width]. Patching a varint's first byte may lengthen or end it.
 */
function lengthFields(f: Uint8Array): [number, number][] {
  switch (f[0]) {
    case 0x01: {
      const idLen = f[37] ?? 0;
      return [[37, 1], [38 + idLen, 1]];
    }
    case 0x02: {
      const out: [number, number][] = [[1, 1], [2, 2]];
      const count = ((f[2] ?? 0) << 8) | (f[3] ?? 0);
      let pos = 4;
      for (let e = 0; e < count && pos < f.length; e++) {
        const form = f[pos] ?? 0;
        out.push([pos, 1]);
        pos += 2;
        if (form & 0x04) {
          out.push([pos, 1]);
          pos += 1 + (f[pos] ?? 0);
          out.push([pos, 1]);
          pos += 1 + (f[pos] ?? 0) + 2;
        }
        out.push([pos, 1]); // seq
        pos = skipVarint(f, pos)[0] + 2;
        if (form & 0x10) {
          out.push([pos, 1]); // n
          pos = skipVarint(f, pos)[0] + 1;
        }
        if ((form & 3) === 1) {
          out.push([pos, 1]); // B
          const [end, b] = skipVarint(f, pos);
          pos = end + b;
        } else if ((form & 3) === 2) {
          out.push([pos, 1]); // K
          let [end, k] = skipVarint(f, pos);
          for (; k > 0; k--) {
            out.push([end, 1]);
            end = skipVarint(f, end)[0];
          }
          pos = end;
        }
      }
      if ((f[1] ?? 0) & 1) out.push([pos, 1]); // L
      return out;
    }
    case 0x04:
      return [[5, 4]];
    case 0x06:
      return [[1, 2]];
    default:
      return [[1, 4]];
  }
}

const hostileFrameArb: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 120 }),
  fc.tuple(fc.integer({ min: 0, max: 7 }), fc.uint8Array({ maxLength: 120 })).map(([type, rest]) => concat([type], rest)),
  // UPDATE headers that read well, then bytes: random forms, refs, varints.
  fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 0, max: 4 }), fc.uint8Array({ maxLength: 80 })).map(([flags, n, rest]) =>
    concat([0x02, flags, 0, n], rest)),
  // UPDATEs with valid entries and then an entry made of plausible bytes.
  fc.tuple(updateArb, fc.constantFrom(0x00, 0x01, 0x02, 0x05, 0x06, 0x12, 0x1e), fc.uint8Array({ maxLength: 24 })).map(([m, form, rest]) => {
    const f = encode(m);
    const out = concat(f, [form], rest);
    out[3] = (out[3] as number) + 1; // one more entry (maxLength 4: no carry)
    return out;
  }),
  fc.tuple(messageArb, fc.nat()).map(([m, k]) => {
    const f = encode(m);
    return f.subarray(0, k % f.length);
  }),
  fc.tuple(messageArb, fc.array(fc.tuple(fc.nat(), edge(0, 255)), { minLength: 1, maxLength: 4 })).map(
    ([m, edits]) => {
      const f = encode(m);
      for (const [at, byte] of edits) f[at % f.length] = byte;
      return f;
    },
  ),
  fc.tuple(messageArb, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 40 })).map(([m, k, junk]) => {
    const f = encode(m);
    return concat(f.subarray(0, k % (f.length + 1)), junk);
  }),
  fc.tuple(messageArb, fc.nat(), fc.oneof(fc.constantFrom(0xff, 0xffff, 0xffffffff, 2 ** 31), fc.integer({ min: 0, max: 2 ** 32 - 1 }))).map(
    ([m, k, value]) => {
      const f = encode(m);
      const fields = lengthFields(f).filter(([at, width]) => at + width <= f.length);
      const [at, width] = fields[k % fields.length] ?? [1, 1];
      return patch(f, at, width, value % 256 ** width);
    },
  ),
);

const HOSTILE_RUNS = 10_000;

test('property: hostile bytes never throw; refusals carry a table code, never INTERNAL; accepted frames re-encode to the same bytes', (t) => {
  t.log(`seed ${seed} (replay with SLURPIE_SEED=${seed})`);
  const codes = new Set<string>(WIRE_ERROR_CODES);
  const seen = new Map<string, number>();
  let accepted = 0;
  fc.assert(
    fc.property(hostileFrameArb, (frame) => {
      const r = decode(frame);
      if (r.ok) {
        accepted++;
        deepStrictEqual(Buffer.from(encode(r.msg)).equals(frame), true);
      } else {
        deepStrictEqual(codes.has(r.code) && r.code !== 'INTERNAL', true, `${r.code}: ${r.detail}`);
        deepStrictEqual(typeof r.detail === 'string' && r.detail.length > 0, true, r.code);
        seen.set(r.code, (seen.get(r.code) ?? 0) + 1);
      }
    }),
    { seed, numRuns: HOSTILE_RUNS },
  );
  t.log(`${accepted} of ${HOSTILE_RUNS} hostile frames decoded to a message; refusals: ${[...seen].map(([c, n]) => `${c} ${n}`).join(', ')}`);
  t.true(accepted > 0); // the mutations leave some frames valid, so the re-encode check ran
});

test('property: every proper prefix of a valid frame is refused', (t) => {
  t.log(`seed ${seed} (replay with SLURPIE_SEED=${seed})`);
  fc.assert(
    fc.property(messageArb, (msg) => {
      const frame = encode(msg);
      for (let cut = 0; cut < frame.length; cut++) {
        deepStrictEqual(decode(frame.subarray(0, cut), LOOSE).ok, false, `cut at ${cut}`);
      }
    }),
    { seed, numRuns: 300 },
  );
  t.pass();
});
