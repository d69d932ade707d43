import test from 'ava';
import fc from 'fast-check';
import { deepStrictEqual } from 'node:assert/strict';
import type { Hello, Message, UpdateEntry } from '../peer/core/messages.ts';
import { seedFrom } from '../estimation/random.ts';
import {
  DEFAULT_LIMITS,
  INTERNAL_REASON,
  MAX_BITFIELD_BYTES,
  MAX_BLOCK_SIZE,
  MIN_BLOCK_SIZE,
  blockCount,
  decode,
  encode,
  encodedLength,
  limitsFor,
  type WireLimits,
} from '../peer/wire/index.ts';

const seed = seedFrom(process.env, 1);

/** Limits wide enough for every message encode accepts, to test the format alone. */
const LOOSE: WireLimits = {
  maxFrameBytes: 2 ** 31,
  maxBlockBytes: MAX_BLOCK_SIZE,
  maxEntries: 0xffff,
  maxBitfieldBytes: MAX_BITFIELD_BYTES,
};

const SWARM = '0123456789abcdef'.repeat(4);
const PEER = 'ab'.repeat(16);

function hello(over: Partial<Hello> = {}): Hello {
  return {
    type: 'HELLO',
    version: 1,
    swarmId: SWARM,
    peerId: PEER,
    host: '127.0.0.1',
    port: 8080,
    size: 10 * 1024 * 1024,
    blockSize: 256 * 1024,
    flags: 1,
    ...over,
  };
}

function entry(over: Partial<UpdateEntry> = {}): UpdateEntry {
  return {
    originId: 'cd'.repeat(8),
    host: 'localhost',
    port: 9000,
    seq: 7,
    hops: 2,
    degree: 4,
    bits: Uint8Array.of(0xf0, 0x01),
    ...over,
  };
}

function concat(...parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

const be = (value: number, width: number): number[] =>
  Array.from({ length: width }, (_, i) => Math.floor(value / 256 ** (width - 1 - i)) % 256);
const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));
const hexBytes = (s: string): number[] => (s.match(/../g) ?? []).map((h) => parseInt(h, 16));
const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

/** A copy of frame with `width` big-endian bytes at `offset` set to value. */
function patch(frame: Uint8Array, offset: number, width: number, value: number): Uint8Array {
  const out = frame.slice();
  out.set(be(value, width), offset);
  return out;
}

function reason(frame: Uint8Array, limits?: Partial<WireLimits>): string {
  const r = decode(frame, limits);
  return r.ok ? 'ok' : r.reason;
}

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
  t.is(reason(encode(msg)), 'too many blocks');
});

// ---------------------------------------------------------------- rejections, one reason each

test('frames that are not frames', (t) => {
  t.is(reason(new Uint8Array(0)), 'empty frame');
  for (const v of [null, undefined, 'abc', new ArrayBuffer(4), [1, 0, 0, 0, 0], {}]) {
    t.is(reason(v as unknown as Uint8Array), 'not a binary frame');
  }
  t.is(reason(Uint8Array.of(0x7f)), 'unknown type 0x7f');
  t.is(reason(Uint8Array.of(0x00, 0, 0, 0, 0)), 'unknown type 0x00');
  t.is(reason(Uint8Array.of(0xff)), 'unknown type 0xff');
  const frame = encode(hello());
  t.is(reason(frame, { maxFrameBytes: frame.length - 1 }), 'frame too large');
  t.is(reason(frame, { maxFrameBytes: frame.length }), 'ok');
  const big = new Uint8Array(DEFAULT_LIMITS.maxFrameBytes + 1);
  big[0] = 0x04;
  t.is(reason(big), 'frame too large');
});

test('truncation and trailing bytes are named per type', (t) => {
  const frames: [string, Uint8Array][] = [
    ['HELLO', encode(hello())],
    ['UPDATE', Uint8Array.of(0x02, 0)],
    ['UPDATE entry', encode({ type: 'UPDATE', entries: [entry()] })],
    ['REQUEST', encode({ type: 'REQUEST', index: 1 })],
    ['BLOCK', encode({ type: 'BLOCK', index: 1, data: Uint8Array.of(1, 2) })],
    ['REJECT', encode({ type: 'REJECT', index: 1, reason: 'busy' })],
    ['BYE', encode({ type: 'BYE', reason: 'bye' })],
  ];
  for (const [what, frame] of frames) {
    t.is(reason(frame.subarray(0, frame.length - 1)), `truncated ${what}`);
    if (what !== 'UPDATE') t.is(reason(concat(frame, [0])), 'trailing bytes', what);
  }
  t.is(reason(Uint8Array.of(0x02)), 'truncated UPDATE');
  t.is(reason(Uint8Array.of(0x02, 0, 1)), 'truncated UPDATE entry');
  // Count says two, one follows.
  const one = encode({ type: 'UPDATE', entries: [entry()] });
  t.is(reason(patch(one, 1, 2, 2)), 'truncated UPDATE entry');
  // A length field that promises more than the frame holds.
  t.is(reason(patch(encode({ type: 'BYE', reason: 'x' }), 1, 2, 2)), 'truncated BYE');
  t.is(reason(patch(encode({ type: 'BLOCK', index: 0, data: Uint8Array.of(1) }), 5, 4, 2)), 'truncated BLOCK');
});

// HELLO offsets (FORMAT.md) for the default hello(): peerId 16 bytes, host 9 bytes.
const H = { version: 1, peerIdLen: 37, hostLen: 54, host: 55, port: 64, sizeHigh: 66, sizeLow: 70, blockSize: 74, flags: 78 };

test('HELLO fields out of range', (t) => {
  const f = encode(hello());
  t.is(f.length, 79);
  t.is(reason(patch(f, H.port, 2, 0)), 'port out of range');
  t.is(reason(patch(f, H.sizeHigh, 4, 0x200000)), 'size out of range');
  t.is(reason(patch(patch(f, H.sizeHigh, 4, 0x1fffff), H.blockSize, 4, MAX_BLOCK_SIZE), LOOSE), 'ok');
  t.is(reason(patch(f, H.blockSize, 4, MIN_BLOCK_SIZE - 1)), 'blockSize out of range');
  t.is(reason(patch(f, H.blockSize, 4, MAX_BLOCK_SIZE + 1)), 'blockSize out of range');
  t.is(reason(f, { maxBlockBytes: 128 * 1024 }), 'blockSize over limit');
  t.is(reason(f, { maxBitfieldBytes: 4 }), 'too many blocks'); // 40 blocks need 5 bytes
  t.is(reason(f, { maxBitfieldBytes: 5 }), 'ok');
  t.is(reason(patch(f, H.host + 3, 1, 0x1f)), 'host not printable ASCII');
  t.is(reason(patch(f, H.host, 1, 0x7f)), 'host not printable ASCII');
  t.is(reason(patch(f, H.host, 1, 0xc3)), 'host not printable ASCII');
  const noHost = encode(hello({ host: 'h' }));
  t.is(reason(concat(noHost.subarray(0, H.hostLen), [0], noHost.subarray(H.hostLen + 2))), 'empty host');
  const shortId = encode(hello({ peerId: '11'.repeat(8) }));
  t.is(reason(concat(shortId.subarray(0, H.peerIdLen), [7], shortId.subarray(H.peerIdLen + 2))), 'peerId length out of range');
  const longId = encode(hello({ peerId: '11'.repeat(32) }));
  t.is(reason(concat(longId.subarray(0, H.peerIdLen), [33, 0x22], longId.subarray(H.peerIdLen + 1))), 'peerId length out of range');
});

test('UPDATE limits and fields out of range', (t) => {
  const e = entry(); // originId 8 bytes, host 9 bytes: port at 3+1+8+1+9 = 22
  const f = encode({ type: 'UPDATE', entries: [e, e, e] });
  t.is(reason(f, { maxEntries: 2 }), 'too many UPDATE entries');
  t.is(reason(f, { maxEntries: 3 }), 'ok');
  t.is(reason(patch(Uint8Array.of(2, 0, 0), 1, 2, DEFAULT_LIMITS.maxEntries + 1)), 'too many UPDATE entries');
  t.is(reason(f, { maxBitfieldBytes: 1 }), 'bitfield too large');
  t.is(reason(f, { maxBitfieldBytes: 2 }), 'ok');
  t.is(reason(patch(f, 31, 4, DEFAULT_LIMITS.maxBitfieldBytes + 1)), 'bitfield too large'); // bits length of entry 0
  t.is(reason(patch(f, 22, 2, 0)), 'port out of range');
  t.is(reason(patch(f, 3, 1, 7)), 'originId length out of range');
  t.is(reason(patch(f, 3, 1, 33)), 'originId length out of range');
  t.is(reason(patch(f, 12, 1, 0)), 'empty host');
  t.is(reason(patch(f, 14, 1, 0x0a)), 'host not printable ASCII');
});

test('indexes, REJECT reasons, BLOCK sizes, BYE reasons', (t) => {
  const frames = [
    encode({ type: 'REQUEST', index: 5 }),
    encode({ type: 'BLOCK', index: 5, data: Uint8Array.of(1) }),
    encode({ type: 'REJECT', index: 5, reason: 'missing' }),
  ];
  for (const f of frames) {
    t.is(reason(patch(f, 1, 4, 2 ** 31)), 'index out of range');
    t.is(reason(patch(f, 1, 4, 2 ** 32 - 1)), 'index out of range');
    t.is(reason(patch(f, 1, 4, 2 ** 31 - 1)), 'ok');
  }
  const rej = encode({ type: 'REJECT', index: 5, reason: 'busy' });
  t.is(reason(patch(rej, 5, 1, 0)), 'unknown REJECT reason 0');
  t.is(reason(patch(rej, 5, 1, 3)), 'unknown REJECT reason 3');

  const block = encode({ type: 'BLOCK', index: 5, data: new Uint8Array(2048) });
  t.is(reason(block, { maxBlockBytes: 2047 }), 'BLOCK too large');
  t.is(reason(block, { maxBlockBytes: 2048 }), 'ok');
  t.is(reason(Uint8Array.of(4, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff)), 'BLOCK too large');
  t.is(reason(Uint8Array.of(4, 0, 0, 0, 0, 0, 0, 0, 0)), 'empty BLOCK');

  const longBye = concat([6], be(257, 2), ascii('a'.repeat(257)));
  t.is(reason(longBye), 'BYE reason too long');
  t.is(reason(concat([6], be(2, 2), [0x61, 0x00])), 'BYE reason not printable ASCII');
  t.is(reason(concat([6], be(1, 2), [0x80])), 'BYE reason not printable ASCII');
});

test('encode refuses messages the decoder would refuse', (t) => {
  const e = entry();
  const bad: [Message, RegExp][] = [
    [hello({ version: 2 ** 32 }), /version/],
    [hello({ version: -1 }), /version/],
    [hello({ version: 1.5 }), /version/],
    [hello({ port: 0 }), /port/],
    [hello({ port: 65536 }), /port/],
    [hello({ size: 2 ** 53 }), /size/],
    [hello({ size: -1 }), /size/],
    [hello({ size: Number.NaN }), /size|malformed/],
    [hello({ size: 2 ** 31 * 1024 + 1, blockSize: 1024 }), /size/], // 2^31 + 1 blocks
    [hello({ blockSize: 1023 }), /blockSize/],
    [hello({ blockSize: MAX_BLOCK_SIZE + 1 }), /blockSize/],
    [hello({ flags: 256 }), /flags/],
    [hello({ swarmId: SWARM.toUpperCase() }), /swarmId/],
    [hello({ swarmId: SWARM.slice(2) }), /swarmId/],
    [hello({ peerId: 'ab'.repeat(7) }), /peerId/],
    [hello({ peerId: 'ab'.repeat(33) }), /peerId/],
    [hello({ peerId: 'abc'.repeat(7) }), /peerId/], // odd length
    [hello({ peerId: 'AB'.repeat(8) }), /peerId/],
    [hello({ peerId: 'g0'.repeat(8) }), /peerId/],
    [hello({ host: '' }), /host/],
    [hello({ host: 'a'.repeat(256) }), /host/],
    [hello({ host: 'caf\u00e9' }), /host/],
    [hello({ host: 'a\tb' }), /host/],
    [{ type: 'UPDATE', entries: [{ ...e, seq: 2 ** 32 }] }, /seq/],
    [{ type: 'UPDATE', entries: [{ ...e, hops: 256 }] }, /hops/],
    [{ type: 'UPDATE', entries: [{ ...e, degree: 65536 }] }, /degree/],
    [{ type: 'UPDATE', entries: [{ ...e, degree: -1 }] }, /degree/],
    [{ type: 'UPDATE', entries: [{ ...e, port: 0 }] }, /port/],
    [{ type: 'UPDATE', entries: Array.from({ length: 65536 }, () => e) }, /entry count/],
    [{ type: 'REQUEST', index: 2 ** 31 }, /index/],
    [{ type: 'REQUEST', index: -1 }, /index/],
    [{ type: 'BLOCK', index: 0, data: new Uint8Array(0) }, /data length/],
    [{ type: 'BLOCK', index: 0, data: new Uint8Array(MAX_BLOCK_SIZE + 1) }, /data length/],
    [{ type: 'REJECT', index: 0, reason: 'nope' as 'busy' }, /reason/],
    [{ type: 'REJECT', index: 0, reason: 'toString' as 'busy' }, /reason/],
    [{ type: 'BYE', reason: 'x'.repeat(257) }, /reason/],
    [{ type: 'BYE', reason: 'line\n' }, /reason/],
    [{ type: 'NOPE' } as unknown as Message, /NOPE/],
  ];
  bad.forEach(([msg, pattern], i) => {
    t.throws(() => encode(msg), { message: pattern }, `case ${i}: ${msg.type}`);
  });
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
  if (!decoded.ok || decoded.msg.type !== 'BLOCK') return t.fail(String(!decoded.ok && decoded.reason));
  t.is(decoded.msg.data.buffer, pool);
  t.is(decoded.msg.data.byteOffset, 13 + 9);
  t.is(Object.getPrototypeOf(decoded.msg.data), Uint8Array.prototype);
  t.deepEqual(decoded.msg.data, data);

  const update = place(encode({ type: 'UPDATE', entries: [entry({ bits: Uint8Array.of(1, 2, 3) })] }), 30001);
  const u = decode(update);
  if (!u.ok || u.msg.type !== 'UPDATE') return t.fail(String(!u.ok && u.reason));
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
  t.is(reason(encode(full), l), 'ok', 'a full UPDATE fits the frame limit');

  t.is(limitsFor(8 * KiB + 1, KiB).maxBitfieldBytes, 2); // 9 blocks
  t.is(limitsFor(8 * KiB, KiB).maxBitfieldBytes, 1);
  t.is(limitsFor(0, KiB).maxBitfieldBytes, 0);
  t.is(blockCount(Number.MAX_SAFE_INTEGER, 3 * KiB), Math.ceil(Number.MAX_SAFE_INTEGER / (3 * KiB)) + 0);
  t.is(blockCount(3 * KiB * 1000 + 1, 3 * KiB), 1001);

  const tight = limitsFor(9 * 2048, 2048);
  t.is(reason(encode({ type: 'BLOCK', index: 0, data: new Uint8Array(2048) }), tight), 'ok');
  t.is(reason(encode({ type: 'BLOCK', index: 0, data: new Uint8Array(2049) }), tight), 'BLOCK too large');
  t.is(reason(encode({ type: 'UPDATE', entries: [entry({ bits: new Uint8Array(3) })] }), tight), 'bitfield too large');
  t.is(reason(encode({ type: 'UPDATE', entries: [entry({ bits: new Uint8Array(2) })] }), tight), 'ok');

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
    { seed, numRuns: 3000 },
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

test('property: hostile bytes never throw; accepted frames re-encode to the same bytes', (t) => {
  t.log(`seed ${seed} (replay with SLURPIE_SEED=${seed})`);
  let accepted = 0;
  fc.assert(
    fc.property(hostileFrameArb, (frame) => {
      const r = decode(frame);
      if (r.ok) {
        accepted++;
        deepStrictEqual(Buffer.from(encode(r.msg)).equals(frame), true);
      } else {
        deepStrictEqual(typeof r.reason === 'string' && r.reason.length > 0 && r.reason !== INTERNAL_REASON, true, r.reason);
      }
    }),
    { seed, numRuns: 100_000 },
  );
  t.log(`${accepted} of 100000 hostile frames decoded to a message`);
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
    { seed, numRuns: 1000 },
  );
  t.pass();
});
