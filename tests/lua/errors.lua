-- error values, levels and positions; pcall and xpcall; runtime errors
-- tables print as their type: their addresses differ from run to run
local function show(...)
  local t = table.pack(...)
  for i = 1, t.n do if type(t[i]) == "table" then t[i] = "<table>" end end
  print(t.n, table.unpack(t, 1, t.n))
end

show(pcall(error, "plain"))
show(pcall(error, "no position", 0))
show(pcall(error))
show(pcall(error, nil))
show(pcall(error, 42))
show(pcall(error, {code = 7}))
local ok, e = pcall(error, setmetatable({}, {__tostring = function() return "custom" end}))
print(ok, tostring(e))

local function level1() error("from level 1", 1) end
local function level2() error("from the caller", 2) end
local function caller() level2() end
show(pcall(level1))
show(pcall(caller))

show(pcall(function() local t = nil; return t.x end))
show(pcall(function() return 1 + {} end))
show(pcall(function() return #nil end))
show(pcall(function() undefined_function() end))
show(pcall(function() return ("x"):bad() end))
show(pcall(function() return 1 < "2" end))
show(pcall(function() return {} .. "s" end))
show(pcall(function() local a; a() end))
show(pcall(string.rep))
show(pcall(string.format, "%d", "x"))
show(pcall(setmetatable, 1, {}))
show(pcall(function() assert(false) end))
show(pcall(function() assert(nil, "assert message") end))
show(pcall(function() assert(false, {1, 2}) end))
show(pcall(function() return 1 // 0 end))
show(pcall(function() return math.tointeger(2.5) end))
show(pcall(function() return ("abc"):sub(2) end))

-- xpcall: the handler sees the error and its result is returned
show(xpcall(function() error("handled") end, function(m) return "H: " .. m end))
show(xpcall(function(a, b) return a + b end, print, 2, 3))
show(xpcall(function() error({}) end, function(m) return type(m) end))
-- an error inside the handler
show(xpcall(function() error("first") end, function(m) error("second") end))
-- a traceback from the handler
local ok2, tb = xpcall(function() local x = nil; return x.field end, debug.traceback)
print(ok2, (tb:gsub("\n.*", "")))

-- error objects travel through nested pcalls
local function nested(n)
  if n == 0 then error({depth = n, msg = "bottom"}) end
  local ok, err = pcall(nested, n - 1)
  if not ok then err.depth = err.depth + 1; error(err) end
end
local okn, en = pcall(nested, 50)
print(okn, en.depth, en.msg)

-- errors with tostring and concatenation in messages
for i = 1, 3 do
  local ok, m = pcall(function() error(("iteration %d of %d"):format(i, 3)) end)
  print(ok, m)
end

-- error in a metamethod
local mt = {__index = function(t, k) error("no field " .. k) end,
            __add = function() error("cannot add") end}
local obj = setmetatable({}, mt)
show(pcall(function() return obj.missing end))
show(pcall(function() return obj + 1 end))
-- __close and to-be-closed variables with errors
local log = {}
local function closer(name) return setmetatable({}, {__close = function(_, e) log[#log + 1] = name .. ":" .. tostring(e) end}) end
show(pcall(function()
  local a <close> = closer("a")
  local b <close> = closer("b")
  error("closing", 0)
end))
print(table.concat(log, " "))
