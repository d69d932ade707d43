// What the experiments' child processes inherit: not the CA bundle every Node process would parse.
import test from 'ava';
import { childEnv } from '../experiments/swarm/processes.ts';

test('drops NODE_EXTRA_CA_CERTS and keeps the rest', (t) => {
  const env = childEnv({ PATH: '/bin', NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt', SLURPIE_SEED: '1' }, { SLURPIE_EXPERIMENT_DELAY_MS: '5' });
  t.deepEqual(env, { PATH: '/bin', SLURPIE_SEED: '1', SLURPIE_EXPERIMENT_DELAY_MS: '5' });
});

test('keeps NODE_EXTRA_CA_CERTS when the caller sets it for this child', (t) => {
  const env = childEnv({ NODE_EXTRA_CA_CERTS: '/a.pem' }, { NODE_EXTRA_CA_CERTS: '/b.pem' });
  t.is(env.NODE_EXTRA_CA_CERTS, '/b.pem');
});

test('leaves the parent environment as it was', (t) => {
  const base = { NODE_EXTRA_CA_CERTS: '/a.pem' };
  childEnv(base);
  t.is(base.NODE_EXTRA_CA_CERTS, '/a.pem');
});
