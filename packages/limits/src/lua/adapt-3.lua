--[[
  Fold one upstream answer into a deployment's learned limits, shared by every process
  (AIMD): a throttle (429) multiplies the learned limit by a factor below 1; each interval
  with successes adds a fixed step back, until the learned limit reaches the ceiling and is
  forgotten. Limits the provider reports in `x-ratelimit-limit-*` become caps.

  A window-edge throttle ('edge': the provider's headers confirm the configured limit and its
  retry-after is within the send jitter the safety margin allows for) is explained by our own
  traffic stamped a little earlier than the provider counted it: it only cools down (the
  caller sets the cooldown), up to an allowance per window. Past the allowance the provider
  is counting traffic we do not see (another client on the same key), and it decreases.

  Per dimension d in {rpm, tpm} the hash holds:
    d        learned limit (fractional; acquire-8.lua floors it)
    dCap     provider-reported limit after the safety margin
    dAt      time of the last change (paces recovery)
    dDownAt  time of the last decrease (429s already in flight when it happened must not
             decrease it again)
    dEdges   window-edge throttles counted since dEdgeAt
    dEdgeAt  start of the window those are counted in

  Input:
    KEYS[1] adaptive    HASH  see above
    KEYS[2] requests    ZSET  request log (what was sent in the window; used when no
                              ceiling is known)
    KEYS[3] tokenTotal  STRING tokens reserved in the window (idem)

    ARGV[1]  now (ms)
    ARGV[2]  requests signal: 'decrease' | 'edge' | 'increase' | 'none'
    ARGV[3]  requests ceiling: configured limit after the safety margin (0 = unlimited)
    ARGV[4]  requests cap seen in this answer's headers, after the margin (0 = none)
    ARGV[5]  requests: with no limit known, decrease from what was sent only if at least
             this many requests are in the window (-1 = never; then no limit, no decrease)
    ARGV[6]  tokens signal: 'decrease' | 'edge' | 'increase' | 'none'
    ARGV[7]  tokens ceiling (0 = unlimited)
    ARGV[8]  tokens cap seen (0 = none)
    ARGV[9]  tokens: as ARGV[5], counted in requests in the window
    ARGV[10] decrease factor (e.g. 0.7)
    ARGV[11] increase step as a fraction of the ceiling (of the learned value without one)
    ARGV[12] increase interval (ms)
    ARGV[13] decrease hold (ms)
    ARGV[14] floor as a fraction of the ceiling
    ARGV[15] window (ms)
    ARGV[16] memory (ms): the hash expires this long after its last change
    ARGV[17] window-edge throttles per window that do not decrease (more do)

  Output:
    {learned requests limit (0 = none), learned tokens limit (0 = none), 1 when anything changed}
]]
local now = tonumber(ARGV[1])
local factor = tonumber(ARGV[10])
local stepFraction = tonumber(ARGV[11])
local interval = tonumber(ARGV[12])
local hold = tonumber(ARGV[13])
local floorFraction = tonumber(ARGV[14])
local windowMs = tonumber(ARGV[15])
local memoryMs = tonumber(ARGV[16])
local edgeAllowance = tonumber(ARGV[17]) or 0
local changed = 0
local sent = redis.call('ZCOUNT', KEYS[2], now - windowMs, '+inf')

-- @include "tighter"

local function adapt(dim, signal, ceiling, capSeen, minimumSent, observed)
  if capSeen > 0 and tonumber(redis.call('HGET', KEYS[1], dim .. 'Cap')) ~= capSeen then
    redis.call('HSET', KEYS[1], dim .. 'Cap', capSeen)
    changed = 1
  end
  local top = tighter(ceiling, tonumber(redis.call('HGET', KEYS[1], dim .. 'Cap')))
  local learned = tonumber(redis.call('HGET', KEYS[1], dim))

  if signal == 'edge' then
    local edge = redis.call('HMGET', KEYS[1], dim .. 'Edges', dim .. 'EdgeAt')
    local edges = tonumber(edge[1]) or 0
    local edgeAt = tonumber(edge[2]) or 0
    if now - edgeAt >= windowMs then
      edges = 0
      edgeAt = now
    end
    edges = edges + 1
    redis.call('HSET', KEYS[1], dim .. 'Edges', edges, dim .. 'EdgeAt', edgeAt)
    changed = 1
    if edges > edgeAllowance then signal = 'decrease' else signal = 'none' end
  end

  if signal == 'decrease' then
    local downAt = tonumber(redis.call('HGET', KEYS[1], dim .. 'DownAt'))
    if downAt == nil or now - downAt >= hold then
      local base = learned or top
      -- No limit known at all: what was sent in the last window was too much, provided
      -- enough was sent to say so (a 429 after 2 requests is about something else).
      if (base == nil or base <= 0) and minimumSent >= 0 and sent >= minimumSent then base = observed() end
      if base ~= nil and base > 0 then
        if top > 0 then base = math.min(base, top) end
        local lowest = 1
        if top > 0 then lowest = math.max(1, top * floorFraction) end
        learned = math.max(lowest, base * factor)
        redis.call('HSET', KEYS[1], dim, learned, dim .. 'At', now, dim .. 'DownAt', now)
        changed = 1
      end
    end
  elseif signal == 'increase' and learned ~= nil then
    local at = tonumber(redis.call('HGET', KEYS[1], dim .. 'At')) or 0
    if now - at >= interval then
      local step
      if top > 0 then step = top * stepFraction else step = learned * stepFraction end
      learned = learned + math.max(1, step)
      if top > 0 and learned >= top then
        -- Fully recovered: the ceiling applies again.
        redis.call('HDEL', KEYS[1], dim, dim .. 'At')
        learned = nil
      else
        redis.call('HSET', KEYS[1], dim, learned, dim .. 'At', now)
      end
      changed = 1
    end
  end
  if learned == nil then return 0 end
  return math.max(1, math.floor(learned))
end

local rpm = adapt('rpm', ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), function()
  return math.max(1, sent)
end)
local tpm = adapt('tpm', ARGV[6], tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9]), function()
  return math.max(1, tonumber(redis.call('GET', KEYS[3])) or 1)
end)

if changed == 1 then redis.call('PEXPIRE', KEYS[1], memoryMs) end
return {rpm, tpm, changed}
