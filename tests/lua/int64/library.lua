-- the standard library on values whose results are fixed: table.sort
-- with a comparator, table.move/insert/remove, string.pack/unpack,
-- math (integer/float rules, a seeded xoshiro stream), os.date in UTC,
-- string.format of every conversion, load with an environment, pcall
local t = {}
for i = 1, 20 do t[i] = (i * 7919) % 23 end
table.sort(t, function(x, y) return x > y end)
print(table.concat(t, " "))
local m = table.move({1, 2, 3, 4, 5}, 2, 4, 1, {})
table.insert(m, 1, 0); table.insert(m, 9); print(table.remove(m), table.remove(m, 1), table.concat(m, ","))
local packed = string.pack("<i4 >I2 z s1 d", -2, 513, "zero", "len", 0.5)
print(#packed, string.unpack("<i4 >I2 z s1 d", packed))
print(string.pack(">I8", 0x0102030405060708):byte(1, -1))
print(math.floor(-3.5), math.ceil(-3.5), math.fmod(-7, 3), math.tointeger(8.0), math.ult(1, -1),
      math.abs(math.mininteger), math.huge, -math.huge, math.max(3, 9.5, 1), math.min(2, -1))
print(3 // 0.0, -3 % math.huge, 5.0 // 2, 2^53 + 1, math.type(2^31), 1e100 // 1)
math.randomseed(42)
local r = {}
for i = 1, 6 do r[i] = math.random(1, 1000) end
print(table.concat(r, " "), math.random(0) ~= 0)
print(os.date("!%Y-%m-%d %H:%M:%S", 1700000000), os.time({year = 2024, month = 2, day = 29, hour = 12}) ~= nil)
print(string.format("%5d|%-5d|%05.1f|%e|%g|%g|%o|%X|%c|%%|%i", 42, 42, 3.14159, 12345.678, 0.0001, 1e20, 8, 255, 65, 7))
print(string.format("%q", 1 / 3), string.format("%q", math.mininteger), pcall(string.format, "%.3q", "x"))
local env = {x = 5}
local f = load("y = x * 2; return y", "chunk", "t", env)
print(f(), env.y, rawget(_G, "y"))
print(pcall(error, {code = 7}), select(2, pcall(error, "msg", 0)), pcall(string.rep))
print(string.rep("ab", 3, ","), ("Hello"):lower(), ("x"):rep(0), ("abc"):reverse(), ("  trim  "):match("^%s*(.-)%s*$"))
print(tostring(nil), tostring(true), tonumber("0x10"), tonumber("10", 2), math.tointeger("8"))
print(#arg, arg[0])
