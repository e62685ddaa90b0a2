-- tables: sort with and without a comparator, insert/remove/move,
-- pack/unpack, next order of an array part, metatables (__index,
-- __newindex, __len, __call, __eq, __lt, __concat), goto, integer keys
local t = {5, 3, 8, 1, 9, 2}
table.sort(t)
print(table.concat(t, " "))
table.sort(t, function(a, b) return a > b end)
print(table.concat(t, " "))
table.insert(t, 1, 0); table.insert(t, 7); print(table.remove(t), table.remove(t, 1), #t)
print(table.concat(table.move({1, 2, 3}, 1, 3, 2, {9}), ","))
print(select("#", table.unpack({1, nil, 3}, 1, 3)), select(2, "a", "b", "c"))
local V = {}
V.__index = V
V.__add = function(a, b) return setmetatable({x = a.x + b.x}, V) end
V.__eq = function(a, b) return a.x == b.x end
V.__lt = function(a, b) return a.x < b.x end
V.__len = function(a) return a.x end
V.__call = function(self, y) return self.x * y end
V.__concat = function(a, b) return "V" .. a.x .. "+" .. b.x end
V.__tostring = function(a) return "V(" .. a.x .. ")" end
local a, b = setmetatable({x = 1}, V), setmetatable({x = 2}, V)
print(tostring(a + b), a == b, a < b, #b, b(10), a .. b)
local log = {}
local proxy = setmetatable({}, {__newindex = function(_, k, v) log[#log + 1] = k .. "=" .. v end})
proxy.one = 1; proxy.two = 2
print(table.concat(log, " "))
for i = 1, 3 do
  for j = 1, 3 do
    if i * j == 4 then goto done end
  end
end
::done::
local keys = {}
for k in pairs({10, 20, 30}) do keys[#keys + 1] = k end
print(table.concat(keys, ","), #setmetatable({}, {__len = function() return 99 end}))
