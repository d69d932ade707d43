import test from 'ava';
import fc from 'fast-check';
import { seedFrom } from '../estimation/random.ts';
import { UpdateTree } from '../peer/core/update-tree.ts';

// Naive reference: block i is bit (7 - i % 8) of byte i >> 3, tested one block at a time.
const bitOf = (bits: ArrayLike<number>, i: number): boolean => (((bits[i >> 3] ?? 0) >> (7 - (i & 7))) & 1) === 1;

function fromBlocks(blocks: number, set: number[]): Uint8Array {
  const bits = new Uint8Array(Math.ceil(blocks / 8));
  for (const i of set) bits[i >> 3] = (bits[i >> 3] ?? 0) | (0x80 >> (i & 7));
  return bits;
}

test('an empty tree has nothing and misses everything', (t) => {
  const tree = new UpdateTree(32, 20);
  const none = new Uint8Array(3);
  t.deepEqual([...tree.root()], [0, 0, 0]);
  t.false(tree.anyHas(0));
  t.deepEqual(tree.holders(19), []);
  t.is(tree.countWanted(none), 0);
  t.is(tree.firstMissingFromAll(none), 0);
});

test('one leaf: root equals it, holders finds its slot, the leaf is copied', (t) => {
  const tree = new UpdateTree(32, 16);
  const bits = fromBlocks(16, [0, 9, 15]);
  tree.set(17, bits);
  bits[0] = 0xff; // the tree copied; changing the caller's buffer changes nothing
  t.deepEqual([...tree.root()], [...fromBlocks(16, [0, 9, 15])]);
  t.deepEqual(tree.holders(9), [17]);
  t.deepEqual(tree.holders(1), []);
  t.true(tree.anyHas(15));
  t.false(tree.anyHas(14));
  t.is(tree.countWanted(fromBlocks(16, [9])), 2);
  t.is(tree.firstMissingFromAll(fromBlocks(16, [1, 2])), 3);
  t.is(tree.firstMissingFromAll(new Uint8Array(2), 9), 10);
});

test('clear removes a leaf and its contribution to the root', (t) => {
  const tree = new UpdateTree(4, 8);
  tree.set(0, fromBlocks(8, [1, 2]));
  tree.set(3, fromBlocks(8, [2, 5]));
  tree.clear(0);
  t.deepEqual([...tree.root()], [...fromBlocks(8, [2, 5])]);
  t.deepEqual(tree.holders(2), [3]);
  t.deepEqual(tree.holders(1), []);
});

test('holders come out in ascending slot order', (t) => {
  const tree = new UpdateTree(13, 8); // not a power of two
  for (const slot of [12, 3, 7, 0, 8]) tree.set(slot, fromBlocks(8, [4]));
  t.deepEqual(tree.holders(4), [0, 3, 7, 8, 12]);
});

test('bits past the last block are ignored', (t) => {
  const tree = new UpdateTree(2, 10); // 2 bytes, 6 unused bits in the second
  tree.set(1, Uint8Array.of(0x00, 0xff));
  t.deepEqual([...tree.root()], [0x00, 0xc0]);
  t.is(tree.countWanted(new Uint8Array(2)), 2);
  // A `have` with junk in the unused bits does not make up blocks either.
  t.is(tree.firstMissingFromAll(Uint8Array.of(0xf0, 0x3f)), 4);
  t.is(tree.firstMissingFromAll(Uint8Array.of(0xff, 0x00)), -1);
  t.throws(() => tree.anyHas(10), { instanceOf: RangeError });
});

test('bad slots, lengths and indices throw RangeError', (t) => {
  const tree = new UpdateTree(4, 10);
  t.throws(() => tree.set(4, new Uint8Array(2)), { instanceOf: RangeError });
  t.throws(() => tree.set(-1, new Uint8Array(2)), { instanceOf: RangeError });
  t.throws(() => tree.set(0, new Uint8Array(3)), { instanceOf: RangeError });
  t.throws(() => tree.clear(1.5), { instanceOf: RangeError });
  t.throws(() => tree.holders(-1), { instanceOf: RangeError });
  t.throws(() => tree.countWanted(new Uint8Array(1)), { instanceOf: RangeError });
  t.throws(() => new UpdateTree(0, 10), { instanceOf: RangeError });
});

type Op = { kind: 'set'; slot: number; bits: Uint8Array } | { kind: 'clear'; slot: number };

const scenario = fc
  .record({ capacity: fc.integer({ min: 1, max: 19 }), blocks: fc.integer({ min: 1, max: 45 }) })
  .chain(({ capacity, blocks }) => {
    const bytes = Math.ceil(blocks / 8);
    const bitfield = fc.uint8Array({ minLength: bytes, maxLength: bytes });
    const slot = fc.integer({ min: 0, max: capacity - 1 });
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('set' as const), slot, bits: bitfield }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('clear' as const), slot }) },
    );
    return fc.record({
      capacity: fc.constant(capacity),
      blocks: fc.constant(blocks),
      ops: fc.array(op, { maxLength: 30 }),
      have: bitfield,
    });
  });

test('property: random set/clear sequences agree with a naive model', (t) => {
  const seed = seedFrom(process.env, 1);
  t.log(`seed ${seed} (replay with SLURPIE_SEED=${seed})`);
  fc.assert(
    fc.property(scenario, ({ capacity, blocks, ops, have }) => {
      const tree = new UpdateTree(capacity, blocks);
      const model: (Uint8Array | undefined)[] = new Array(capacity).fill(undefined);
      const modelHas = (i: number): number[] => model.flatMap((bits, s) => (bits && bitOf(bits, i) ? [s] : []));
      for (const op of ops) {
        if (op.kind === 'set') {
          tree.set(op.slot, op.bits);
          model[op.slot] = op.bits.slice();
        } else {
          tree.clear(op.slot);
          model[op.slot] = undefined;
        }
        const root = tree.root();
        const wanted: number[] = [];
        const missing: number[] = [];
        for (let i = 0; i < blocks; i++) {
          const holders = modelHas(i);
          if (bitOf(root, i) !== holders.length > 0) return false;
          if (tree.anyHas(i) !== holders.length > 0) return false;
          const got = tree.holders(i);
          if (new Set(got).size !== got.length || got.length !== holders.length) return false;
          if (!holders.every((s) => got.includes(s))) return false;
          if (holders.length > 0 && !bitOf(have, i)) wanted.push(i);
          if (holders.length === 0 && !bitOf(have, i)) missing.push(i);
        }
        for (let b = Math.ceil(blocks / 8) * 8 - 1; b >= blocks; b--) if (bitOf(root, b)) return false;
        if (tree.countWanted(have) !== wanted.length) return false;
        if (tree.firstMissingFromAll(have) !== (missing[0] ?? -1)) return false;
        const from = missing.length > 1 ? (missing[0] as number) + 1 : 0;
        if (tree.firstMissingFromAll(have, from) !== (missing.find((i) => i >= from) ?? -1)) return false;
      }
      return true;
    }),
    { seed, numRuns: 300 },
  );
  t.pass();
});
