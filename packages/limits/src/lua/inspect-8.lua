--[[
  Read a deployment's limiter state without changing it (deployment picker, metrics).
  Entries that have left the window but are not pruned yet are left out of the counts.

  Input:
    KEYS[1..8] as in acquire-8.lua: leases, requests, tokens, tokenCounts, tokenTotal,
               cooldown, adaptive, circuit

    ARGV[1] now (ms)
    ARGV[2] window (ms)
    ARGV[3] requests ceiling after the safety margin (0 = unlimited)
    ARGV[4] tokens ceiling after the safety margin (0 = unlimited)

  Output:
    {in-flight leases, requests in window, tokens in window, request limit in force,
     token limit in force, cooldown until, cooldown reason, circuit state,
     circuit openUntil, probe hold until, consecutive failures, learned request limit,
     learned token limit, times the circuit opened}
     (limits: 0 = unlimited; learned: 0 = none)
]]
local now = tonumber(ARGV[1])
local oldest = now - tonumber(ARGV[2])

-- @include "tighter"
-- @include "as-limit"

local inFlight = redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
local requests = redis.call('ZCOUNT', KEYS[2], oldest, '+inf')
local tokens = 0
if redis.call('ZCARD', KEYS[3]) > 0 then
  tokens = tonumber(redis.call('GET', KEYS[5])) or 0
  local stale = redis.call('ZRANGE', KEYS[3], '-inf', '(' .. oldest, 'BYSCORE', 'LIMIT', 0, 5000)
  if #stale > 0 then
    for i = 1, #stale, 1000 do
      local counts = redis.call('HMGET', KEYS[4], unpack(stale, i, math.min(i + 999, #stale)))
      for j = 1, #counts do tokens = tokens - (tonumber(counts[j]) or 0) end
    end
  end
  if tokens < 0 then tokens = 0 end
end

local learned = redis.call('HMGET', KEYS[7], 'rpm', 'rpmCap', 'tpm', 'tpmCap')
local rpmLimit = asLimit(tighter(tighter(tonumber(ARGV[3]), tonumber(learned[2])), tonumber(learned[1])))
local tpmLimit = asLimit(tighter(tighter(tonumber(ARGV[4]), tonumber(learned[4])), tonumber(learned[3])))

local cooldown = redis.call('HMGET', KEYS[6], 'until', 'reason')
local circuit = redis.call('HMGET', KEYS[8], 'state', 'openUntil', 'probeUntil', 'failures', 'opens')

return {
  inFlight, requests, tokens, rpmLimit, tpmLimit,
  tonumber(cooldown[1]) or 0, cooldown[2] or '',
  circuit[1] or 'closed', tonumber(circuit[2]) or 0, tonumber(circuit[3]) or 0, tonumber(circuit[4]) or 0,
  math.floor(tonumber(learned[1]) or 0), math.floor(tonumber(learned[3]) or 0), tonumber(circuit[5]) or 0,
}
