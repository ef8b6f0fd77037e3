-- GET /api/v1/plans/{id} for a random established plan ($BENCH_PLAN_IDS).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")
common.install("plan")
local ids, headers

function init(args)
  headers = common.init()
  ids = common.lines("BENCH_PLAN_IDS")
end

function request()
  return wrk.format("GET", "/api/v1/plans/" .. ids[math.random(#ids)] .. "", headers)
end
