// Young-generation collections paced by the bytes a peer receives (issue #12: a peer's
// resident memory at most 100 MiB whatever the file size).
//
// Every block arrives in buffers that are dead at once: ws makes one per message (256 KiB and
// a header) from the socket's 64 KiB chunks, undici hands over its chunks, and PeerNode copies
// the block into a pooled buffer. But V8 collects the young generation only as JavaScript
// allocates (a peer allocates little: ~5 scavenges a second), whatever the size of the
// buffers its objects hold, so dead buffers piled up between scavenges and glibc's heap kept
// the high-water mark. A scavenge after every `everyBytes` frees them for ~0.1 ms each.
// (Full collections every 16 or 32 MiB as well: no lower peak in 4 x 512 MiB, more CPU.)
//
// Collecting is a process-wide choice: only the peer process (bin/peer-process.ts) sets a
// collector; a library caller's process is left alone.

let collector: (() => void) | null = null;

/** Sets (or with null, removes) what every pacer calls to collect the young generation. */
export function setCollector(collect: (() => void) | null): void {
  collector = collect;
}

/** Counts bytes received and collects after every `everyBytes` of them. */
export class GcPacer {
  private since = 0;

  constructor(
    private readonly everyBytes: number,
    private readonly collect: () => (() => void) | null = () => collector,
  ) {
    if (!(everyBytes > 0)) throw new RangeError(`everyBytes must be > 0, got ${everyBytes}`);
  }

  /** `bytes` more were received; true if this call collected. */
  received(bytes: number): boolean {
    const collect = this.collect();
    if (!collect) return false;
    this.since += bytes;
    if (this.since < this.everyBytes) return false;
    this.since = 0;
    collect();
    return true;
  }
}
