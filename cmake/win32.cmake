# The Win32 parts: a separate CMake build of harness/win32 (agent DLL,
# launcher, client, probe) and fixtures/win32 (reference pipe servers) with the
# mingw-w64 toolchain, into ${CMAKE_BINARY_DIR}/win32/. The host side of the
# win32 backend (harness/src/win) looks for them there and reports win32
# scenarios as skipped, with the reason, when they or Wine are missing.
find_program(PF_MINGW_CC x86_64-w64-mingw32-gcc)
if(NOT PF_MINGW_CC)
  message(STATUS "pipefault: x86_64-w64-mingw32-gcc not found: the Win32 parts "
                 "are not built and win32 scenarios will be skipped "
                 "(Debian: apt-get install gcc-mingw-w64-x86-64)")
  return()
endif()

include(ExternalProject)
set(PF_WIN32_OUT ${CMAKE_BINARY_DIR}/win32)
ExternalProject_Add(pf_win32
  SOURCE_DIR ${CMAKE_SOURCE_DIR}/harness/win32
  BINARY_DIR ${CMAKE_BINARY_DIR}/win32-build
  CMAKE_ARGS
    -DCMAKE_TOOLCHAIN_FILE=${CMAKE_SOURCE_DIR}/cmake/mingw-w64.cmake
    -DCMAKE_BUILD_TYPE=${CMAKE_BUILD_TYPE}
    -DPF_SOURCE_DIR=${CMAKE_SOURCE_DIR}
    -DPF_WIN32_OUT=${PF_WIN32_OUT}
  INSTALL_COMMAND ""
  # The sub-build tracks its own sources; without this an edit to a .c file
  # would not rebuild it (ExternalProject only knows its configure step).
  BUILD_ALWAYS ON
  USES_TERMINAL_BUILD ON)
message(STATUS "pipefault: Win32 parts will be cross-built into ${PF_WIN32_OUT}")
# The DLL is loaded, not executed: installed without the execute bits.
install(DIRECTORY ${PF_WIN32_OUT}/ DESTINATION ${PF_HELPER_ROOT}/win32
        USE_SOURCE_PERMISSIONS FILES_MATCHING PATTERN "*.exe"
        PATTERN "*.dll" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)

# A Go build of the field report's server (fixtures/win32/npipe_go), when Go is
# installed: it resolves the pipe API with GetProcAddress as real Go programs
# do. Optional: the seed suite does not depend on it.
find_program(PF_GO go)
if(PF_GO)
  set(PF_GO_DIR ${CMAKE_SOURCE_DIR}/fixtures/win32/npipe_go)
  add_custom_command(
    OUTPUT ${PF_WIN32_OUT}/npipe_go.exe
    COMMAND ${CMAKE_COMMAND} -E env GOOS=windows GOARCH=amd64 CGO_ENABLED=0
            GOCACHE=${CMAKE_BINARY_DIR}/go-cache GOPATH=${CMAKE_BINARY_DIR}/go-path
            GOFLAGS=-mod=mod GO111MODULE=on
            ${PF_GO} build -trimpath -o ${PF_WIN32_OUT}/npipe_go.exe .
    WORKING_DIRECTORY ${PF_GO_DIR}
    DEPENDS ${PF_GO_DIR}/main.go ${PF_GO_DIR}/go.mod
    COMMENT "Building the Go fixture npipe_go.exe for Windows")
  add_custom_target(pf_win32_go ALL DEPENDS ${PF_WIN32_OUT}/npipe_go.exe)
else()
  message(STATUS "pipefault: go not found: the Go fixture npipe_go is not built")
endif()
