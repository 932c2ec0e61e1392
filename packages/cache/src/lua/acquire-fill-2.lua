--[[
  Take the stampede (fill) lock of an exact key, unless identical requests were just found
  not to be cacheable (then coalescing them would only queue them behind each other).

  KEYS[1] lock key
  KEYS[2] "not coalescable" marker, set by a refused store

  ARGV[1] token identifying this leader
  ARGV[2] lock TTL in ms

  Returns 1: this caller leads (lock taken); 0: another caller leads (wait for it);
  2: go ahead without coordination (marker present, no lock taken).
]]
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 2
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
return 0
