// `slurpie plot`'s library (experiments/plot): the results fixtures rendered to real PNG and SVG
// files (vega-lite, vega, resvg), each plot only when its data is there, and one-line errors for
// bad inputs. No process, no socket: unit.
import test from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { choosePlots } from '../experiments/plot/plots.ts';
import { barsSpec, scalingSpec, subtitleLines } from '../experiments/plot/specs.ts';
import { fontFiles, render } from '../experiments/plot/render.ts';
import { loadRuns, PlotInputError, toRun } from '../experiments/plot/results.ts';
import { writePlots } from '../experiments/plot/write-plots.ts';

const FIXTURES = join(import.meta.dirname, 'fixtures', 'results');
const fixture = (name: string) => join(FIXTURES, name);

const noFont = (() => {
  try {
    fontFiles();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
})();
// Rendering needs DejaVu Sans (Debian fonts-dejavu-core, installed by .ci/run): a declared skip without it.
const renderTest = noFont ? test.skip : test;
if (noFont) console.warn(`plot-render: rendering tests skipped: ${noFont}`);

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Width and height from the IHDR chunk, after checking the signature and chunk type. */
function pngSize(png: Buffer): { width: number; height: number } | null {
  if (png.length < 24 || !png.subarray(0, 8).equals(PNG_SIGNATURE) || png.toString('latin1', 12, 16) !== 'IHDR') return null;
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

async function scratch(t: { teardown: (f: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'slurpie-plot-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

renderTest('every fixture rendered: valid PNGs of readable size, SVGs with their axis titles', async (t) => {
  t.timeout(120_000);
  const out = await scratch(t);
  const written = await writePlots([fixture('synthetic-48.json'), fixture('synthetic-24.json'), fixture('sim-12.json')], out);
  const names = written.map((p) => basename(p));
  t.deepEqual(names, [
    'synthetic-48-cdf.png', 'synthetic-48-cdf.svg', 'synthetic-24-cdf.png', 'synthetic-24-cdf.svg', 'synthetic-24-source-link.png', 'synthetic-24-source-link.svg', 'synthetic-24-progress.png', 'synthetic-24-progress.svg', 'sim-12-cdf.png', 'sim-12-cdf.svg',
    'scaling.png', 'scaling.svg', 'backoff-ablation.png', 'backoff-ablation.svg', 'sim-vs-testbed.png', 'sim-vs-testbed.svg',
  ]);
  const axisTitles: Record<string, string[]> = {
    'synthetic-48-cdf': ['completion time since arrival / T_min (log scale)', 'fraction of peers finished', 'webtorrent (0/48, stopped at the time limit)'],
    'sim-12-cdf': ['completion time since arrival / T_min', 'fraction of peers finished', 'sim (12/12)'],
    'synthetic-24-source-link': ['seconds from the launch', 'slurpie (24/24 finished)', 'http (24/24 finished)', 'peers finished (since the launch)'],
    'synthetic-24-progress': ['seconds from arrival', 'share of the file held', 'all peers', 'slurpie', 'sim'],
    scaling: ['peers N', 'mean time / T_min (log)', 'source bytes / F (log)'],
    'backoff-ablation': ['mean time / T_min', 'source bytes / F', 'peak source GETs at once', 'slurpie-no-backoff'],
    'sim-vs-testbed': ['mean time / T_min', 'source bytes / F', 'synthetic-48 (N=48)'],
  };
  for (const [name, titles] of Object.entries(axisTitles)) {
    const svg = await readFile(join(out, `${name}.svg`), 'utf8');
    t.true(svg.startsWith('<svg'), name);
    for (const title of titles) t.true(svg.includes(`>${title}</text>`), `${name}.svg has "${title}"`);
    const size = pngSize(await readFile(join(out, `${name}.png`)));
    t.truthy(size, `${name}.png is a PNG`);
    const viewBox = /viewBox="0 0 (\d+) (\d+)"/.exec(svg);
    // The PNG is the SVG at twice its size: 2 pixels per SVG unit.
    t.is(size?.width, 2 * Number(viewBox?.[1]), `${name}.png width`);
    t.is(size?.height, 2 * Number(viewBox?.[2]), `${name}.png height`);
    t.true((size?.width ?? 0) >= 1000 && (size?.height ?? 0) >= 500, `${name}.png readable: ${size?.width}x${size?.height}`);
  }
});

test('a plot only when its data is there', async (t) => {
  const names = async (...files: string[]) => choosePlots(await loadRuns(files.map(fixture))).map((p) => p.name);
  // One scenario: its CDF, and sim beside slurpie in it; no scaling (one N), no ablation pair.
  // Its slurpie and http sampled the source's link (sourceLink): that plot too.
  // Its slurpie and sim peers reported their tenths (progressSeconds): the progress plot too.
  t.deepEqual(await names('synthetic-24.json'), ['synthetic-24-cdf', 'synthetic-24-source-link', 'synthetic-24-progress', 'sim-vs-testbed']);
  t.deepEqual(await names('synthetic-48.json'), ['synthetic-48-cdf', 'backoff-ablation', 'sim-vs-testbed']);
  // A simulator JSON alone: its CDF only; with a results file of another N: the scaling plot too.
  t.deepEqual(await names('sim-12.json'), ['sim-12-cdf']);
  t.deepEqual(await names('sim-12.json', 'synthetic-24.json'), ['sim-12-cdf', 'synthetic-24-cdf', 'synthetic-24-source-link', 'synthetic-24-progress', 'scaling', 'sim-vs-testbed']);
});

test('CDF: every peer counted, unfinished ones keep the curve below 1; skipped systems left out', async (t) => {
  const [plot] = choosePlots(await loadRuns([fixture('synthetic-24.json')]));
  const layers = (plot?.spec as { layer: { data: { values: { series: string; x: number; y: number }[] } }[] }).layer;
  const rows = layers[2]!.data.values;
  const end = (prefix: string) => rows.filter((r) => r.series.startsWith(prefix)).at(-1);
  t.is(end('webtorrent')?.y, 9 / 24, 'webtorrent: 9 of 24 finished');
  t.is(end('slurpie')?.y, 1);
  t.true((end('webtorrent')?.x ?? 0) >= 600 / 26.8, 'a system stopped at its time limit is drawn up to the limit');
  const lan48 = choosePlots(await loadRuns([fixture('synthetic-48.json')]))[0]!;
  t.false(JSON.stringify(lan48.spec).includes('libtorrent'), 'the skipped system is not drawn');
});

test("the source's link: a panel per system that sampled it, its rate a second at a time beside the share of its peers finished", async (t) => {
  const plot = choosePlots(await loadRuns([fixture('synthetic-24.json')])).find((p) => p.name === 'synthetic-24-source-link');
  const spec = plot?.spec as unknown as { data: { values: { panel: string; measure: string; x: number; y: number }[] }; title: { subtitle: string[] } };
  const rows = spec.data.values;
  t.deepEqual([...new Set(rows.map((r) => r.panel))], ['slurpie (24/24 finished)', 'http (24/24 finished)'], 'sim and webtorrent have no samples: no panel');
  const link = (panel: string, x: number) => rows.find((r) => r.panel.startsWith(panel) && r.measure.startsWith("the source's link") && r.x === x)?.y;
  // The fixture's slurpie: idle until 3 s, at the link's rate to 10 s, idle to 12 s, at the rate until its 36.2 MB are through.
  t.is(link('slurpie', 1), 0);
  t.is(link('slurpie', 5), 1);
  t.is(link('slurpie', 11), 0, 'the gap between leases shows');
  t.is(link('slurpie', 20), 1);
  const finished = rows.filter((r) => r.panel.startsWith('slurpie') && r.measure.startsWith('peers finished'));
  t.deepEqual([finished[0]?.y, finished.at(-1)?.y], [0, 1], 'from none to every peer');
  t.true(finished.every((r, i) => i === 0 || (r.x >= finished[i - 1]!.x && r.y >= finished[i - 1]!.y)), 'never decreasing');
  t.regex(spec.title.subtitle.join(' '), /slurpie: busy \d+% from 3\.5 s to its last data at 34\.0 s; http: busy 99% /);
  t.true(JSON.stringify(plot?.spec).includes('"x":{"datum":26.8,"type":"quantitative"}'), 'a rule at T_min, where a link full from the launch would have carried F');
});

test('progress: the median peer of each system at each tenth, from (0, 0); arrivals over a span split at their median', async (t) => {
  const plot = choosePlots(await loadRuns([fixture('synthetic-24.json')])).find((p) => p.name === 'synthetic-24-progress');
  const rows = (plot?.spec as unknown as { data: { values: { panel: string; series: string; x: number; y: number }[] } }).data.values;
  t.deepEqual([...new Set(rows.map((r) => r.panel))], ['all peers'], 'every peer arrived at once: one panel');
  t.deepEqual([...new Set(rows.map((r) => r.series))], ['slurpie', 'sim'], 'http and webtorrent report no tenths');
  const slurpie = rows.filter((r) => r.series === 'slurpie');
  t.deepEqual(slurpie.map((r) => r.y), [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]);
  t.true(slurpie.every((r, i) => i === 0 || r.x >= slurpie[i - 1]!.x), 'never earlier than the tenth before');

  // Four peers arriving over 20 s: the two by the median arrival (6 s) beside the two after it.
  const dir = await scratch(t);
  const marks = (first: number): number[] => Array.from({ length: 10 }, (_, i) => first + i);
  const peer = (arrivalSeconds: number, first: number) => ({ arrivalSeconds, seconds: first + 10, progressSeconds: marks(first) });
  const doc = { version: 1, scenario: { name: 'spread-4' }, fileBytes: 10, peers: 4, tMinSeconds: 5, systems: [{ system: 'slurpie', finished: 4, sourceRatio: 1, perPeer: [peer(0, 1), peer(2, 3), peer(10, 5), peer(20, 9)] }] };
  await writeFile(join(dir, 'spread-4.json'), JSON.stringify(doc));
  const spread = choosePlots(await loadRuns([join(dir, 'spread-4.json')])).find((p) => p.name === 'spread-4-progress');
  const spreadRows = (spread?.spec as unknown as { data: { values: { panel: string; x: number; y: number }[] } }).data.values;
  t.deepEqual([...new Set(spreadRows.map((r) => r.panel))], ['arrived by 6 s', 'arrived after 6 s']);
  const firstTenth = (panel: string) => spreadRows.find((r) => r.panel === panel && r.y === 0.1)?.x;
  t.is(firstTenth('arrived by 6 s'), 2, 'the median of 1 and 3');
  t.is(firstTenth('arrived after 6 s'), 7, 'the median of 5 and 9');
  // A bad mark is one line naming the file and the field.
  await writeFile(join(dir, 'bad.json'), JSON.stringify({ ...doc, systems: [{ ...doc.systems[0], perPeer: [{ arrivalSeconds: 0, seconds: 3, progressSeconds: [2, 1] }] }] }));
  await t.throwsAsync(loadRuns([join(dir, 'bad.json')]), { message: /bad\.json: systems\[0\]\.perPeer\[0\]\.progressSeconds must be at most 10 non-negative times, none earlier than the one before, got \[2,1\]$/ });
});

test('a simulator JSON is a point for its N, its times over the fluid bound', async (t) => {
  const sim = JSON.parse(await readFile(fixture('sim-12.json'), 'utf8'));
  const run = toRun('sim.json', sim);
  t.is(run.kind, 'sim');
  t.is(run.peers, 12);
  t.is(run.systems[0]?.system, 'sim');
  t.is(run.systems[0]?.finished, sim.completed);
  t.is(run.systems[0]?.meanRatio, sim.meanSeconds / sim.fluidBoundSeconds);
  t.is(toRun('nb.json', { ...sim, scenario: { ...sim.scenario, params: { backoff: false } } }).systems[0]?.system, 'sim-no-backoff');
  // Paired with a results file of the same N and size: sim against testbed across files.
  const testbed = { version: 1, scenario: { name: 'loop-12' }, fileBytes: sim.scenario.size, peers: 12, tMinSeconds: 8, systems: [{ system: 'slurpie', finished: 12, sourceRatio: 1.1, meanRatio: 1.4, peakSourceGets: 3 }] };
  t.deepEqual(choosePlots([run, toRun('loop-12.json', testbed)]).map((p) => p.name), ['sim-cdf', 'sim-vs-testbed']);
});

test('bad inputs: one line naming the file and what is wrong', async (t) => {
  const dir = await scratch(t);
  const write = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };
  const cases: [string, RegExp][] = [
    [join(dir, 'missing.json'), /^cannot read results file .*missing\.json: no such file$/],
    [await write('notjson.json', '{"version": 1,'), /notjson\.json: not JSON \(/],
    [await write('array.json', '[1, 2]'), /array\.json: must hold a JSON object, got \[1,2\]$/],
    [await write('other.json', '{"hello": "world"}'), /other\.json: is neither an experiment result .* got keys \["hello"\]$/],
    [await write('v2.json', '{"version": 2, "systems": []}'), /v2\.json: version must be 1, got 2$/],
    [await write('tmin.json', '{"version": 1, "scenario": {}, "fileBytes": 10, "peers": 2, "tMinSeconds": -1, "systems": []}'), /tmin\.json: tMinSeconds must be a positive number, got -1$/],
    [
      await write('peer.json', '{"version": 1, "scenario": {}, "fileBytes": 10, "peers": 2, "tMinSeconds": 1, "systems": [{"system": "x", "finished": 1, "sourceRatio": 1, "perPeer": [{"seconds": "soon"}]}]}'),
      /peer\.json: systems\[0\]\.perPeer\[0\]\.seconds must be a non-negative number or null, got "soon"$/,
    ],
    [
      await write('link.json', '{"version": 1, "scenario": {}, "fileBytes": 10, "peers": 2, "tMinSeconds": 1, "systems": [{"system": "x", "finished": 1, "sourceRatio": 1, "sourceLink": {"rate": 100, "samples": [[1, 50], [2, 40]]}}]}'),
      /link\.json: systems\[0\]\.sourceLink\.samples\[1\] must be no earlier and no smaller than the sample before it, got \[2,40\]$/,
    ],
  ];
  for (const [file, message] of cases) {
    const err = await t.throwsAsync(loadRuns([file]), { instanceOf: PlotInputError });
    t.regex(err?.message ?? '', message, file);
    t.false(err?.message.includes('\n'), `${file}: one line`);
  }
});

test('scaling: N spanning more than 8x goes on a log axis with a tick at each N; a narrow span stays linear', (t) => {
  const panel = (ns: number[]) => [{ yTitle: 'mean time / T_min', rows: ns.map((n) => ({ system: 'sim', n, value: 1.05, file: `n${n}.json` })) }];
  const xOf = (ns: number[]) => (scalingSpec('t', 's', panel(ns)) as unknown as { hconcat: { layer: { encoding: { x: Record<string, unknown> } }[] }[] }).hconcat[0]!.layer[0]!.encoding.x;
  t.like(xOf([12, 48, 200, 1000]), { title: 'peers N (log)', scale: { type: 'log' }, axis: { values: [12, 48, 200, 1000] } });
  t.like(xOf([12, 24, 48]), { title: 'peers N', scale: { zero: false } });
});

test('bar panels wrap to a second row past 1,400 px (four groups of two bars, three panels); a narrow plot stays in one row', (t) => {
  const panels = (groups: string[]) => ['mean time / T_min', 'source bytes / F', 'peak source GETs at once'].map((yTitle) => ({
    yTitle, format: '.2f', rows: groups.flatMap((group) => ['sim', 'sim-no-backoff'].map((system) => ({ group, system, value: 1 }))),
  }));
  const layout = (groups: string[]) => {
    const spec = barsSpec('t', 's', panels(groups)) as unknown as { columns: number; concat: unknown[] };
    return { columns: spec.columns, panels: spec.concat.length };
  };
  t.deepEqual(layout(['N=12', 'N=48', 'N=200', 'N=1000']), { columns: 2, panels: 3 }); // 600 px a panel
  t.deepEqual(layout(['N=12']), { columns: 3, panels: 3 }); // 150 px a panel
});

test('subtitles wrap at spaces into lines of at most 80 characters, losing no word; a longer word keeps its own line', (t) => {
  const text = Array.from({ length: 4 }, (_, i) => `scenario-${i} (N=${12 * (i + 1)}): sim/testbed mean 0.8${i}, source 1.0${i}`).join('; ');
  const lines = subtitleLines(text);
  t.true(lines.length > 1);
  t.true(lines.every((l) => l.length <= 80), lines.join('\n'));
  t.is(lines.join(' '), text);
  t.deepEqual(subtitleLines('short one'), ['short one']);
  const long = 'x'.repeat(90);
  t.deepEqual(subtitleLines(`a ${long} b`), ['a', long, 'b']);
});

renderTest('a long subtitle no longer widens a plot past its panels', async (t) => {
  t.timeout(60_000);
  const panel = { yTitle: 'mean time / T_min', format: '.2f', rows: [{ group: 'lan-12', system: 'sim', value: 1 }] };
  const subtitle = Array.from({ length: 12 }, (_, i) => `scenario-${i}: sim/testbed mean 0.9${i % 10}`).join('; '); // ~400 characters
  const { png } = await render(barsSpec('t', subtitle, [panel]));
  const size = pngSize(Buffer.from(png));
  // One 75 px bar and its legend: on one line the subtitle made it 8,786 px wide at scale 2.
  t.true((size?.width ?? Infinity) <= 2 * 900, `${size?.width} px`);
});

test('several runs of one scenario (experiment --runs): one bar each, the median, with the range as a whisker; not stacked into a sum', (t) => {
  const run = (file: string, slurpie: number, source: number) =>
    toRun(file, { version: 1, scenario: { name: 'lan-48' }, fileBytes: 32 * 2 ** 20, peers: 48, tMinSeconds: 26.8, systems: [
      { system: 'slurpie', finished: 48, sourceRatio: source, meanRatio: slurpie, peakSourceGets: 4 },
      { system: 'sim', finished: 48, sourceRatio: 1.05, meanRatio: 1.48, peakSourceGets: 4 },
    ] });
  const plot = choosePlots([run('a.json', 1.74, 1.02), run('b.json', 1.68, 1.03), run('c.json', 1.75, 1.02)]).find((p) => p.name === 'sim-vs-testbed');
  const spec = plot?.spec as unknown as { title: { subtitle: string[] }; concat: { data: { values: Record<string, unknown>[] }; layer: { mark: { type: string } }[] }[] };
  const [time, source] = spec.concat;
  t.deepEqual(time!.data.values.find((r) => r.system === 'slurpie'), { group: 'lan-48 (N=48)', system: 'slurpie', value: 1.74, lo: 1.68, hi: 1.75, runs: 3, top: 1.75 }); // the label above the whisker
  t.is(time!.data.values.length, 2, 'one bar per system, not one per run');
  t.like(source!.data.values.find((r) => r.system === 'slurpie'), { value: 1.02, lo: 1.02, hi: 1.03 });
  t.deepEqual(time!.layer.map((l) => l.mark.type), ['bar', 'rule', 'text']);
  const subtitle = spec.title.subtitle.join(' ');
  t.regex(subtitle, /lan-48 \(N=48\): sim\/testbed mean 0\.85 \(3 runs\), source 1\.03 \(3 runs\)/); // 1.48 / 1.74, 1.05 / 1.02
  t.regex(subtitle, /the bar is their median and the whisker their range/);
  // One run of each: plain bars, no whisker, no note.
  const single = choosePlots([run('a.json', 1.74, 1.02)]).find((p) => p.name === 'sim-vs-testbed')?.spec as unknown as typeof spec;
  t.deepEqual(single.concat[0]!.layer.map((l) => l.mark.type), ['bar', 'text']);
  t.notRegex(single.title.subtitle.join(' '), /median/);
});

test('the backoff ablation goes by N, whatever order its files came in (sim/*.json lists n1000 before n12)', async (t) => {
  const sim = JSON.parse(await readFile(fixture('sim-12.json'), 'utf8'));
  const at = (peers: number, backoff: boolean) => toRun(`n${peers}${backoff ? '' : '-no-backoff'}.json`, { ...sim, scenario: { ...sim.scenario, peers, params: { ...sim.scenario.params, backoff } } });
  const plot = choosePlots([at(1000, true), at(1000, false), at(12, true), at(12, false), at(200, true), at(200, false)]).find((p) => p.name === 'backoff-ablation');
  const rows = (plot?.spec as unknown as { concat: { data: { values: { group: string }[] } }[] }).concat[0]!.data.values;
  t.deepEqual([...new Set(rows.map((r) => r.group))], ['sim N=12', 'sim N=200', 'sim N=1000']);
});
