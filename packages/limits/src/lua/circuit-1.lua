--[[
  Record one upstream outcome in a deployment's circuit breaker, shared by every process.

    closed    --(N consecutive failures, or failure ratio >= R over the window with at
                 least M outcomes)--> open
    open      --(openUntil passes; acquire-8.lua grants one probe)--> half_open
    half_open --(probe succeeds)--> closed
    half_open --(probe fails)--> open again

  Outcomes: 'success' (the deployment answered sanely: 2xx, ordinary 4xx), 'failure' (5xx,
  timeout, connection error), 'neutral' (429: says nothing about health). While half-open
  only the probe's outcome counts; outcomes of calls started before the circuit opened are
  ignored while it is open.

  Failure ratio: a ring of B buckets spanning the window; each slot remembers which bucket
  index it holds, so a stale slot is reset instead of swept.

  Input:
    KEYS[1] circuit  HASH state, failures, openedAt, openUntil, opens, probeLease,
                          probeUntil, b<i>/s<i>/f<i> (ring slot i: bucket index, successes,
                          failures)

    ARGV[1]  now (ms)
    ARGV[2]  outcome: 'success' | 'failure' | 'neutral'
    ARGV[3]  1 when the outcome is the half-open probe's (or unknown), else 0
    ARGV[4]  consecutive failures that open the circuit
    ARGV[5]  failure ratio that opens the circuit (0 = off)
    ARGV[6]  outcomes needed in the window before the ratio counts
    ARGV[7]  window (ms)
    ARGV[8]  buckets in the window
    ARGV[9]  how long the circuit stays open (ms)
    ARGV[10] key TTL (ms)

  Output:
    {state, consecutive failures, openUntil (0 when not open), 1 when the state changed}
]]
local now = tonumber(ARGV[1])
local outcome = ARGV[2]
local isProbe = ARGV[3] == '1'
local threshold = tonumber(ARGV[4])
local ratio = tonumber(ARGV[5])
local minimum = tonumber(ARGV[6])
local windowMs = tonumber(ARGV[7])
local buckets = tonumber(ARGV[8])
local openMs = tonumber(ARGV[9])
local ttl = tonumber(ARGV[10])

local key = KEYS[1]
local fields = redis.call('HMGET', key, 'state', 'failures', 'openUntil')
local state = fields[1] or 'closed'
local failures = tonumber(fields[2]) or 0
local openUntil = tonumber(fields[3]) or 0

local function open()
  openUntil = now + openMs
  redis.call('HSET', key, 'state', 'open', 'openedAt', now, 'openUntil', openUntil)
  redis.call('HINCRBY', key, 'opens', 1)
  redis.call('HDEL', key, 'probeLease', 'probeUntil')
  redis.call('PEXPIRE', key, ttl)
  return {'open', failures, openUntil, 1}
end

local function resetRing()
  for i = 0, buckets - 1 do redis.call('HDEL', key, 'b' .. i, 's' .. i, 'f' .. i) end
end

if state == 'open' then
  return {state, failures, openUntil, 0}
end

if state == 'half_open' then
  if not isProbe or outcome == 'neutral' then
    if isProbe then redis.call('HDEL', key, 'probeLease', 'probeUntil') end
    return {state, failures, 0, 0}
  end
  if outcome == 'failure' then
    failures = failures + 1
    redis.call('HSET', key, 'failures', failures)
    return open()
  end
  failures = 0
  resetRing()
  redis.call('HSET', key, 'state', 'closed', 'failures', 0, 'openUntil', 0)
  redis.call('HDEL', key, 'probeLease', 'probeUntil')
  redis.call('PEXPIRE', key, ttl)
  return {'closed', 0, 0, 1}
end

-- closed
if outcome == 'neutral' then return {state, failures, 0, 0} end

local bucketMs = math.ceil(windowMs / buckets)
local index = math.floor(now / bucketMs)
local slot = index % buckets
if tonumber(redis.call('HGET', key, 'b' .. slot)) ~= index then
  redis.call('HSET', key, 'b' .. slot, index, 's' .. slot, 0, 'f' .. slot, 0)
end

if outcome == 'success' then
  redis.call('HINCRBY', key, 's' .. slot, 1)
  if failures ~= 0 then redis.call('HSET', key, 'failures', 0) end
  failures = 0
  redis.call('PEXPIRE', key, ttl)
  return {state, 0, 0, 0}
end

redis.call('HINCRBY', key, 'f' .. slot, 1)
failures = redis.call('HINCRBY', key, 'failures', 1)
redis.call('PEXPIRE', key, ttl)
if failures >= threshold then return open() end

if ratio > 0 then
  local total, failed = 0, 0
  for i = 0, buckets - 1 do
    local ring = redis.call('HMGET', key, 'b' .. i, 's' .. i, 'f' .. i)
    local at = tonumber(ring[1])
    if at ~= nil and at > index - buckets then
      total = total + (tonumber(ring[2]) or 0) + (tonumber(ring[3]) or 0)
      failed = failed + (tonumber(ring[3]) or 0)
    end
  end
  if total >= minimum and failed / total >= ratio then return open() end
end
return {state, failures, 0, 0}
