// How the topology server tells callers apart (address.ts) and limits their rate
// (rate-limit.ts): pure units, an injected clock, no HTTP.
import test from 'ava';
import { canonicalIp, isLoopback, quotaGroup } from '../topology-server/address.ts';
import { RateLimiter } from '../topology-server/rate-limit.ts';

test('one address, one spelling: IPv4-mapped is IPv4, IPv6 is compressed and lower case', (t) => {
  const same: [string, string][] = [
    ['127.0.0.1', '127.0.0.1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
    ['::FFFF:7f00:1', '127.0.0.1'],
    ['::ffff:198.51.100.7', '198.51.100.7'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['64:ff9b::198.51.100.7', '64:ff9b::c633:6407'],
  ];
  for (const [given, canonical] of same) t.is(canonicalIp(given), canonical, given);
  t.is(canonicalIp('fe80::1%eth0'), 'fe80::1%eth0', 'a zone is kept');
  for (const notIp of ['peer.example', '999.1.1.1', '', '1.2.3', '[::1]', '::1:80:']) t.is(canonicalIp(notIp), undefined, notIp);
});

test('quotas count IPv4 by address and IPv6 by /64; loopback is 127/8 and ::1', (t) => {
  t.is(quotaGroup('198.51.100.7'), '198.51.100.7');
  t.is(quotaGroup('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  t.is(quotaGroup('2001:db8:1:2:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64', 'the same subscriber');
  t.not(quotaGroup('2001:db8:1:3::1'), quotaGroup('2001:db8:1:2::1'), 'the next /64 is someone else');
  t.is(quotaGroup('peer.example'), 'peer.example', 'a trusted hostname counts as itself');
  for (const a of ['127.0.0.1', '127.0.0.2', '127.255.255.254', '::1']) t.true(isLoopback(a), a);
  for (const a of ['128.0.0.1', '10.0.0.1', '::', '::2', '2001:db8::1', '127.example']) t.false(isLoopback(a), a);
});

test('rate limiter: perSecond at once, then one per 1/perSecond s, each group apart', (t) => {
  const clock = { t: 0 };
  const limiter = new RateLimiter({ perSecond: 4, now: () => clock.t });
  for (let i = 0; i < 4; i++) t.is(limiter.take('a'), 0, `burst ${i}`);
  t.is(limiter.take('a'), 1, 'the fifth at once waits (whole seconds, at least 1)');
  t.is(limiter.take('b'), 0, 'another group has its own bucket');
  clock.t += 250;
  t.is(limiter.take('a'), 0, 'a quarter second refills one');
  t.is(limiter.take('a'), 1);
  clock.t += 10_000;
  for (let i = 0; i < 4; i++) t.is(limiter.take('a'), 0, 'refilled to perSecond, no more');
  t.true(limiter.take('a') > 0);

  const slow = new RateLimiter({ perSecond: 0.1, now: () => clock.t });
  t.is(slow.take('a'), 0, 'a fractional rate still allows one at once');
  t.is(slow.take('a'), 10, 'then one per 10 s');
  const off = new RateLimiter({ perSecond: 0, now: () => clock.t });
  for (let i = 0; i < 100; i++) t.is(off.take('a'), 0, '0: no limit');
  t.throws(() => new RateLimiter({ perSecond: -1, now: () => 0 }), { instanceOf: RangeError });
});

test('rate limiter memory is bounded: full buckets are swept, beyond maxTracked the least recently seen go', (t) => {
  const clock = { t: 0 };
  const limiter = new RateLimiter({ perSecond: 2, now: () => clock.t, maxTracked: 100 });
  for (let i = 0; i < 1000; i++) limiter.take(`g${i}`);
  t.is(limiter.tracked(), 100);
  limiter.take('g999'); // g999 is now empty; the others have one token left
  clock.t += 600; // the others are full again (1 + 1.2), g999 is not (1.2)
  limiter.sweep();
  t.is(limiter.tracked(), 1, 'only the bucket not yet full again is kept');
  t.is(limiter.take('g999'), 0);
  t.is(limiter.take('g999'), 1, 'and it still remembers what was spent');
  clock.t += 1000;
  limiter.sweep();
  t.is(limiter.tracked(), 0);
});
