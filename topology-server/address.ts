// Addresses as the topology server judges them: who sent a request (the id it may bind),
// and what its quotas count by. Pure functions, no sockets.
//
// - The same address must compare equal however it was spelled: "::ffff:10.0.0.1" (an
//   IPv4 client on a dual-stack socket) is "10.0.0.1", "0:0:0:0:0:0:0:1" is "::1".
// - Quotas count an IPv6 client by its /64: one subscriber holds a whole /64 (often a /56
//   or /48), so counting single addresses would give it 2^64 identities for free.
// - Loopback (127.0.0.0/8, ::1) is where demos, tests and the simulator's swarms live:
//   every peer there shares one address, so quotas skip it unless told otherwise.

import { isIP } from 'node:net';

/** An IP literal in one canonical spelling (IPv4 unmapped, IPv6 compressed, lower case); undefined if not an IP. */
export function canonicalIp(text: string): string | undefined {
  const bare = text.toLowerCase();
  const kind = isIP(bare);
  if (kind === 4) return bare;
  if (kind !== 6) return undefined;
  const zone = bare.indexOf('%'); // a link-local zone ("fe80::1%eth0") is kept as is; URL cannot parse it
  if (zone >= 0) return bare;
  const hextets = expandIPv6(bare);
  if (hextets[0] === 0 && hextets[1] === 0 && hextets[2] === 0 && hextets[3] === 0 && hextets[4] === 0 && hextets[5] === 0xffff) {
    return `${hextets[6]! >> 8}.${hextets[6]! & 255}.${hextets[7]! >> 8}.${hextets[7]! & 255}`;
  }
  return new URL(`http://[${bare}]/`).hostname.slice(1, -1); // WHATWG URL serialises IPv6 canonically (RFC 5952)
}

export function isLoopback(address: string): boolean {
  return (isIP(address) === 4 && address.startsWith('127.')) || address === '::1';
}

/** What quotas count by: an IPv4 address itself, an IPv6 address's /64, a hostname (trusted mode) itself. */
export function quotaGroup(address: string): string {
  if (isIP(address) !== 6) return address;
  const hextets = expandIPv6(address.split('%')[0]!);
  return `${hextets.slice(0, 4).map((h) => h.toString(16)).join(':')}::/64`;
}

/** The eight 16-bit groups of a valid IPv6 literal (no zone), an embedded IPv4 tail included. */
function expandIPv6(text: string): number[] {
  let tail: number[] = [];
  let head = text;
  const lastColon = text.lastIndexOf(':');
  if (text.includes('.', lastColon)) {
    const v4 = text.slice(lastColon + 1).split('.').map(Number);
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    head = text.slice(0, lastColon + 1) + '0'; // a placeholder group, dropped below
  }
  const [left, right] = head.includes('::') ? head.split('::') : [head, undefined];
  const parse = (part: string | undefined): number[] => (part ? part.split(':').map((h) => parseInt(h, 16)) : []);
  const l = parse(left);
  const r = parse(right);
  if (tail.length) (right === undefined ? l : r).pop();
  const fill = 8 - l.length - r.length - tail.length;
  return [...l, ...Array<number>(right === undefined ? 0 : fill).fill(0), ...r, ...tail];
}
