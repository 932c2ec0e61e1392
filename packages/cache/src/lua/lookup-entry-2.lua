--[[
  Exact and semantic lookup in one round trip: the namespace's exact entry for the request,
  and only when there is none, the nearest vectors of the namespace (a repeat costs no search).

  KEYS[1] entry key of the request's exact entry
  KEYS[2] the namespace's vector set

  ARGV[1] query vector as an FP32 blob ('' = exact level only)
  ARGV[2..] VSIM options (WITHSCORES COUNT n EF m [NOTHREAD])

  Returns {entry JSON or nil, {id, score, id, score, ...}}; the list is empty when the entry
  was found, when no vector was given, or when the namespace has no vectors.
]]
local raw = redis.call('GET', KEYS[1])
if raw or ARGV[1] == '' then
  return {raw, {}}
end
local search = {'VSIM', KEYS[2], 'FP32', ARGV[1]}
for i = 2, #ARGV do
  search[#search + 1] = ARGV[i]
end
return {false, redis.call(unpack(search))}
