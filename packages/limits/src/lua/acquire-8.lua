--[[
  Acquire one permit to call a deployment. Every check and every write happens in this one
  script, so permits taken by any number of executor processes together never exceed a limit.

  Checks, all evaluated before anything is written: circuit breaker, shared cooldown,
  concurrency leases, requests in the sliding window, tokens in the sliding window.

  The windows are exact sliding logs (one entry per permit, scored by the acquisition time):
  an entry scored s counts while now - window <= s <= now, so every closed interval of
  `window` ms holds at most `limit` permits. A fixed window or an approximate sliding counter
  can grant up to twice the limit around a boundary.

  Pacing: the request log alone lets a backlog spend a whole window in its first second, and
  then again one window later. We stamp a permit when we grant it; the provider stamps the
  call when it arrives, up to the send jitter later. Around each window edge the provider then
  still counts last window's late arrivals while ours have left, so it sees more than the
  limit (measured in bench:storm: window-edge 429s every minute). So permits are also spread:
  no `pacing` ms hold more than ceil(limit x pacing / window x headroom) of them. The
  provider's excess over our count is at most the permits granted within one jitter, which
  pacing keeps under the safety margin (2 % of 600 rpm = 12 permits; 1 s of 588 rpm with 10 %
  headroom is 11). The headroom lets a backlog catch up on a permit taken late (a worker
  resumes some ms after the span has room; at exactly the limit's pace each late resume would
  be lost for good); the request log still caps every window at the limit.

  Input:
    KEYS[1] leases       ZSET  lease id -> lease expiry (ms); expired leases are pruned first,
                               so a crashed worker's lease frees itself
    KEYS[2] requests     ZSET  lease id -> acquisition time (ms): the request log
    KEYS[3] tokens       ZSET  lease id -> acquisition time (ms): the token log
    KEYS[4] tokenCounts  HASH  lease id -> tokens reserved (settled by release-4.lua)
    KEYS[5] tokenTotal   STRING sum of KEYS[4] over the entries of KEYS[3]
    KEYS[6] cooldown     HASH  until (ms), reason
    KEYS[7] adaptive     HASH  learned limits: rpm, rpmCap, tpm, tpmCap (see adapt-3.lua)
    KEYS[8] circuit      HASH  state, openUntil, probeLease, probeUntil (see circuit-1.lua)

    ARGV[1] now (ms, the caller's clock)
    ARGV[2] lease id (unique per acquisition)
    ARGV[3] lease duration (ms)
    ARGV[4] max concurrency (0 = unlimited)
    ARGV[5] requests per window, configured ceiling after the safety margin (0 = unlimited)
    ARGV[6] tokens per window, configured ceiling after the safety margin (0 = unlimited)
    ARGV[7] tokens to reserve (prompt tokens + output budget)
    ARGV[8] window (ms)
    ARGV[9] retry hint (ms) for waits that end when someone releases (concurrency, probe)
    ARGV[10] pacing span (ms): at most ceil(request limit x span / window x ARGV[11]) permits
             in any span (0 = no pacing)
    ARGV[11] pacing headroom (e.g. 1.1)

  Output:
    granted: {1, lease id, lease expiry, probe (1 when this permit is the half-open probe),
              request limit in force (0 = unlimited), token limit in force (0 = unlimited)}
    denied:  {0, reason, retry after (ms, >= 1), limit value}
             reason: 'circuit_open' | 'cooldown' | 'concurrency' | 'rpm' | 'tpm'
             (pacing refusals are 'rpm', with the wait until the span has room)
]]
local now = tonumber(ARGV[1])
local leaseId = ARGV[2]
local leaseMs = tonumber(ARGV[3])
local maxConcurrency = tonumber(ARGV[4])
local rpmCeiling = tonumber(ARGV[5])
local tpmCeiling = tonumber(ARGV[6])
local reserve = math.floor(tonumber(ARGV[7]))
local windowMs = tonumber(ARGV[8])
local pollMs = tonumber(ARGV[9])
local pacingMs = tonumber(ARGV[10]) or 0
local pacingHeadroom = tonumber(ARGV[11]) or 1
local oldest = now - windowMs

-- @include "tighter"
-- @include "as-limit"

-- unpack() of a long list overflows Lua's stack (about 8000 values), so large lists are
-- handled in slices.
local function sliced(list, fn)
  local size = 1000
  for i = 1, #list, size do
    fn({unpack(list, i, math.min(i + size - 1, #list))})
  end
end

-- Prune everything that has left the window or expired.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. oldest)
local stale = redis.call('ZRANGE', KEYS[3], '-inf', '(' .. oldest, 'BYSCORE')
if #stale > 0 then
  local freed = 0
  sliced(stale, function(ids)
    local counts = redis.call('HMGET', KEYS[4], unpack(ids))
    for i = 1, #counts do freed = freed + (tonumber(counts[i]) or 0) end
    redis.call('HDEL', KEYS[4], unpack(ids))
  end)
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. oldest)
  redis.call('DECRBY', KEYS[5], freed)
end
local tokensUsed = 0
if redis.call('ZCARD', KEYS[3]) == 0 then
  -- An empty log means nothing is reserved: resynchronise the running total.
  redis.call('DEL', KEYS[4], KEYS[5])
else
  tokensUsed = tonumber(redis.call('GET', KEYS[5])) or 0
end

local learned = redis.call('HMGET', KEYS[7], 'rpm', 'rpmCap', 'tpm', 'tpmCap')
local rpmLimit = asLimit(tighter(tighter(rpmCeiling, tonumber(learned[2])), tonumber(learned[1])))
local tpmLimit = asLimit(tighter(tighter(tpmCeiling, tonumber(learned[4])), tonumber(learned[3])))

local denyReason = nil
local denyLimit = 0
local denyWait = 0
-- The first refusing check names the reason; the wait is the longest, since all must pass.
local function deny(reason, wait, limit)
  if denyReason == nil then
    denyReason = reason
    denyLimit = limit
  end
  if wait > denyWait then denyWait = wait end
end

-- Circuit breaker: open refuses until openUntil; after that one probe at a time.
local circuit = redis.call('HMGET', KEYS[8], 'state', 'openUntil', 'probeUntil')
local state = circuit[1] or 'closed'
local probe = 0
if state == 'open' or state == 'half_open' then
  local openUntil = tonumber(circuit[2]) or 0
  local probeUntil = tonumber(circuit[3]) or 0
  if now < openUntil then
    deny('circuit_open', openUntil - now, 0)
  elseif probeUntil > now then
    deny('circuit_open', math.min(pollMs, probeUntil - now), 0)
  else
    probe = 1
  end
end

local cooldownUntil = tonumber(redis.call('HGET', KEYS[6], 'until')) or 0
if cooldownUntil > now then deny('cooldown', cooldownUntil - now, 0) end

local inFlight = redis.call('ZCARD', KEYS[1])
if maxConcurrency > 0 and inFlight >= maxConcurrency then
  local soonest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  -- Leases usually end by release long before they expire, so poll rather than wait out
  -- the expiry.
  deny('concurrency', math.min(pollMs, tonumber(soonest[2]) - now), maxConcurrency)
end

local requests = redis.call('ZCARD', KEYS[2])
if rpmLimit > 0 and requests >= rpmLimit then
  -- A permit frees when enough of the oldest entries leave to bring the count below the
  -- limit (the limit may just have shrunk, so possibly more than one).
  local unblocking = redis.call('ZRANGE', KEYS[2], requests - rpmLimit, requests - rpmLimit, 'WITHSCORES')
  deny('rpm', tonumber(unblocking[2]) + windowMs + 1 - now, rpmLimit)
end

if rpmLimit > 0 and pacingMs > 0 then
  -- Room in the span when the burst-th newest permit is at least `pacingMs` old. At least 4
  -- per span: at a low limit (one permit a second below 55 rpm) every permit of a backlog
  -- would cost a whole round of the tier queue's pause and refetch, which under CPU load
  -- stretched a 40 rpm backlog to under half its limit (test/cluster.test.ts).
  local burst = math.max(4, math.ceil(rpmLimit * pacingMs / windowMs * pacingHeadroom))
  if requests >= burst then
    local nth = redis.call('ZRANGE', KEYS[2], -burst, -burst, 'WITHSCORES')
    local at = tonumber(nth[2])
    if at ~= nil and at > now - pacingMs then deny('rpm', at + pacingMs - now, rpmLimit) end
  end
end

if tpmLimit > 0 then
  -- A request larger than the whole budget is admitted into an empty window rather than
  -- never; the provider will judge it.
  local need = math.min(math.max(reserve, 1), tpmLimit)
  if tokensUsed + need > tpmLimit then
    local wait = windowMs + 1
    local remaining = tokensUsed
    local offset = 0
    local found = false
    while not found do
      local batch = redis.call('ZRANGE', KEYS[3], offset, offset + 199, 'WITHSCORES')
      if #batch == 0 then break end
      local ids = {}
      for i = 1, #batch, 2 do ids[#ids + 1] = batch[i] end
      local counts = redis.call('HMGET', KEYS[4], unpack(ids))
      for j = 1, #ids do
        remaining = remaining - (tonumber(counts[j]) or 0)
        if remaining + need <= tpmLimit then
          wait = tonumber(batch[j * 2]) + windowMs + 1 - now
          found = true
          break
        end
      end
      offset = offset + 200
    end
    deny('tpm', wait, tpmLimit)
  end
end

if denyReason ~= nil then
  return {0, denyReason, math.max(1, math.ceil(denyWait)), denyLimit}
end

local expiresAt = now + leaseMs
-- Keys outlive the window by a minute so idle deployments' keys disappear on their own.
local logTtl = windowMs + 60000
redis.call('ZADD', KEYS[1], expiresAt, leaseId)
-- Only ever extend: a short lease must not cut the key's life below a longer one's expiry.
local leasesTtl = redis.call('PTTL', KEYS[1])
if leasesTtl < leaseMs + 60000 then redis.call('PEXPIRE', KEYS[1], leaseMs + 60000) end
redis.call('ZADD', KEYS[2], now, leaseId)
redis.call('PEXPIRE', KEYS[2], logTtl)
redis.call('ZADD', KEYS[3], now, leaseId)
redis.call('PEXPIRE', KEYS[3], logTtl)
redis.call('HSET', KEYS[4], leaseId, reserve)
redis.call('PEXPIRE', KEYS[4], logTtl)
redis.call('INCRBY', KEYS[5], reserve)
redis.call('PEXPIRE', KEYS[5], logTtl)
if probe == 1 then
  redis.call('HSET', KEYS[8], 'state', 'half_open', 'probeLease', leaseId, 'probeUntil', expiresAt)
end
return {1, leaseId, expiresAt, probe, rpmLimit, tpmLimit}
