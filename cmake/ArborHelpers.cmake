# Shared compile settings and the add_arbor_* helpers, so every target is built the same way.

function(arbor_target_defaults target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
  if(ARBOR_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(ARBOR_SANITIZE STREQUAL "address")
    # GCC 12 reports false 'maybe-uninitialized' warnings inside std::regex under ASan.
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                             -Wno-maybe-uninitialized)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  elseif(ARBOR_SANITIZE STREQUAL "thread")
    target_compile_options(${target} PRIVATE -fsanitize=thread)
    target_link_options(${target} PRIVATE -fsanitize=thread)
  elseif(NOT ARBOR_SANITIZE STREQUAL "")
    message(FATAL_ERROR "ARBOR_SANITIZE must be '', 'address' or 'thread'")
  endif()
  if(ARBOR_FUZZ)
    # Coverage for the fuzzers in every library they reach, and ASan+UBSan to catch what
    # they find; the fuzz targets themselves link libFuzzer's main.
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link,address,undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

include(ArborPlugin)

# add_arbor_plugin(<name> SOURCES ... [OUTPUT_DIR dir] [ALLOW_UNDEFINED])
# arbor_add_plugin() (what plugin authors use) under arbor's own names: target
# arbor_plugin_<name>, output in build/lib/arbor/plugins, arbor's warnings. ALLOW_UNDEFINED
# (no -z defs) exists only for the broken test fixtures.
function(add_arbor_plugin name)
  cmake_parse_arguments(P "ALLOW_UNDEFINED" "OUTPUT_DIR" "SOURCES" ${ARGN})
  if(NOT P_OUTPUT_DIR)
    set(P_OUTPUT_DIR ${ARBOR_PLUGIN_OUTPUT_DIR})
  endif()
  add_library(arbor_plugin_${name} MODULE ${P_SOURCES})
  set_target_properties(arbor_plugin_${name} PROPERTIES
    OUTPUT_NAME arbor_${name}
    PREFIX lib
    LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIR})
  if(P_ALLOW_UNDEFINED)
    target_link_libraries(arbor_plugin_${name} PRIVATE arbor_plugin_api)
    set_target_properties(arbor_plugin_${name} PROPERTIES
      CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON)
  else()
    target_link_libraries(arbor_plugin_${name} PRIVATE arbor::plugin)
  endif()
  arbor_target_defaults(arbor_plugin_${name})
endfunction()

# add_arbor_test(<name> SOURCES ... [LABELS label] [TIMEOUT seconds] [SERIAL])
# (One label: catch_discover_tests splices a list into its PROPERTIES and shifts the rest.)
# One Catch2 binary; each TEST_CASE becomes its own ctest test with a timeout. SERIAL keeps
# its cases from running beside any other test (for the heavy torture tests, whose deadlines
# would otherwise compete for two cores with everything else).
function(add_arbor_test name)
  cmake_parse_arguments(T "SERIAL" "TIMEOUT" "SOURCES;LABELS;LIBS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 60)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE arbor_test_support ${T_LIBS})
  arbor_target_defaults(${name})
  set(serial FALSE)
  if(T_SERIAL)
    set(serial TRUE)
  endif()
  catch_discover_tests(${name}
    PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "${T_LABELS}" RUN_SERIAL ${serial})
endfunction()
