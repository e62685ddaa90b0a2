-- what runs when the interpreter ends: __gc finalizers (in reverse order
-- of marking), to-be-closed variables, and io buffers flushed; zvm's
-- lua.wasm closes its state as stock Lua does (guests/lua/lua_close.c)
local order = {}
for i = 1, 3 do
  setmetatable({}, {__gc = function() io.write("gc ", i, "\n") end})
end
collectgarbage()
do
  local x <close> = setmetatable({}, {__close = function() print("closed x") end})
  print("in block")
end
keep = setmetatable({}, {__gc = function() print("finalized at exit") end})
io.stdout:setvbuf("full")
io.write("buffered until the end\n")
