// The CPU model's costs (cpu.ts), MEASURED on the testbed's machine (2 cores, Node v20, loaded
// by other work as the testbed's runs are), not fitted to any scenario's result, but for the
// wake-up's (below).
//
// start-up 0.130 CPU-s   `npm run bench:peer-cost -- 64 --runs 3` (2026-11-30, 20:11 UTC, the dev
//                        bundle the testbed's peers run): median start-up CPU of `slurpie get`
//                        (process start to its download starting) 0.130 (runs 0.128, 0.131, 0.130).
// per MiB 6.17 CPU-ms    the same command: CPU after start-up / MiB moved, one peer alone against
//                        an unthrottled source (hashing, disk, framing): median 6.17 (6.23, 5.81, 6.17).
// per message 0.216 ms   `npm run bench:message-cost -- 32 --peers 8 --runs 3` (2026-11-30, 20:13
//                        UTC): 8 real peers, a 1.25 MB/s source, messages held 0.5 ms as in
//                        lan-48's testbed; each process counts the WebSocket messages it sends and
//                        receives and its ticks (experiments/bench/message-counter.ts). (Σ CPU after
//                        start-up - 6.9 CPU-ms per MiB alone x 480 MiB moved) / (sent + received +
//                        ticks): 0.205, 0.216, 0.276 CPU-ms per message or tick; median 0.216
//                        (e.g. run 2: 3968 CPU-ms over 8740 sent + 8740 received + 863 ticks).
//                        Both of that bench's steps run through tsx (its counter needs it); its
//                        per MiB alone (6.9) is its own, so the rest is what messages and ticks cost.
// per wake-up 1.0 ms     FITTED, the one cost that is: the CPU an event costs more when it finds
//                        its process idle (cpu.ts). With the three costs above alone the model
//                        charged the testbed's peers 0.4-0.9 of what they used, least where they
//                        wait most: on 2026-12-02, lan-12 (12 peers, cores to spare) 14.6 CPU-s
//                        modelled (8 seeds) against 22.7 and 24.4 used in two testbed runs,
//                        mixed-16 6.4 against 16.2-16.4, planetlab-55 58 against 108-124, but
//                        lan-48 (busy) 75 against 76-95. 1.0 ms makes lan-12's 23.3 (seeds 1-8;
//                        over seeds 1-6, 0.9: 22.4, 1.1: 24.3); the rest are checks, not fitted: lan-48 88, planetlab-55 97,
//                        mixed-16 12 CPU-s, and lan-48 with the source at half and twice its rate
//                        125 and 72 against the testbed's 109 and 70 (without it 92 and 61: it had
//                        missed that a longer run costs more CPU for the same bytes). A small read
//                        by an idle peer costs it 0.5-0.8 CPU-ms on loopback; an idle testbed peer
//                        wakes more than once per event (the latency emulation's hold timer, the
//                        pong after each BLOCK, a BLOCK read in pieces off a shaped link).
// reads 0 (off)          the bytes of a BLOCK or source response still arriving after which an idle
//                        process wakes to read them (cpu.ts, `readBytes`). Off by default: tried
//                        on 2026-12-02 (twelfth session; seeds 1-8 on each scenario's plan, `fair`
//                        uplinks), 32 KiB with the wake-up at 0.5 ms (the pair that keeps lan-12's
//                        CPU, 22.8 CPU-s) brought planetlab-55's CPU from 97 to 113 CPU-s (testbed
//                        107-124) and its wake-ups from 735 to 2,030 a peer (the testbed's main
//                        threads: 1,941-2,855 voluntary context switches, experiments/bench/wakeups.mjs),
//                        but not its time (0.76 against 0.74 T_min; the testbed 0.90-1.33), and it
//                        took lan-48 to 84 CPU-s and mixed-16 to 10.4 (the testbed 88-96, 16.2-16.4).
//                        Per packet (1448 bytes) it charged planetlab-55 141-153 CPU-s.
// Cores: the machine's own (os.availableParallelism()), given by whoever turns the model on.
import type { SimCpu } from './scenario.ts';

export const MEASURED_STARTUP_MS = 130;
export const MEASURED_EVENT_MS = 0.216;
export const MEASURED_MIB_MS = 6.17;
export const FITTED_WAKE_MS = 1.0;
export const DEFAULT_READ_BYTES = 0; // off: see above

/** The measured costs on `cores` cores. */
export function measuredCpu(cores: number): SimCpu {
  return { cores, startupMs: MEASURED_STARTUP_MS, eventMs: MEASURED_EVENT_MS, mibMs: MEASURED_MIB_MS, wakeMs: FITTED_WAKE_MS, readBytes: DEFAULT_READ_BYTES };
}

/** Whether `cpu` charges the costs measured once (this file's), not ones given for the day. */
export function isMeasuredCpu(cpu: SimCpu): boolean {
  return cpu.startupMs === MEASURED_STARTUP_MS && cpu.eventMs === MEASURED_EVENT_MS && cpu.mibMs === MEASURED_MIB_MS && (cpu.wakeMs ?? 0) === FITTED_WAKE_MS && (cpu.readBytes ?? 0) === DEFAULT_READ_BYTES;
}

/** One line for a results' approximations. */
export function describeCpu(cpu: SimCpu): string {
  return `CPU modelled: the peers' processes share ${cpu.cores} cores (processor sharing, each peer's work serial and in order): ` +
    `${cpu.startupMs} ms to start, ${cpu.eventMs} ms per message handled (received or sent) or tick, ${cpu.wakeMs ? `${cpu.wakeMs} ms more per wake-up (an event finding its process idle${cpu.readBytes ? `, or ${cpu.readBytes} more bytes of a message still arriving` : ''}), ` : ''}${cpu.mibMs} ms per MiB of blocks moved ` +
    (isMeasuredCpu(cpu) ? '(measured on the testbed machine, the wake-up fitted: experiments/sim/cpu-model.ts)' : '(given for this run, not the costs measured in experiments/sim/cpu-model.ts)') +
    (cpu.launchSlots ? `; at most ${cpu.launchSlots} ${cpu.launchSlots === 1 ? 'peer' : 'peers'} starting at once, the rest held in arrival order (the testbed's launch gate)` : '');
}
