-- GCRA for every policy of one request, in one atomic step: all charged, or none.
-- KEYS[i]  the TAT (µs) of policy i for this caller; all share the caller's hash tag
-- ARGV[1]  the cost; ARGV[2i], ARGV[2i+1]: policy i's emission interval and burst
--          tolerance (burst * interval), in µs
-- Returns {allowed (1/0), now (µs), TAT of each policy after the decision}.
-- The clock is the Redis server's, so the app hosts' clocks never matter.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local cost = tonumber(ARGV[1])
local stored = redis.call('MGET', unpack(KEYS))
local tats = {}
local allowed = 1
for i = 1, #KEYS do
  local tat = tonumber(stored[i]) or 0
  if tat < now then tat = now end
  tats[i] = tat
  if tat + cost * tonumber(ARGV[2 * i]) - tonumber(ARGV[2 * i + 1]) > now then
    allowed = 0
  end
end
if allowed == 1 and cost > 0 then
  for i = 1, #KEYS do
    local tat = tats[i] + cost * tonumber(ARGV[2 * i])
    tats[i] = tat
    -- the key lives exactly as long as it matters: an expired TAT equals no TAT
    redis.call('SET', KEYS[i], string.format('%d', tat), 'PX', math.ceil((tat - now) / 1000))
  end
end
local reply = {allowed, now}
for i = 1, #KEYS do
  reply[i + 2] = tats[i]
end
return reply
