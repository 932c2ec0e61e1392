--[[
  Exact and semantic lookup in one round trip: the namespace's exact entry for the request,
  and only when there is none, the nearest vectors of the namespace (a repeat costs no search)
  with the entries of those near enough to be judged, so verification needs no second read.

  KEYS[1] entry key of the request's exact entry
  KEYS[2] the namespace's vector set
  KEYS[3] the exact entry key of another scope the same request may be answered from (the
          API's other answering tier), or KEYS[1] when there is none, or when it is on another
          slot (a cluster): when that entry exists the search is skipped, since the caller
          serves that entry

  ARGV[1] query vector as an FP32 blob ('' = exact level only)
  ARGV[2] prefix of the namespace's entry keys (`<prefix><id>`). They carry the namespace's
          hash tag, as KEYS do, so on a cluster they are on this script's slot.
  ARGV[3] id of the request's exact entry (never a candidate: it was read above)
  ARGV[4] lowest VSIM score whose entry is read ('' = read none)
  ARGV[5..] VSIM options (WITHSCORES COUNT n EF m [NOTHREAD])

  Returns {entry JSON or nil, {id, score, id, score, ...}, {entry JSON or nil, ...}, superseded}:
  the list is empty when the entry was found, when no vector was given, when KEYS[3] had an
  entry (then superseded is 1), or when the namespace has no vectors; the third holds, in the
  list's order, the entry of every candidate other than ARGV[3] scoring at least ARGV[4] (nil
  for one that expired meanwhile).
]]
local raw = redis.call('GET', KEYS[1])
if raw or ARGV[1] == '' then
  return {raw, {}, {}, 0}
end
if KEYS[3] ~= KEYS[1] and redis.call('EXISTS', KEYS[3]) == 1 then
  return {false, {}, {}, 1}
end
local search = {'VSIM', KEYS[2], 'FP32', ARGV[1]}
for i = 5, #ARGV do
  search[#search + 1] = ARGV[i]
end
local found = redis.call(unpack(search))
local entries = {}
local least = tonumber(ARGV[4])
if least then
  for i = 1, #found - 1, 2 do
    if found[i] ~= ARGV[3] and tonumber(found[i + 1]) >= least then
      entries[#entries + 1] = redis.call('GET', ARGV[2] .. found[i])
    end
  end
end
return {false, found, entries, 0}
