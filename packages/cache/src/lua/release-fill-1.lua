--[[
  Release a stampede (fill) lock if this caller still holds it, and wake the waiters.

  KEYS[1] lock key

  ARGV[1] token the lock was taken with
  ARGV[2] sharded pub/sub channel the waiters listen on (same hash tag as the lock)

  Returns 1 when released, 0 when the lock had expired or belongs to a newer leader (then
  nothing is deleted: the newer leader's lock must stand).
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('SPUBLISH', ARGV[2], 'released')
  return 1
end
return 0
