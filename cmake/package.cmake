# package.cmake - the Debian package: `cpack -G DEB` in the build directory
# (or `cpack --config <build>/CPackConfig.cmake -B DIR`) writes
# pipefault_<version>_amd64.deb, installing under /usr.
#
# Depends: the shared libraries' packages, derived from the ELF files by
# dpkg-shlibdeps, plus passwd (useradd/groupadd/userdel/groupdel create and
# remove the scenario accounts). Recommends: Wine for win32 scenarios, Python
# for the Python fixture. The version is read from git when cpack runs
# (cmake/package_version.cmake), the same way the binary's is when it builds.
#
# What lintian asks of a package (docs/install.md lists what it still says):
# /usr/share/doc/pipefault/copyright (cmake/debian/copyright, DEP-5) and,
# the package being native (no Debian revision), changelog.gz
# (cmake/changelog.cmake); man pages gzipped (docs/CMakeLists.txt); binaries
# stripped (CPACK_STRIP_FILES; the Go fixture is built stripped); overrides
# with their reasons in cmake/debian/lintian-overrides. The Maintainer
# (PF_DEB_MAINTAINER) is a placeholder until the project has an address:
# set it when publishing the package.

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pipefault)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "fault-injection test harness for pipe-server permission races")
# One line per line of the control file's extended description (at most 80).
set(CPACK_PACKAGE_DESCRIPTION
    "pipefault starts a pipe server under test, runs clients under real accounts,
holds, delays or fails the server's endpoint operations at the syscall
boundary and records whether every endpoint instance was born with the
intended permissions: Linux unix sockets and FIFOs, and Windows named pipes
under Wine.")
set(PF_DEB_MAINTAINER "pipefault developers <pipefault@example.invalid>"
    CACHE STRING "Maintainer of the Debian package")
set(CPACK_PACKAGE_CONTACT "${PF_DEB_MAINTAINER}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE amd64)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "wine, wine64, python3")
set(CPACK_STRIP_FILES ON)
set(CPACK_PF_SOURCE_DIR ${PROJECT_SOURCE_DIR})
set(CPACK_PF_PROJECT_VERSION ${PROJECT_VERSION})
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_SOURCE_DIR}/cmake/package_version.cmake)

install(FILES cmake/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES cmake/debian/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
        RENAME pipefault)
set(PF_CHANGELOG_GZ ${PROJECT_BINARY_DIR}/debian/changelog.gz)
add_custom_target(pf_changelog ALL
  COMMAND "${CMAKE_COMMAND}" -E make_directory ${PROJECT_BINARY_DIR}/debian
  COMMAND "${CMAKE_COMMAND}" -DPF_SOURCE_DIR=${PROJECT_SOURCE_DIR}
          -DPF_VERSION_TXT=${PROJECT_BINARY_DIR}/harness/version.txt
          "-DPF_MAINTAINER=${PF_DEB_MAINTAINER}" -DPF_OUT=${PF_CHANGELOG_GZ}
          -P "${PROJECT_SOURCE_DIR}/cmake/changelog.cmake"
  BYPRODUCTS ${PF_CHANGELOG_GZ}
  COMMENT "Writing the Debian changelog"
  VERBATIM)
add_dependencies(pf_changelog pf_version)
install(FILES ${PF_CHANGELOG_GZ} DESTINATION ${CMAKE_INSTALL_DOCDIR})
include(CPack)
