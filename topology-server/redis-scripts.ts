// The Lua scripts behind RedisRegistry (redis-registry.ts): each request is one script, so
// everything it reads and writes happens atomically, and several topology servers on one
// Redis see one registry. Redis >= 6.2 (ZRANDMEMBER); a single Redis, not a Cluster (the
// maxSwarms eviction touches another swarm's keys).
//
// Keys of one swarm (PREFIX s:<swarmId>:…), as store.ts describes:
//   z       sorted set  id -> time of its last registration (µs: ties are rare at µs)
//   peers   hash        id -> JSON {h: host, p: port, a: owner address, g: quota group,
//                       l: 1 if held to quotas, r: [fromSource, fromPeers, uploaded,
//                       blocksHave, blocks, done] or absent}; written by JS, only read here
//   groups  hash        quota group -> live ids it holds
// and PREFIX swarms, a sorted set swarmId -> time of its last registration.
// Time is Redis's own (TIME), so servers with different clocks agree; ARGV `now` (µs)
// overrides it for tests. Expired entries are dropped by score on every access, and the
// swarm's keys carry a Redis expiry of ttl + 1 s from its last registration, so a swarm no
// one registers to vanishes whole without any sweep.
//
// Every script takes KEYS = [swarms, z, peers, groups].

const PRELUDE = `
local function time_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end
local function now_us(arg)
  if arg ~= '' then return tonumber(arg) end
  return time_us()
end
-- Drops the hash entries and group counts of ids about to leave z.
local function forget(ids)
  for _, m in ipairs(ids) do
    local v = redis.call('HGET', KEYS[3], m)
    if v then
      local g = cjson.decode(v).g
      if redis.call('HINCRBY', KEYS[4], g, -1) <= 0 then redis.call('HDEL', KEYS[4], g) end
      redis.call('HDEL', KEYS[3], m)
    end
  end
end
local function drop_until(at)
  local old = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', at)
  if #old > 0 then
    forget(old)
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', at)
  end
end
local function drop_if_empty(swarm)
  if redis.call('ZCARD', KEYS[2]) == 0 then
    redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
    redis.call('ZREM', KEYS[1], swarm)
  end
end
`;

/**
 * ARGV: swarmId, id, entry JSON, caller address, caller group, limited ('1', '0', or '' for
 * an unchecked in-process call), ttl µs, beta, answer mode, quotaIds, answerPerAddress,
 * maxPerSwarm, maxSwarms, key prefix, now µs or '', random seed.
 * Returns {409} or {429} (nothing changed), or {0, count, id1, entry1, id2, entry2, ...}.
 */
export const REGISTER = `${PRELUDE}
local swarm, id = ARGV[1], ARGV[2]
local now = now_us(ARGV[15])
local ttl = tonumber(ARGV[7])
local live_after = now - ttl
drop_until(live_after)
local held = redis.call('HGET', KEYS[3], id)
if ARGV[6] ~= '' then
  if held then
    if cjson.decode(held).a ~= ARGV[4] then return {409} end
  elseif ARGV[6] == '1' and tonumber(ARGV[10]) > 0 and tonumber(redis.call('HGET', KEYS[4], ARGV[5]) or '0') >= tonumber(ARGV[10]) then
    return {429}
  end
end

-- The answer, as Registry.answerFor: the newest (and in 'mixed' mode as many drawn at
-- random), at most answerPerAddress from one quota-limited group, three draws at most.
math.randomseed(tonumber(ARGV[16]))
local beta, cap = tonumber(ARGV[8]), tonumber(ARGV[11])
local seen, nseen, per, out = {[id] = true}, 1, {}, {}
local function unseen(list, k)
  local r = {}
  for _, m in ipairs(list) do
    if not seen[m] and #r < k then r[#r + 1] = m end
  end
  return r
end
local function newest(k)
  return unseen(redis.call('ZREVRANGE', KEYS[2], 0, nseen + k - 1), k)
end
local function sample(k)
  -- nseen + k distinct members hold at least k unseen ones when there are; shuffled, since
  -- ZRANDMEMBER's order is not random when it returns most of the set.
  local drawn = redis.call('ZRANDMEMBER', KEYS[2], nseen + k)
  for i = #drawn, 2, -1 do
    local j = math.random(i)
    drawn[i], drawn[j] = drawn[j], drawn[i]
  end
  return unseen(drawn, k)
end
local function capped(draw, limit)
  local taken = 0
  for round = 0, 2 do
    if taken >= limit then break end
    local want = round == 0 and limit or 4 * (limit - taken)
    local got = draw(want)
    for _, m in ipairs(got) do
      seen[m] = true
      nseen = nseen + 1
      if taken < limit then
        local v = redis.call('HGET', KEYS[3], m)
        local ok = true
        if cap > 0 then
          local o = cjson.decode(v)
          if o.l == 1 then
            local n = per[o.g] or 0
            if n >= cap then ok = false else per[o.g] = n + 1 end
          end
        end
        if ok then
          out[#out + 1] = m
          out[#out + 1] = v
          taken = taken + 1
        end
      end
    end
    if #got < want then break end
  end
  return taken
end
if ARGV[9] == 'newest' then
  capped(newest, beta)
else
  local first = capped(newest, math.ceil(beta / 2))
  capped(sample, beta - first)
end

-- A new swarm beyond maxSwarms pushes out the least recently registered-to one. A swarm
-- idle for a ttl holds nothing live: its index entry goes first.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', live_after)
if redis.call('EXISTS', KEYS[2]) == 0 and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[13]) then
  for _, victim in ipairs(redis.call('ZRANGE', KEYS[1], 0, 1)) do
    if victim ~= swarm then
      local p = ARGV[14] .. 's:' .. victim .. ':'
      redis.call('DEL', p .. 'z', p .. 'peers', p .. 'groups')
      redis.call('ZREM', KEYS[1], victim)
      break
    end
  end
end

if held then forget({id}) end
redis.call('HSET', KEYS[3], id, ARGV[3])
redis.call('HINCRBY', KEYS[4], ARGV[5], 1)
redis.call('ZADD', KEYS[2], now, id)
redis.call('ZADD', KEYS[1], now, swarm)
local n, max = redis.call('ZCARD', KEYS[2]), tonumber(ARGV[12])
if n > max then
  forget(redis.call('ZRANGE', KEYS[2], 0, n - max - 1))
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, n - max - 1)
  n = max
end
local keep = math.ceil(ttl / 1000) + 1000
redis.call('PEXPIRE', KEYS[2], keep)
redis.call('PEXPIRE', KEYS[3], keep)
redis.call('PEXPIRE', KEYS[4], keep)
return {0, n, unpack(out)}
`;

/** ARGV: swarmId, id, caller address, '1' to check the owner (else ''), ttl µs, now µs or ''. Returns 403 (nothing changed) or 0. */
export const DEREGISTER = `${PRELUDE}
local swarm, id = ARGV[1], ARGV[2]
local checked = ARGV[4] == '1'
if checked then drop_until(now_us(ARGV[6]) - tonumber(ARGV[5])) end
local held = redis.call('HGET', KEYS[3], id)
if not held then return 0 end
if checked and cjson.decode(held).a ~= ARGV[3] then return 403 end
forget({id})
redis.call('ZREM', KEYS[2], id)
drop_if_empty(swarm)
return 0
`;

/** ARGV: swarmId, ttl µs, now µs or ''. Returns the live registrations. */
export const COUNT = `${PRELUDE}
drop_until(now_us(ARGV[3]) - tonumber(ARGV[2]))
drop_if_empty(ARGV[1])
return redis.call('ZCARD', KEYS[2])
`;

/** ARGV: ttl µs, now µs or '', limit. Read-only: live ids and entries, newest first {id1, entry1, ...}. */
export const LIST = `${PRELUDE}
local ids = redis.call('ZREVRANGEBYSCORE', KEYS[2], '+inf', '(' .. (now_us(ARGV[2]) - tonumber(ARGV[1])), 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, m in ipairs(ids) do
  out[#out + 1] = m
  out[#out + 1] = redis.call('HGET', KEYS[3], m)
end
return out
`;

/**
 * ARGV: ttl µs, now µs or ''. Read-only: {peers, downloading, done, unknown, fromSource,
 * fromPeers} over the swarm's live registrations (for GET /metrics).
 */
export const SUMMARY = `${PRELUDE}
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. (now_us(ARGV[2]) - tonumber(ARGV[1])), '+inf')
local peers, downloading, done, unknown, source, from_peers, uploaded = #ids, 0, 0, 0, 0, 0, 0
for _, m in ipairs(ids) do
  local v = redis.call('HGET', KEYS[3], m)
  local r = v and cjson.decode(v).r
  if type(r) ~= 'table' then
    unknown = unknown + 1
  else
    if r[6] == 1 then done = done + 1 else downloading = downloading + 1 end
    source = source + r[1]
    from_peers = from_peers + r[2]
    uploaded = uploaded + r[3]
  end
end
return {peers, downloading, done, unknown, source, from_peers, uploaded}
`;
