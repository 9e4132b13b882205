-- Replays precomputed, signed Twilio webhooks: each wrk thread walks its own file of calls.
--
--   wrk -t N -c N -d SECONDS -s bench/calls.lua http://127.0.0.1:PORT/ -- DIR WARMUP THINK_MS
--
-- wrk calls request() per thread, not per connection, and doesn't say which connection asks.
-- With several connections in a thread, the next webhook of a call could leave on another
-- connection before the answer to the one before it came back, which is not how Twilio calls.
-- So bench/run.py starts wrk with as many threads as connections: one connection per thread,
-- and a call's webhooks go out one after the other, each after the reply to the one before.
--
-- DIR holds one file per thread, "<id>.req": for each request a line "<bytes> <expected
-- status>", then the raw request. Every reply is checked: a wrong status, or a spoken apology
-- (what the engine says when a webhook comes for a call it doesn't know), is counted, so a
-- broken run can't pass as a fast one. A thread that has sent its whole file starts it again
-- and counts a wrap: bench/run.py sizes the files so that this doesn't happen.
--
-- Latency and throughput are measured here rather than by wrk, and only after WARMUP seconds:
-- the first moments of a run (64 threads starting, 64 connections opening at once on a busy
-- server) make a tail that is the load generator's, not the server's. THINK_MS, when not 0,
-- is how long each call waits, on average, after a reply before its next webhook, like a
-- caller listening to a prompt: the load of that many calls in progress, not of a flood.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local ts = ffi.new("bench_timespec")

local function now_us()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000000 + tonumber(ts.tv_nsec) / 1000
end

-- In wrk's main state: number the threads and give them all the same starting time.
local threads = {}
local started = nil

-- With BENCH_PORTS="P1,P2" in the environment, the threads (each one connection, one caller
-- at a time) take turns between the servers on those ports, as a round-robin load balancer in
-- front of several hosts would. The requests name the first port in their Host header, the URL
-- Twilio signed, as the public URL does behind a load balancer.
local ports = {}
for port in (os.getenv("BENCH_PORTS") or ""):gmatch("%d+") do
  table.insert(ports, port)
end

function setup(thread)
  started = started or now_us()
  if #ports > 0 then
    thread.addr = wrk.lookup("127.0.0.1", ports[#threads % #ports + 1])[1]
  end
  thread:set("id", #threads)
  thread:set("began", started)
  table.insert(threads, thread)
end

-- In each thread's state.
local requests = {}
local expected = {}
local received = 0
local total = 0
local sent_at = 0
local think = 0

function init(args)
  local file = assert(io.open(string.format("%s/%d.req", args[1], id), "rb"))
  while true do
    local line = file:read("*l")
    if not line then break end
    local size, status = line:match("^(%d+) (%d+)$")
    total = total + 1
    requests[total] = file:read(tonumber(size))
    expected[total] = tonumber(status)
  end
  file:close()
  measure_from = began + tonumber(args[2] or 0) * 1000000
  think = tonumber(args[3] or 0)
  latencies, measured, last_at, wraps, bad, sorry = {}, 0, 0, 0, 0, 0
  if think > 0 then
    -- Defined only then: wrk looks for delay() once, after this, and a delay of 0 would
    -- still cost a timer per request. Each wait is drawn between half and one and a half
    -- times THINK_MS, so that the calls, which all start at once, drift apart as real ones.
    math.randomseed(id + 1)
    function delay()
      return math.floor(think * (0.5 + math.random()))
    end
  end
end

-- The next request is the one after the last answer: with one connection per thread that is
-- exact, and it leaves the choice free of side effects, which matters because wrk calls
-- request() once more on the first thread's state, before the run, to check the script.
function request()
  sent_at = now_us()
  return requests[received % total + 1]
end

function response(status, headers, body)
  local at = now_us()
  received = received + 1
  if received > total then
    received = 1
    wraps = wraps + 1
  end
  if status ~= expected[received] then
    bad = bad + 1
  elseif body and body:find("Sorry", 1, true) then
    sorry = sorry + 1
  end
  if at >= measure_from then
    measured = measured + 1
    latencies[measured] = at - sent_at
    last_at = at
  end
end

function done(summary, latency, requests)
  local all, wraps_all, bad_all, sorry_all, last, from = {}, 0, 0, 0, 0, 0
  for _, thread in ipairs(threads) do
    for _, value in ipairs(thread:get("latencies")) do
      all[#all + 1] = value
    end
    wraps_all = wraps_all + thread:get("wraps")
    bad_all = bad_all + thread:get("bad")
    sorry_all = sorry_all + thread:get("sorry")
    last = math.max(last, thread:get("last_at"))
    from = thread:get("measure_from")
  end
  table.sort(all)
  local function pct(q)
    if #all == 0 then return 0 end
    return all[math.max(1, math.ceil(q / 100 * #all))]
  end
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "window_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, '
      .. '"max_us": %d, "socket_errors": %d, "non_2xx": %d, "timeouts": %d, '
      .. '"unexpected": %d, "apologies": %d, "wraps": %d, "all_requests": %d}\n',
    #all, math.max(1, last - from), pct(50), pct(90), pct(99), pct(100),
    e.connect + e.read + e.write, e.status, e.timeout, bad_all, sorry_all, wraps_all,
    summary.requests))
end
