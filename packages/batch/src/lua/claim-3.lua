--[[
  Claim the oldest pending jobs of one deployment for a provider batch: they leave the pending
  sets and are recorded under the claim, so a batcher that dies before the provider batch is
  recorded leaves a claim that recovery finds (and either adopts or puts back), never a job
  that belongs to nobody.

  KEYS[1] pending zset      (job id -> time it was deferred, ms)
  KEYS[2] deadline zset     (job id -> deadline, ms)
  KEYS[3] claims hash       (claim id -> {"ids":[...],"at":ms})
  ARGV[1] most jobs to claim
  ARGV[2] claim id
  ARGV[3] now (ms)

  Returns the claimed job ids, oldest first (empty when nothing is pending).
]]
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #ids == 0 then
  return ids
end
redis.call('ZREM', KEYS[1], unpack(ids))
redis.call('ZREM', KEYS[2], unpack(ids))
redis.call('HSET', KEYS[3], ARGV[2], cjson.encode({ ids = ids, at = tonumber(ARGV[3]) }))
return ids
