-- wrk script: the ride page's poll, GET /api/rides/{id}/, each request a random rider's
-- own active ride with that rider's token.
--
--   wrk -t1 -c8 -d10s -s bench/get_ride.lua http://127.0.0.1:PORT/api/rides/ -- RIDES_FILE
--
-- RIDES_FILE: one "TOKEN RIDE_ID" a line (bench/poll_bench.py writes it).

local rides = {}

function init(args)
   for line in io.lines(args[1]) do
      local token, ride = string.match(line, "^(%S+)%s+(%S+)$")
      if token then
         rides[#rides + 1] = { token, ride }
      end
   end
   math.randomseed(1000 + id)
   wrk.method = "GET"
   wrk.headers["Accept"] = "application/json"
end

function request()
   local ride = rides[math.random(#rides)]
   wrk.headers["Authorization"] = "Token " .. ride[1]
   return wrk.format(nil, "/api/rides/" .. ride[2] .. "/")
end

-- response() and done(): each answer counted, and the summary bench/run.py parses.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk_summary.lua")
