// The scheduler and the source fetch keep "blocks someone in view has that we have not taken"
// (and "nothing to ask of anyone") from one event to the next while the update tree and the
// block table's `taken` keep their versions (the simulator's speed at 10^4 peers). That is
// only right if every change to either moves its version: checked here on random histories.
import test from 'ava';
import fc from 'fast-check';
import { seedFrom } from '../estimation/random.ts';
import { BlockTable } from '../peer/core/blocks.ts';
import { UpdateTree } from '../peer/core/update-tree.ts';

const seed = seedFrom(process.env, 7);
const BLOCKS = 20;
const SLOTS = 5;

type Op =
  | { k: 'set'; slot: number; bits: number[] }
  | { k: 'clear'; slot: number }
  | { k: 'request' | 'fromSource' | 'release' | 'storing' | 'stored'; index: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant('set' as const), slot: fc.nat(SLOTS - 1), bits: fc.array(fc.nat(255), { minLength: 3, maxLength: 3 }) }),
  fc.record({ k: fc.constant('clear' as const), slot: fc.nat(SLOTS - 1) }),
  fc.record({ k: fc.constantFrom('request' as const, 'fromSource' as const, 'release' as const, 'storing' as const, 'stored' as const), index: fc.nat(BLOCKS - 1) }),
);

// Carries out one operation if the block table allows it in the block's state (else nothing).
function apply(tree: UpdateTree, table: BlockTable, o: Op): void {
  if (o.k === 'set') return tree.set(o.slot, Uint8Array.from(o.bits));
  if (o.k === 'clear') return tree.clear(o.slot);
  const state = table.state(o.index);
  if (o.k === 'request' && state === 'missing') table.request(o.index, 1);
  else if (o.k === 'fromSource' && state === 'missing') table.fromSource(o.index);
  else if (o.k === 'release' && (state === 'requested' || state === 'fromSource')) table.release(o.index, state === 'requested' ? 1 : 'source');
  else if (o.k === 'storing' && state !== 'storing' && state !== 'have') table.storing(o.index, state === 'fromSource' ? 'source' : 1);
  else if (o.k === 'stored' && state === 'storing') table.stored(o.index);
}

test('whatever changes what is wanted or missing from all moves the tree version or the taken version', (t) => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
      const tree = new UpdateTree(SLOTS, BLOCKS);
      const table = new BlockTable(BLOCKS);
      const answer = (): string => `${tree.countWanted(table.taken)} ${tree.firstMissingFromAll(table.taken)}`;
      let kept = answer();
      let versions = `${tree.version} ${table.takenVersion}`;
      for (const o of ops) {
        apply(tree, table, o);
        const now = `${tree.version} ${table.takenVersion}`;
        if (now === versions && answer() !== kept) return false; // a stale answer would have been used
        kept = answer();
        versions = now;
      }
      return true;
    }),
    { seed, numRuns: 300 },
  );
  t.pass();
});

test('set and clear move the tree version; every block transition moves the taken version', (t) => {
  const tree = new UpdateTree(SLOTS, BLOCKS);
  const v0 = tree.version;
  tree.set(0, new Uint8Array(3));
  t.true(tree.version > v0);
  const v1 = tree.version;
  tree.clear(0);
  t.true(tree.version > v1);
  const table = new BlockTable(BLOCKS);
  const steps: (() => void)[] = [() => table.request(3, 1), () => table.release(3, 1), () => table.fromSource(3), () => table.storing(3, 'source'), () => table.stored(3)];
  for (const step of steps) {
    const before = table.takenVersion;
    step();
    t.true(table.takenVersion > before);
  }
});
