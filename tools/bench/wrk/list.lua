-- GET /api/v1/plans?status=established&limit=50: the first page the token's unit sees.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")
common.install(os.getenv("BENCH_SCENARIO") or "list")
local headers

function init(args)
  headers = common.init()
end

function request()
  return wrk.format("GET", "/api/v1/plans?status=established&limit=50", headers)
end
