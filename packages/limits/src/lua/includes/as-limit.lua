--[[
  asLimit(value): a limit as whole permits: 0 stays 0 (unlimited), anything else is at least 1.
  A learned limit is fractional (0.7 x ...); permits are whole. Used by acquire and inspect.
]]
local function asLimit(value)
  if value <= 0 then return 0 end
  return math.max(1, math.floor(value))
end
