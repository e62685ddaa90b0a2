/*
 * lua_close.c — how the installed lua.wasm ends (scripts/build-guests.sh
 * compiles Lua's own lua.c with -Dlua_close=zvm_lua_close; no source is
 * patched). lua.c's main ends with lua_close(L): every __gc metamethod and
 * to-be-closed variable still runs, exactly as in stock Lua, but the state
 * is then freed object by object into dlmalloc, which is most of a short
 * record's time under --snapshot first-read (about 60% of a log filter's
 * 13 us, measured with perf: dlfree alone 32%). The instance's memory is
 * thrown away right after, so here the allocator becomes one whose free
 * does nothing before the state is closed: the same finalizers in the
 * same order, none of the freeing.
 */
#include "lua.h"

#include <stdlib.h>

static void *keep_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    (void)ud, (void)osize;
    if (nsize == 0)
        return NULL; /* a free: the memory goes with the instance */
    return realloc(ptr, nsize); /* (a finalizer may still allocate) */
}

void zvm_lua_close(lua_State *L)
{
    lua_setallocf(L, keep_alloc, NULL);
    lua_close(L);
}
