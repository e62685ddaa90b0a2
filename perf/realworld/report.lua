-- report.lua: a log report over stdin (the lines of run.sh's log)
local levels, paths, slow, n = {}, {}, 0, 0
for line in io.lines() do
    n = n + 1
    local level, path, status, ms = line:match("level=(%u+) path=(%S+) status=(%d+) ms=(%d+)")
    if level then
        levels[level] = (levels[level] or 0) + 1
        local p = path:gsub("/%d+", "/N")
        paths[p] = (paths[p] or 0) + 1
        if tonumber(ms) > 500 and status ~= "200" then slow = slow + 1 end
    end
end
local keys = {}
for k in pairs(paths) do keys[#keys + 1] = k end
table.sort(keys)
for _, k in ipairs(keys) do print(k, paths[k]) end
for _, l in ipairs({"DEBUG", "INFO", "WARN", "ERROR"}) do print(l, levels[l] or 0) end
print("lines", n, "slow errors", slow)
