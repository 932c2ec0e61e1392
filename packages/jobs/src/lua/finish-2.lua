--[[
  Finish a job exactly once: the first caller to finish it wins; later calls (a retried
  attempt of a job whose first worker died, a duplicate failure notice) change nothing.

  KEYS[1] job hash            ({prefix}:{job:ID})
  KEYS[2] job event stream    ({prefix}:{job:ID}:events)
  ARGV[1] the job's own sharded pub/sub channel (same hash tag as the job keys: one shard)
  ARGV[2] job id
  ARGV[3] final status: 'completed' | 'failed' | 'cancelled'
  ARGV[4] field name to set with the payload: 'result' | 'error'
  ARGV[5] payload JSON (CompletionJobResult or error body)
  ARGV[6] the event's JSON up to its payload: the event appended and published is
          ARGV[6] .. ARGV[5] .. '}' (`{"type":"done","result":…}`), so the payload, often the
          largest argument, is sent once
  ARGV[7] TTL of job keys in seconds
  ARGV[8] finish time (ms)

  Published as append-event-2.lua publishes: on the record's reply channels when it names any
  (`<job id> <stream id> <event>`), else on ARGV[1] (`<stream id> <event>`).

  Returns 1 when this call finished the job, 0 when it was already finished or has no record
  (nothing is written then: a record without a tenant nobody could read).
]]
-- @include "publish-event"

local state = redis.call('HMGET', KEYS[1], 'status', 'reply')
local status = state[1]
if not status then
  return 0
end
if status == 'completed' or status == 'failed' or status == 'cancelled' then
  return 0
end
redis.call('HSET', KEYS[1], 'status', ARGV[3], ARGV[4], ARGV[5], 'finishedAt', ARGV[8])
local event = ARGV[6] .. ARGV[5] .. '}'
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', '20000', '*', 'e', event)
redis.call('EXPIRE', KEYS[1], ARGV[7])
redis.call('EXPIRE', KEYS[2], ARGV[7])
publishEvent(state[2], ARGV[1], ARGV[2], id, event)
return 1
