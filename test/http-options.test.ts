// The request headers a peer sends to the source (issue #13): -H lines parsed and refused as
// curl users expect, the user's User-Agent winning over slurpie's, and the version in the
// default User-Agent in step with package.json.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { DEFAULT_USER_AGENT, SLURPIE_VERSION, parseHeaderLine, sourceHeaders } from '../peer/node/request-headers.ts';

test('"Name: value" lines: names lowercased, values trimmed, empty values allowed', (t) => {
  t.deepEqual(parseHeaderLine('X-Token:  abc def '), { name: 'x-token', value: 'abc def' });
  t.deepEqual(parseHeaderLine('Accept:'), { name: 'accept', value: '' });
  t.deepEqual(parseHeaderLine('Cookie: a=b; c=d'), { name: 'cookie', value: 'a=b; c=d' });
});

test('malformed or reserved lines are refused with a reason', (t) => {
  for (const [line, reason] of [
    ['no colon', /Name: value/],
    [': empty name', /Name: value/],
    ['Bad Name: x', /header name/],
    ['Ümlaut: x', /header name/],
    ['Range: bytes=0-1', /slurpie sets it/],
    ['if-range: "x"', /slurpie sets it/],
    ['Host: elsewhere', /slurpie sets it/],
    ['Connection: close', /slurpie sets it/],
    ['X-A: one\r\nX-B: two', /control characters/],
    ['X-A: bell\u0007', /control characters/],
  ] as const) {
    const parsed = parseHeaderLine(line);
    t.true('error' in parsed && reason.test(parsed.error), `${JSON.stringify(line)}: ${JSON.stringify(parsed)}`);
  }
});

test('sourceHeaders: the default User-Agent, replaced by --user-agent, replaced by a -H User-Agent', (t) => {
  t.deepEqual(sourceHeaders(undefined, undefined), { 'user-agent': DEFAULT_USER_AGENT });
  t.deepEqual(sourceHeaders({ 'X-A': '1' }, 'tool/2'), { 'x-a': '1', 'user-agent': 'tool/2' });
  t.deepEqual(sourceHeaders({ 'User-Agent': 'mine' }, 'tool/2'), { 'user-agent': 'mine' });
  t.throws(() => sourceHeaders({ Range: 'bytes=0-0' }, undefined), { message: /Range/ });
  t.throws(() => sourceHeaders({}, 'a\nb'), { message: /user agent/ });
});

test('the default User-Agent names the package version', (t) => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  t.is(SLURPIE_VERSION, pkg.version, 'update SLURPIE_VERSION in peer/node/request-headers.ts with package.json');
  t.is(DEFAULT_USER_AGENT, `slurpie/${pkg.version}`);
});
