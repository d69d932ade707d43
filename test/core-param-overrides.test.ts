// Overrides of the protocol's parameters (`--param NAME=VALUE`, a scenario's "params"): what
// is accepted, with which types, and the one-line error for everything else.
import test from 'ava';
import fc from 'fast-check';
import { checkParamOverrides, DEFAULT_PARAMS, OVERRIDABLE_PARAMS } from '../peer/core/params.ts';
import { describeParams, paramFlags, parseParamFlags } from '../bin/protocol-params.ts';

test('NAME=VALUE texts become typed overrides: numbers, milliseconds with a fraction, words', (t) => {
  t.deepEqual(parseParamFlags(['updateIntervalMs=1000', 'eta=3', 'digestEveryMs=2_500.5', 'groupSize=paper', ' U = 16 ']), {
    updateIntervalMs: 1000, eta: 3, digestEveryMs: 2500.5, groupSize: 'paper', U: 16,
  });
  t.deepEqual(parseParamFlags([]), {});
});

test('each mistake is one line that names the parameter and what was given', (t) => {
  const msg = (values: string[]): string => t.throws(() => parseParamFlags(values))?.message ?? '';
  t.is(msg(['eta']), '--param must be NAME=VALUE (e.g. updateIntervalMs=1000), got "eta"');
  t.is(msg(['=3']), '--param must be NAME=VALUE (e.g. updateIntervalMs=1000), got "=3"');
  t.regex(msg(['bogus=1']), /^--param: no protocol parameter "bogus" \(known: beta, eta, U, .*inOrderWindow\)$/);
  t.is(msg(['eta=2.5']), '--param: parameter eta must be a whole number, got 2.5');
  t.is(msg(['updateIntervalMs=soon']), '--param: parameter updateIntervalMs must be a number of milliseconds, got "soon"');
  t.is(msg(['updateIntervalMs=']), '--param: parameter updateIntervalMs must be a number of milliseconds, got ""');
  t.is(msg(['eta=-1']), '--param: parameter eta must be a non-negative number, got -1');
  t.is(msg(['groupSize=diameter']), '--param: parameter groupSize must be one of topology, mean-hops, paper, got diameter');
  t.is(msg(['k=2']), '--param: parameter k has a flag of its own: --source-k');
  t.is(msg(['blockSize=1024']), '--param: parameter blockSize has a flag of its own: --block-size');
  t.is(msg(['eta=3', 'eta=4']), '--param eta is given twice');
  t.is(msg(['U=2']), '--param: parameter U must be at least eta (U > η in the paper)', 'the rules between parameters hold too');
  for (const m of [msg(['bogus=1']), msg(['eta=x'])]) t.false(m.includes('\n'));
});

test('a scenario\'s params are checked by the same rules, typed as JSON gives them', (t) => {
  t.deepEqual(checkParamOverrides({ pipeline: 2, lastBlock: 'view' }), { pipeline: 2, lastBlock: 'view' });
  t.throws(() => checkParamOverrides({ pipeline: '2' }), { message: 'parameter pipeline must be a whole number, got "2"' });
  t.throws(() => checkParamOverrides({ lastBlock: 1 }), { message: 'parameter lastBlock must be a word such as wait, got 1' });
});

test('every overridable parameter goes through the command line and back unchanged (property)', (t) => {
  // U ≥ eta, and sourceRunsInFlight is 1 or 2: not any whole number.
  const numeric = OVERRIDABLE_PARAMS.filter((name) => typeof DEFAULT_PARAMS[name] === 'number' && name !== 'U' && name !== 'eta' && name !== 'sourceRunsInFlight');
  fc.assert(
    fc.property(fc.subarray(numeric, { minLength: 1 }), fc.integer({ min: 1, max: 100_000 }), (names, value) => {
      const overrides = Object.fromEntries(names.map((name) => [name, value]));
      t.deepEqual(parseParamFlags(paramFlags(overrides).filter((_, i) => i % 2 === 1)), overrides);
    }),
    { seed: 12, numRuns: 200 },
  );
  t.is(describeParams({ updateIntervalMs: 1000, eta: 3 }), 'updateIntervalMs 1000, eta 3');
  t.is(describeParams({}), null);
  t.is(describeParams(undefined), null);
});
