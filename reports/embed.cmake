# embed.cmake - turns the report template into a C source (run with cmake -P).
#
# The HTML report must be one self-contained file that works offline, so the
# page, its script and its stylesheet are compiled into pipefault as byte
# arrays; pf_report_write() then inlines them. Plain CMake, so the build needs
# no xxd or other converter.
#
#   cmake -DPF_REPORT_DIR=<reports dir> -DPF_OUT=<generated .c> -P embed.cmake

if(NOT PF_REPORT_DIR OR NOT PF_OUT)
  message(FATAL_ERROR "embed.cmake: set PF_REPORT_DIR and PF_OUT")
endif()

set(body "/* Generated from reports/report.{html,js,css} by reports/embed.cmake. Do not edit. */\n#include <stddef.h>\n\n")
foreach(part html js css)
  set(src "${PF_REPORT_DIR}/report.${part}")
  if(NOT EXISTS "${src}")
    message(FATAL_ERROR "embed.cmake: ${src} is missing")
  endif()
  file(READ "${src}" text)
  # Inlined into <script> and <style>: a closing tag inside would end them early.
  string(TOLOWER "${text}" lower)
  if(NOT part STREQUAL "html")
    string(FIND "${lower}" "</script" at_script)
    string(FIND "${lower}" "</style" at_style)
    if(NOT at_script EQUAL -1 OR NOT at_style EQUAL -1)
      message(FATAL_ERROR "embed.cmake: ${src} contains a closing </script or </style tag")
    endif()
  endif()
  file(READ "${src}" hex HEX)
  string(LENGTH "${hex}" hexlen)
  math(EXPR nbytes "${hexlen} / 2")
  # 32 bytes per line keeps the generated file readable in a diff viewer.
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){32})" "\\1\n  " bytes "${bytes}")
  string(APPEND body "const unsigned char pf_report_${part}[] = {\n  ${bytes}0x00\n};\n")
  string(APPEND body "const size_t pf_report_${part}_len = ${nbytes};\n\n")
endforeach()

file(WRITE "${PF_OUT}.tmp" "${body}")
file(RENAME "${PF_OUT}.tmp" "${PF_OUT}")
