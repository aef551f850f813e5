-- Look after a SAM pool from the command line.
--   tt-lua scripts/examples/pool_admin.lua status|flush|reset [GROUP]
-- The gateway and the owner's credentials come from TT_GATEWAY, TT_USER and TT_PASSWORD; the
-- group from the second argument or TT_GROUP.
local tenten = require "tenten"

local command, group = arg[1], arg[2]
local usage = "usage: pool_admin.lua status|flush|reset [GROUP]"
if command ~= "status" and command ~= "flush" and command ~= "reset" then
  io.stderr:write(usage, "\n")
  os.exit(2)
end

local gw, owner, password = os.getenv("TT_GATEWAY"), os.getenv("TT_USER"), os.getenv("TT_PASSWORD")
group = group or os.getenv("TT_GROUP")

if command == "flush" then
  tenten.flushpool(gw, owner, password, group)
  print("flushed " .. group .. ": idle sessions ended, busy IDs log out when released")
elseif command == "reset" then
  tenten.resetpool(gw, owner, password, group)
  print("reset " .. group .. ": every session ended, every ID free")
end

local st = tenten.samstatus(gw, owner, password, group)
print(string.format("pool %s (owner %s): %d IDs, %d free", st.gid, st.owner, st.size, st.free))
for _, id in ipairs(st.ids) do
  print(string.format("  %-16s %-9s %s%s", id.uid, id.state, id.loggedin and "logged in" or "-",
    id.reserved and string.format(", held %d s more", id.reserved) or ""))
end
