// The vega-lite specs of `slurpie plot`, built from rows the caller has already picked
// (experiments/plot/plots.ts). One look for all: DejaVu Sans, a fixed palette per system
// (slurpie always the same blue), sizes readable at 100% in a README.
import type { TopLevelSpec } from 'vega-lite';
import { FONT_FAMILY } from './render.ts';

/** The same colour for a system in every plot; unknown systems get the rest in order. */
const SYSTEM_COLORS: Record<string, string> = {
  slurpie: '#1f77b4',
  'slurpie-no-backoff': '#6baed6',
  sim: '#ff7f0e',
  'sim-no-backoff': '#fdae6b',
  http: '#7f7f7f',
  webtorrent: '#2ca02c',
  libtorrent: '#9467bd',
  bittorrent: '#2ca02c',
};
const SPARE_COLORS = ['#d62728', '#8c564b', '#e377c2', '#bcbd22', '#17becf'];

function colorScale(systems: readonly string[]): { domain: string[]; range: string[] } {
  let spare = 0;
  const known = Object.keys(SYSTEM_COLORS);
  const rank = (s: string) => (known.includes(s) ? known.indexOf(s) : known.length);
  const domain = [...new Set(systems)].sort((a, b) => rank(a) - rank(b)); // slurpie first, then as listed
  return { domain, range: domain.map((s) => SYSTEM_COLORS[s] ?? SPARE_COLORS[spare++ % SPARE_COLORS.length]!) };
}

const CONFIG = {
  font: FONT_FAMILY,
  background: 'white',
  padding: 12,
  title: { fontSize: 17, subtitleFontSize: 13, subtitleColor: '#555', anchor: 'start', offset: 12 },
  axis: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: 'normal', gridColor: '#e6e6e6' },
  legend: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: 'normal', labelLimit: 0, titleLimit: 0 },
  header: { labelFontSize: 13, titleFontSize: 13 },
  view: { stroke: '#bbb' },
} as const;

const WIDTH = 520;
const HEIGHT = 320;

/**
 * vega sizes a plot by an estimate of its text (about 10.4 px a character at 13 px, wider than
 * DejaVu Sans draws it): 80 characters are about one 520 px panel and its legend.
 */
const SUBTITLE_CHARS = 80;

/**
 * A subtitle as lines of at most `chars` characters, broken at spaces (a word longer than that
 * keeps its own line): on one line, a long one made the plot far wider than its panels.
 */
export function subtitleLines(text: string, chars = SUBTITLE_CHARS): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ').filter((w) => w !== '')) {
    if (line !== '' && line.length + 1 + word.length > chars) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

export interface CdfRow {
  series: string; // legend entry, e.g. "slurpie (48/48 finished)"
  system: string;
  x: number; // seconds / T_min
  y: number; // fraction of the system's peers finished by then
}

/** Completion-time CDF: one step line per system, a dashed rule at T_min; a log x axis when
 * the systems are far apart (plain HTTP at N·T_min next to slurpie near T_min). */
export function cdfSpec(title: string, subtitle: string, rows: CdfRow[], xStart: number, log: boolean): TopLevelSpec {
  const series = [...new Set(rows.map((r) => r.series))];
  const bySeries = colorScale(rows.map((r) => r.system));
  const range = series.map((s) => bySeries.range[bySeries.domain.indexOf(rows.find((r) => r.series === s)!.system)]!);
  const xEnd = Math.max(...rows.map((r) => r.x));
  const x = {
    field: 'x',
    type: 'quantitative',
    title: `completion time since arrival / T_min${log ? ' (log scale)' : ''}`,
    scale: log ? { type: 'log', domain: [xStart, xEnd], nice: false } : { domain: [0, xEnd], nice: false },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: subtitleLines(subtitle) },
    width: WIDTH,
    height: HEIGHT,
    config: CONFIG,
    layer: [
      {
        data: { values: [{ x: 1, y: 1 }] },
        mark: { type: 'rule', strokeDash: [5, 4], color: '#444' },
        encoding: { x },
      },
      {
        data: { values: [{ x: 1, y: 1 }] },
        mark: { type: 'text', text: 'T_min', align: 'center', dy: -8, fontSize: 12, color: '#444' },
        encoding: { x, y: { field: 'y', type: 'quantitative' } },
      },
      {
        data: { values: rows },
        mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2.5, clip: true },
        encoding: {
          x,
          y: { field: 'y', type: 'quantitative', title: 'fraction of peers finished', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
          color: { field: 'series', type: 'nominal', title: 'system (peers finished)', scale: { domain: series, range } },
          detail: { field: 'series' },
        },
      },
    ],
  } as TopLevelSpec;
}

export interface PointRow {
  system: string;
  n: number; // peers
  value: number;
  file: string; // where the point came from, in the tooltip of the SVG
}

export interface Panel {
  yTitle: string;
  rows: PointRow[];
}

/** Ratios that span more than this factor go on a log axis (plain HTTP's N·F next to slurpie's 1.1·F). */
const LOG_SPAN = 15;

/** Ns that span more than this factor go on a log axis (12 and 1,000 peers on one plot). */
const LOG_N_SPAN = 8;

function lineChart(panel: Panel, colors: { domain: string[]; range: string[] }): object {
  const values = panel.rows.map((r) => r.value).filter((v) => v > 0);
  const log = values.length > 0 && Math.max(...values) / Math.min(...values) > LOG_SPAN;
  const ns = panel.rows.map((r) => r.n).filter((n) => n > 0);
  const logN = ns.length > 0 && Math.max(...ns) / Math.min(...ns) > LOG_N_SPAN;
  const encoding = {
    x: logN
      ? { field: 'n', type: 'quantitative', title: 'peers N (log)', scale: { type: 'log' }, axis: { values: [...new Set(ns)].sort((a, b) => a - b), format: ',d' } }
      : { field: 'n', type: 'quantitative', title: 'peers N', scale: { zero: false, nice: true } },
    y: { field: 'value', type: 'quantitative', title: log ? `${panel.yTitle} (log)` : panel.yTitle, scale: log ? { type: 'log' } : { zero: true } },
    color: { field: 'system', type: 'nominal', title: 'system', scale: colors },
    tooltip: [{ field: 'system' }, { field: 'n' }, { field: 'value', format: '.3f' }, { field: 'file' }],
  };
  return {
    width: 400,
    height: 300,
    data: { values: log ? panel.rows.filter((r) => r.value > 0) : panel.rows },
    layer: [
      { mark: { type: 'line', strokeWidth: 2.5 }, encoding },
      { mark: { type: 'point', filled: true, size: 70 }, encoding },
    ],
  };
}

/** Mean time and source bytes against N: two panels side by side, one line per system. */
export function scalingSpec(title: string, subtitle: string, panels: Panel[]): TopLevelSpec {
  const colors = colorScale(panels.flatMap((p) => p.rows.map((r) => r.system)));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: subtitleLines(subtitle) },
    config: CONFIG,
    hconcat: panels.map((p) => lineChart(p, colors)),
    resolve: { scale: { color: 'shared' } },
  } as TopLevelSpec;
}

export interface BarRow {
  group: string; // x: the scenario
  system: string;
  value: number; // one run's, or the median of several
  lo?: number; // with several runs: their range, drawn as a whisker
  hi?: number;
  runs?: number;
}

export interface BarPanel {
  yTitle: string;
  rows: BarRow[];
  format: string; // d3 format of the value labels
}

/** Width of one bar's band, px. */
const BAR_STEP = 75;
/** Panels side by side up to this width, px; more wrap to the next row (readable at page width). */
const MAX_ROW_WIDTH = 1400;

function barChart(panel: BarPanel, colors: { domain: string[]; range: string[] }, groups: string[]): object {
  const encoding = {
    x: { field: 'group', type: 'nominal', title: null, sort: groups, axis: { labelAngle: 0, labelFontSize: 13, labelLimit: 0 } },
    xOffset: { field: 'system', type: 'nominal', sort: colors.domain },
    y: { field: 'value', type: 'quantitative', title: panel.yTitle, scale: { zero: true } },
    color: { field: 'system', type: 'nominal', title: 'system', scale: colors },
  };
  const ranged = panel.rows.some((r) => r.lo !== undefined);
  // The label sits above the bar, or above its whisker.
  const rows = panel.rows.map((r) => ({ ...r, top: r.hi ?? r.value }));
  return {
    width: { step: BAR_STEP }, // per bar (xOffset band): a group of two bars is 150 px, room for its label
    height: 260,
    data: { values: rows },
    layer: [
      { mark: { type: 'bar', width: { band: 0.9 } }, encoding },
      ...(ranged
        ? [{
          transform: [{ filter: 'isValid(datum.lo)' }],
          mark: { type: 'rule', color: '#222', strokeWidth: 1.5 },
          encoding: { x: encoding.x, xOffset: encoding.xOffset, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
        }]
        : []),
      {
        mark: { type: 'text', baseline: 'bottom', dy: -3, fontSize: 12, color: '#222' },
        encoding: { ...encoding, y: { ...encoding.y, field: 'top' }, color: { value: '#222' }, text: { field: 'value', type: 'quantitative', format: panel.format } },
      },
    ],
  };
}

/** Grouped bars, one panel per measure, one bar per system within each scenario. */
export function barsSpec(title: string, subtitle: string, panels: BarPanel[]): TopLevelSpec {
  const colors = colorScale(panels.flatMap((p) => p.rows.map((r) => r.system)));
  const groups = [...new Set(panels.flatMap((p) => p.rows.map((r) => r.group)))];
  const panelWidth = groups.length * colors.domain.length * BAR_STEP;
  const columns = Math.max(1, Math.min(panels.length, Math.floor(MAX_ROW_WIDTH / panelWidth)));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: subtitleLines(subtitle) },
    config: CONFIG,
    concat: panels.map((p) => barChart(p, colors, groups)),
    columns,
    resolve: { scale: { color: 'shared' } },
  } as TopLevelSpec;
}

export interface LinkRow {
  panel: string; // one panel per system, e.g. "slurpie (48/48 finished)"
  measure: string; // legend entry: the link's rate or the peers finished
  x: number; // seconds from the launch
  y: number; // a share: of the link's rate, or of the system's peers
}

/** The panels' legend is below them: a subtitle only as wide as a panel. */
const LINK_SUBTITLE_CHARS = 60;

/** Blue for the link's rate, grey for the peers finished: the same in every panel. */
const LINK_COLORS = ['#1f77b4', '#555555'];

/**
 * The source's link over a run: per system a panel (its own time axis: plain HTTP takes N times
 * as long as slurpie), the link's rate a second at a time as a share of what it allows, and the
 * share of the system's peers finished, on one 0–100% axis; a dashed rule at the link's rate, a
 * dotted one at T_min.
 */
export function sourceLinkSpec(title: string, subtitle: string, rows: LinkRow[], measures: [string, string], tMinSeconds: number): TopLevelSpec {
  const x = { field: 'x', type: 'quantitative', title: 'seconds from the launch', scale: { nice: false, zero: true } };
  const tMin = { datum: tMinSeconds, type: 'quantitative' };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: subtitleLines(subtitle, LINK_SUBTITLE_CHARS) },
    config: CONFIG,
    data: { values: rows },
    facet: { row: { field: 'panel', type: 'nominal', title: null, sort: [...new Set(rows.map((r) => r.panel))], header: { labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top', labelFontSize: 13 } } },
    spec: {
      width: WIDTH,
      height: 180,
      layer: [
        { mark: { type: 'rule', strokeDash: [5, 4], color: '#444' }, encoding: { y: { datum: 1 } } },
        // T_min: a link full from the launch would have carried F by then.
        { mark: { type: 'rule', strokeDash: [2, 3], color: '#444' }, encoding: { x: tMin } },
        { mark: { type: 'text', text: 'T_min', align: 'left', baseline: 'top', dx: 3, dy: 3, fontSize: 12, color: '#444' }, encoding: { x: tMin, y: { datum: 1.1 } } },
        {
          mark: { type: 'line', interpolate: 'step-after', strokeWidth: 2 },
          encoding: {
            x,
            y: { field: 'y', type: 'quantitative', title: null, scale: { domain: [0, 1.1] }, axis: { format: '.0%', values: [0, 0.25, 0.5, 0.75, 1] } },
            color: { field: 'measure', type: 'nominal', title: null, scale: { domain: measures, range: LINK_COLORS }, legend: { orient: 'bottom', direction: 'vertical' } },
          },
        },
      ],
    },
    resolve: { scale: { x: 'independent' } },
  } as TopLevelSpec;
}

export interface ProgressRow {
  panel: string; // "all peers", or which arrivals
  series: string; // legend entry: the system
  system: string;
  x: number; // seconds from arrival
  y: number; // share of the file held
}

/** The median peer's progress: a line per system through its ten tenths, a panel per arrival group, each with its own time axis. */
export function progressSpec(title: string, subtitle: string, rows: ProgressRow[]): TopLevelSpec {
  const series = [...new Set(rows.map((r) => r.series))];
  const bySystem = colorScale(rows.map((r) => r.system));
  const range = series.map((s) => bySystem.range[bySystem.domain.indexOf(rows.find((r) => r.series === s)!.system)]!);
  const encoding = {
    x: { field: 'x', type: 'quantitative', title: 'seconds from arrival', scale: { zero: true, nice: true } },
    y: { field: 'y', type: 'quantitative', title: 'share of the file held', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
    color: { field: 'series', type: 'nominal', title: 'system', scale: { domain: series, range } },
    detail: { field: 'series' },
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: subtitleLines(subtitle) },
    config: CONFIG,
    data: { values: rows },
    facet: { column: { field: 'panel', type: 'nominal', title: null, sort: [...new Set(rows.map((r) => r.panel))], header: { labelFontSize: 13 } } },
    spec: {
      width: 360,
      height: 260,
      layer: [
        { mark: { type: 'line', strokeWidth: 2.5 }, encoding },
        { mark: { type: 'point', filled: true, size: 45 }, encoding },
      ],
    },
    resolve: { scale: { x: 'independent' } },
  } as TopLevelSpec;
}
