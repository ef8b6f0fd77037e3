-- GET $BENCH_PATH_SUFFIX (a path with its query, e.g. a worklist's first page) with the scenario's
-- token: for the unit-scoped lists that the plans' scenarios do not reach.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")
common.install(os.getenv("BENCH_SCENARIO") or "path")
local headers
local path = os.getenv("BENCH_PATH_SUFFIX")
assert(path and #path > 0, "set $BENCH_PATH_SUFFIX")

function init(args)
  headers = common.init()
end

function request()
  return wrk.format("GET", path, headers)
end
