--[[
  Finish a job exactly once: the first caller to finish it wins; later calls (a retried
  attempt of a job whose first worker died, a duplicate failure notice) change nothing.

  KEYS[1] job hash            ({prefix}:{job:ID})
  KEYS[2] job event stream    ({prefix}:{job:ID}:events)
  ARGV[1] sharded pub/sub channel to publish on (same hash tag as the job keys: one shard)
  ARGV[2] final status: 'completed' | 'failed' | 'cancelled'
  ARGV[3] field name to set with the payload: 'result' | 'error'
  ARGV[4] payload JSON (CompletionJobResult or error body)
  ARGV[5] the event's JSON up to its payload: the event appended and published is
          ARGV[5] .. ARGV[4] .. '}' (`{"type":"done","result":…}`), so the payload, often the
          largest argument, is sent once
  ARGV[6] TTL of job keys in seconds
  ARGV[7] finish time (ms)

  Returns 1 when this call finished the job, 0 when it was already finished.
]]
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'completed' or status == 'failed' or status == 'cancelled' then
  return 0
end
redis.call('HSET', KEYS[1], 'status', ARGV[2], ARGV[3], ARGV[4], 'finishedAt', ARGV[7])
local event = ARGV[5] .. ARGV[4] .. '}'
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', '20000', '*', 'e', event)
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[6])
redis.call('SPUBLISH', ARGV[1], id .. ' ' .. event)
return 1
