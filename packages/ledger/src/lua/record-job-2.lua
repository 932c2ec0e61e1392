--[[
  Count one finished job in a tenant's daily totals, exactly once: a job recorded again (its
  completion retried, a taken-over job, a re-run that found the job already finished) adds
  nothing. Both keys carry the tenant's hash tag, so this stays one atomic step on a cluster.

  KEYS[1] tenant-day totals hash   ({prefix}:{ledger:TENANT}:day:YYYY-MM-DD)
  KEYS[2] job marker               ({prefix}:{ledger:TENANT}:job:JOBID)
  ARGV[1] TTL of the totals hash (s), refreshed on every write
  ARGV[2] TTL of the job marker (s): as long as the job may still be run again
  ARGV[3..] field, integer increment, field, increment, …

  Returns 1 when the job was counted now, 0 when it had been counted already.
]]
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[2]) then
  return 0
end
for i = 3, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
redis.call('EXPIRE', KEYS[1], ARGV[1])
return 1
