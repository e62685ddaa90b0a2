-- stack overflows and errors in error handling are errors too
local function rec(n) return rec(n + 1) + 1 end
local ok, e = pcall(rec, 1)
print(ok, (e:gsub("^.-:%d+: ", "")))
local depth = 0
local function count() depth = depth + 1; count() end
print(pcall(count), depth > 1000)
-- a C stack overflow: metamethods calling each other through C
local t = setmetatable({}, {})
getmetatable(t).__index = function(tt, k) return tt[k .. "x"] end
local ok2, e2 = pcall(function() return t.a end)
print(ok2, (tostring(e2):gsub("^.-:%d+: ", "")))
-- string.format, tostring, table.concat with errors in between
local parts = {}
for i = 1, 200 do
  local ok3, v = pcall(function() if i % 3 == 0 then error("e" .. i, 0) end return i end)
  parts[#parts + 1] = ok3 and tostring(v) or v
end
print(table.concat(parts, ","))
-- load with syntax errors, runtime errors in loaded chunks
print(load("return +"))
print(load("x ="))
local f = load("local a = ... ; return a.b")
print(pcall(f, nil))
print(pcall(load("error('from a chunk')", "=chunk")))
-- io and os as Lua uses them in zvm (results that do not depend on the host)
local tf = io.tmpfile()
tf:write("line one\nline two\n")
tf:seek("set")
print(tf:read("l"), tf:read("l"), tf:read("l"))
tf:close()
print(type(os.tmpname()))
-- (the message only: errno numbers are the platform's)
local _, _, msg = pcall(io.open, "/no/such/dir/file", "r")
print(msg)
print((select(2, io.open("/no/such/dir/file"))))
print(select('#', os.getenv("ZVM_NO_SUCH_VARIABLE")), os.getenv("ZVM_NO_SUCH_VARIABLE"))
