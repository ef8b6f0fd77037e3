-- PUT /api/v1/plans/{id}: replaces a random established plan's details ($BENCH_PAIRS: "plan-id
-- individual-id" a line), If-Match "*" — the plan's row updated with its access row and change
-- event. Two connections that pick the same plan at once may race: the loser's 412 counts as non-2xx.
local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local common = dofile(dir .. "common.lua")
common.install("update")
local pairs_, headers

function init(args)
  headers = common.init()
  headers["Content-Type"] = "application/json"
  headers["If-Match"] = "*"
  pairs_ = {}
  for _, line in ipairs(common.lines("BENCH_PAIRS")) do
    local plan, individual = line:match("^(%S+) (%S+)$")
    pairs_[#pairs_ + 1] = { plan, individual }
  end
end

function request()
  local pair = pairs_[math.random(#pairs_)]
  local body = string.format(
    '{"individual_id":"%s","need_reason":"Needs coordinated support at home, reviewed %d"}',
    pair[2], math.random(1000))
  return wrk.format("PUT", "/api/v1/plans/" .. pair[1], headers, body)
end
