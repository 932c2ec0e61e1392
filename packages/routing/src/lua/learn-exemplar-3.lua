--[[
  Add or update a learned routing exemplar, then evict the oldest learned ones past the cap.
  Seeded exemplars are never evicted: only elements listed in the index are.

  KEYS[1] vector set of exemplars
  KEYS[2] hash: element -> JSON record {prompt, tier, category, source, at} (to re-embed on reseed)
  KEYS[3] sorted set: element -> time learned (ms)

  ARGV[1] element name
  ARGV[2] attributes JSON set on the vector-set element ({tier, category, source})
  ARGV[3] record JSON for KEYS[2]
  ARGV[4] now (ms)
  ARGV[5] cap: most learned exemplars kept
  ARGV[6] vector as little-endian float32 bytes (VADD FP32)

  Returns the number of learned exemplars evicted.
]]
redis.call('VADD', KEYS[1], 'FP32', ARGV[6], ARGV[1], 'SETATTR', ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])

local cap = tonumber(ARGV[5])
local over = redis.call('ZCARD', KEYS[3]) - cap
local evicted = 0
if over > 0 then
  local oldest = redis.call('ZPOPMIN', KEYS[3], over)
  for i = 1, #oldest, 2 do
    redis.call('VREM', KEYS[1], oldest[i])
    redis.call('HDEL', KEYS[2], oldest[i])
    evicted = evicted + 1
  end
end
return evicted
