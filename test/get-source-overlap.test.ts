// `--param sourceRunsInFlight=2` through a real peer: the driver runs two Range GETs at once,
// each answered by its own sourceEnd, and the file is whole and verified; without it the
// source never sees two at once.
import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startSourceServer } from '../experiments/source/range-server.ts';
import { runSlurpie, scratch } from './fixtures/cli-run.ts';

test.serial('a lease holder with sourceRunsInFlight 2 overlaps its GETs, 1 (the default) never does; both files verified', async (t) => {
  t.timeout(120_000);
  const data = randomBytes(3 * 1024 * 1024);
  const sha256 = createHash('sha256').update(data).digest('hex');
  const dir = await scratch(t);
  const peakGets = async (extra: string[], name: string): Promise<number> => {
    // 2 MiB/s: each 64 KiB block takes ~30 ms, long enough for the next GET to start beside it.
    const source = await startSourceServer({ data, name: `${name}.src`, rate: 2 * 1024 * 1024 });
    t.teardown(() => source.close());
    const out = join(dir, name);
    const r = await runSlurpie(t, ['get', source.url, '-o', out, '--no-progress', '--block-size', '65536', '--sha256', sha256, ...extra]);
    t.is(r.code, 0, r.stderr);
    t.true((await readFile(out)).equals(data), `${name} is the file`);
    t.is(source.stats().bytesSent, data.length, 'every byte once');
    return source.stats().peakConcurrent;
  };
  t.is(await peakGets(['--param', 'sourceRunsInFlight=2'], 'two.bin'), 2);
  t.is(await peakGets([], 'one.bin'), 1);
  const bad = await runSlurpie(t, ['get', 'http://127.0.0.1:9/x', '--param', 'sourceRunsInFlight=3']);
  t.is(bad.code, 2);
  t.regex(bad.stderr, /sourceRunsInFlight must be 1 or 2/);
});
