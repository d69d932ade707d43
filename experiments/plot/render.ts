// A vega-lite spec to SVG and PNG with no browser: vega-lite compiles it to vega, vega's headless
// View draws SVG (text widths estimated, no canvas needed), resvg (a prebuilt native package)
// rasterises the SVG. resvg draws text only with fonts it has been given: we ship none and
// load the system's DejaVu Sans (Debian fonts-dejavu-core) by path, so the output does not
// depend on which other fonts a machine has.
import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import type { TopLevelSpec } from 'vega-lite';

export const FONT_FAMILY = 'DejaVu Sans';

const FONT_DIRS = ['/usr/share/fonts/truetype/dejavu', '/usr/share/fonts/dejavu', '/usr/share/fonts/TTF'];
const FONT_FILES = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf'];

let fonts: string[] | undefined;

/** The font files resvg loads; throws a one-line error naming the package when there are none. */
export function fontFiles(): string[] {
  if (fonts) return fonts;
  for (const dir of FONT_DIRS) {
    const found = FONT_FILES.map((f) => `${dir}/${f}`).filter((p) => existsSync(p));
    if (found.length > 0) return (fonts = found);
  }
  // Elsewhere: ask fontconfig where it keeps DejaVu Sans (or any sans-serif).
  try {
    const path = execFileSync('fc-match', ['-f', '%{file}', `${FONT_FAMILY}:style=Book`], { encoding: 'utf8', timeout: 5000 }).trim();
    if (path && existsSync(path)) return (fonts = [path]);
  } catch {
    // no fontconfig: fall through
  }
  throw new Error(`no font for the plots: install DejaVu Sans (Debian: apt-get install fonts-dejavu-core), looked in ${FONT_DIRS.join(', ')}`);
}

export interface Rendered {
  svg: string;
  png: Buffer;
  width: number; // PNG pixels
  height: number;
}

/** Renders one vega-lite spec; `scale` is PNG pixels per SVG unit. */
export async function render(spec: TopLevelSpec, scale = 2): Promise<Rendered> {
  const [vega, { compile }, { Resvg }] = await Promise.all([import('vega'), import('vega-lite'), import('@resvg/resvg-js')]);
  const { spec: compiled } = compile(spec);
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  const svg = await view.toSVG();
  view.finalize();
  const resvg = new Resvg(svg, {
    background: 'white',
    fitTo: { mode: 'zoom', value: scale },
    font: { fontFiles: fontFiles(), loadSystemFonts: false, defaultFontFamily: FONT_FAMILY, sansSerifFamily: FONT_FAMILY },
  });
  const image = resvg.render();
  return { svg, png: image.asPng(), width: image.width, height: image.height };
}
