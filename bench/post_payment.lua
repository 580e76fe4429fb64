-- wrk script: POST a payment with a service key, a unique reference and a random payer.
--
--   wrk -t1 -c8 -d10s -s bench/post_payment.lua http://127.0.0.1:PORT/api/payments/ \
--       -- KEY_FILE EMAILS_FILE REFERENCE_PREFIX SEED [PACE_MS]
--
-- With PACE_MS each connection waits a random 0.5-1.5 x PACE_MS after each answer before
-- its next request (a paced load well below capacity, to see latency without queueing);
-- without it the load is a closed loop as fast as the server answers.
-- References are PREFIX-<thread>-<n>, so runs with different prefixes never collide (a
-- repeated reference would answer 409). done() prints the same "BENCH_JSON {...}" line as
-- post_ride.lua, which bench/run.py parses.

local threads = {}
local next_id = 1

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
   table.insert(threads, thread)
end

local emails = {}
local prefix
local counter = 0

ok, non2xx, s4xx, s5xx, s503 = 0, 0, 0, 0, 0
first_error = ""

function init(args)
   local key = io.open(args[1]):read("*l")
   for line in io.lines(args[2]) do
      if #line > 0 then
         emails[#emails + 1] = line
      end
   end
   prefix = args[3] .. "-" .. id
   math.randomseed(tonumber(args[4] or "1") * 1000 + id)
   local pace = tonumber(args[5] or "0")
   if pace > 0 then
      function delay()
         return math.floor(pace * (0.5 + math.random()))
      end
   end
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["Accept"] = "application/json"
   wrk.headers["Authorization"] = "Api-Key " .. key
end

function request()
   counter = counter + 1
   local cents = math.random(100, 50000)
   local body = string.format(
      '{"amount": "%d.%02d", "currency": "USD", "reference": "%s-%d", "payer_email": "%s"}',
      math.floor(cents / 100), cents % 100, prefix, counter, emails[math.random(#emails)]
   )
   return wrk.format(nil, nil, nil, body)
end

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
