# package_version.cmake - read by cpack before it packages: the .deb's
# version and file name from git now (cmake/version.cmake), not from when
# the build was configured.
set(PF_SOURCE_DIR "${CPACK_PF_SOURCE_DIR}")
set(PF_PROJECT_VERSION "${CPACK_PF_PROJECT_VERSION}")
unset(PF_OUT)
include("${CPACK_PF_SOURCE_DIR}/cmake/version.cmake")
set(CPACK_PACKAGE_VERSION "${PF_DEB_VERSION}")
set(CPACK_DEBIAN_PACKAGE_VERSION "${PF_DEB_VERSION}")
set(CPACK_DEBIAN_FILE_NAME "pipefault_${PF_DEB_VERSION}_amd64.deb")
