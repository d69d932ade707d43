// Addresses peers hand each other are untrusted: only a hostname or an IP literal is dialled.

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(?:25[0-5]|2[0-4]\d|1?\d?\d)$/;

function isIpv6(host: string): boolean {
  const groups = host.split(':');
  if (groups.length < 3 || groups.length > 8) return false;
  return groups.every((g, i) => g === '' || /^[0-9A-Fa-f]{1,4}$/.test(g) || (i === groups.length - 1 && IPV4.test(g)));
}

export function isDialableHost(host: string): boolean {
  return HOSTNAME.test(host) || isIpv6(host);
}

export function isDialable(p: { host: string; port: number }): boolean {
  return Number.isInteger(p.port) && p.port >= 1 && p.port <= 65535 && isDialableHost(p.host);
}
