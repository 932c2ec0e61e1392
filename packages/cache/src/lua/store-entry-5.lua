--[[
  Store one cache entry in its namespace and evict the oldest entries past the cap.
  All keys share the namespace's hash tag, so this runs on one Cluster slot.

  KEYS[1] entry key (string: the entry JSON)
  KEYS[2] vector set of the namespace (for the current embedder)
  KEYS[3] sorted set: entry id -> createdAt (ms), eviction order
  KEYS[4] sorted set: entry id -> expiresAt (ms), sweep order
  KEYS[5] the entry's "not coalescable" mark (deleted: a storable answer restores coalescing)

  ARGV[1] entry id (also the vector element)
  ARGV[2] entry JSON
  ARGV[3] entry TTL in ms (Redis-side expiry; the logical expiry is in the JSON)
  ARGV[4] createdAt (ms)
  ARGV[5] expiresAt (ms)
  ARGV[6] cap: most entries the namespace keeps
  ARGV[7] quantisation: Q8 | NOQUANT | BIN
  ARGV[8] vector as little-endian FP32 bytes, or '' for an exact-only entry
  ARGV[9] TTL in ms the namespace's own keys get at least (the longest-lived entry)
  ARGV[10] prefix of entry keys, to which an evicted id is appended (same hash tag)

  Returns the ids evicted to stay within the cap.
]]
local id = ARGV[1]
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
if ARGV[8] ~= '' then
  redis.call('VADD', KEYS[2], 'FP32', ARGV[8], id, ARGV[7])
end
redis.call('ZADD', KEYS[3], ARGV[4], id)
redis.call('ZADD', KEYS[4], ARGV[5], id)
redis.call('DEL', KEYS[5])

local evicted = {}
local excess = redis.call('ZCARD', KEYS[3]) - tonumber(ARGV[6])
if excess > 0 then
  local victims = redis.call('ZRANGE', KEYS[3], 0, excess - 1)
  for _, victim in ipairs(victims) do
    redis.call('ZREM', KEYS[3], victim)
    redis.call('ZREM', KEYS[4], victim)
    redis.call('VREM', KEYS[2], victim)
    redis.call('DEL', ARGV[10] .. victim)
    evicted[#evicted + 1] = victim
  end
end

-- The namespace's keys live at least as long as their longest-lived entry, so an idle
-- namespace disappears on its own even if no sweeper runs. PEXPIRE GT extends a TTL in one
-- command (the usual case); it treats a key without TTL as infinite and refuses, so only
-- then PTTL tells a key without TTL (-1, which gets one) from a missing one (-2) or one
-- that already lives longer.
local keep = tonumber(ARGV[9])
for i = 2, 4 do
  if redis.call('PEXPIRE', KEYS[i], keep, 'GT') == 0 and redis.call('PTTL', KEYS[i]) == -1 then
    redis.call('PEXPIRE', KEYS[i], keep)
  end
end
return evicted
