// Update tree vs a naive scan of U bitfields: ops/s of set(), holders() and
// countWanted(), and their ratio measured in the same run. The naive set() is a bare
// copy (it pays at query time); "root kept current" re-ORs all U leaves after the copy.
// Run: node --import tsx experiments/bench/update-tree.ts   (SLURPIE_SEED=… for other data)
import { SeededRng, randomInt, seedFrom } from '../../estimation/random.ts';
import { UpdateTree } from '../../peer/core/update-tree.ts';

const U = 32;
const BLOCKS = 16_384; // a 4 GiB file in 256 KiB blocks
const BYTES = BLOCKS / 8;
const seed = seedFrom(process.env, 1);
const rng = new SeededRng(seed);

// The baseline: leaves only; every query loops over all of them.
class NaiveView {
  readonly leaves = Array.from({ length: U }, () => new Uint8Array(BYTES));
  private readonly words = this.leaves.map((leaf) => new Uint32Array(leaf.buffer));
  private readonly root = new Uint32Array(BYTES / 4);
  set(slot: number, bits: Uint8Array): void {
    (this.leaves[slot] as Uint8Array).set(bits);
  }
  // What the tree's set() buys: a root that is current after every change.
  setAndRefreshRoot(slot: number, bits: Uint8Array): void {
    this.set(slot, bits);
    this.root.fill(0);
    for (const leaf of this.words) for (let w = 0; w < leaf.length; w++) this.root[w] = (this.root[w] as number) | (leaf[w] as number);
  }
  holders(index: number): number[] {
    const out: number[] = [];
    const byte = index >> 3;
    const mask = 0x80 >> (index & 7);
    for (let s = 0; s < U; s++) if ((((this.leaves[s] as Uint8Array)[byte] ?? 0) & mask) !== 0) out.push(s);
    return out;
  }
  countWanted(have: Uint8Array): number {
    let n = 0;
    for (let b = 0; b < BYTES; b++) {
      let or = 0;
      for (let s = 0; s < U; s++) or |= (this.leaves[s] as Uint8Array)[b] ?? 0;
      for (let w = or & ~(have[b] ?? 0) & 0xff; w !== 0; w &= w - 1) n++;
    }
    return n;
  }
}

function randomBits(density: number): Uint8Array {
  const bits = new Uint8Array(BYTES);
  for (let i = 0; i < BLOCKS; i++) if (rng.next() < density) bits[i >> 3] = (bits[i >> 3] ?? 0) | (0x80 >> (i & 7));
  return bits;
}

// Ops per second of fn(i), run in batches for at least `ms` after a warm-up.
let sink = 0;
function rate(fn: (i: number) => number, ms = 400): number {
  for (let i = 0; i < 2000; i++) sink += fn(i);
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < ms) {
    for (let k = 0; k < 1000; k++) sink += fn(ops + k);
    ops += 1000;
    elapsed = performance.now() - start;
  }
  return (ops / elapsed) * 1000;
}

const fmt = (x: number): string => x.toExponential(2).padStart(9);
console.log(`U=${U} blocks=${BLOCKS} (${BYTES} B bitfields) seed=${seed} node ${process.version}`);
console.log('operation                   density   tree ops/s  naive ops/s  tree/naive');

for (const density of [0.5, 0.02]) {
  const pool = Array.from({ length: 64 }, () => randomBits(density));
  const have = randomBits(0.5);
  const tree = new UpdateTree(U, BLOCKS);
  const naive = new NaiveView();
  for (let s = 0; s < U; s++) {
    tree.set(s, pool[s] as Uint8Array);
    naive.set(s, pool[s] as Uint8Array);
  }
  const indices = Array.from({ length: 4096 }, () => randomInt(rng, BLOCKS));
  const at = (i: number): number => indices[i & 4095] as number;
  const leaf = (i: number): Uint8Array => pool[i & 63] as Uint8Array;

  const rows: [string, number, number][] = [
    ['set(slot, bits)', rate((i) => (tree.set(i & (U - 1), leaf(i)), 0)), rate((i) => (naive.set(i & (U - 1), leaf(i)), 0))],
    ['set, root kept current', rate((i) => (tree.set(i & (U - 1), leaf(i)), 0)), rate((i) => (naive.setAndRefreshRoot(i & (U - 1), leaf(i)), 0), 300)],
    ['holders(i)', rate((i) => tree.holders(at(i)).length), rate((i) => naive.holders(at(i)).length)],
    ['countWanted(have)', rate(() => tree.countWanted(have), 300), rate(() => naive.countWanted(have), 300)],
  ];
  for (const [name, t, n] of rows) {
    console.log(`${name.padEnd(26)}  ${density.toFixed(2).padStart(7)}  ${fmt(t)}    ${fmt(n)}   ${(t / n).toFixed(2).padStart(8)}`);
  }
}
if (sink === -1) console.log(sink); // keeps results observable so nothing is optimised away
