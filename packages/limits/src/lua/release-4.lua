--[[
  Release a permit: drop its concurrency lease and settle its token reservation with the
  tokens the provider really counted. The request-log entry stays: the request was made.

  Input:
    KEYS[1] leases       ZSET  lease id -> lease expiry
    KEYS[2] tokenCounts  HASH  lease id -> tokens reserved
    KEYS[3] tokenTotal   STRING running sum of KEYS[2]
    KEYS[4] circuit      HASH  probeLease, probeUntil

    ARGV[1] lease id
    ARGV[2] tokens to settle at ('' keeps the reservation)

  Output:
    {released (1 when the lease was still held, 0 when it had expired or was released),
     token adjustment applied (settled - reserved; 0 when the entry has left the window)}
]]
local leaseId = ARGV[1]
local released = redis.call('ZREM', KEYS[1], leaseId)

local delta = 0
if ARGV[2] ~= '' then
  local reserved = tonumber(redis.call('HGET', KEYS[2], leaseId))
  -- No entry: it has left the window (or was pruned), so there is nothing left to correct.
  if reserved ~= nil then
    local settled = math.floor(tonumber(ARGV[2]))
    delta = settled - reserved
    if delta ~= 0 then
      redis.call('HSET', KEYS[2], leaseId, settled)
      redis.call('INCRBY', KEYS[3], delta)
    end
  end
end

-- A half-open probe that ends without an outcome (cancelled job) must not block probing
-- until its lease expires.
if redis.call('HGET', KEYS[4], 'probeLease') == leaseId then
  redis.call('HDEL', KEYS[4], 'probeLease', 'probeUntil')
end

return {released, delta}
