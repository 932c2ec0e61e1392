--[[
  Append one event to a job's durable log and publish it live, unless the job is finished
  (a late chunk from a superseded attempt must not follow the final answer).

  KEYS[1] job hash
  KEYS[2] job event stream
  ARGV[1] sharded pub/sub channel to publish on (same hash tag as the job keys: one shard)
  ARGV[2] event JSON
  ARGV[3] TTL of job keys in seconds
  ARGV[4] optional status to set ('' = leave as is)
  ARGV[5..] optional field, value pairs to set on the job hash with the status

  Returns the stream id, or false when the job is already finished.
]]
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'completed' or status == 'failed' or status == 'cancelled' then
  return false
end
if ARGV[4] ~= '' then
  redis.call('HSET', KEYS[1], 'status', ARGV[4])
end
for i = 5, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', '20000', '*', 'e', ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('SPUBLISH', ARGV[1], id .. ' ' .. ARGV[2])
return id
