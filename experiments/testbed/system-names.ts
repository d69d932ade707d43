// The systems `slurpie experiment` compares, by name (a module of its own so --help and the
// argument checks load nothing else), and parsing --systems. "sim" is the simulator on the
// same scenario (no testbed).
export const SYSTEMS = ['slurpie', 'http', 'webtorrent', 'libtorrent', 'sim'] as const;
export type SystemName = (typeof SYSTEMS)[number];
/** Names --systems accepts beyond the systems: "bittorrent" for both BitTorrent clients. */
export const SYSTEM_ALIASES: Record<string, SystemName[]> = { bittorrent: ['webtorrent', 'libtorrent'] };

/** "slurpie,http,bittorrent" as system names, in order, without repeats; throws on an unknown name. */
export function parseSystems(text: string): SystemName[] {
  const out: SystemName[] = [];
  for (const raw of text.split(',').map((x) => x.trim()).filter(Boolean)) {
    const names = SYSTEM_ALIASES[raw] ?? ((SYSTEMS as readonly string[]).includes(raw) ? [raw as SystemName] : null);
    if (!names) throw new Error(`--systems takes ${[...SYSTEMS, ...Object.keys(SYSTEM_ALIASES)].join(', ')}, got ${JSON.stringify(raw)}`);
    for (const n of names) if (!out.includes(n)) out.push(n);
  }
  if (out.length === 0) throw new Error(`--systems needs at least one system, got ${JSON.stringify(text)}`);
  return out;
}

/** The systems that run in the namespace testbed (all but the simulator). */
export function testbedSystems(systems: SystemName[]): Exclude<SystemName, 'sim'>[] {
  return systems.filter((n): n is Exclude<SystemName, 'sim'> => n !== 'sim');
}
