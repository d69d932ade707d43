// The host list of a launcher run (issue #12): real machines, PlanetLab-style, reached by ssh.
//
// One host per line: `[user@]host[:port] [key=value ...]`; `#` starts a comment.
//   slots=N     peers this host runs at once (default 1)
//   dir=PATH    scratch directory on the host (default /tmp/slurpie-launch)
//   slurpie=CMD how to run slurpie there (default: `slurpie`, i.e. `npm install -g slurpie`)
//   key=PATH    ssh identity file, on this machine
// Example:
//   root@planetlab1.example.org slots=2
//   127.0.0.1:2222 slurpie="node /opt/slurpie/bin/slurpie.js"
// Values may be double-quoted to hold spaces. Nothing here is run: hosts.ts only parses.

export interface Host {
  user: string | null;
  host: string;
  port: number;
  slots: number;
  dir: string;
  slurpie: string;
  key: string | null;
  line: number; // in the file, for messages
}

const DEFAULT_DIR = '/tmp/slurpie-launch';
const KEYS = new Set(['slots', 'dir', 'slurpie', 'key']);

/** Parses a host list; throws an Error of one line naming the line at fault. */
export function parseHosts(text: string, source = 'hosts file'): Host[] {
  const hosts: Host[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    const at = `${source} line ${i + 1}`;
    const [target, ...rest] = tokens(line, at);
    const host = parseTarget(target as string, at);
    for (const pair of rest) {
      const eq = pair.indexOf('=');
      const key = eq > 0 ? pair.slice(0, eq) : pair;
      const value = eq > 0 ? pair.slice(eq + 1) : '';
      if (!KEYS.has(key) || eq < 0) throw new Error(`${at}: unknown setting "${pair}" (known: slots=N, dir=PATH, slurpie=CMD, key=PATH)`);
      if (value === '') throw new Error(`${at}: ${key}= needs a value`);
      if (key === 'slots') {
        const n = Number(value);
        if (!Number.isInteger(n) || n < 1 || n > 1000) throw new Error(`${at}: slots must be a whole number from 1 to 1000, got "${value}"`);
        host.slots = n;
      } else if (key === 'dir') {
        if (!value.startsWith('/') || value === '/') throw new Error(`${at}: dir must be an absolute path below /, got "${value}"`);
        host.dir = value;
      } else if (key === 'slurpie') host.slurpie = value;
      else host.key = value;
    }
    host.line = i + 1;
    hosts.push(host);
  });
  if (hosts.length === 0) throw new Error(`${source}: no hosts (one per line: [user@]host[:port] [slots=N] [dir=PATH] [slurpie=CMD] [key=PATH])`);
  return hosts;
}

/** `[user@]host[:port]`, with IPv6 literals in brackets. */
function parseTarget(target: string, at: string): Host {
  const m = /^(?:([a-z_][a-z0-9_.-]*)@)?(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d+))?$/i.exec(target);
  if (!m) throw new Error(`${at}: not a host, expected [user@]host[:port], got "${target}"`);
  const port = m[3] === undefined ? 22 : Number(m[3]);
  if (!(port >= 1 && port <= 65535)) throw new Error(`${at}: port must be 1–65535, got ${m[3]}`);
  return { user: m[1] ?? null, host: (m[2] as string).replace(/^\[|\]$/g, ''), port, slots: 1, dir: DEFAULT_DIR, slurpie: 'slurpie', key: null, line: 0 };
}

// Splits on blanks; a double-quoted part keeps its blanks (key="a b").
function tokens(line: string, at: string): string[] {
  const out: string[] = [];
  const re = /([^\s"]+)?(?:"([^"]*)")?/y;
  let i = 0;
  while (i < line.length) {
    if (/\s/.test(line[i] as string)) {
      i++;
      continue;
    }
    re.lastIndex = i;
    const m = re.exec(line);
    if (!m || m[0] === '') throw new Error(`${at}: unbalanced quote`);
    out.push((m[1] ?? '') + (m[2] ?? ''));
    i = re.lastIndex;
    if (i < line.length && !/\s/.test(line[i] as string)) throw new Error(`${at}: unbalanced quote`);
  }
  return out;
}
