/* trace_names.h - the names of the trace's events, sources and fields.
 *
 * The trace is the one interface between the backends that write it and the
 * checker that reads it (docs/trace.md). Both sides spell every name through
 * this header, so that a misspelt name is a compile error instead of an
 * event the checker silently never sees. test_trace_names checks that every
 * name defined here is documented in docs/trace.md.
 *
 * Only names that are part of the trace are here: values (an `op`, a
 * `decision`) and the keys of results.json are not.
 */
#ifndef PF_TRACE_NAMES_H
#define PF_TRACE_NAMES_H

/* ---- events (`ev`) ---- */
#define PF_EV_SCENARIO_START "scenario_start"
#define PF_EV_PLATFORM "platform"
#define PF_EV_ACCOUNT "account"
#define PF_EV_SERVER_START "server_start"
#define PF_EV_SERVER_EXIT "server_exit"
#define PF_EV_INSTANCE_BIRTH "instance_birth"
#define PF_EV_INSTANCE_PERM "instance_perm"
#define PF_EV_INSTANCE_ACCEPTING "instance_accepting"
#define PF_EV_INSTANCE_REMOVED "instance_removed"
#define PF_EV_SYSCALL "syscall"
#define PF_EV_FAULT "fault"
#define PF_EV_ATTEMPT "attempt"
#define PF_EV_SCENARIO_END "scenario_end"
#define PF_EV_CLIENT_FDS "client_fds"
#define PF_EV_CLIENT_EXIT "client_exit"   /* a command client ended */

/* ---- sources (`src`) ---- */
#define PF_SRC_HARNESS "harness"
#define PF_SRC_OBSERVER "observer"
#define PF_SRC_SUPERVISOR "supervisor"
#define PF_SRC_CLIENT "client"
#define PF_SRC_WIN_AGENT "win-agent"
#define PF_SRC_WIN_CLIENT "win-client"

/* ---- fields of every event ---- */
#define PF_F_T "t"
#define PF_F_EV "ev"
#define PF_F_SRC "src"

/* ---- fields of the events ---- */
#define PF_F_ACCOUNT "account"
#define PF_F_ACTION "action"
#define PF_F_ALLOWED "allowed"
#define PF_F_ARGV "argv"
#define PF_F_BEFORE_ENDPOINT "before_endpoint"
#define PF_F_CLIENT "client"
#define PF_F_CLOCK "clock"
#define PF_F_COUNTED "counted"
#define PF_F_CREATED_AS "created_as"
#define PF_F_CREATED_NAME "created_name"
#define PF_F_DECISION "decision"
#define PF_F_DEFAULT "default"
#define PF_F_DEFAULT_EVIDENCE "default_evidence"
#define PF_F_DELAY_NS "delay_ns"
#define PF_F_ENDPOINT "endpoint"
#define PF_F_ENDPOINT_KIND "endpoint_kind"
#define PF_F_ENDPOINT_T "endpoint_t"
#define PF_F_ERRNO "errno"
#define PF_F_EVIDENCE "evidence"
#define PF_F_SINCE "since"
#define PF_F_EXPECTED "expected"
#define PF_F_FD "fd"
#define PF_F_FDS "fds"
#define PF_F_FILE "file"
#define PF_F_FIRST_PIPE_INSTANCE_ENFORCED "first_pipe_instance_enforced"
#define PF_F_FIRST_PIPE_INSTANCE_ERROR "first_pipe_instance_error"
#define PF_F_FOREIGN "foreign"
#define PF_F_GID "gid"
#define PF_F_GROUPS "groups"
#define PF_F_HANDLE "handle"
#define PF_F_HOLD "hold"
#define PF_F_ID "id"
#define PF_F_INJECTED "injected"
#define PF_F_INSTANCE "instance"
#define PF_F_INSTANCE_COUNT "instance_count"
#define PF_F_INTENDED "intended"
#define PF_F_KEY "key"
#define PF_F_MODE "mode"
#define PF_F_NAME "name"
#define PF_F_OP "op"
#define PF_F_OS "os"
#define PF_F_OUTCOME "outcome"
#define PF_F_PATH "path"
#define PF_F_PEER_KEY "peer_key"
#define PF_F_PEER_KEY_MISSING "peer_key_missing"
#define PF_F_PERM "perm"
#define PF_F_PHASE "phase"
#define PF_F_PID "pid"
#define PF_F_PLATFORM "platform"
#define PF_F_PROTOCOL "protocol"
#define PF_F_PREFIX_START_MS "prefix_start_ms"
#define PF_F_READ_TIMEOUT "read_timeout"
#define PF_F_REASON "reason"
#define PF_F_REISSUED "reissued"
#define PF_F_REPLY "reply"
#define PF_F_REPLY_HEAD "reply_head"
#define PF_F_RULE "rule"
#define PF_F_SA_PASSED "sa_passed"
#define PF_F_SEED "seed"
#define PF_F_SERVED "served"
#define PF_F_SIGNAL "signal"
#define PF_F_SINGLE_ACCOUNT "single_account"
#define PF_F_STATUS "status"
#define PF_F_T_CALL "t_call"
#define PF_F_T_DONE "t_done"
#define PF_F_T_END "t_end"
#define PF_F_TID "tid"
#define PF_F_UID "uid"
#define PF_F_UMASK "umask"
#define PF_F_UNTIL_ACCOUNT "until_account"
#define PF_F_UNTIL_EVENT "until_event"
#define PF_F_USER "user"
#define PF_F_VERSION "version"
#define PF_F_WAITED "waited"
#define PF_F_WINE "wine"

/* ---- fields of a permission object (`perm`, `default`) ---- */
#define PF_PERM_MODE "mode"
#define PF_PERM_UID "uid"
#define PF_PERM_GID "gid"
#define PF_PERM_OWNER "owner"
#define PF_PERM_GROUP "group"
#define PF_PERM_ACL "acl"
#define PF_PERM_ACL_NAMED "acl_named"
#define PF_PERM_NONE "none"
#define PF_PERM_SDDL "sddl"
#define PF_PERM_NORMALISED "normalised"

#endif
