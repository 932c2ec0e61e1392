--[[
  publishEvent(reply, ownChannel, jobId, streamId, event): publish an event just appended to a
  job's stream, as append-event-2.lua and finish-2.lua both must: on each of the record's reply
  channels (`reply`, space-separated) as `<job id> <stream id> <event>`, or, when the record
  names none (reply is false), on the job's own channel as `<stream id> <event>`.
]]
local function publishEvent(reply, ownChannel, jobId, streamId, event)
  if reply then
    local message = jobId .. ' ' .. streamId .. ' ' .. event
    for channel in string.gmatch(reply, '%S+') do
      redis.call('SPUBLISH', channel, message)
    end
  else
    redis.call('SPUBLISH', ownChannel, streamId .. ' ' .. event)
  end
end
