// `slurpie plot`'s work: read the inputs, pick the plots they allow, write each as SVG and PNG.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { choosePlots } from './plots.ts';
import { render } from './render.ts';
import { loadRuns } from './results.ts';

/** Writes every plot the inputs allow into `outDir`; returns the paths written, in order. */
export async function writePlots(files: readonly string[], outDir: string): Promise<string[]> {
  const plots = choosePlots(await loadRuns(files));
  if (plots.length === 0) return [];
  await mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const plot of plots) {
    const { svg, png } = await render(plot.spec);
    const base = join(outDir, plot.name);
    await writeFile(`${base}.svg`, svg);
    await writeFile(`${base}.png`, png);
    written.push(`${base}.png`, `${base}.svg`);
  }
  return written;
}
