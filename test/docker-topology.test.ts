// The topology server's image (Dockerfile, docker/topology-entrypoint.sh). No Docker engine
// runs here, so the image itself is not built: these tests check what can be checked
// without one: that every file the Dockerfile copies from the context exists and is not
// excluded by .dockerignore, the image's contract (node:20-slim, production dependencies,
// a non-root user, port 7070), and, for real, that the entrypoint makes HOST and PORT the
// address `slurpie topology` listens on and passes its arguments on.
import test from 'ava';
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './fixtures/consumer-project.ts';
import { freePort } from './fixtures/free-port.ts';

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const instructions = dockerfile
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));
const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

test('every file the Dockerfile copies from the build context exists and is not in .dockerignore', (t) => {
  const copies = instructions.filter((line) => /^COPY\s/i.test(line) && !/--from=/i.test(line));
  t.true(copies.length >= 3, dockerfile);
  for (const line of copies) {
    const sources = line.split(/\s+/).slice(1, -1).filter((word) => !word.startsWith('--'));
    for (const source of sources) {
      t.true(existsSync(join(ROOT, source)), `${source} (${line}) exists`);
      const top = source.replace(/^\.\//, '').split('/')[0]!;
      t.false(source !== '.' && ignored.includes(top), `${source} is not excluded by .dockerignore`);
    }
  }
  const entry = /^ENTRYPOINT\s+\["\.\/([^"]+)"/m.exec(instructions.join('\n'));
  t.truthy(entry, 'an ENTRYPOINT in exec form');
  t.true(dockerfile.includes(`COPY ${entry![1]} ./${entry![1]}`), 'the entrypoint is copied into the image');
  t.notThrows(() => accessSync(join(ROOT, entry![1]!), constants.X_OK), 'the entrypoint is executable');
});

test('the image: node:20-slim, a build stage, production dependencies only, a non-root user, HOST and PORT defaults, port 7070', (t) => {
  const froms = instructions.filter((line) => /^FROM\s/i.test(line));
  t.deepEqual(froms, ['FROM node:20-slim AS build', 'FROM node:20-slim']);
  const final = instructions.slice(instructions.indexOf('FROM node:20-slim'));
  t.true(final.some((line) => /^RUN npm ci --omit=dev\b/.test(line)), 'npm ci --omit=dev in the image');
  t.true(final.includes('COPY --from=build /src/dist ./dist'), 'the compiled CLI from the build stage');
  t.true(final.includes('USER node'), 'runs as the unprivileged node user');
  t.true(final.includes('EXPOSE 7070'));
  t.regex(final.join('\n'), /^ENV .*\bHOST=0\.0\.0\.0\b.*\bPORT=7070\b/m);
  t.true(existsSync(join(ROOT, 'tsconfig.build.json')) && /"build":/.test(readFileSync(join(ROOT, 'package.json'), 'utf8')), 'npm run build exists');
});

test('the entrypoint listens on HOST:PORT from the environment and passes its arguments to slurpie topology', async (t) => {
  t.timeout(90_000);
  const port = await freePort();
  const child = spawn(join(ROOT, 'docker', 'topology-entrypoint.sh'), ['--ttl', '17'], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid!;
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
  });
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.once('exit', (code) => reject(new Error(`exited (${code}) before listening: ${err}`)));
  });
  t.is(line, `listening on http://127.0.0.1:${port}`);
  const answer = await fetch(`http://127.0.0.1:${port}/v1/swarms/${'1'.repeat(64)}/peers`, { method: 'POST', body: JSON.stringify({ id: 'ab'.repeat(8), port: 9 }) });
  t.deepEqual(await answer.json(), { peers: [], ttl: 17, count: 1 }, '--ttl 17 reached the server');

  const bad = spawn(join(ROOT, 'docker', 'topology-entrypoint.sh'), [], { env: { ...process.env, HOST: '127.0.0.1', PORT: 'seventy' }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (bad.exitCode === null && bad.signalCode === null) process.kill(bad.pid!, 'SIGKILL');
  });
  let badErr = '';
  bad.stderr.on('data', (d: Buffer) => (badErr += d.toString()));
  const code = await new Promise<number | null>((resolve) => bad.once('exit', resolve));
  t.is(code, 2, 'a bad PORT is a usage error');
  t.regex(badErr, /^slurpie topology: --port must be an integer from 0 to 65535, got NaN/);
});
