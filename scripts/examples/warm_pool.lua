-- Warm the pool before a busy period: log in every free ID and run the queries users are about
-- to run, so their data is cached when they log in.
--   TT_GATEWAY=... TT_USER=... TT_PASSWORD=... TT_GROUP=... tt-lua scripts/examples/warm_pool.lua
local tenten = require "tenten"

local queries = {
  tenten.BaseQuery("pub.demo.weather.hourly90", '<sel value="month(date)=7"/>'),
  tenten.BaseQuery("pub.demo.retail.item", '<sel value="store=1"/>'),
}

local n = tenten.warmpool(os.getenv("TT_GATEWAY"), os.getenv("TT_USER"), os.getenv("TT_PASSWORD"),
  os.getenv("TT_GROUP"), queries)
print(string.format("warmed %d IDs, each ran %d queries", n, #queries))
