/* agent.h - what the parts of the in-process agent (pfagent.dll) share.
 *
 * agent.c starts the agent; agent_hooks.c holds the hooked functions,
 * agent_instances.c the table of instances and what is reported about
 * them, agent_faults.c the fault rules and their decisions, agent_channel.c
 * the line protocol to the host. One lock (state_lock) guards the instance
 * table, the fault states and the holds; send_lock serialises the channel.
 */
#ifndef PF_AGENT_H
#define PF_AGENT_H

#include "pfw.h"
#include "faults.h"

#include <winternl.h>

#include <stdbool.h>
#include <stdint.h>

/* ---- agent.c ---- */
extern CRITICAL_SECTION state_lock;
/* Calls the agent makes itself (and real functions calling back into a
 * hooked name) must pass straight through: nonzero while inside a hook, and
 * for good on the agent's own threads. */
extern _Thread_local int depth;

/* ---- agent_hooks.c ---- */
typedef BOOL (WINAPI *handle_fn)(HANDLE);
typedef FARPROC (WINAPI *get_proc_fn)(HMODULE, LPCSTR);
/* The real functions the other parts call, unhooked. */
extern handle_fn real_CloseHandle;
extern get_proc_fn real_GetProcAddress;
/* Installs every hook; false (message on stderr) if a function is missing. */
bool install_hooks(HMODULE self);

/* ---- agent_channel.c ---- */
extern SOCKET chan;
extern CRITICAL_SECTION send_lock;
/* Ends the line and sends it (nothing without a channel). */
void send_line(struct pfw_json *j);
/* Starts an event line with the server's pid and the calling thread. */
void begin_event(struct pfw_json *j, const char *ev);
/* Thread: the host's commands until the channel closes. */
DWORD WINAPI channel_reader(LPVOID arg);

/* ---- agent_instances.c ---- */
int instance_id(HANDLE h);  /* 0 for a handle that is no instance the agent saw */
/* first: the create asked to be the pipe's first instance (1), did not (0),
 * unknown (-1). */
void record_birth(HANDLE h, const wchar_t *name, bool sd_passed, int first, int64_t t_call);
void record_perm_change(HANDLE h);
void record_removed(HANDLE h);
void record_connected(HANDLE h, int id);
void report_unseen(HANDLE h, const char *fn);
void remember_pending(LPOVERLAPPED ov, HANDLE h, int id);
void completed(LPOVERLAPPED ov);
void forget_pending(HANDLE h);
void record_call(enum pf_fault_op op, const char *name, const wchar_t *path, HANDLE h,
                 int instance);

/* ---- agent_faults.c ---- */
extern size_t nrules;
/* Reads $PF_SEED and the rules file $PF_FAULTS; false with a message. */
bool load_faults(void);
/* Runs every rule for (op, phase) in file order. Returns the Win32 error a
 * `fail` rule asks for, or 0. */
DWORD run_faults(enum pf_fault_op op, enum pf_fault_phase phase, int instance);
void release_hold(int id);
void release_all_holds(void);

#endif
