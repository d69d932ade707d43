// The source link's line under an experiment's table: where its traffic started and ended,
// how busy it was in between, and how long after its last data the peers finished.
import test from 'ava';
import { SourceLinkSampler, sourceLinkBins, sourceLinkLine, summarizeSourceLink, type SourceLink } from '../experiments/testbed/source-link.ts';

const MiB = 1048576;

// 1 MB/s: probes by 1 s, then 4 s at full rate, a 2 s gap, 2 s at half rate.
const link: SourceLink = {
  rate: 1e6,
  samples: [[0, 0], [1, 5_000], [2, 1_005_000], [3, 2_005_000], [4, 3_005_000], [5, 4_005_000], [7, 4_005_000], [8, 4_505_000], [9, 5_005_000], [12, 5_005_000]],
};

test('the window runs from the first 1% to the last data; busy is bytes over what the rate allows', (t) => {
  const sum = summarizeSourceLink(link);
  // 1% of 5,005,000 is first reached at 2 s (the probes' 5 kB at 1 s are not); the last data at 9 s.
  t.deepEqual(sum, { startSeconds: 2, endSeconds: 9, bytes: 5_005_000, busyShare: 4_000_000 / 7_000_000 });
});

test('the frames that trickle after the last data (connections closing) do not move its end', (t) => {
  const closing: SourceLink = { rate: link.rate, samples: [...link.samples, [14, 5_008_000]] };
  t.is(summarizeSourceLink(closing)?.endSeconds, 9);
});

test('the line gives the busy share and the peers\' mean time after the last data', (t) => {
  t.is(sourceLinkLine('slurpie', link, [10, 12]),
    "Source link (slurpie): carried 1% of its 4.8 MiB by 2.0 s and its last data at 9.0 s from the launch, busy 57% in between (bytes through it / its rate); slurpie's peers finished 2.0 s after its last data on average.");
  t.is(sourceLinkLine('http', link, []), 'Source link (http): carried 1% of its 4.8 MiB by 2.0 s and its last data at 9.0 s from the launch, busy 57% in between (bytes through it / its rate).');
});

test('a link that carried nothing, or has no rate, has no summary', (t) => {
  t.is(summarizeSourceLink({ rate: 1e6, samples: [[0, 0], [5, 0]] }), null);
  t.is(summarizeSourceLink({ rate: 0, samples: [[0, 0], [5, MiB]] }), null);
  t.is(sourceLinkLine('slurpie', { rate: 1e6, samples: [] }, [1]), null);
});

test('busy never reads above 100% (frame headers count on the wire, the samples are late)', (t) => {
  const sum = summarizeSourceLink({ rate: 1e6, samples: [[0, 0], [1, 1_100_000]] });
  t.is(sum?.busyShare, 1);
});

test('a device without a counter gives no samples rather than an error', async (t) => {
  const sampler = new SourceLinkSampler('no-such-device-slurpie', 1e6);
  await sampler.begin();
  await sampler.sample(1);
  await sampler.sample(2);
  t.is(sampler.result(), null);
});

// The sampler reads /sys/class/net/DEV/statistics/rx_bytes: Linux only.
(process.platform === 'linux' ? test : test.skip)(`samples count from the counter at begin()${process.platform === 'linux' ? '' : ' (skipped: no /sys/class/net)'}`, async (t) => {
  const sampler = new SourceLinkSampler('lo', 1e6);
  await sampler.begin();
  await sampler.sample(0.5);
  await sampler.sample(1);
  const r = sampler.result();
  t.truthy(r);
  t.deepEqual(r?.samples.map(([s]) => s), [0.5, 1]);
  t.true((r?.samples ?? []).every(([, b]) => b >= 0));
});

test('bins: the rate a second as a share of the link\'s, bytes at a bin edge read off the line between the samples around it', (t) => {
  const bins = sourceLinkBins(link);
  t.deepEqual(bins.map((b) => b.seconds), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  t.deepEqual(bins.map((b) => Math.round(b.share * 1000) / 1000), [0.005, 1, 1, 1, 1, 0, 0, 0.5, 0.5, 0, 0, 0]);
  // Samples off the edges (loop turns of ~200 ms), the first after the launch: the counter is 0 at 0.
  const off: SourceLink = { rate: 1000, samples: [[0.5, 500], [1.7, 1700], [2.5, 1700]] };
  t.deepEqual(sourceLinkBins(off).map((b) => Math.round(b.share * 1000) / 1000), [1, 0.7, 0]);
  t.deepEqual(sourceLinkBins(off, 0.5).map((b) => b.seconds), [0, 0.5, 1, 1.5, 2]);
  t.deepEqual(sourceLinkBins({ rate: 0, samples: link.samples }), [], 'no rate: no bins');
  t.deepEqual(sourceLinkBins({ rate: 1000, samples: [[1, 10]] }).length, 1, 'one sample after the launch: one bin, from 0');
});
