-- filter.lua — a log filter in stock Lua: keeps the lines that contain
-- its first argument (default ERROR), as examples/logfilter.c does, and
-- counts the services of the lines it kept on stderr. Under
-- `zvm batch --snapshot first-read` each record (one line) starts from
-- the interpreter as it was at its first read of stdin: this script is
-- already loaded and compiled, the table below already built.
local want = arg[1] or "ERROR"
local services = {}
for _, s in ipairs({"gateway", "search", "billing", "auth"}) do services[s] = 0 end
for line in io.lines() do
  if line:find(want, 1, true) then
    local service = line:match("^%S+%s+%S+%s+(%S+)")
    if service and services[service] then services[service] = services[service] + 1 end
    print(line)
  end
end
