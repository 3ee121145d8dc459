-- wrk script for bench/run: sends the API key (RC_KEY) on every request, optionally cycles
-- through the request paths listed in WRK_PATHS (one per line), optionally stops each thread
-- after WRK_LIMIT responses, and prints one machine-readable summary line.
local key = os.getenv("RC_KEY")
if key and key ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. key
end

local paths = nil
local paths_file = os.getenv("WRK_PATHS")
if paths_file and paths_file ~= "" then
  paths = {}
  for line in io.lines(paths_file) do
    if line ~= "" then paths[#paths + 1] = line end
  end
end

local limit = tonumber(os.getenv("WRK_LIMIT") or "0") or 0
local index = 0
local count = 0

if paths then
  request = function()
    index = index % #paths + 1
    return wrk.format(nil, paths[index])
  end
end

if limit > 0 then
  response = function(status, headers, body)
    count = count + 1
    if count >= limit then wrk.thread:stop() end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK rps=%.1f p50_us=%d p99_us=%d max_us=%d requests=%d status_errors=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
    latency.max, summary.requests, e.status, e.connect, e.read, e.write, e.timeout))
end
