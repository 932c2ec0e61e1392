--[[
  Extend a live concurrency lease (long streaming calls). An expired lease is not revived:
  its slot may already be someone else's.

  Input:
    KEYS[1] leases   ZSET lease id -> lease expiry
    KEYS[2] circuit  HASH probeLease, probeUntil (a probe's hold is extended with it)

    ARGV[1] now (ms)
    ARGV[2] lease id
    ARGV[3] new expiry (ms)

  Output:
    1 when renewed, 0 when the lease had expired or been released
]]
local now = tonumber(ARGV[1])
local expiry = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[2]))
if expiry == nil or expiry <= now then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
local needed = tonumber(ARGV[3]) - now + 60000
if ttl >= 0 and ttl < needed then redis.call('PEXPIRE', KEYS[1], needed) end
if redis.call('HGET', KEYS[2], 'probeLease') == ARGV[2] then
  redis.call('HSET', KEYS[2], 'probeUntil', ARGV[3])
end
return 1
