# changelog.cmake - the Debian package's changelog.gz (a native package's,
# which lintian requires), one entry naming the build's version.
#
# Run as a script (cmake -P) on every build after cmake/version.cmake, like
# the Python distribution's metadata, so the entry's version is the .deb's.
# Inputs: PF_SOURCE_DIR, PF_VERSION_TXT (the version version.cmake wrote),
# PF_MAINTAINER (the package's Maintainer), PF_OUT (the .gz to write). The
# date is the commit's, so the same commit gives the same file; gzip -n
# leaves the name and time out of the archive for the same reason.
file(READ "${PF_VERSION_TXT}" version)
string(STRIP "${version}" version)
string(REPLACE "-" "+" deb_version "${version}")
set(date "")
find_program(PF_GIT git)
if(PF_GIT AND EXISTS "${PF_SOURCE_DIR}/.git")
  execute_process(COMMAND "${PF_GIT}" -C "${PF_SOURCE_DIR}" log -1
                          "--date=format:%a, %d %b %Y %H:%M:%S %z" --format=%ad
                  OUTPUT_VARIABLE date OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
endif()
if(NOT date)
  string(TIMESTAMP date "%a, %d %b %Y %H:%M:%S +0000" UTC)
endif()
set(text "pipefault (${deb_version}) unstable\; urgency=medium\n\n"
         "  * Built from pipefault ${version}\; what changed is in the project's\n"
         "    git history.\n\n"
         " -- ${PF_MAINTAINER}  ${date}\n")
string(CONCAT text ${text})
get_filename_component(plain "${PF_OUT}" NAME_WLE)
get_filename_component(dir "${PF_OUT}" DIRECTORY)
set(old "")
if(EXISTS "${dir}/${plain}")
  file(READ "${dir}/${plain}" old)
endif()
if(NOT old STREQUAL text OR NOT EXISTS "${PF_OUT}")
  file(WRITE "${dir}/${plain}" "${text}")
  execute_process(COMMAND gzip -9 -n -c "${dir}/${plain}" OUTPUT_FILE "${PF_OUT}"
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip failed writing ${PF_OUT}")
  endif()
endif()
