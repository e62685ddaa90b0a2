-- coroutines: resume/yield, status, wrap, errors inside them, close, yield
-- across pcall, generators, nesting
local co = coroutine.create(function(a, b)
  print("start", a, b)
  local c = coroutine.yield(a + b)
  print("got", c)
  local d, e = coroutine.yield(c * 2)
  print("got", d, e)
  return d + e, "done"
end)
print(coroutine.status(co))
print(coroutine.resume(co, 1, 2))
print(coroutine.status(co))
print(coroutine.resume(co, 10))
print(coroutine.resume(co, 3, 4))
print(coroutine.status(co))
print(coroutine.resume(co))

-- errors inside a coroutine come back from resume
local bad = coroutine.create(function() coroutine.yield(1); error("inside") end)
print(coroutine.resume(bad))
print(coroutine.resume(bad))
print(coroutine.status(bad))
local bad2 = coroutine.create(function() local t; return t.x end)
print(coroutine.resume(bad2))
local okt, et = coroutine.resume(coroutine.create(function() error({code = 5}) end))
print(okt, type(et), et.code)

-- wrap: errors propagate to the caller
local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
print(gen(), gen(), gen())
local w = coroutine.wrap(function() error("wrapped error") end)
print(pcall(w))
print(pcall(gen)) -- the generator ends
print(pcall(gen)) -- then it is dead

-- yield across pcall and error handling inside a coroutine
local c2 = coroutine.create(function()
  local ok, err = pcall(function()
    local x = coroutine.yield("in pcall")
    error("after yield " .. x)
  end)
  coroutine.yield(tostring(ok) .. " " .. err)
  local ok2, v = pcall(coroutine.yield, "yield as the pcall'd function")
  return ok2, v
end)
print(coroutine.resume(c2))
print(coroutine.resume(c2, "X"))
print(coroutine.resume(c2))
print(coroutine.resume(c2, "back"))

-- xpcall inside a coroutine, with a yield in the handled function
local c3 = coroutine.wrap(function()
  return xpcall(function() coroutine.yield(1); error("x") end, function(m) return "handled " .. m end)
end)
print(c3())
print(c3())

-- isyieldable, running, close
print(coroutine.isyieldable())
local c4 = coroutine.create(function()
  print(coroutine.isyieldable(), coroutine.running() ~= nil)
  coroutine.yield()
end)
coroutine.resume(c4)
print(coroutine.close(c4), coroutine.status(c4))
local c5 = coroutine.create(function()
  local x <close> = setmetatable({}, {__close = function() print("closed on close") end})
  coroutine.yield()
end)
coroutine.resume(c5)
print(coroutine.close(c5))
local c6 = coroutine.create(function() error("dead with error") end)
coroutine.resume(c6)
print(coroutine.close(c6))

-- resuming the wrong things
print(coroutine.resume(coroutine.running()))
print(pcall(coroutine.yield)) -- not in a coroutine
local dead = coroutine.create(function() end)
coroutine.resume(dead)
print(coroutine.resume(dead))

-- a producer/consumer pipeline and deep nesting of coroutines
local function producer(n) return coroutine.wrap(function() for i = 1, n do coroutine.yield(i) end end) end
local function filter(src, p) return coroutine.wrap(function() for v in src do if p(v) then coroutine.yield(v) end end end) end
local sum = 0
for v in filter(producer(1000), function(v) return v % 7 == 0 end) do sum = sum + v end
print("pipeline", sum)
local function nest(n)
  if n == 0 then return coroutine.yield("bottom") end
  local c = coroutine.create(nest)
  local ok, v = coroutine.resume(c, n - 1)
  return v .. "<" .. n
end
print(coroutine.resume(coroutine.create(nest), 100))
-- errors from deep inside nested coroutines
local function deeperr(n)
  if n == 0 then error("deep " .. n) end
  local ok, e = coroutine.resume(coroutine.create(deeperr), n - 1)
  error(e .. "/" .. n, 0)
end
print(pcall(deeperr, 30))
