# `cmake --install`: the binaries, the shipped plugins, the plugin API headers and the CMake
# package that find_package(arbor) reads. The layout is the build tree's, so the default
# search_path ($ORIGIN/../lib/arbor/plugins) finds the installed plugins with no environment.
# Only the plugin API (runtime/include/arbor) is installed; runtime/internal never is.
include(CMakePackageConfigHelpers)

set(ARBOR_INSTALL_BIN_DIR bin)
set(ARBOR_INSTALL_PLUGIN_DIR lib/arbor/plugins)
set(ARBOR_INSTALL_CMAKE_DIR lib/cmake/arbor)

install(TARGETS arbor arbor-node arbor-plugin-check RUNTIME DESTINATION ${ARBOR_INSTALL_BIN_DIR})
install(TARGETS arbor_plugin_dictionary arbor_plugin_ping
        LIBRARY DESTINATION ${ARBOR_INSTALL_PLUGIN_DIR})
install(DIRECTORY ${CMAKE_SOURCE_DIR}/runtime/include/arbor DESTINATION include)

install(TARGETS arbor_plugin EXPORT arborTargets)
install(EXPORT arborTargets NAMESPACE arbor:: DESTINATION ${ARBOR_INSTALL_CMAKE_DIR})
configure_package_config_file(${CMAKE_SOURCE_DIR}/cmake/arborConfig.cmake.in
  ${CMAKE_BINARY_DIR}/arborConfig.cmake
  INSTALL_DESTINATION ${ARBOR_INSTALL_CMAKE_DIR}
  PATH_VARS ARBOR_INSTALL_PLUGIN_DIR ARBOR_INSTALL_BIN_DIR)
# The plugin API version is in the entry point's name, and 0.x minors may change it.
write_basic_package_version_file(${CMAKE_BINARY_DIR}/arborConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_BINARY_DIR}/arborConfig.cmake ${CMAKE_BINARY_DIR}/arborConfigVersion.cmake
              ${CMAKE_SOURCE_DIR}/cmake/ArborPlugin.cmake
        DESTINATION ${ARBOR_INSTALL_CMAKE_DIR})
