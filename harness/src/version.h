/* version.h - what this pipefault is: git describe at build time, or the
 * project version (cmake/version.cmake writes the definition). */
#ifndef PF_VERSION_H
#define PF_VERSION_H

extern const char pf_version[];

#endif
