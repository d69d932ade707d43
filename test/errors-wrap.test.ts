// asSlurpieError: the one error type a library caller meets, whatever failed below.
import test from 'ava';
import { asSlurpieError, EXIT_CODES, SlurpieError } from '../peer/errors.ts';

test('a SlurpieError passes through unchanged', (t) => {
  const err = new SlurpieError('SOURCE_HTTP', 'HTTP 404');
  t.is(asSlurpieError(err), err);
});

test('an unknown error becomes INTERNAL, with its message and the original as cause', (t) => {
  const original = new TypeError('x is not a function');
  const err = asSlurpieError(original);
  t.is(err.code, 'INTERNAL');
  t.is(err.message, 'x is not a function');
  t.is(err.cause, original);
  t.is(EXIT_CODES[err.code], 1);
  t.is(asSlurpieError('a string').code, 'INTERNAL');
});

test('an AbortError, or anything once the signal is aborted, becomes INTERRUPTED (cause kept)', (t) => {
  const abort = new DOMException('This operation was aborted', 'AbortError');
  t.is(asSlurpieError(abort).code, 'INTERRUPTED');
  t.is(asSlurpieError(abort).cause, abort);
  const later = new SlurpieError('SOURCE_UNREACHABLE', 'socket closed');
  t.is(asSlurpieError(later, AbortSignal.abort()).code, 'INTERRUPTED');
  t.is(asSlurpieError(later, new AbortController().signal), later);
});

test('a file-system error becomes DISK', (t) => {
  const enospc = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
  t.is(asSlurpieError(enospc).code, 'DISK');
  t.is(asSlurpieError(enospc).cause, enospc);
});
