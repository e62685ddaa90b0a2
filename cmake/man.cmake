# man.cmake — one man page from its source (doc/NAME.1.in) and the program's
# own tables: @SYNOPSIS@, @OPTIONS@ (with the exit status), @EXIT@ and
# @ENVIRONMENT@ are what `zvm help --man PART COMMAND` (or `zvm-bench --man
# PART`) prints, so a page and --help cannot disagree.
#   cmake -DZVM=... -DBENCH=... -DCMD=batch|bench|"" -DIN=... -DOUT=...
#         -DVERSION=... -DDATE=... -P man.cmake
cmake_policy(SET CMP0053 NEW) # "@NAME@" in the page is text, not a variable
function(part name out)
  if(CMD STREQUAL "bench")
    execute_process(COMMAND ${BENCH} --man ${name} OUTPUT_VARIABLE text RESULT_VARIABLE rc)
  elseif(CMD STREQUAL "")
    execute_process(COMMAND ${ZVM} help --man ${name} OUTPUT_VARIABLE text RESULT_VARIABLE rc)
  else()
    execute_process(COMMAND ${ZVM} help --man ${name} ${CMD} OUTPUT_VARIABLE text RESULT_VARIABLE rc)
  endif()
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "man.cmake: ${name} of '${CMD}' failed (${rc})")
  endif()
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

file(READ ${IN} page)
foreach(p SYNOPSIS OPTIONS EXIT)
  string(FIND "${page}" "@${p}@" at)
  if(NOT at EQUAL -1)
    string(TOLOWER ${p} lower)
    part(${lower} text)
    string(REPLACE "@${p}@\n" "${text}" page "${page}")
  endif()
endforeach()
string(FIND "${page}" "@ENVIRONMENT@" at)
if(NOT at EQUAL -1)
  execute_process(COMMAND ${ZVM} help --man environment OUTPUT_VARIABLE text)
  string(REPLACE "@ENVIRONMENT@\n" "${text}" page "${page}")
endif()
string(REPLACE "@VERSION@" "${VERSION}" page "${page}")
string(REPLACE "@DATE@" "${DATE}" page "${page}")
file(WRITE ${OUT} "${page}")
