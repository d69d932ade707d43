// The wire codec (peer/wire): golden bytes against FORMAT.md, round trips at the edges, what
// encode refuses, zero-copy BLOCK data and copied UPDATE bits, and what UPDATE v2 entries cost.
// Limits: wire-limits.test.ts; seeded properties: wire-properties.test.ts; error codes:
// wire-errors.test.ts.
import test from 'ava';
import { deepStrictEqual } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { MAX_REFS, type EntryBody, type Message, type OriginIntro } from '../peer/core/messages.ts';
import {
  BLOCK_HEADER_BYTES,
  DEFAULT_LIMITS,
  MAX_BLOCK_SIZE,
  MAX_HOST_BYTES,
  MAX_PEER_ID_BYTES,
  MAX_SKETCH_BYTES,
  MIN_BLOCK_SIZE,
  UPDATE_ENTRY_MAX_OVERHEAD,
  UPDATE_HEADER_BYTES,
  UPDATE_INTRO_MAX_BYTES,
  UPDATE_SKETCH_MAX_BYTES,
  decode,
  encode,
  encodedLength,
  updateEntryLength,
  varintLength,
} from '../peer/wire/index.ts';
import { LOOSE, SWARM, ascii, be, codeOf, concat, delta, entry, heartbeat, hello, hexBytes, intro, leb } from './fixtures/wire-messages.ts';

/** A BLOCK's digest in these frames (the codec does not check it against the data). */
const DIGEST = new Uint8Array(16).map((_, i) => 0xd0 + i);

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
