-- Shared by the `make bench` scenarios: the token ($BENCH_TOKEN), id files, and one machine-readable
-- line at the end: RESULT <scenario> rps=.. p50_ms=.. p99_ms=.. requests=.. errors=.. non2xx=..
local M = {}
local thread_no = 0

function M.install(scenario)
  function setup(thread)
    thread_no = thread_no + 1
    thread:set("tid", thread_no)
  end
  function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format("RESULT %s rps=%.1f p50_ms=%.2f p99_ms=%.2f requests=%d errors=%d non2xx=%d\n",
      scenario, summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
      latency:percentile(99) / 1000, summary.requests, e.connect + e.read + e.write + e.timeout, e.status))
  end
end

function M.init()
  math.randomseed(os.time() * 1000 + (tid or 0) * 7919)
  local token = os.getenv("BENCH_TOKEN")
  assert(token, "set $BENCH_TOKEN")
  return { ["Authorization"] = "Bearer " .. token,
           ["Accept"] = "application/json" }
end

function M.lines(variable)
  local out = {}
  local path = os.getenv(variable)
  assert(path, "set $" .. variable)
  for line in io.lines(path) do
    if #line > 0 then out[#out + 1] = line end
  end
  assert(#out > 0, "no lines in $" .. variable)
  return out
end

return M
