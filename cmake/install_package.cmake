# What `cmake --install` adds beyond the targets' own install rules: the CMake package
# (find_package(attn)), attn.pc (pkg-config), the default config, the docs and the plugin
# template, so that an out-of-tree plugin builds against the installed tree alone.
include(CMakePackageConfigHelpers)

set(ATTN_PLUGIN_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/attn/plugins)
set(ATTN_DATA_INSTALL_DIR ${CMAKE_INSTALL_DATADIR}/attn)
set(ATTN_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/attn)

# The ABI version, read from the header so that it is written down once.
file(STRINGS ${PROJECT_SOURCE_DIR}/include/attn/plugin/attn_types.h abi_lines REGEX "^#define ATTN_ABI_(MAJOR|MINOR) ")
foreach(line IN LISTS abi_lines)
  if(line MATCHES "^#define (ATTN_ABI_MAJOR|ATTN_ABI_MINOR) ([0-9]+)")
    set(${CMAKE_MATCH_1} ${CMAKE_MATCH_2})
  endif()
endforeach()

install(EXPORT attnTargets NAMESPACE attn:: DESTINATION ${ATTN_CMAKE_INSTALL_DIR})
configure_package_config_file(${CMAKE_CURRENT_LIST_DIR}/attnConfig.cmake.in ${PROJECT_BINARY_DIR}/attnConfig.cmake
  INSTALL_DESTINATION ${ATTN_CMAKE_INSTALL_DIR}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR ATTN_PLUGIN_INSTALL_DIR ATTN_DATA_INSTALL_DIR)
# The package version is libattn's; the plugin ABI has its own (attn_ABI_VERSION).
write_basic_package_version_file(${PROJECT_BINARY_DIR}/attnConfigVersion.cmake COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/attnConfig.cmake ${PROJECT_BINARY_DIR}/attnConfigVersion.cmake
        DESTINATION ${ATTN_CMAKE_INSTALL_DIR})

# attn.pc: the prefix is the one given at install time (`cmake --install --prefix P`), not the
# configured one, so the file is written when installing; everything else now.
set(ATTN_PC_DLPACK_CFLAGS "")
if(NOT DLPACK_INCLUDE_DIR IN_LIST CMAKE_C_IMPLICIT_INCLUDE_DIRECTORIES)
  set(ATTN_PC_DLPACK_CFLAGS " -I${DLPACK_INCLUDE_DIR}")
endif()
set(ATTN_PC_PREFIX "@ATTN_PC_PREFIX@") # left for install time
configure_file(${CMAKE_CURRENT_LIST_DIR}/attn.pc.in ${PROJECT_BINARY_DIR}/attn.pc.in @ONLY)
install(CODE "
  set(ATTN_PC_PREFIX \"\${CMAKE_INSTALL_PREFIX}\")
  configure_file(\"${PROJECT_BINARY_DIR}/attn.pc.in\" \"${PROJECT_BINARY_DIR}/attn.pc\" @ONLY)
  file(INSTALL \"${PROJECT_BINARY_DIR}/attn.pc\" DESTINATION \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig\")
")

install(FILES ${PROJECT_SOURCE_DIR}/configs/default.yaml DESTINATION ${ATTN_DATA_INSTALL_DIR})
install(FILES ${PROJECT_SOURCE_DIR}/docs/SPEC.md ${PROJECT_SOURCE_DIR}/docs/PLUGINS.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/templates/plugin DESTINATION ${ATTN_DATA_INSTALL_DIR}/templates
        PATTERN build EXCLUDE)
