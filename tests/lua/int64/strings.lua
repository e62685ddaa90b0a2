-- strings and patterns: format, find, match, gsub, gmatch, byte/char,
-- rep, utf8, integer and float formatting (64-bit integers, as native)
print(string.format("%d %5.2f %x %q %s %g", 42, math.pi, 255, "a\nb", nil, 1e300 * 10))
print(math.maxinteger, math.mininteger, math.maxinteger + 1 == math.mininteger)
print(7 // 2, -7 // 2, 7 % -3, 2^63, 1 / 0, -1 / 0, 0 / 0 ~= 0 / 0)
print(("2023-11-14T22:13:26Z ERROR gateway payment"):match("^(%S+)%s+(%u+)%s+(%w+)"))
print(("hello world from lua"):gsub("o", "0"))
print(("a,b,,c"):find(",", 1, true), ("a.b"):find(".", 1, true), ("abc"):find("b()"))
local words = {}
for w in ("the quick brown fox"):gmatch("%a+") do words[#words + 1] = w:upper() end
print(table.concat(words, "-"), #words)
print(string.byte("ABC", 1, -1), string.char(72, 105), ("ab"):rep(3, "|"))
print(utf8.char(72, 228, 8364, 128512), utf8.len("häll€"), #"€")
print(tostring(1e15), tostring(1e16), 3 | 5, 6 & 3, 1 << 62, ~0, 3.0 == 3, math.type(3.0))
print(string.format("%-10s|%10s|", "left", "right"), ("%5.1s|"):format("xyz"))
print(tonumber("0x1p4"), tonumber("  12  "), tonumber("1e2"), tonumber("z", 36), tonumber("8", 8))
