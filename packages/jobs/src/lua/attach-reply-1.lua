--[[
  Add an API process's reply channel to a job that publishes on reply channels, so a caller
  attaching after the job was accepted (an Idempotency-Key re-attach, GET /v1/jobs/:id/events)
  gets its live events on the channel its process already listens to. The caller reads the
  event log after this call: an event is either in the log it reads or published to it.

  KEYS[1] job hash
  ARGV[1] the reply channel to add

  Returns 1 when the job now publishes to ARGV[1], 0 when the job publishes only on its own
  channel (no `reply` field: the caller subscribes to that one instead).
]]
local reply = redis.call('HGET', KEYS[1], 'reply')
if not reply then
  return 0
end
for channel in string.gmatch(reply, '%S+') do
  if channel == ARGV[1] then
    return 1
  end
end
redis.call('HSET', KEYS[1], 'reply', reply .. ' ' .. ARGV[1])
return 1
