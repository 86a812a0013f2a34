/* probe.c - measures what this Windows (or Wine) does with named pipes.
 *
 * Usage: probe.exe [INTENDED_SDDL]
 * Prints one JSON object on stdout: the platform's version, the security
 * descriptor a pipe created with NULL attributes gets (the `default` every
 * instance is compared with), the intended SDDL normalised the same way,
 * whether FILE_FLAG_FIRST_PIPE_INSTANCE is enforced (Wine 8 does not), and
 * the probe's clock so the host can check how QueryPerformanceCounter relates
 * to its own clocks. Exit 0, or 1 if a pipe could not be created.
 */
#include "pfw.h"
#include "sdnorm.h"

#include <stdio.h>
#include <string.h>

typedef const char *(CDECL *wine_version_fn)(void);

static HANDLE make_pipe(const wchar_t *name, DWORD extra_flags)
{
    return CreateNamedPipeW(name, PIPE_ACCESS_DUPLEX | extra_flags,
                            PIPE_TYPE_BYTE | PIPE_WAIT, PIPE_UNLIMITED_INSTANCES,
                            512, 512, 0, NULL);
}

int wmain(int argc, wchar_t **argv);  /* -municode entry point */
int wmain(int argc, wchar_t **argv)
{
    struct pfw_json j;
    char version[256], perm[4096];
    wchar_t name[128];
    _snwprintf(name, 128, L"\\\\.\\pipe\\pipefault-probe-%lu-%lu",
               GetCurrentProcessId(), GetTickCount());
    name[127] = L'\0';

    wine_version_fn wine_version = (wine_version_fn)(void (*)(void))GetProcAddress(
        GetModuleHandleW(L"ntdll.dll"), "wine_get_version");
    if (wine_version) {
        snprintf(version, sizeof version, "Wine %s", wine_version());
    } else {
        OSVERSIONINFOW v;
        memset(&v, 0, sizeof v);
        v.dwOSVersionInfoSize = sizeof v;
        typedef LONG (WINAPI *rtl_get_version_fn)(OSVERSIONINFOW *);
        rtl_get_version_fn rgv = (rtl_get_version_fn)(void (*)(void))GetProcAddress(
            GetModuleHandleW(L"ntdll.dll"), "RtlGetVersion");
        if (rgv)
            rgv(&v);
        snprintf(version, sizeof version, "Windows %lu.%lu.%lu", v.dwMajorVersion,
                 v.dwMinorVersion, v.dwBuildNumber);
    }

    pfw_json_begin(&j, "probe");
    pfw_json_str(&j, "os", "win32");
    pfw_json_str(&j, "version", version);
    /* Wine runs every process as the one Unix user: there are no other accounts. */
    pfw_json_bool(&j, "single_account", wine_version != NULL);

    HANDLE def = make_pipe(name, 0);
    if (def == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "probe: CreateNamedPipeW(NULL attributes): error %lu\n",
                GetLastError());
        return 1;
    }
    pfw_perm_of_handle(def, perm, sizeof perm);
    CloseHandle(def);
    pfw_json_raw(&j, "default", perm);

    if (argc > 1) {
        pfw_perm_of_sddl(argv[1], perm, sizeof perm);
        pfw_json_raw(&j, "intended", perm);
    } else {
        pfw_json_null(&j, "intended");
    }

    /* Twice with FILE_FLAG_FIRST_PIPE_INSTANCE: enforced means the second
     * fails with ERROR_ACCESS_DENIED while the first is open. */
    HANDLE first = make_pipe(name, FILE_FLAG_FIRST_PIPE_INSTANCE);
    if (first == INVALID_HANDLE_VALUE) {
        fprintf(stderr, "probe: CreateNamedPipeW(FIRST_PIPE_INSTANCE): error %lu\n",
                GetLastError());
        return 1;
    }
    HANDLE second = make_pipe(name, FILE_FLAG_FIRST_PIPE_INSTANCE);
    DWORD err = second == INVALID_HANDLE_VALUE ? GetLastError() : 0;
    if (second != INVALID_HANDLE_VALUE)
        CloseHandle(second);
    CloseHandle(first);
    pfw_json_bool(&j, "first_pipe_instance_enforced", err == ERROR_ACCESS_DENIED);
    pfw_json_int(&j, "first_pipe_instance_error", (int64_t)err);
    fputs(pfw_json_end(&j), stdout);
    fflush(stdout);
    return 0;
}
