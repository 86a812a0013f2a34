# package.cmake - the Debian package: `cpack -G DEB` in the build directory
# (or `cpack --config <build>/CPackConfig.cmake -B DIR`) writes
# pipefault_<version>_amd64.deb, installing under /usr.
#
# Depends: the shared libraries' packages, derived from the ELF files by
# dpkg-shlibdeps, plus passwd (useradd/groupadd/userdel/groupdel create and
# remove the scenario accounts). Recommends: Wine for win32 scenarios, Python
# for the Python fixture. The version is read from git when cpack runs
# (cmake/package_version.cmake), the same way the binary's is when it builds.

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pipefault)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "fault-injection test harness for pipe-server permission races")
set(CPACK_PACKAGE_DESCRIPTION
    "pipefault starts a pipe server under test, runs clients under real accounts, holds, delays or fails the server's endpoint operations at the syscall boundary and records whether every endpoint instance was born with the intended permissions: Linux unix sockets and FIFOs, and Windows named pipes under Wine.")
set(CPACK_PACKAGE_CONTACT "pipefault developers <pipefault@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE amd64)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "wine, wine64, python3")
set(CPACK_STRIP_FILES OFF)
set(CPACK_PF_SOURCE_DIR ${PROJECT_SOURCE_DIR})
set(CPACK_PF_PROJECT_VERSION ${PROJECT_VERSION})
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_SOURCE_DIR}/cmake/package_version.cmake)
include(CPack)
