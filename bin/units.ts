// Sizes and rates on the command line: "64MiB", "4MiB" (bytes per second), "1.5GiB", "1000".
// A bare K, M or G counts in 1024s, as curl's --limit-rate and wget's do ("2M" is 2 MiB).

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
};

/** Parses a byte count; throws a one-line Error naming the flag on bad input. */
export function parseBytes(value: unknown, flag: string): number {
  const text = String(value).trim();
  const match = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)(?:\/s)?$/.exec(text);
  const unit = match ? UNITS[(match[2] ?? '').toLowerCase()] : undefined;
  if (!match || unit === undefined) {
    throw new Error(`--${flag}: cannot read "${text}" as a size (examples: 4096, 256KiB, 64MiB, 1GiB)`);
  }
  const bytes = Math.round(Number(match[1]) * unit);
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new Error(`--${flag}: must be a positive size, got "${text}"`);
  return bytes;
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let i = 0;
  while (Math.abs(value) >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${i === 0 ? value : value.toFixed(1)} ${units[i]}`;
}
