// A value computed from what the peers in our view have (the update tree) and what we have
// taken, kept while neither has changed: fill() and the source's decide() run after nearly
// every event, and few events change either (both count a version on every change).
import type { BlockTable } from './blocks.ts';
import type { UpdateTree } from './update-tree.ts';

export class ViewMemo<T> {
  private treeVersion = -1;
  private takenVersion = -1;
  private value: T | undefined;

  constructor(
    private readonly tree: UpdateTree,
    private readonly blocks: BlockTable,
    private readonly compute: (tree: UpdateTree, taken: Uint8Array) => T,
  ) {}

  get(): T {
    const { tree, blocks } = this;
    if (tree.version !== this.treeVersion || blocks.takenVersion !== this.takenVersion) {
      this.value = this.compute(tree, blocks.taken);
      this.treeVersion = tree.version;
      this.takenVersion = blocks.takenVersion;
    }
    return this.value as T;
  }
}
