// The testbed's CPU line: what the peers' processes spent, beside the simulator's CPU model.
import test from 'ava';
import { cpuUsed, summarize, type PeerResult } from '../experiments/testbed/results.ts';

const MiB = 1048576;

function peer(id: string, extra: Partial<PeerResult>): PeerResult {
  return { id, linkClass: null, arrivalSeconds: 0, seconds: 10, ownSeconds: 9, fromSource: 2 * MiB, fromPeers: 30 * MiB, uploaded: 32 * MiB, maxRssBytes: null, ok: true, left: false, ...extra };
}

function system(name: string, perPeer: PeerResult[]) {
  return summarize({ system: name, stopped: false, timeLimitSeconds: 60, wallSeconds: 12, sourceBytes: 32 * MiB, peakSourceGets: 3, fileBytes: 32 * MiB, tMinSeconds: 8, perPeer });
}

test('sums the CPU of the peers that report it, start-up apart, per MiB moved after start-up', (t) => {
  const line = cpuUsed(system('slurpie', [
    peer('p1', { cpuSeconds: 1.1, startupCpuSeconds: 0.1 }),
    peer('p2', { cpuSeconds: 0.9, startupCpuSeconds: 0.1 }),
    peer('p3', { cpuSeconds: 5 }), // no start-up figure: left out, not guessed
  ]));
  // (2.0 - 0.2) CPU-s over 2 x 64 MiB moved
  t.is(line, "CPU used by slurpie's 2 peer processes: 2.0 CPU-s in all, 0.100 CPU-s each to start, 14.1 CPU-ms per MiB moved after start-up.");
});

test('says nothing for a system whose peers report no CPU (curl, BitTorrent)', (t) => {
  t.is(cpuUsed(system('http', [peer('p1', {}), peer('p2', { cpuSeconds: 1 })])), null);
});

test('a peer that moved nothing gives no per-MiB figure', (t) => {
  const line = cpuUsed(system('slurpie', [peer('p1', { cpuSeconds: 0.3, startupCpuSeconds: 0.1, fromSource: null, fromPeers: null, uploaded: null })]));
  t.is(line, "CPU used by slurpie's 1 peer processes: 0.3 CPU-s in all, 0.100 CPU-s each to start.");
});
