--[[
  Remove entries of one namespace: their vector element, index entries and entry key.
  Used by the sweeper (only entries whose expiry has passed) and by purge (all given ids).

  KEYS[1] vector set of the namespace
  KEYS[2] sorted set: entry id -> createdAt
  KEYS[3] sorted set: entry id -> expiresAt

  ARGV[1] now (ms): only entries with expiresAt <= now are removed; '+inf' removes all given
  ARGV[2] prefix of entry keys, to which an id is appended (same hash tag)
  ARGV[3..n] entry ids

  Returns the ids removed (including ids no longer indexed, which need no work). An id whose
  entry was stored again with a later expiry is kept: entry ids are content hashes, so the
  same question stored after its old entry expired reuses the id.
]]
local now = ARGV[1] == '+inf' and math.huge or tonumber(ARGV[1])
local removed = {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local expires = redis.call('ZSCORE', KEYS[3], id)
  if not expires or tonumber(expires) <= now then
    redis.call('VREM', KEYS[1], id)
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
    redis.call('DEL', ARGV[2] .. id)
    removed[#removed + 1] = id
  end
end
return removed
