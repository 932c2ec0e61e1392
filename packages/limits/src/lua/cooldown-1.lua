--[[
  Set a deployment's shared cooldown: no permit is granted to anyone until it ends. Never
  shortens a longer cooldown already in force (two 429s answered in either order leave the
  later deadline).

  Input:
    KEYS[1] cooldown  HASH until (ms), reason, setAt (ms)

    ARGV[1] now (ms)
    ARGV[2] until (ms)
    ARGV[3] reason (e.g. '429', 'remaining-requests')

  Output:
    {until in force, reason in force, 1 when this call changed it else 0}
]]
local now = tonumber(ARGV[1])
local wanted = math.ceil(tonumber(ARGV[2]))
local current = redis.call('HMGET', KEYS[1], 'until', 'reason')
local currentUntil = tonumber(current[1]) or 0
if currentUntil >= wanted then
  return {currentUntil, current[2] or '', 0}
end
if wanted <= now then
  return {currentUntil, current[2] or '', 0}
end
redis.call('HSET', KEYS[1], 'until', wanted, 'reason', ARGV[3], 'setAt', now)
-- Kept a second past the deadline; the value, not the TTL, decides.
redis.call('PEXPIRE', KEYS[1], wanted - now + 1000)
return {wanted, ARGV[3], 1}
