-- A pool-warming policy (docs/policies.md): when a new version of a watched table is loaded,
-- flush the pool, so that nobody is handed a warm session that still sees the old data, and
-- warm it again with the queries that fill the cache the users need.
--   TT_GATEWAY=... TT_USER=... TT_PASSWORD=... TT_GROUP=... \
--     scripts/tt-policy scripts/examples/policy_reload_watch.lua [--once] [--dry-run]
-- Try it against a local tt-gateway: load a new version of the item table while it runs,
--   tt-gateway import --db demo.db --table pub.demo.retail.item --csv items.csv
-- and within a tick the log shows the flush and the warm, with the version that caused them.
local policy = require "tenten.policy"
local tenten = require "tenten"

return {
  every = 30,
  rules = {
    -- Loads often come in bursts (one table after another): after acting, wait ten minutes
    -- before flushing again. A reload seen meanwhile is not lost; it is acted on then.
    policy.min_interval(600, policy.on_reload {
      tables = { "pub.demo.retail.item", "pub.demo.weather.stations" },
      warm = true,  -- every free ID
      queries = {
        tenten.BaseQuery("pub.demo.retail.item", '<sel value="store=1"/>'),
      },
    }),
  },
}
