--[[
  tighter(a, b): the tighter of two limits, where 0 or nil means unlimited (so the other one
  wins). Used by acquire, adapt and inspect, which must agree on the limit in force.
]]
local function tighter(a, b)
  if a == nil or a <= 0 then return b or 0 end
  if b == nil or b <= 0 then return a end
  return math.min(a, b)
end
