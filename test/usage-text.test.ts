// yargs' usage failures, as every command prints them: one line (bin/usage-text.ts).
import test from 'ava';
import yargs from 'yargs';
import { usageText } from '../bin/usage-text.ts';

function failureOf(argv: string[]): string {
  let line = '';
  void yargs(argv)
    .option('uplink', { type: 'string', choices: ['fifo', 'fair'] })
    .option('peers', { type: 'number', requiresArg: true })
    .strict()
    .exitProcess(false)
    .fail((msg, err) => {
      line = usageText(msg, err);
    })
    .parseSync();
  return line;
}

test('a bad choice is one line naming the flag, the choices and what was given', (t) => {
  const line = failureOf(['--uplink', 'bogus']);
  t.is(line, '--uplink must be one of "fifo", "fair", got "bogus"');
});

test('a missing value and an unknown flag read the same way; nothing spans two lines', (t) => {
  t.is(failureOf(['--peers']), '--peers needs a value, got nothing');
  t.is(failureOf(['--bogus']), 'unknown flag or extra argument, got bogus');
  t.is(usageText('first\n  second', undefined), 'first; second');
  t.is(usageText(undefined, new Error('from a check')), 'from a check');
});
