// `slurpie plot`: PNG and SVG plots of experiment results (experiments/plot), no browser needed.
// The plotting libraries load only when this command runs, so other commands start as fast.
import type { ArgumentsCamelCase, Argv, CommandModule } from 'yargs';
import { usageText } from '../usage-text.ts';

interface PlotArgs {
  results: string[];
  out: string;
}

const fail = (msg: string): void => {
  process.stderr.write(`slurpie plot: ${msg.replace(/\s+/g, ' ')} (see slurpie plot --help)\n`);
  process.exitCode = 2;
};

export const plotCommand: CommandModule<object, PlotArgs> = {
  command: 'plot <results..>',
  describe: 'draw PNG and SVG plots from experiment results (slurpie experiment) and simulator JSON (slurpie sim --json)',
  builder: (y: Argv) =>
    y
      .usage(
        '$0 plot RESULTS.json... [--out DIR]\n\nDraws, from the results files given, each plot their data allows, as DIR/NAME.png and DIR/NAME.svg:\n' +
          '  <file>-cdf           completion-time CDF per system (time since arrival / T_min; unfinished peers keep it below 1)\n' +
          "  <file>-source-link   the source's link a second at a time (share of its rate) beside the peers finished, a panel per system (testbed results)\n" +
          '  <file>-progress      the median peer of each system at each tenth of the file, from arrival (early and late arrivals apart when they spread)\n' +
          '  scaling              mean time / T_min and source bytes / F against N (inputs with at least two N)\n' +
          '  backoff-ablation     slurpie beside slurpie-no-backoff\n' +
          '  sim-vs-testbed       sim beside slurpie in one scenario (same file, or a sim JSON with the same N and file size)\n' +
          'Prints the files written, one a line.',
      )
      .positional('results', { type: 'string', array: true, demandOption: true, describe: 'results JSON files (slurpie experiment, or slurpie sim --json)' })
      .option('out', { type: 'string', default: 'plots', describe: 'directory for the plots (created if missing)' })
      .check((a) => {
        if (typeof a.out !== 'string' || a.out.trim() === '') throw new Error(`--out must be a directory, got "${String(a.out)}"`);
        return true;
      })
      .fail((msg: string | undefined, err: Error | undefined) => {
        const what = msg?.startsWith('Not enough non-option arguments') ? 'a results JSON file is needed, got nothing' : usageText(msg, err);
        process.stderr.write(`slurpie plot: ${what} (see slurpie plot --help)\n`);
        process.exit(2);
      }) as unknown as Argv<PlotArgs>,
  handler: async (args: ArgumentsCamelCase<PlotArgs>) => {
    const { writePlots } = await import('../../experiments/plot/write-plots.ts');
    const { PlotInputError } = await import('../../experiments/plot/results.ts');
    let written: string[];
    try {
      written = await writePlots(args.results.map(String), args.out);
    } catch (err) {
      if (err instanceof PlotInputError) return fail(err.message);
      throw err;
    }
    if (written.length === 0) return fail(`nothing to plot: no per-peer times, no two N, no pair of systems to compare in ${args.results.join(', ')}`);
    process.stdout.write(`${written.join('\n')}\n`);
  },
};
