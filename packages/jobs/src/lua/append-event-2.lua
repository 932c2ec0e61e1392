--[[
  Append one event to a job's durable log and publish it live, unless the job is finished
  (a late chunk from a superseded attempt must not follow the final answer).

  KEYS[1] job hash
  KEYS[2] job event stream
  ARGV[1] the job's own sharded pub/sub channel (same hash tag as the job keys: one shard)
  ARGV[2] job id
  ARGV[3] event JSON
  ARGV[4] TTL of job keys in seconds
  ARGV[5] optional status to set ('' = leave as is)
  ARGV[6..] optional field, value pairs to set on the job hash with the status

  Where the event is published: a job whose record names reply channels (its `reply` field,
  space-separated: the channel of the API process that accepted it, and of any that attached
  later) gets `<job id> <stream id> <event>` on each of them; any other job gets
  `<stream id> <event>` on its own channel ARGV[1].

  Returns the stream id, false when the job is already finished, or 0 when it has no record
  (expired, or never written): nothing is written then, so no record without a TTL or a
  tenant is left behind.
]]
-- @include "publish-event"

local state = redis.call('HMGET', KEYS[1], 'status', 'reply')
local status = state[1]
if not status then
  return 0
end
if status == 'completed' or status == 'failed' or status == 'cancelled' then
  return false
end
-- The status and the fields in one HSET.
local fields = {}
if ARGV[5] ~= '' then
  fields[1] = 'status'
  fields[2] = ARGV[5]
end
for i = 6, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
if #fields > 0 then
  redis.call('HSET', KEYS[1], unpack(fields))
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', '20000', '*', 'e', ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[4])
publishEvent(state[2], ARGV[1], ARGV[2], id, ARGV[3])
return id
