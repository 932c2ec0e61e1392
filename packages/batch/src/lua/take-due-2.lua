--[[
  Take the pending jobs of one deployment whose deadline is before a time: they are out of
  time for a provider batch and go to a normal call instead.

  KEYS[1] pending zset      (job id -> time it was deferred, ms)
  KEYS[2] deadline zset     (job id -> deadline, ms)
  ARGV[1] deadline bound (ms): jobs due before it are taken
  ARGV[2] most jobs to take

  Returns the taken job ids.
]]
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #ids == 0 then
  return ids
end
redis.call('ZREM', KEYS[1], unpack(ids))
redis.call('ZREM', KEYS[2], unpack(ids))
return ids
