// How many protocol messages one peer's transport sent and received, by type: protocol
// variants are compared by how many messages peers exchange. Counted on every message, so a
// count is one property increment and nothing is allocated.
import type { Message } from '../core/messages.ts';

/** Messages by counted type (countedType): what DownloadStats.messages and --stats-json hold. */
export interface MessageCounts {
  sent: Record<string, number>;
  received: Record<string, number>;
}

/** The counts of a download that had no peers (alone, plain, already complete). */
export function noMessages(): MessageCounts {
  return { sent: {}, received: {} };
}

/**
 * A message's type, except that an UPDATE without entries (only `known` news, or a sketch) is
 * `UPDATE-news`: it carries no bitfields, so it costs far less than one with entries; and a
 * REJECT of a block the sender lacks is `REJECT-missing` (REJECT alone: busy), as the two say
 * different things about a swarm (a stale view, or a loaded uploader).
 */
export function countedType(msg: Message): string {
  if (msg.type === 'UPDATE' && msg.entries.length === 0) return 'UPDATE-news';
  if (msg.type === 'REJECT' && msg.reason === 'missing') return 'REJECT-missing';
  return msg.type;
}

export class MessageCounter {
  private readonly counts = noMessages();

  sent(msg: Message): void {
    bump(this.counts.sent, countedType(msg));
  }

  received(msg: Message): void {
    bump(this.counts.received, countedType(msg));
  }

  /** A copy: the live counts go on changing while the peer serves and leaves. */
  snapshot(): MessageCounts {
    return { sent: { ...this.counts.sent }, received: { ...this.counts.received } };
  }
}

function bump(counts: Record<string, number>, type: string): void {
  counts[type] = (counts[type] ?? 0) + 1;
}
