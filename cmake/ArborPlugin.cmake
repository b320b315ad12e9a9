# arbor_add_plugin(<name> SOURCES <file>... [INSTALL])
#
# Builds the arbor plugin <name> as libarbor_<name>.so, the file name a node looks for in its
# plugins: search_path, linked against arbor::plugin (the API headers, hidden visibility,
# -z defs). The target is called <name>. INSTALL also installs the library into the plugin
# directory of the arbor installation it was built against (ARBOR_PLUGIN_DIR), where the
# installed `arbor` finds it with the default search_path.
#
# Installed with arbor (find_package(arbor) includes it); arbor's own tree uses it too.
function(arbor_add_plugin name)
  cmake_parse_arguments(P "INSTALL" "" "SOURCES" ${ARGN})
  if(NOT name MATCHES "^[a-z][a-z0-9_]*$")
    message(FATAL_ERROR "arbor_add_plugin: '${name}' is not a plugin name ([a-z][a-z0-9_]*)")
  endif()
  if(NOT P_SOURCES)
    message(FATAL_ERROR "arbor_add_plugin(${name}): no SOURCES")
  endif()
  add_library(${name} MODULE ${P_SOURCES})
  set_target_properties(${name} PROPERTIES PREFIX lib OUTPUT_NAME arbor_${name})
  target_link_libraries(${name} PRIVATE arbor::plugin)
  if(P_INSTALL)
    if(NOT ARBOR_PLUGIN_DIR)
      message(FATAL_ERROR "arbor_add_plugin(${name} INSTALL): ARBOR_PLUGIN_DIR is not set")
    endif()
    install(TARGETS ${name} LIBRARY DESTINATION "${ARBOR_PLUGIN_DIR}")
  endif()
endfunction()
