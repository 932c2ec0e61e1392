--[[
  Append messages to a stored conversation, keep at most a cap of them (the oldest are
  trimmed), and refresh the TTL of every key of the conversation.

  KEYS[1] list of messages (JSON), oldest first
  KEYS[2] meta hash {appended}: messages ever appended (absolute index of the next one)
  KEYS[3..5] the conversation's summary, constraints and summary-pending keys, whose TTL is
            refreshed too (if they exist)

  ARGV[1] cap (most messages kept)
  ARGV[2] TTL (seconds)
  ARGV[3..] messages (JSON), in order

  Returns the absolute index of the first kept message (the list's offset).
]]
local cap = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
for i = 3, #ARGV do
  redis.call('RPUSH', KEYS[1], ARGV[i])
end
local appended = redis.call('HINCRBY', KEYS[2], 'appended', #ARGV - 2)
redis.call('LTRIM', KEYS[1], -cap, -1)
for i = 1, #KEYS do
  redis.call('EXPIRE', KEYS[i], ttl)
end
return appended - redis.call('LLEN', KEYS[1])
