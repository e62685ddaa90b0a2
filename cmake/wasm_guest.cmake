# zvm_wasm_guest(NAME SOURCE): compile a C guest to NAME.wasm in the current
# binary folder with clang --target=wasm32-wasi (Debian's wasi-libc).
find_program(ZVM_WASM_CC NAMES clang clang-14 REQUIRED)
function(zvm_wasm_guest name src)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${name}.wasm)
  add_custom_command(OUTPUT ${out}
    COMMAND ${ZVM_WASM_CC} --target=wasm32-wasi -O2 -I${CMAKE_SOURCE_DIR}/include -o ${out} ${src}
    DEPENDS ${src} ${CMAKE_SOURCE_DIR}/include/zvm/guest.h
    COMMENT "wasm32-wasi guest ${name}.wasm")
  add_custom_target(guest_${name} ALL DEPENDS ${out})
endfunction()
