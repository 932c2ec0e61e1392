--[[
  Store a conversation's rolling summary unless a newer one (covering more messages) is
  already stored: summary jobs can finish out of order, and an older one must not win.

  KEYS[1] summary hash {text, coversUpTo, lastCoveredHash, updatedAt}
  KEYS[2] pending-job marker (deleted: the job that set it is done)

  ARGV[1] text
  ARGV[2] coversUpTo (absolute message index, exclusive)
  ARGV[3] lastCoveredHash
  ARGV[4] updatedAt (ms)
  ARGV[5] TTL (seconds)

  Returns 1 when stored, 0 when a summary covering as much or more was already there.
]]
redis.call('DEL', KEYS[2])
local current = tonumber(redis.call('HGET', KEYS[1], 'coversUpTo') or '-1')
if current >= tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[1], 'text', ARGV[1], 'coversUpTo', ARGV[2], 'lastCoveredHash', ARGV[3], 'updatedAt', ARGV[4])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return 1
