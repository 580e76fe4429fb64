-- wrk script: POST a ride request as the ride page sends it (frontend/static/frontend/js/
-- ride.js): JSON {pickup, dropoff}, a fresh Idempotency-Key per request (the page keeps one
-- per booking), and the rider's credentials. A rider may have one active ride, so each
-- request comes from the next rider of CREDENTIALS_FILE (bench/run.py gives each run riders
-- of its own): a line with a token sends it as `Authorization: Token`; a line "SESSION CSRF"
-- (bench/seed.py --sessions-file) sends what the page sends signed in (frontend/static/
-- frontend/js/api.js): the session and CSRF cookies, X-CSRFToken and the page's Origin.
--
--   wrk -t1 -c8 -d10s -s bench/post_ride.lua http://127.0.0.1:PORT/api/rides/ \
--       -- CREDENTIALS_FILE CENTER_LAT CENTER_LON SPREAD_LAT SPREAD_LON SEED
--
-- Each thread counts its answers by status class; done() prints one line
-- "BENCH_JSON {...}" with throughput, latency percentiles (microseconds) and the counts,
-- which bench/run.py parses.

local riders = {}
local lat0, lon0, dlat, dlon, origin

function init(args)
   for line in io.lines(args[1]) do
      local session, csrf = line:match("^(%S+)%s+(%S+)$")
      if session then
         riders[#riders + 1] = { session = session, csrf = csrf }
      elseif #line > 0 then
         riders[#riders + 1] = { token = line }
      end
   end
   origin = wrk.scheme .. "://" .. wrk.host .. (wrk.port and (":" .. wrk.port) or "")
   lat0, lon0 = tonumber(args[2]), tonumber(args[3])
   dlat, dlon = tonumber(args[4]), tonumber(args[5])
   math.randomseed(tonumber(args[6] or "1") * 1000 + id)
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["Accept"] = "application/json"
end

local next_rider = 0

local function idempotency_key()
   return string.format("%08x%08x%08x%08x", math.random(0, 0x7fffffff),
      math.random(0, 0x7fffffff), math.random(0, 0x7fffffff), math.random(0, 0x7fffffff))
end

function request()
   local lat = lat0 + (2 * math.random() - 1) * dlat
   local lon = lon0 + (2 * math.random() - 1) * dlon
   -- The drop-off: within about 2 km of the pickup, never on it.
   local dlat_off = (0.005 + 0.012 * math.random()) * (math.random() < 0.5 and -1 or 1)
   local dlon_off = (2 * math.random() - 1) * 0.02
   local body = string.format(
      '{"pickup": {"latitude": %.6f, "longitude": %.6f}, '
         .. '"dropoff": {"latitude": %.6f, "longitude": %.6f}}',
      lat, lon, lat + dlat_off, lon + dlon_off)
   next_rider = next_rider % #riders + 1
   local rider = riders[next_rider]
   if rider.token then
      wrk.headers["Authorization"] = "Token " .. rider.token
   else
      wrk.headers["Cookie"] = "sessionid=" .. rider.session .. "; csrftoken=" .. rider.csrf
      wrk.headers["X-CSRFToken"] = rider.csrf
      wrk.headers["Origin"] = origin
   end
   wrk.headers["Idempotency-Key"] = idempotency_key()
   return wrk.format(nil, nil, nil, body)
end

-- response() and done(): each answer counted, and the summary bench/run.py parses.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "wrk_summary.lua")
