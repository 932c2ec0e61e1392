--[[
  Move a stored conversation's head (its latest response) from the response a new one
  continues to the new one, only if the head is still that response: two requests that
  continue the same response cannot both extend its conversation.

  KEYS[1] head key (string: the id of the conversation's latest response)
  ARGV[1] the response the new one continues (expected head)
  ARGV[2] the new response id
  ARGV[3] TTL of the head key (seconds)

  Returns 1 when the head moved, 0 when the head is another response (or gone).
]]
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
