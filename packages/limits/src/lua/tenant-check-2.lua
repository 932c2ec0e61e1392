--[[
  Admit one request of a tenant against its quotas, atomically: tokens per UTC day (spent so
  far, recorded after each answer) and requests per minute (an exact sliding log, so a burst
  at a minute boundary cannot pass twice the quota). A refused request is not counted.

  Input:
    KEYS[1] requests  ZSET request id -> admission time (ms)
    KEYS[2] tokens    STRING tokens spent today (written by recordTokens)

    ARGV[1] now (ms)
    ARGV[2] request id (unique)
    ARGV[3] requests per minute (0 = unlimited)
    ARGV[4] tokens per day (0 = unlimited)
    ARGV[5] window (ms)
    ARGV[6] ms until the UTC day ends

  Output:
    admitted: {1, requests in window after this one, tokens spent today}
    refused:  {0, 'requests_per_minute' | 'tokens_per_day', retry after (ms, >= 1), used}
]]
local now = tonumber(ARGV[1])
local rpm = tonumber(ARGV[3])
local tokensPerDay = tonumber(ARGV[4])
local windowMs = tonumber(ARGV[5])
local oldest = now - windowMs

local spent = tonumber(redis.call('GET', KEYS[2])) or 0
if tokensPerDay > 0 and spent >= tokensPerDay then
  return {0, 'tokens_per_day', math.max(1, tonumber(ARGV[6])), spent}
end

if rpm <= 0 then
  return {1, 0, spent}
end

redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. oldest)
local requests = redis.call('ZCARD', KEYS[1])
if requests >= rpm then
  local unblocking = redis.call('ZRANGE', KEYS[1], requests - rpm, requests - rpm, 'WITHSCORES')
  return {0, 'requests_per_minute', math.max(1, tonumber(unblocking[2]) + windowMs + 1 - now), requests}
end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], windowMs + 60000)
return {1, requests + 1, spent}
