--[[
  Add to the Sluice-wide operations counters the savings dashboard reads: one minute's bucket
  and the running totals, in one step. Both keys carry the `{ops:stats}` hash tag, so this is
  one slot on a cluster.

  KEYS[1] the minute's bucket ({prefix}:{ops:stats}:m:MINUTE_START_MS)
  KEYS[2] running totals      ({prefix}:{ops:stats}:totals)
  ARGV[1] TTL of the minute bucket (s)
  ARGV[2] TTL of the totals (s), refreshed on every write
  ARGV[3..] field, integer increment, field, increment, …

  Returns the number of fields incremented.
]]
for i = 3, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
  redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1])
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return (#ARGV - 2) / 2
