-- metatables and closures: classes, inheritance, __index/__newindex,
-- arithmetic and comparison metamethods, __call, __len, __concat,
-- __close, goto, varargs, upvalues shared between closures
local Vec = {}
Vec.__index = Vec
function Vec.new(x, y) return setmetatable({x = x, y = y}, Vec) end
Vec.__add = function(a, b) return Vec.new(a.x + b.x, a.y + b.y) end
Vec.__eq = function(a, b) return a.x == b.x and a.y == b.y end
Vec.__lt = function(a, b) return a:len2() < b:len2() end
Vec.__le = function(a, b) return a:len2() <= b:len2() end
Vec.__tostring = function(v) return "(" .. v.x .. "," .. v.y .. ")" end
Vec.__concat = function(a, b) return tostring(a) .. tostring(b) end
Vec.__unm = function(v) return Vec.new(-v.x, -v.y) end
Vec.__len = function() return 2 end
Vec.__call = function(v, k) return v[k] end
function Vec:len2() return self.x * self.x + self.y * self.y end
local a, b = Vec.new(1, 2), Vec.new(3, 4)
print(tostring(a + b), a == Vec.new(1, 2), a < b, b <= a, a .. b, tostring(-a), #a, a("y"))
local Point3 = setmetatable({}, {__index = Vec})
Point3.__index = Point3
Point3.__tostring = Vec.__tostring
function Point3.new(x, y, z) local p = Vec.new(x, y); p.z = z; return setmetatable(p, Point3) end
function Point3:len2() return Vec.len2(self) + self.z * self.z end
print(Point3.new(1, 2, 3):len2(), tostring(Point3.new(4, 5, 6)))
local log = {}
local proxy = setmetatable({}, {__newindex = function(t, k, v) log[#log + 1] = k; rawset(t, k, v * 2) end})
proxy.a, proxy.b = 1, 2
proxy.a = 10 -- present now: no __newindex
print(proxy.a, proxy.b, table.concat(log, ","))
local function counter()
    local n = 0
    return function() n = n + 1; return n end, function() return n end
end
local inc, get = counter()
inc(); inc(); inc()
print(get(), select("#", nil, nil), select(2, "a", "b", "c"), select(-1, 1, 2, 3))
local function sum(...) local s = 0; for _, v in ipairs({...}) do s = s + v end; return s, ... end
print(sum(1, 2, 3, 4), table.pack(sum(5)).n, table.unpack({1, 2, 3}, 2))
for i = 1, 3 do
    for j = 1, 3 do
        if j == 2 then goto continue end
        io.write(i, j, " ")
        ::continue::
    end
end
print()
do
    local order = {}
    do
        local x <close> = setmetatable({}, {__close = function() order[#order + 1] = "x" end})
        local y <close> = setmetatable({}, {__close = function() order[#order + 1] = "y" end})
        order[#order + 1] = "body"
    end
    print(table.concat(order, " "))
end
local weak = setmetatable({}, {__mode = "k"})
weak[{}] = 1
collectgarbage()
print(next(weak) == nil, collectgarbage("count") > 0)
