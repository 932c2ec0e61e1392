--[[
  Record a job that was answered as it arrived (the API's cache fast path): the record, already
  completed with its result and prompt, and its one `done` event, in one step. Nothing is
  published: the job id has not been handed to anyone yet, so nobody can be subscribed.

  KEYS[1] job hash            ({prefix}:{job:ID})
  KEYS[2] job event stream    ({prefix}:{job:ID}:events)
  ARGV[1] tenant
  ARGV[2] created at (ms)
  ARGV[3] stream flag ('1' | '0')
  ARGV[4] requested model
  ARGV[5] result JSON (CompletionJobResult)
  ARGV[6] finished at (ms)
  ARGV[7] prompt kept for feedback
  ARGV[8] TTL of job keys in seconds

  Returns 1.
]]
redis.call('HSET', KEYS[1], 'tenant', ARGV[1], 'status', 'completed', 'createdAt', ARGV[2], 'stream', ARGV[3], 'model', ARGV[4],
  'result', ARGV[5], 'finishedAt', ARGV[6], 'prompt', ARGV[7])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', '20000', '*', 'e', '{"type":"done","result":' .. ARGV[5] .. '}')
redis.call('EXPIRE', KEYS[1], ARGV[8])
redis.call('EXPIRE', KEYS[2], ARGV[8])
return 1
