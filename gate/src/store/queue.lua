-- The gate's queue (gate/src/queue.rs) as one Redis script, run with EVALSHA: each call is
-- atomic, like a call on the in-memory queue under its mutex. Same steps, same names, same
-- constants; `tests/redis_store.rs` checks both give the same decisions for the same calls.
--
-- KEYS[1] = "waitroom:{room}:q", the room's state hash. Every other key of the room is built
-- from the same prefix, so shares its hash tag `{room}` and its Redis Cluster slot.
-- ARGV[1] = the operation, ARGV[2] = now (ms since the epoch, the calling gate's clock).
--
-- Lua in Redis counts in doubles: integers are exact below 2^53 (sequence numbers are µs
-- since the epoch, about 2^51), and are always written with string.format, never tostring.

local Q = KEYS[1]
local P = string.sub(Q, 1, -2)
local op = ARGV[1]
local now = tonumber(ARGV[2])

local ON_TIME_SLACK = 1000
local CHECK_MARGIN = 5000
local PRIOR_SHOWS = 20
local ESTIMATE_WINDOW = 2000
local MAX_NO_SHOW = 0.9
local STANDBY_HEDGE = 0.3
local SURE_AFTER = 300
local RESTORE_LANE = 65536
local VISIT_STEPS = 64
local CHECK, DROP = 0, 1
-- A live record outlives its deadlines by a day (a long closure), then expires anyway.
local LIVE_MARGIN = 86400000
local HISTORY_MINUTES = 15
-- Join attempts are counted over the last minute in 5-s steps (proof_of_work.rs, JoinRate).
local JOIN_STEP, JOIN_STEPS = 5000, 12
local MAX_CLOSURES = 16
-- The room's state hash outlives a week without any call.
local ROOM_TTL = 7 * 86400000

local function I(x) return string.format('%.0f', x) end
local function F(x) return string.format('%.17g', x) end
local function pad(x) return string.format('%017.0f', x) end

local KEY_LIVE, KEY_LANE, KEY_SB, KEY_DUE = P .. 'live', P .. 'lane', P .. 'sb', P .. 'due'
local KEY_ADDR = P .. 'addr'

if op == 'nonce' then
  -- ARGV[3] = the nonce's name, ARGV[4] = ms to remember it. 1 if it was new: single use,
  -- across every instance (a consumed pass, a proof-of-work challenge).
  local done = redis.call('SET', P .. 'n:' .. ARGV[3], '1', 'NX', 'PX', ARGV[4])
  if done then return 1 end
  return 0
end
if op == 'seen' then
  -- ARGV[3] = the nonce's name: 1 if it was used.
  return redis.call('EXISTS', P .. 'n:' .. ARGV[3])
end

-- The state hash, as numbers (the closure's message stays a string).
local NUMERIC = { 'apm', 'rate', 'burst', 'tokens', 'refilled', 'sched', 'last', 'expected',
  'mean', 'judg', 'ens', 'grace', 'jitter', 'first', 'next', 'lane_base', 'lane_len', 'live',
  'admitted', 'dropped', 'issued', 'restored', 'retold', 'max_addr', 'anon', 'epoch' }
local s = {}
do
  local raw = redis.call('HGETALL', Q)
  for k = 1, #raw, 2 do s[raw[k]] = raw[k + 1] end
  for _, name in ipairs(NUMERIC) do s[name] = tonumber(s[name]) end
end
local created = false
if s.apm == nil then
  -- A new room (or one whose store lost its data): configured by its first caller.
  -- ARGV[3..9] = admit per minute, burst, grace ms, jitter ms, expected no-show, first seq
  -- (0 for now in µs), places per address.
  local apm = tonumber(ARGV[3])
  local first = tonumber(ARGV[8])
  if first == 0 then first = now * 1000 end
  s = { apm = apm, rate = apm / 60000, burst = tonumber(ARGV[4]), tokens = tonumber(ARGV[4]),
    refilled = now, sched = now, last = now, expected = 0, mean = 0, judg = 0,
    ens = tonumber(ARGV[7]), grace = tonumber(ARGV[5]), jitter = tonumber(ARGV[6]),
    first = first, next = first, lane_base = first - math.min(RESTORE_LANE, first - 1),
    lane_len = 0, anon = 0, epoch = 0, live = 0, admitted = 0, dropped = 0, issued = 0, restored = 0, retold = 0,
    max_addr = tonumber(ARGV[9]), c_msg = '', c_since = '', c_until = '', closures = '',
    maps = '' }
  created = true
end

local function save_state()
  local args = {}
  for _, name in ipairs(NUMERIC) do
    args[#args + 1] = name
    args[#args + 1] = F(s[name])
  end
  for _, name in ipairs({ 'c_msg', 'c_since', 'c_until', 'closures', 'maps' }) do
    args[#args + 1] = name
    args[#args + 1] = s[name] or ''
  end
  redis.call('HSET', Q, unpack(args))
  redis.call('PEXPIRE', Q, ROOM_TTL)
end

-- Ticket records: "t:<seq>" hashes.
local function rkey(seq) return P .. 't:' .. I(seq) end

local function load_raw(seq)
  local raw = redis.call('HGETALL', rkey(seq))
  if #raw == 0 then return nil end
  local r = {}
  for k = 1, #raw, 2 do r[raw[k]] = raw[k + 1] end
  for _, name in ipairs({ 'told', 'gen', 'j', 'r', 'e', 'sb', 'le', 'ep' }) do
    r[name] = tonumber(r[name])
  end
  r.seq = seq
  return r
end

local function check_delay() return s.jitter + CHECK_MARGIN end

local function save(r)
  local k = rkey(r.seq)
  redis.call('HSET', k, 'told', I(r.told), 'gen', I(r.gen), 'st', r.st, 'j', I(r.j),
    'r', I(r.r), 'e', I(r.e), 'sb', I(r.sb), 'a', r.a or '', 'le', I(r.le or 0),
    'ep', I(r.ep or s.epoch))
  local ttl
  if r.st == 'L' then
    ttl = math.max(r.told - now, 0) + s.grace + LIVE_MARGIN
  elseif r.st == 'A' then
    -- A lost admission reply is asked again with a ticket valid `grace` after its told time,
    -- at most the slack after the admission; its no-show check may come later still.
    ttl = s.grace + ON_TIME_SLACK + check_delay()
  else
    -- Dropped: kept only for a no-show check still due.
    ttl = check_delay() + 1000
  end
  redis.call('PEXPIRE', k, math.ceil(ttl))
end

-- Re-timing without touching every ticket. An operator's change (a lower rate, a reopening)
-- maps every live told time and deadline through a non-decreasing f with f(t) >= t; the memory
-- queue does it at once (O(n) under its mutex), which in Redis would block every instance for
-- seconds. Here the change is appended to the room's list of maps (`maps`, numbered by
-- `epoch`), and each ticket is brought up to date when it is next read, with its deadlines:
-- the same maps in the same order, so the same times. A deadline whose ticket is behind is
-- brought up to date before it may fall due (its time can only move later).
local map_list = nil
local function maps()
  if map_list then return map_list end
  map_list = {}
  for item in string.gmatch(s.maps or '', '[^;]+') do
    local f = {}
    for field in string.gmatch(item, '[^,]+') do f[#f + 1] = field end
    if f[1] == 's' then
      map_list[#map_list + 1] = { kind = 's', shift = tonumber(f[2]), floor = tonumber(f[3]) }
    else
      map_list[#map_list + 1] = { kind = 'x', start = tonumber(f[2]), stretch = tonumber(f[3]),
        horizon = tonumber(f[4]), floor = tonumber(f[5]) }
    end
  end
  return map_list
end

local function apply_map(m, t)
  if m.kind == 's' then return t + m.shift end
  if t > m.start then return math.min(m.start + (t - m.start) * m.stretch, math.max(m.horizon, t)) end
  return t
end

local function mapped(m, t) return math.max(math.ceil(apply_map(m, t)), t) end

local function due_member(seq, gen, kind)
  return pad(seq) .. ':' .. string.format('%010.0f', gen) .. ':' .. kind
end

-- Brings record r up to the room's epoch; true if it was behind.
local function freshen(r)
  local ep = r.ep or 0
  if ep >= s.epoch then return false end
  local list = maps()
  local members = { { due_member(r.seq, 0, CHECK), 0, CHECK } }
  for g = 0, r.gen do members[#members + 1] = { due_member(r.seq, g, DROP), g, DROP } end
  for _, m in ipairs(members) do
    local score = redis.call('ZSCORE', KEY_DUE, m[1])
    m[4] = score and tonumber(score)
  end
  for k = ep + 1, s.epoch do
    local m = list[k]
    if r.st == 'L' then r.told = mapped(m, r.told) end
    for _, d in ipairs(members) do
      if d[4] then
        local at = math.max(mapped(m, d[4]), m.floor)
        if r.st == 'L' and r.gen == d[2] then
          at = math.max(at, r.told + ((d[3] == CHECK) and check_delay() or s.grace))
        end
        d[4] = at
      end
    end
  end
  for _, d in ipairs(members) do
    if d[4] then redis.call('ZADD', KEY_DUE, I(d[4]), d[1]) end
  end
  r.ep = s.epoch
  return true
end

local freshened = false
local function load(seq)
  local r = load_raw(seq)
  if r and freshen(r) then
    save(r)
    freshened = true
  end
  return r
end

local function is_lane(seq) return seq < s.first end

local function lookup(seq)
  if seq >= s.first then
    if seq >= s.next then return 'implausible' end
    local r = load(seq)
    if r then return 'record', r end
    return 'forgotten'
  end
  if seq >= s.lane_base and seq - s.lane_base < s.lane_len then
    local r = load(seq)
    if r then return 'record', r end
    return 'forgotten'
  end
  local lane = redis.call('GET', P .. 'r:' .. I(seq))
  if lane then
    local r = load(tonumber(lane))
    if r then return 'record', r end
    return 'forgotten'
  end
  return 'earlier'
end

local function lane_has_room() return s.lane_len < s.first - s.lane_base end

local function would_join(kind, seq)
  if kind == 'fresh' then return true end
  local found, r = lookup(seq)
  if found == 'record' then return r.st == 'D' end
  if found == 'earlier' then return not lane_has_room() end
  return true
end

local function no_show_rate()
  local estimate = (s.mean * s.judg + s.ens * PRIOR_SHOWS) / (s.judg + PRIOR_SHOWS)
  return math.min(estimate, MAX_NO_SHOW)
end

local function scheduling_no_show_rate()
  local p = no_show_rate()
  local n = s.judg + PRIOR_SHOWS
  return math.max(p - 0.5 * math.sqrt(p * (1 - p) / n), 0)
end

local function telling_no_show_rate()
  local unsure = math.max(1 - s.judg / SURE_AFTER, 0)
  return math.max(scheduling_no_show_rate(), STANDBY_HEDGE * unsure)
end

local function judge(no_show)
  s.judg = math.min(s.judg + 1, ESTIMATE_WINDOW)
  local x = no_show and 1 or 0
  s.mean = s.mean + (x - s.mean) / s.judg
end

-- Deadlines: members "<seq>:<generation>:<kind>", zero-padded so that equal times fall due in
-- the order of the in-memory heap (time, seq, generation, kind).
local function push_due(at, seq, gen, kind)
  redis.call('ZADD', KEY_DUE, I(at), pad(seq) .. ':' .. string.format('%010.0f', gen) .. ':' .. kind)
end

local function lane_member(r) return pad(r.le) end

local function leave_order(r)
  if is_lane(r.seq) then
    redis.call('ZREM', KEY_LANE, lane_member(r))
  else
    redis.call('ZREM', KEY_LIVE, I(r.seq))
  end
  s.live = s.live - 1
end

local function unexpect(r)
  if r.e == 1 then
    r.e = 0
    s.expected = s.expected - 1
  end
end

local function set_standby(r, on)
  local v = on and 1 or 0
  if r.sb == v then return end
  r.sb = v
  if on then
    redis.call('ZADD', KEY_SB, I(r.seq), I(r.seq))
  else
    redis.call('ZREM', KEY_SB, I(r.seq))
  end
end

local function standing_by() return redis.call('ZCARD', KEY_SB) end

local function standby_ahead(r)
  if is_lane(r.seq) then
    return redis.call('ZCOUNT', KEY_SB, '-inf', '(' .. I(s.first))
  end
  return redis.call('ZCOUNT', KEY_SB, '-inf', '(' .. I(r.seq))
end

local function position(r)
  if is_lane(r.seq) then
    local rank = redis.call('ZRANK', KEY_LANE, lane_member(r))
    return (rank or 0) + 1
  end
  return redis.call('ZCARD', KEY_LANE) + redis.call('ZCOUNT', KEY_LIVE, '-inf', I(r.seq))
end

-- Places held per address (crate::fairness), released on admission or drop.
local function address_left(r)
  if r.a and r.a ~= '' then
    if redis.call('HINCRBY', KEY_ADDR, r.a, -1) <= 0 then redis.call('HDEL', KEY_ADDR, r.a) end
    r.a = ''
  end
end

local function take_token()
  if s.tokens >= 1 then
    s.tokens = s.tokens - 1
    s.admitted = s.admitted + 1
    return true
  end
  return false
end

local function token_ready_at(t) return t + math.max(1 - s.tokens, 0) / s.rate end

local dropped_now = 0

local function fall_due(member)
  local seq = tonumber(string.sub(member, 1, 17))
  local gen = tonumber(string.sub(member, 19, 28))
  local kind = tonumber(string.sub(member, 30))
  local found, r = lookup(seq)
  if found ~= 'record' or r.seq ~= seq then return end
  local dirty = false
  if kind == CHECK and r.j == 0 then
    r.j = 1
    judge(not (r.r == 1 or r.st == 'A'))
    dirty = true
  end
  if r.st ~= 'L' or r.gen ~= gen then
    if dirty then save(r) end
    return
  end
  if kind == CHECK then
    unexpect(r)
    push_due(math.max(r.told + s.grace, now), seq, gen, DROP)
  else
    unexpect(r)
    set_standby(r, false)
    r.st = 'D'
    leave_order(r)
    s.dropped = s.dropped + 1
    address_left(r)
    dropped_now = dropped_now + 1
  end
  save(r)
end

-- Refills the bucket and handles at most `steps` deadlines due by now; returns whether some
-- are left. (The in-memory queue also compacts its dead front here; in Redis, key expiry does.)
local function housekeep(steps)
  if now > s.refilled then
    s.tokens = math.min(s.tokens + (now - s.refilled) * s.rate, s.burst)
    s.refilled = now
  end
  local done = 0
  while true do
    local head = redis.call('ZRANGEBYSCORE', KEY_DUE, '-inf', I(now), 'LIMIT', 0, 1)
    if #head == 0 then return false end
    -- Its ticket brought up to date first: the deadline may move later (then look again).
    freshened = false
    if s.epoch > 0 then load(tonumber(string.sub(head[1], 1, 17))) end
    if not freshened then
      if done == steps then return true end
      done = done + 1
      redis.call('ZREM', KEY_DUE, head[1])
      fall_due(head[1])
    end
  end
end

local function queued(r)
  return { 'queued', I(r.seq), position(r), I(math.max(r.told - now, 0)),
    F(s.apm / (1 - no_show_rate())) }
end

local function next_free_slot()
  local ahead = standing_by() + (1 - no_show_rate()) * s.expected
  local turn = now + math.max(ahead + 1 - s.tokens, 0) / s.rate
  return math.max(s.sched, turn, token_ready_at(now))
end

local function newcomer(address)
  if s.live == 0 and take_token() then
    -- Let straight in, without a ticket: the pass gets the room's next anonymous number.
    local id = s.first + s.anon
    s.anon = s.anon + 1
    return { 'admitted', '', I(now), I(id) }
  end
  local told = next_free_slot()
  s.last = told
  s.sched = told + (1 - telling_no_show_rate()) / s.rate
  local seq = s.next
  s.next = s.next + 1
  local r = { seq = seq, told = math.ceil(told), gen = 0, st = 'L', j = 0, r = 0, e = 1, sb = 0,
    a = address }
  s.expected = s.expected + 1
  redis.call('ZADD', KEY_LIVE, I(seq), I(seq))
  s.live = s.live + 1
  s.issued = s.issued + 1
  if address ~= '' then redis.call('HINCRBY', KEY_ADDR, address, 1) end
  push_due(r.told + check_delay(), seq, 0, CHECK)
  save(r)
  return queued(r)
end

local function admit(r)
  unexpect(r)
  set_standby(r, false)
  r.st = 'A'
  r.told = now
  leave_order(r)
  address_left(r)
  save(r)
  return { 'admitted', I(r.seq), I(now), '' }
end

local function stand_by(r)
  local gap = 1 / s.rate
  local told = math.max(s.sched, s.last + gap, now + gap, r.told)
  s.sched = told + gap
  s.last = told
  set_standby(r, true)
  r.told = math.ceil(told)
  r.gen = r.gen + 1
  push_due(r.told + s.grace, r.seq, r.gen, DROP)
  s.retold = s.retold + 1
end

local function holder_visit(r)
  r.r = 1
  if now + ON_TIME_SLACK < r.told then
    local horizon = s.burst / s.rate
    local due_soon = (not is_lane(r.seq)) and r.told <= now + horizon
    if due_soon and s.tokens >= s.burst - 1 and standby_ahead(r) == 0 and take_token() then
      return admit(r)
    end
    save(r)
    return queued(r)
  end
  unexpect(r)
  if take_token() then return admit(r) end
  stand_by(r)
  save(r)
  return queued(r)
end

local function restore(earlier, told)
  local told_at = told or now
  local seq = s.lane_base + s.lane_len
  s.lane_len = s.lane_len + 1
  redis.call('ZADD', KEY_LANE, I(told_at), pad(earlier))
  s.sched = math.max(s.sched, told_at + 1 / s.rate)
  local r = { seq = seq, told = told_at, gen = 0, st = 'L', j = 1, r = 1, e = 0, sb = 0,
    le = earlier, a = '' }
  redis.call('SET', P .. 'r:' .. I(earlier), I(seq), 'PX',
    math.ceil(math.max(told_at - now, 0) + s.grace + LIVE_MARGIN))
  push_due(math.max(told_at, now) + s.grace, seq, 0, DROP)
  s.live = s.live + 1
  s.restored = s.restored + 1
  return holder_visit(r)
end

local function visit(kind, seq, told, address)
  housekeep(VISIT_STEPS)
  if kind == 'fresh' then return newcomer(address) end
  local found, r = lookup(seq)
  if found == 'record' then
    if r.st == 'L' then return holder_visit(r) end
    if r.st == 'A' then return { 'admitted', I(r.seq), I(r.told), '' } end
    return newcomer(address)
  end
  if found == 'earlier' and lane_has_room() then return restore(seq, told) end
  return newcomer(address)
end

-- Applies map m (non-decreasing, f(t) >= t; deadlines then at least m.floor) to every live
-- told time, the schedule and every deadline: the schedule now, the tickets lazily (freshen).
local function remap_times(m)
  s.sched = math.max(apply_map(m, s.sched), s.sched)
  s.last = math.max(apply_map(m, s.last), s.last)
  local item
  if m.kind == 's' then
    item = 's,' .. F(m.shift) .. ',' .. I(m.floor)
  else
    item = 'x,' .. F(m.start) .. ',' .. F(m.stretch) .. ',' .. F(m.horizon) .. ',' .. I(m.floor)
  end
  s.maps = ((s.maps or '') == '' and item) or (s.maps .. ';' .. item)
  s.epoch = s.epoch + 1
  map_list = nil
end

local function closure()
  return { s.c_msg or '', s.c_since or '', s.c_until or '', s.closures or '' }
end

-- Opens a closed room (queue.reopen): the room was left untouched since it closed.
local function reopen(hold_for)
  if (s.c_msg or '') == '' then return false end
  local since = tonumber(s.c_since)
  local closed_for = math.max(now - since, 0)
  s.refilled = s.refilled + closed_for
  remap_times({ kind = 's', shift = closed_for, floor = now + hold_for })
  local list = {}
  for item in string.gmatch(s.closures or '', '[^,]+') do list[#list + 1] = item end
  list[#list + 1] = I(since) .. ':' .. I(now)
  while #list > MAX_CLOSURES do table.remove(list, 1) end
  s.closures = table.concat(list, ',')
  s.c_msg, s.c_since, s.c_until = '', '', ''
  return true
end

-- Whether the room is closed now; reopens it first when its end has come.
local function closed_now(hold_for)
  if (s.c_msg or '') == '' then return false end
  if s.c_until ~= '' and tonumber(s.c_until) <= now then
    reopen(hold_for)
    return false
  end
  return true
end

local function count_minute(arrived, admitted)
  local k = P .. 'm:' .. I(math.floor(now / 60000))
  if arrived then redis.call('HINCRBY', k, 'j', 1) end
  if admitted then redis.call('HINCRBY', k, 'a', 1) end
  redis.call('PEXPIRE', k, (HISTORY_MINUTES + 1) * 60000)
end

local result
if op == 'visit' then
  -- ARGV[10..15]: kind (fresh, ticket, signed), seq, told ms, address key ('' for none),
  -- max queue, hold ms after a scheduled reopening.
  local kind, seq, told = ARGV[10], tonumber(ARGV[11]), tonumber(ARGV[12])
  local address, max_queue, hold_for = ARGV[13], tonumber(ARGV[14]), tonumber(ARGV[15])
  if kind ~= 'signed' then told = nil end
  if closed_now(hold_for) then
    result = { 'closed', closure() }
  else
    local joins = would_join(kind, seq)
    if joins and s.live >= max_queue then
      result = { 'full' }
    elseif joins and address ~= ''
        and tonumber(redis.call('HGET', KEY_ADDR, address) or '0') >= s.max_addr then
      result = { 'address' }
    else
      local before = s.admitted
      result = visit(kind, seq, told, joins and address or '')
      local spent = s.admitted > before
      if joins or spent then count_minute(joins, spent) end
      result[#result + 1] = spent and 1 or 0
    end
  end
  result[#result + 1] = dropped_now
  save_state()
elseif op == 'tidy' then
  -- ARGV[3..9] as at creation (a tidy-up may be the first call), ARGV[10] = batch, ARGV[11]
  -- = hold ms after a scheduled reopening, ARGV[12] = the join attempts the calling instance
  -- saw since its last tidy-up. They are added to the room's count of the current 5-s step,
  -- and the reply carries the room's attempts over the last minute, every instance's, which
  -- the proof of work follows (gate/src/proof_of_work.rs, `JoinRate`: same window, same steps).
  local more = false
  if not closed_now(tonumber(ARGV[11])) then more = housekeep(tonumber(ARGV[10])) end
  save_state()
  local step = math.floor(now / JOIN_STEP)
  local seen = tonumber(ARGV[12])
  if seen > 0 then
    local key = P .. 'j:' .. I(step)
    redis.call('INCRBY', key, I(seen))
    redis.call('PEXPIRE', key, JOIN_STEP * (JOIN_STEPS + 1))
  end
  local keys = {}
  for back = JOIN_STEPS - 1, 0, -1 do keys[#keys + 1] = P .. 'j:' .. I(step - back) end
  local joins = 0
  for _, count in ipairs(redis.call('MGET', unpack(keys))) do joins = joins + tonumber(count or '0') end
  result = { more and 1 or 0, dropped_now, closure(), I(s.live), F(s.apm), I(joins) }
elseif op == 'state' then
  local minutes = {}
  local current = math.floor(now / 60000)
  for back = HISTORY_MINUTES - 1, 0, -1 do
    local minute = current - back
    local m = redis.call('HMGET', P .. 'm:' .. I(minute), 'j', 'a')
    minutes[#minutes + 1] = { I(minute), tonumber(m[1] or '0'), tonumber(m[2] or '0') }
  end
  if created then save_state() end
  result = { I(s.live), F(s.apm), F(s.burst), F(no_show_rate()),
    I(math.max(math.ceil(s.last), now)), standing_by(), I(s.admitted), I(s.issued),
    I(s.dropped), closure(), minutes, I(s.restored), I(s.retold), I(s.first) }
elseif op == 'rate' then
  -- ARGV[10], ARGV[11] = the new rate per minute and burst.
  local apm, burst = tonumber(ARGV[10]), tonumber(ARGV[11])
  housekeep(0)
  local stretch = s.apm / apm
  if stretch > 1 then
    local start = now
    local horizon = start + (s.live + 1) * 60000 / apm
    remap_times({ kind = 'x', start = start, stretch = stretch, horizon = horizon, floor = 0 })
  end
  local from = s.apm
  s.apm, s.burst, s.rate = apm, burst, apm / 60000
  s.tokens = math.min(s.tokens, burst)
  save_state()
  result = { F(from), I(s.live) }
elseif op == 'close' then
  -- ARGV[10], ARGV[11] = message, until (ms, '' for none).
  if (s.c_msg or '') == '' then s.c_since = I(now) end
  s.c_msg, s.c_until = ARGV[10], ARGV[11]
  save_state()
  result = closure()
elseif op == 'open' then
  -- ARGV[10] = hold ms.
  local since = s.c_since
  local opened = reopen(tonumber(ARGV[10]))
  save_state()
  result = { opened and 1 or 0, since or '', I(s.live) }
else
  return redis.error_reply('waitroom: unknown operation ' .. tostring(op))
end
return result
