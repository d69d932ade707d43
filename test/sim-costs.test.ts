// bench:sim-costs reads the two benches' result lines into the simulator's --sim-cpu-* flags.
import test from 'ava';
import { parseMessageCost, parsePeerCost, simCpuFlags } from '../experiments/bench/sim-costs.ts';

const PEER_COST = `slurpie get cost: bin/slurpie.js; 64 MiB, alone, unthrottled source; 5 runs
run 1: start-up 0.178 CPU-s; 64 MiB: 5.59 CPU-ms per MiB moved (64 MiB moved, 64 from the source), max RSS 63 MiB

median of 5: start-up 0.185 CPU-s (RSS 57 MiB at 1 MiB); 5.81 CPU-ms per MiB moved; max RSS 64 MiB at 64 MiB
targets (issue #12): start-up at most 0.15 CPU-s; max RSS at most 100 MiB whatever the size; half the CPU per MiB of main
`;

const run = (n: number, perEvent: string): string =>
  `run ${n}: alone 8.25 CPU-ms per MiB (0 messages, 0 ticks); swarm: 12.64 CPU-s after start-up (start-up 1.046 CPU-s each), 480 MiB moved, ` +
  `9162 messages sent, 9162 received, 808 ticks -> 8677 CPU-ms left = ${perEvent} CPU-ms per message or tick (0.474 per message with ticks free)`;

test('peer-cost: start-up and per MiB from the median line, not from a run', (t) => {
  t.deepEqual(parsePeerCost(PEER_COST), { startupMs: 185, mibMs: 5.81 });
  t.is(parsePeerCost(PEER_COST.split('\n').slice(0, 2).join('\n')), null, 'no median line: no result');
});

test('message-cost: the median over the runs, odd and even counts', (t) => {
  const header = 'slurpie get CPU per message: 32 MiB; alone, then 8 peers with the source at 1250000 B/s, messages held 0.5 ms; 3 runs; tsx\n';
  t.is(parseMessageCost(header + [run(1, '0.454'), run(2, '0.408'), run(3, '0.433')].join('\n')), 0.433);
  t.is(parseMessageCost([run(1, '0.300'), run(2, '0.400')].join('\n')), 0.35);
  t.is(parseMessageCost(header), null);
});

test('the flags slurpie experiment takes', (t) => {
  t.is(simCpuFlags({ startupMs: 185, eventMs: 0.433, mibMs: 5.81 }), '--sim-cpu-startup-ms 185 --sim-cpu-event-ms 0.433 --sim-cpu-mib-ms 5.81');
});
