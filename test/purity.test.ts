// DESIGN.md: peer/core and estimation are sans-IO — no node: imports, sockets, clock or
// global randomness — so the node, the simulator and the tests all drive the same code.
import test from 'ava';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

const FORBIDDEN = /from ['"](node:|fs|net|http|ws|express|undici)|require\(|Date\.now\(|Math\.random\(|setTimeout\(|setInterval\(|performance\.now\(/;

for (const dir of ['peer/core', 'estimation']) {
  test(`${dir} stays pure`, async (t) => {
    const files = (await readdir(dir)).filter((f) => f.endsWith('.ts'));
    t.true(files.length > 0);
    for (const file of files) {
      const lines = (await readFile(join(dir, file), 'utf8')).split('\n');
      lines.forEach((line, i) => {
        if (/^\s*(\/\/|\*)/.test(line)) return; // comments may name what is forbidden
        t.false(FORBIDDEN.test(line), `${dir}/${file}:${i + 1}: ${line.trim()}`);
      });
    }
  });
}
