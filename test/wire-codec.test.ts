// The wire codec (peer/wire): golden bytes against FORMAT.md, round trips at the edges, what
// encode refuses, zero-copy BLOCK data and copied UPDATE bits, limits, and seeded properties
// (round trip, hostile bytes never throw, prefixes are refused). Error codes: wire-errors.test.ts.
import test from 'ava';
import fc from 'fast-check';
import { deepStrictEqual } from 'node:assert/strict';
import type { Message, UpdateEntry } from '../peer/core/messages.ts';
import { seedFrom } from '../estimation/random.ts';
import {
  BLOCK_HEADER_BYTES,
  DEFAULT_LIMITS,
  MAX_BLOCK_SIZE,
  MAX_HOST_BYTES,
  MAX_PEER_ID_BYTES,
  MIN_BLOCK_SIZE,
  UPDATE_ENTRY_MAX_OVERHEAD,
  UPDATE_HEADER_BYTES,
  WIRE_ERROR_CODES,
  blockCount,
  decode,
  encode,
  encodedLength,
  limitsFor,
  updateEntryLength,
} from '../peer/wire/index.ts';
import { LOOSE, SWARM, ascii, be, codeOf, concat, entry, hello, hexBytes, patch, toHex } from './fixtures/wire-messages.ts';

const seed = seedFrom(process.env, 1);

// ---------------------------------------------------------------- layout (FORMAT.md)

test('every message has the byte layout FORMAT.md gives', (t) => {
  const h = hello({ size: 2 ** 32 + 5, peerId: '0102030405060708' });
  t.deepEqual(
    encode(h),
    concat(
      [0x01],
      be(1, 4),
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
  const e = entry();
  t.deepEqual(
    encode({ type: 'UPDATE', entries: [e, e] }),
    concat([0x02], be(2, 2), ...Array.from({ length: 2 }, () =>
      concat([8], hexBytes(e.originId), [9], ascii('localhost'), be(9000, 2), be(7, 4), [2], be(4, 2), be(2, 4), [0xf0, 0x01]),
    )),
  );
  t.deepEqual(encode({ type: 'REQUEST', index: 0x01020304 }), Uint8Array.of(0x03, 1, 2, 3, 4));
  t.deepEqual(encode({ type: 'BLOCK', index: 3, data: Uint8Array.of(9, 8, 7) }), Uint8Array.of(0x04, 0, 0, 0, 3, 0, 0, 0, 3, 9, 8, 7));
  t.deepEqual(encode({ type: 'REJECT', index: 3, reason: 'missing' }), Uint8Array.of(0x05, 0, 0, 0, 3, 1));
  t.deepEqual(encode({ type: 'REJECT', index: 3, reason: 'busy' }), Uint8Array.of(0x05, 0, 0, 0, 3, 2));
  t.deepEqual(encode({ type: 'BYE', reason: 'done' }), concat([0x06], be(4, 2), ascii('done')));
});

// ---------------------------------------------------------------- round trips at the edges

const edgeMessages: Message[] = [
  hello(),
  hello({ version: 0, port: 1, size: 0, blockSize: MIN_BLOCK_SIZE, flags: 0, peerId: '00'.repeat(8), host: 'h' }),
  hello({ version: 2 ** 32 - 1, port: 65535, blockSize: MAX_BLOCK_SIZE, flags: 255, peerId: 'ff'.repeat(32), host: '~'.repeat(255) }),
  hello({ size: 1024 * 8 * 1024 * 1024, blockSize: 1024 }), // exactly DEFAULT maxBitfieldBytes of bitfield
  hello({ size: 2 ** 32 - 1 }),
  hello({ size: 2 ** 32 }),
  { type: 'UPDATE', entries: [] },
  {
    type: 'UPDATE',
    entries: [
      entry({ seq: 0, hops: 0, degree: 0, port: 1, bits: new Uint8Array(0), host: ' ' }),
      entry({ seq: 2 ** 32 - 1, hops: 255, degree: 65535, port: 65535, originId: 'e'.repeat(64), host: 'x'.repeat(255) }),
      entry({ bits: new Uint8Array(DEFAULT_LIMITS.maxBitfieldBytes).fill(0xff) }),
    ],
  },
  { type: 'UPDATE', entries: Array.from({ length: DEFAULT_LIMITS.maxEntries }, (_, i) => entry({ seq: i })) },
  { type: 'REQUEST', index: 0 },
  { type: 'REQUEST', index: 2 ** 31 - 1 },
  { type: 'BLOCK', index: 0, data: Uint8Array.of(0) },
  { type: 'BLOCK', index: 2 ** 31 - 1, data: new Uint8Array(MAX_BLOCK_SIZE).fill(0x5a) },
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
    [{ type: 'UPDATE', entries: [{ ...e, hops: 256 }] }, 'UPDATE.entries[0].hops'],
    [{ type: 'UPDATE', entries: [{ ...e, degree: 65536 }] }, 'UPDATE.entries[0].degree'],
    [{ type: 'UPDATE', entries: [{ ...e, degree: -1 }] }, 'UPDATE.entries[0].degree'],
    [{ type: 'UPDATE', entries: [{ ...e, port: 0 }] }, 'UPDATE.entries[0].port'],
    [{ type: 'UPDATE', entries: Array.from({ length: 65536 }, () => e) }, 'UPDATE.entries'],
    [{ type: 'REQUEST', index: 2 ** 31 }, 'REQUEST.index'],
    [{ type: 'REQUEST', index: -1 }, 'REQUEST.index'],
    [{ type: 'BLOCK', index: 0, data: new Uint8Array(0) }, 'BLOCK.data'],
    [{ type: 'BLOCK', index: 0, data: new Uint8Array(MAX_BLOCK_SIZE + 1) }, 'BLOCK.data'],
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
  t.is(encodedLength({ type: 'UPDATE', entries: [] }), UPDATE_HEADER_BYTES);
  t.is(encodedLength({ type: 'BLOCK', index: 0, data: new Uint8Array(5) }), BLOCK_HEADER_BYTES + 5);
  const longest = entry({ originId: 'ab'.repeat(MAX_PEER_ID_BYTES), host: 'h'.repeat(MAX_HOST_BYTES), bits: new Uint8Array(0) });
  t.is(updateEntryLength(longest), UPDATE_ENTRY_MAX_OVERHEAD);
  t.is(encodedLength({ type: 'UPDATE', entries: [longest, entry()] }), UPDATE_HEADER_BYTES + UPDATE_ENTRY_MAX_OVERHEAD + updateEntryLength(entry()));
});

// ---------------------------------------------------------------- memory: views, copies, offsets

test('BLOCK data is a zero-copy view; UPDATE bits are copies; Buffer slices of a pool decode', (t) => {
  const pool = new ArrayBuffer(1 << 16);
  const place = (frame: Uint8Array, at: number): Buffer => {
    const b = Buffer.from(pool, at, frame.length);
    b.set(frame);
    return b;
  };
  const data = new Uint8Array(4096).map((_, i) => i % 251);
  const block = place(encode({ type: 'BLOCK', index: 9, data }), 13);
  const decoded = decode(block);
  if (!decoded.ok || decoded.msg.type !== 'BLOCK') return t.fail(String(!decoded.ok && decoded.code));
  t.is(decoded.msg.data.buffer, pool);
  t.is(decoded.msg.data.byteOffset, 13 + 9);
  t.is(Object.getPrototypeOf(decoded.msg.data), Uint8Array.prototype);
  t.deepEqual(decoded.msg.data, data);

  const update = place(encode({ type: 'UPDATE', entries: [entry({ bits: Uint8Array.of(1, 2, 3) })] }), 30001);
  const u = decode(update);
  if (!u.ok || u.msg.type !== 'UPDATE') return t.fail(String(!u.ok && u.code));
  const bits = u.msg.entries[0]?.bits;
  t.deepEqual(bits, Uint8Array.of(1, 2, 3));
  t.is(Object.getPrototypeOf(bits), Uint8Array.prototype);
  update.fill(0);
  t.deepEqual(bits, Uint8Array.of(1, 2, 3));
});

// ---------------------------------------------------------------- limits

test('limitsFor fixes block and bitfield sizes to the file', (t) => {
  const KiB = 1024;
  const l = limitsFor(1024 * 1024 * KiB, 256 * KiB); // 4096 blocks
  t.is(l.maxBlockBytes, 256 * KiB);
  t.is(l.maxBitfieldBytes, 4096 / 8);
  t.is(l.maxEntries, DEFAULT_LIMITS.maxEntries);
  t.true(l.maxFrameBytes >= 256 * KiB + 9 && l.maxFrameBytes <= DEFAULT_LIMITS.maxFrameBytes);
  const full = { type: 'UPDATE' as const, entries: Array.from({ length: l.maxEntries }, (_, i) =>
    entry({ seq: i, originId: 'a'.repeat(64), host: 'h'.repeat(255), bits: new Uint8Array(l.maxBitfieldBytes) })) };
  t.is(codeOf(encode(full), l), 'ok', 'a full UPDATE fits the frame limit');

  t.is(limitsFor(8 * KiB + 1, KiB).maxBitfieldBytes, 2); // 9 blocks
  t.is(limitsFor(8 * KiB, KiB).maxBitfieldBytes, 1);
  t.is(limitsFor(0, KiB).maxBitfieldBytes, 0);
  t.is(blockCount(Number.MAX_SAFE_INTEGER, 3 * KiB), Math.ceil(Number.MAX_SAFE_INTEGER / (3 * KiB)) + 0);
  t.is(blockCount(3 * KiB * 1000 + 1, 3 * KiB), 1001);

  const tight = limitsFor(9 * 2048, 2048);
  t.is(codeOf(encode({ type: 'BLOCK', index: 0, data: new Uint8Array(2048) }), tight), 'ok');
  t.is(codeOf(encode({ type: 'BLOCK', index: 0, data: new Uint8Array(2049) }), tight), 'BLOCK_TOO_LARGE');
  t.is(codeOf(encode({ type: 'UPDATE', entries: [entry({ bits: new Uint8Array(3) })] }), tight), 'BITFIELD_TOO_LARGE');
  t.is(codeOf(encode({ type: 'UPDATE', entries: [entry({ bits: new Uint8Array(2) })] }), tight), 'ok');

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
const entryArb: fc.Arbitrary<UpdateEntry> = record({
  originId: hexArb(8, 32),
  host: hostArb,
  port: edge(1, 65535),
  seq: edge(0, 2 ** 32 - 1),
  hops: edge(0, 255),
  degree: edge(0, 65535),
  bits: fc.uint8Array({ maxLength: 40 }),
});
const messageArb: fc.Arbitrary<Message> = fc.oneof(
  helloArb,
  record({ type: fc.constant('UPDATE' as const), entries: fc.array(entryArb, { maxLength: 4 }) }),
  record({ type: fc.constant('REQUEST' as const), index: edge(0, 2 ** 31 - 1) }),
  record({ type: fc.constant('BLOCK' as const), index: edge(0, 2 ** 31 - 1), data: fc.uint8Array({ minLength: 1, maxLength: 64 }) }),
  record({ type: fc.constant('REJECT' as const), index: edge(0, 2 ** 31 - 1), reason: fc.constantFrom('missing' as const, 'busy' as const) }),
  record({ type: fc.constant('BYE' as const), reason: fc.oneof(asciiArb(0, 30), longAsciiArb(256)) }),
);

test('property: every valid message round-trips exactly', (t) => {
  t.log(`seed ${seed} (replay with SLURPIE_SEED=${seed})`);
  fc.assert(
    fc.property(messageArb, (msg) => {
      const frame = encode(msg);
      deepStrictEqual(frame.length, encodedLength(msg));
      deepStrictEqual(decode(frame, LOOSE), { ok: true, msg });
    }),
    { seed, numRuns: 1000 },
  );
  t.pass();
});

/** Where a frame's length fields (and, lacking any, its index) sit: [offset, width]. */
function lengthFields(f: Uint8Array): [number, number][] {
  switch (f[0]) {
    case 0x01: {
      const idLen = f[37] ?? 0;
      return [[37, 1], [38 + idLen, 1]];
    }
    case 0x02: {
      const out: [number, number][] = [[1, 2]];
      let pos = 3;
      while (pos < f.length) {
        const idPos = pos;
        const hostPos = idPos + 1 + (f[idPos] ?? 0);
        const bitsPos = hostPos + 1 + (f[hostPos] ?? 0) + 9;
        out.push([idPos, 1], [hostPos, 1], [bitsPos, 4]);
        pos = bitsPos + 4 + new DataView(f.buffer, f.byteOffset).getUint32(bitsPos);
      }
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
