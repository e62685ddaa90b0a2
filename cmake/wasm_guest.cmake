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

# zvm_cc_guest(NAME SOURCE [FLAGS...]): compile a guest with the build
# tree's zvm-cc (zvm-c++ for a .cpp source), as a user would: setjmp,
# the support library and, for C++, libc++ (issue 28).
function(zvm_cc_guest name src)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${name}.wasm)
  set(driver ${CMAKE_BINARY_DIR}/zvm-cc)
  if(src MATCHES "\\.cpp$")
    set(driver ${CMAKE_BINARY_DIR}/zvm-c++)
  endif()
  add_custom_command(OUTPUT ${out}
    COMMAND ${driver} -O2 ${ARGN} -o ${out} ${src}
    DEPENDS ${src} zvm_guest_lib ${CMAKE_SOURCE_DIR}/include/zvm/guest.h
            ${CMAKE_SOURCE_DIR}/cmake/zvm-cc.in ${CMAKE_SOURCE_DIR}/cmake/zvm-c++.in
    COMMENT "wasm32-wasi guest ${name}.wasm (zvm-cc)")
  add_custom_target(guest_${name} ALL DEPENDS ${out})
endfunction()
