// The actions one handle() call produces, in order. Every part of the core pushes here;
// PeerCore hands the list to the driver and starts a new one.
import type { EventLog } from './event-log.ts';
import type { ConnId, PeerAction } from './events.ts';
import type { Message } from './messages.ts';
import type { CloseCode } from './violations.ts';

export class Outbox {
  private actions: PeerAction[] = [];
  events: EventLog | null = null; // the protocol's events in words, when asked for (event-log.ts)

  push(action: PeerAction): void {
    this.actions.push(action);
  }

  send(conn: ConnId, msg: Message): void {
    this.actions.push({ type: 'send', conn, msg });
  }

  close(conn: ConnId, code: CloseCode, reason: string): void {
    this.actions.push({ type: 'close', conn, code, reason });
  }

  log(level: 'debug' | 'info' | 'warn', msg: string): void {
    this.actions.push({ type: 'log', level, msg });
  }

  /** The actions so far; the outbox starts empty again. */
  take(): PeerAction[] {
    const out = this.actions;
    this.actions = [];
    return out;
  }
}
