# Installs headers, the library and a CMake package: find_package(simdrop CONFIG REQUIRED), then
# link simdrop::simdrop (TBB is found through the package's dependencies).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(DIRECTORY include/simdrop DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS simdrop EXPORT simdropTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT simdropTargets NAMESPACE simdrop:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/simdrop)

configure_package_config_file(cmake/simdropConfig.cmake.in ${PROJECT_BINARY_DIR}/simdropConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/simdrop)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/simdropConfigVersion.cmake COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/simdropConfig.cmake ${PROJECT_BINARY_DIR}/simdropConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/simdrop)
