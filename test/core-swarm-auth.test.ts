// Private swarms in the core (issue #15, peer/core/swarm-auth.ts): a connection carries no
// update and no block until both sides proved they hold the swarm key; a wrong proof is a ban.
import test from 'ava';
import { createHmac } from 'node:crypto';
import { proofInput, type SwarmAuth } from '../peer/core/swarm-auth.ts';
import type { Challenge, Message } from '../peer/core/messages.ts';
import { closes, ofType, peerId, Script, sent, SWARM } from './fixtures/scripted-core.ts';

const SIZE = 10 * 1024 - 100; // 10 blocks of 1 KiB
const keyed = (key: string): SwarmAuth => {
  let n = 0;
  return {
    nonce: () => new Uint8Array(16).fill(++n), // distinct, predictable: fine for a test
    mac: (data) => new Uint8Array(createHmac('sha256', key).update(data).digest()),
  };
};
const KEY = 'the swarm key';
const mine = keyed(KEY);

// Plays the other side of an inbound connection: HELLO, CHALLENGE, then its PROOF with `key`.
function dialIn(s: Script, conn: number, n: number, key: string): { out: Message[]; theirNonce: Uint8Array } {
  const out = [...s.feed({ type: 'opened', conn, outbound: false })];
  out.push(...s.msg(conn, s.hello(n)));
  const theirNonce = new Uint8Array(16).fill(0xa0 + n);
  out.push(...s.msg(conn, { type: 'CHALLENGE', nonce: theirNonce }));
  const ours = (sent(out, 'CHALLENGE', conn)[0] as Challenge | undefined)?.nonce;
  if (ours) {
    const mac = new Uint8Array(createHmac('sha256', key).update(proofInput(true, SWARM, ours, theirNonce)).digest());
    out.push(...s.msg(conn, { type: 'PROOF', mac }));
  }
  return { out: out.flatMap((a) => (a.type === 'send' && a.conn === conn ? [a.msg] : [])), theirNonce };
}

test('both sides prove the key: HELLO, CHALLENGE, PROOF, then the first UPDATE', (t) => {
  const s = new Script(SIZE, {}, undefined, undefined, undefined, mine);
  const { out, theirNonce } = dialIn(s, 1, 1, KEY);
  t.deepEqual(out.map((m) => m.type), ['HELLO', 'CHALLENGE', 'PROOF', 'UPDATE']);
  const ours = (out[1] as Challenge).nonce;
  const proof = out[2] as { mac: Uint8Array };
  // Our proof is the acceptor's: role 2, over their nonce then ours.
  t.deepEqual(proof.mac, mine.mac(proofInput(false, SWARM, theirNonce, ours)));
  t.deepEqual(closes(s.log), []);
});

test('a peer without the key gets no update and no block, and is banned for its proof', (t) => {
  const s = new Script(SIZE, {}, undefined, undefined, undefined, mine);
  const { out } = dialIn(s, 1, 1, 'a guess');
  t.deepEqual(out.filter((m) => m.type === 'UPDATE' || m.type === 'BLOCK'), []);
  t.deepEqual(closes(s.log), ['BAD_PROOF']);
  t.is(s.core.stats(0).bannedPeers, 1);
});

test('asking before proving: a REQUEST or UPDATE while proving is a violation, answered with nothing', (t) => {
  for (const msg of [{ type: 'REQUEST', index: 0 }, { type: 'UPDATE', entries: [] }] as Message[]) {
    const s = new Script(SIZE, {}, undefined, undefined, undefined, mine);
    s.feed({ type: 'opened', conn: 1, outbound: false });
    s.msg(1, s.hello(1));
    const out = s.msg(1, msg);
    t.deepEqual(closes(out), ['UNAUTHENTICATED'], msg.type);
    t.deepEqual(ofType(out, 'serve'), []);
    t.deepEqual(sent(s.log, 'UPDATE'), []);
  }
});

test('a proof reflected back (our own, role swapped) does not pass', (t) => {
  const s = new Script(SIZE, {}, undefined, undefined, undefined, mine);
  const out = [...s.feed({ type: 'opened', conn: 1, outbound: false }), ...s.msg(1, s.hello(1))];
  const ours = (sent(out, 'CHALLENGE', 1)[0] as Challenge).nonce;
  // The attacker sends our nonce back as its challenge, then replays the proof we give it.
  const answer = s.msg(1, { type: 'CHALLENGE', nonce: ours });
  const reflected = (sent(answer, 'PROOF', 1)[0] as { mac: Uint8Array }).mac;
  t.deepEqual(closes(s.msg(1, { type: 'PROOF', mac: reflected })), ['BAD_PROOF']);
});

test('dialling out: our HELLO and CHALLENGE first, our PROOF on theirs, open once theirs holds', (t) => {
  const s = new Script(SIZE, {}, undefined, undefined, undefined, mine);
  s.feed({ type: 'peers', peers: [{ id: peerId(1), host: '127.0.0.1', port: 9001 }] });
  const opened = s.feed({ type: 'opened', conn: 1, outbound: true, peerId: peerId(1) });
  t.deepEqual(sent(opened, undefined, 1).map((m) => m.type), ['HELLO', 'CHALLENGE']);
  const ours = (sent(opened, 'CHALLENGE', 1)[0] as Challenge).nonce;
  s.msg(1, s.hello(1));
  const theirs = new Uint8Array(16).fill(0x77);
  t.deepEqual(sent(s.msg(1, { type: 'CHALLENGE', nonce: theirs }), undefined, 1).map((m) => m.type), ['PROOF']);
  const mac = mine.mac(proofInput(false, SWARM, ours, theirs)); // the acceptor's proof
  t.deepEqual(sent(s.msg(1, { type: 'PROOF', mac }), undefined, 1).map((m) => m.type), ['UPDATE']);
  t.deepEqual(closes(s.log), []);
});

test('a public peer is unchanged: no CHALLENGE, open at HELLO', (t) => {
  const s = new Script(SIZE);
  const out = [...s.feed({ type: 'opened', conn: 1, outbound: false }), ...s.msg(1, s.hello(1))];
  t.deepEqual(sent(out, undefined, 1).map((m) => m.type), ['HELLO', 'UPDATE']);
});
