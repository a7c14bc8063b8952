-- The last connection of a client on this instance closed: is it gone from every instance?
-- Atomic, so when two instances lose the client's last connections at once exactly one of
-- them sees the client gone (and broadcasts `user_disconnected`).
-- KEYS[1]  the sorted set of live instances (score: when each one's lease ends, in ms)
-- ARGV[1]  this instance's id
-- ARGV[2]  the client id
-- ARGV[3]  now, in ms
-- ARGV[4]  the prefix of each instance's set of client ids
redis.call('SREM', ARGV[4] .. ARGV[1], ARGV[2])
local live = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[3], '+inf')
for _, instance in ipairs(live) do
  if instance ~= ARGV[1] and redis.call('SISMEMBER', ARGV[4] .. instance, ARGV[2]) == 1 then
    return 0
  end
end
return 1
