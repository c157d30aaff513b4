# `cmake --install`: headers, liborrery, the binaries (installed by their own folders) and a
# CMake package, so that an outside project needs only `find_package(orrery CONFIG)`.
include(CMakePackageConfigHelpers)

install(DIRECTORY "${PROJECT_SOURCE_DIR}/include/orrery" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.h")
install(FILES "${CMAKE_BINARY_DIR}/include/orrery/version.h" DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/orrery)

set(ORRERY_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/orrery)
install(EXPORT orreryTargets NAMESPACE orrery:: DESTINATION ${ORRERY_CMAKE_DIR})
configure_package_config_file(cmake/orreryConfig.cmake.in "${CMAKE_BINARY_DIR}/orreryConfig.cmake"
  INSTALL_DESTINATION ${ORRERY_CMAKE_DIR})
write_basic_package_version_file("${CMAKE_BINARY_DIR}/orreryConfigVersion.cmake"
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES "${CMAKE_BINARY_DIR}/orreryConfig.cmake" "${CMAKE_BINARY_DIR}/orreryConfigVersion.cmake"
  DESTINATION ${ORRERY_CMAKE_DIR})
