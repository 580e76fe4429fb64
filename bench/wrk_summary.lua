-- Shared by the wrk scripts (get_ride.lua, post_ride.lua, post_payment.lua): number the
-- threads (each thread's global `id`, 1, 2, ...), count each answer by status class, and at
-- the end print one line "BENCH_JSON {...}" with throughput, latency percentiles
-- (microseconds) and the counts, which bench/run.py parses. Loaded with dofile() from the
-- script's own folder.

threads = {}  -- every thread, for done()
local next_id = 1

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

-- Each thread's counts, read by done() through thread:get().
ok, non2xx, s4xx, s5xx, s503 = 0, 0, 0, 0, 0
first_error = ""

function response(status, headers, body)
   if status >= 200 and status < 300 then
      ok = ok + 1
      return
   end
   non2xx = non2xx + 1
   if status == 503 then
      s503 = s503 + 1
   end
   if status >= 500 then
      s5xx = s5xx + 1
   elseif status >= 400 then
      s4xx = s4xx + 1
   end
   if first_error == "" then
      first_error = tostring(status) .. " " .. string.sub(body or "", 1, 200)
   end
end

local function json_string(s)
   return '"' .. string.gsub(s, '[%c"\\]', function(c)
      return string.format("\\u%04x", string.byte(c))
   end) .. '"'
end

-- Percentiles on a grid fine enough to merge several runs into one distribution.
local grid = {}
for p = 1, 99 do
   grid[#grid + 1] = p
end
for _, p in ipairs({ 99.5, 99.9, 99.99 }) do
   grid[#grid + 1] = p
end

function done(summary, latency, requests)
   local totals = { ok = 0, non2xx = 0, s4xx = 0, s5xx = 0, s503 = 0 }
   local sample = ""
   for _, thread in ipairs(threads) do
      for name, _ in pairs(totals) do
         totals[name] = totals[name] + thread:get(name)
      end
      if sample == "" then
         sample = thread:get("first_error")
      end
   end
   local cdf = {}
   for _, p in ipairs(grid) do
      cdf[#cdf + 1] = string.format("[%g, %d]", p, latency:percentile(p))
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "min_us": %d, "max_us": %d, '
         .. '"p50_us": %d, "p99_us": %d, "ok": %d, "non2xx": %d, "s4xx": %d, "s5xx": %d, '
         .. '"s503": %d, "socket_errors": %d, "timeouts": %d, "first_error": %s, '
         .. '"percentiles_us": [%s]}\n',
      summary.requests, summary.duration, latency.min, latency.max,
      latency:percentile(50), latency:percentile(99),
      totals.ok, totals.non2xx, totals.s4xx, totals.s5xx, totals.s503,
      e.connect + e.read + e.write, e.timeout, json_string(sample), table.concat(cdf, ", ")
   ))
end
