// The topology server (as its own process) under garbage and a burst: malformed requests
// (bad JSON, ids, ports, swarm ids, oversized bodies, broken HTTP) all get a 4xx and change
// nothing; a burst of registrations all get 200 and are all counted; RSS stays bounded.
import { connect } from 'node:net';
import { SeededRng } from '../../estimation/random.ts';
import { announced, killChild, peakRss, spawnSlurpie } from '../swarm/processes.ts';
import type { FaultOptions, FaultRow } from './fault-row.ts';
import { MiB } from './scene.ts';

const RSS_BOUND = 256 * MiB;
const CONCURRENCY = 32;

interface Answer { status: number }

export async function run(opts: FaultOptions): Promise<FaultRow> {
  // Short: every kind of garbage 100 times, and a burst that still spans several swarms.
  const bad = opts.short ? 1_200 : 10_000;
  const burst = opts.short ? 1_500 : 20_000;
  const row = { fault: `topology: ${bad} malformed + ${burst} registrations`, expected: 'all answered, bad ones change nothing, RSS bounded' };
  const child = spawnSlurpie(['topology', '--port', '0']);
  opts.track(child);
  try {
    const base = await announced(child, /^listening on (\S+)/);
    // Every id and every byte of garbage comes from the seed; each request draws from its own
    // generator, so the concurrent pool's interleaving cannot change what is sent.
    const rngFor = (stream: number, i: number): SeededRng => new SeededRng((opts.seed * 7919 + stream * 1_000_003 + i) >>> 0);
    const setup = rngFor(0, 0);
    const target = hex(setup, 32);
    const count = async (swarm: string): Promise<number> => ((await (await fetch(`${base}/v1/swarms/${swarm}`)).json()) as { peers: number }).peers;
    for (let i = 0; i < 5; i++) await post(base, target, JSON.stringify({ id: hex(setup, 16), port: 1000 + i }));
    const before = await count(target);

    const badStatus: Record<string, number> = {};
    let unanswered = 0;
    let wrongly2xx = 0;
    await pool(bad, async (i) => {
      const a = await malformed(base, target, i, rngFor(1, i)).catch(() => null);
      if (a === null) unanswered++;
      else {
        badStatus[a.status] = (badStatus[a.status] ?? 0) + 1;
        if (a.status < 400 || a.status >= 500) wrongly2xx++;
      }
    });
    const after = await count(target);

    // The burst: `burst` new registrations over swarms of 500 (under the per-swarm cap).
    const swarms = Array.from({ length: Math.ceil(burst / 500) }, () => hex(setup, 32));
    let burstOk = 0;
    await pool(burst, async (i) => {
      const a = await post(base, swarms[i % swarms.length]!, JSON.stringify({ id: hex(rngFor(2, i), 16), port: 1 + (i % 65535) })).catch(() => null);
      if (a?.status === 200) burstOk++;
    });
    const counted = (await Promise.all(swarms.map(count))).reduce((a, b) => a + b, 0);
    const rss = await peakRss(child.pid);
    const alive = child.proc.exitCode === null;
    const pass = alive && unanswered === 0 && wrongly2xx === 0 && before === 5 && after === before && burstOk === burst && counted === burst && rss > 0 && rss < RSS_BOUND;
    return {
      ...row,
      observed: `bad: ${Object.entries(badStatus).map(([s, n]) => `${n}x${s}`).join(' ')}, ${unanswered} unanswered, ${wrongly2xx} not 4xx; ` +
        `target swarm ${before} -> ${after} peers; burst ${burstOk}/${burst} OK, ${counted} counted; peak RSS ${(rss / MiB).toFixed(0)} MiB`,
      bytesLost: null, // no file is downloaded here: registrations are checked by count above
      pass,
    };
  } finally {
    killChild(child, 'SIGKILL');
    await child.exited;
  }
}

function randomBytes(rng: SeededRng, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rng.next() * 256);
  return out;
}

function hex(rng: SeededRng, bytes: number): string {
  return randomBytes(rng, bytes).toString('hex');
}

async function post(base: string, swarm: string, body: string | Buffer): Promise<Answer> {
  const res = await fetch(`${base}/v1/swarms/${swarm}/peers`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  await res.arrayBuffer();
  return { status: res.status };
}

/** The i-th malformed request, aimed at `target` wherever a swarm is named. */
async function malformed(base: string, target: string, i: number, rng: SeededRng): Promise<Answer> {
  const id = hex(rng, 16);
  switch (i % 12) {
    case 0: return post(base, target, '{"id": "' + id); // truncated JSON
    case 1: return post(base, target, JSON.stringify({ id: 'not-hex!', port: 80 }));
    case 2: return post(base, target, JSON.stringify({ id: 'ab', port: 80 })); // too short
    case 3: return post(base, target, JSON.stringify({ id, port: [0, 70000, -1, 1.5, '80', null][i % 6] }));
    case 4: return post(base, 'zz' + target.slice(2), JSON.stringify({ id, port: 80 })); // bad swarm id
    case 5: return post(base, target, Buffer.alloc(8 * 1024 + Math.floor(rng.next() * 4096), 0x20)); // over 4 KiB
    case 6: return post(base, target, JSON.stringify({ id, port: 80, host: 'x'.repeat(3000) }));
    case 7: return post(base, target, JSON.stringify([{ id, port: 80 }]));
    case 8: return post(base, target, randomBytes(rng, 1 + Math.floor(rng.next() * 200)));
    case 9: {
      const res = await fetch(`${base}/v1/swarms/${target}/peers/${'g'.repeat(20)}`, { method: 'DELETE' });
      await res.arrayBuffer();
      return { status: res.status };
    }
    case 10: {
      const res = await fetch(`${base}/v1/swarms/${target}/peers`, { method: 'PUT', body: '{}' });
      await res.arrayBuffer();
      return { status: res.status };
    }
    default: return raw(base, i % 24 === 11 ? 'GARBAGE \x00\x01\r\n\r\n' : `POST /v1/swarms/${target}/peers HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n`);
  }
}

/** Broken HTTP straight on a socket: the answer's status line. */
function raw(base: string, text: string): Promise<Answer> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.hostname, port: Number(u.port) });
    let got = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer')));
    socket.on('data', (d) => (got += d.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      const m = /^HTTP\/1\.1 (\d{3})/.exec(got);
      if (m) resolve({ status: Number(m[1]) });
      else reject(new Error('no status line'));
    });
    socket.end(text);
  });
}

async function pool(n: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < n) await task(next++);
  }));
}
