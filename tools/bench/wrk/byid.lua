-- GET /api/v1/plans/{id}$BENCH_PATH_SUFFIX for a random established plan ($BENCH_PLAN_IDS):
-- one plan (no suffix) or the whole plan (suffix "/document").
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")
common.install(os.getenv("BENCH_SCENARIO") or "plan")
local suffix = os.getenv("BENCH_PATH_SUFFIX") or ""
local ids, headers

function init(args)
  headers = common.init()
  ids = common.lines("BENCH_PLAN_IDS")
end

function request()
  return wrk.format("GET", "/api/v1/plans/" .. ids[math.random(#ids)] .. suffix, headers)
end
