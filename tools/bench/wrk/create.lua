-- POST /api/v1/plans: opens a plan for a random individual ($BENCH_INDIVIDUAL_IDS).
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")
common.install("create")
local ids, headers

function init(args)
  headers = common.init()
  headers["Content-Type"] = "application/json"
  ids = common.lines("BENCH_INDIVIDUAL_IDS")
end

function request()
  local body = string.format('{"individual_id":"%s","need_reason":"Needs coordinated support at home"}',
    ids[math.random(#ids)])
  return wrk.format("POST", "/api/v1/plans", headers, body)
end
