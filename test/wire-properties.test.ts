// The wire codec's seeded properties (peer/wire): every valid message round-trips exactly,
// hostile bytes never throw and are refused with a table code, every proper prefix of a frame
// is refused. SLURPIE_SEED=N replays a run. The codec's fixed cases: wire-codec.test.ts.
import test from 'ava';
import fc from 'fast-check';
import { deepStrictEqual } from 'node:assert/strict';
import { MAX_REFS, type EntryBody, type Message, type OriginIntro, type SizeEstimate, type UpdateEntry } from '../peer/core/messages.ts';
import {
  MAX_BLOCK_SIZE,
  MIN_BLOCK_SIZE,
  UPDATE_HEADER_BYTES,
  WIRE_ERROR_CODES,
  decode,
  encode,
  encodedLength,
  updateEntryLength,
  varintLength,
} from '../peer/wire/index.ts';
import { seedFrom } from '../estimation/random.ts';
import { LOOSE, concat, patch, toHex } from './fixtures/wire-messages.ts';

const seed = seedFrom(process.env, 1);

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
