-- A pool-warming policy (docs/policies.md): keep three IDs of the pool warm on weekdays from
-- 8:00 to 18:00, each having run the morning's queries, so the first users of the day find
-- their data cached. Outside those hours it does nothing and the gateway's idle timeout cools
-- the pool down.
--   TT_GATEWAY=... TT_USER=... TT_PASSWORD=... TT_GROUP=... \
--     scripts/tt-policy scripts/examples/policy_business_hours.lua [--once] [--dry-run]
-- The gateway, the owner, its password and the group come from those variables because the
-- policy does not name them.
local policy = require "tenten.policy"
local tenten = require "tenten"

return {
  every = 60,          -- look at the pool once a minute
  min_interval = 300,  -- and warm at most every five minutes, however busy the pool gets
  rules = {
    policy.keep_warm {
      count = 3,
      days = "Mon-Fri",
      hours = { "08:00", "18:00" },  -- local time of the machine running the policy (TZ)
      queries = {
        tenten.BaseQuery("pub.demo.retail.item", '<sel value="store=1"/>'),
        tenten.BaseQuery("pub.demo.weather.stations"),
      },
    },
  },
}
