# Toolchain file: cross-compile for 64-bit Windows with Debian's mingw-w64
# (gcc-mingw-w64-x86-64). Used for the sub-build of harness/win32 and
# fixtures/win32, whose programs run under Wine (or on Windows).
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(PF_MINGW_PREFIX x86_64-w64-mingw32)
set(CMAKE_C_COMPILER ${PF_MINGW_PREFIX}-gcc)
set(CMAKE_RC_COMPILER ${PF_MINGW_PREFIX}-windres)
set(CMAKE_FIND_ROOT_PATH /usr/${PF_MINGW_PREFIX})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
