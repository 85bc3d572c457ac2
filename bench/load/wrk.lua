-- The load tool's closed-model scenarios under wrk: each connection sends
-- a token request as soon as the last is answered, for a new video each
-- time (WRK_HOT unset) or for one video (WRK_HOT set). The API token comes
-- from the environment, never the command line. done() prints one line
-- the load tool reads.
local token = os.getenv("WRK_API_TOKEN")
local hot = os.getenv("WRK_HOT") ~= nil
local threads = {}
local next_id = 0

setup = function(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

init = function()
  n, ok, shed = 0, 0, 0
  headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
end

request = function()
  n = n + 1
  local video = "ea95132c15732412d22c1476fa83f27a"
  if not hot then
    video = string.format("%08x%024x", id, n)
  end
  return wrk.format("POST", "/client/v4/accounts/023e105f4ecef8ad9ca31a8372d0c353/stream/" .. video .. "/token", headers, "{}")
end

response = function(status)
  if status == 200 then
    ok = ok + 1
  elseif status == 429 then
    shed = shed + 1
  end
end

done = function(summary, latency, requests)
  local total_ok, total_shed = 0, 0
  for _, t in ipairs(threads) do
    total_ok = total_ok + t:get("ok")
    total_shed = total_shed + t:get("shed")
  end
  local e = summary.errors
  io.write(string.format("WRK requests=%d ok=%d shed=%d socket_errors=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, total_ok, total_shed, e.connect + e.read + e.write + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
