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

local emails = {}
local prefix
local counter = 0

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

-- response() and done(): each answer counted, and the summary bench/run.py parses.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk_summary.lua")
