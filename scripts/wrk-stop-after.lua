-- wrk counts time, not requests: with this script each thread stops after WRK_LIMIT responses
-- and leaves the marker file WRK_DONE.<thread>; the caller interrupts wrk (whose main thread
-- sleeps for -d regardless) once every thread has. Used by scripts/loadtest.sh and attack.sh.
wrk.headers["Accept"] = "application/json"
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end
local limit = tonumber(os.getenv("WRK_LIMIT"))
local seen = 0
function response(status, headers, body)
  seen = seen + 1
  if seen == limit then
    io.open(os.getenv("WRK_DONE") .. "." .. id, "w"):close()
    wrk.thread:stop()
  end
end
