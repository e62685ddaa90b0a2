# zvm_wasm_guest(NAME SOURCE [FLAGS...]): compile a C guest to NAME.wasm in
# the current binary folder with clang --target=wasm32-wasi (Debian's
# wasi-libc), with any extra clang FLAGS (e.g. -msimd128).
find_program(ZVM_WASM_CC NAMES clang clang-14 REQUIRED)
function(zvm_wasm_guest name src)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${name}.wasm)
  add_custom_command(OUTPUT ${out}
    COMMAND ${ZVM_WASM_CC} --target=wasm32-wasi -O2 ${ARGN} -I${CMAKE_SOURCE_DIR}/include -o ${out} ${src}
    DEPENDS ${src} ${CMAKE_SOURCE_DIR}/include/zvm/guest.h
    COMMENT "wasm32-wasi guest ${name}.wasm")
  add_custom_target(guest_${name} ALL DEPENDS ${out})
endfunction()
