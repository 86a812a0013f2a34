# report_assets.cmake - build rule for the embedded report template.
#
# Included by harness/CMakeLists.txt; sets PF_REPORT_ASSETS_C, the generated
# C source that holds reports/report.{html,js,css} as byte arrays (see
# embed.cmake). Regenerated whenever one of the template files changes.

set(PF_REPORT_DIR "${PROJECT_SOURCE_DIR}/reports")
set(PF_REPORT_ASSETS_C "${CMAKE_CURRENT_BINARY_DIR}/report_assets.c")
add_custom_command(
  OUTPUT "${PF_REPORT_ASSETS_C}"
  COMMAND "${CMAKE_COMMAND}" -DPF_REPORT_DIR=${PF_REPORT_DIR}
          -DPF_OUT=${PF_REPORT_ASSETS_C} -P "${PF_REPORT_DIR}/embed.cmake"
  DEPENDS "${PF_REPORT_DIR}/embed.cmake" "${PF_REPORT_DIR}/report.html"
          "${PF_REPORT_DIR}/report.js" "${PF_REPORT_DIR}/report.css"
  COMMENT "Embedding the HTML report template"
  VERBATIM)
