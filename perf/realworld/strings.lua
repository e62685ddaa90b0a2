-- strings.lua: string building, formatting, patterns and tables (argument: rounds)
local rounds, total, parts = tonumber(arg[1]), 0, {}
for r = 1, rounds do
    local t = {}
    for i = 1, 200 do
        t[#t + 1] = string.format("key%05d=%s", (i * 7919 + r) % 100000, string.rep("ab", i % 7))
    end
    local s = table.concat(t, ";")
    for k, v in s:gmatch("key(%d+)=(%a*)") do total = total + #k + #v end
    s = s:gsub("ab", "BA"):upper():lower()
    total = total + #s + select(2, s:gsub(";", ";"))
    if r % 97 == 0 then parts[#parts + 1] = s:sub(1, 16) end
end
print(total, #parts, parts[#parts])
