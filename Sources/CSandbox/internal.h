#pragma once
/* Shared by the parent and child halves of the spawn. */
#define _GNU_SOURCE
#include "csandbox.h"

/* What the cloned child needs besides the config: its ends of the control socket and status pipe. */
struct child_context {
    const struct csandbox_config *config;
    int control_fd;             /* the "go" byte, then EOF when devenv is gone */
    int status_fd;              /* write end: a failure report, or EOF at execve */
    /* devenv's ends of the two, which clone() copied: closed first, or a devenv killed before
     * "go" would leave the child waiting on a socket it holds open itself. */
    int parent_control_fd;
    int parent_status_fd;
    /* With config->idmap_uid_map: the idmapped copies (idmap.c), -1 where there is none. */
    int idmapped_layers_fd;
    int idmapped_upper_fd;
    int *idmapped_bind_fds;     /* config->bind_count of them */
};

/* Makes the idmapped copies config->idmap_uid_map asks for into `context` (all -1/NULL without
 * it); on failure returns -1 with a message in `error` and nothing left open. */
int idmap_prepare(const struct csandbox_config *config, struct child_context *context, char *error, size_t error_size);
/* Closes the parent's copies once the child has its own. */
void idmap_release(struct child_context *context);

/* The steps a failure can name; each has its own hints (report.c). */
enum step {
    STEP_WAIT, STEP_IDENTITY, STEP_PROPAGATION, STEP_IDMAP, STEP_HOSTNAME, STEP_NETWORK, STEP_SCRATCH,
    STEP_SKELETON, STEP_OVERLAY, STEP_PROC, STEP_SYS, STEP_DEV, STEP_TMPFS, STEP_BIND,
    STEP_MASK, STEP_READONLY, STEP_PIVOT, STEP_CWD, STEP_STDIO, STEP_PRIVILEGES, STEP_SECCOMP, STEP_FORK,
    STEP_TERMINAL, STEP_EXEC, STEP_JOIN,
};

/* Sends "<kind><errno>:<step> <subject>: <ERRNAME> (<hint>)" to the parent and exits.
 * Async-signal-safe: the child of a multi-threaded process must not call malloc or stdio. */
_Noreturn void child_fail(const struct child_context *context, enum step step, const char *subject, int error);

/* A short hint for `error` in `step`, or NULL. */
const char *failure_hint(enum step step, int error, const char *subject);

/* The clone() entry point: sets up the sandbox, then becomes pid 1 (setup.c). */
int child_main(void *context);

/* Drops to the command's user, confines the process and runs the command under a reaper
 * (reaper.c). `saved_umask` is the caller's, restored for the command. */
_Noreturn void run_reaper(const struct child_context *context, unsigned saved_umask);

/* The command's half of run_reaper, shared with csandbox_join: drop to config's user, put
 * stdio in place, close every other fd but the context's two, load seccomp (reaper.c). */
void confine_command(const struct child_context *context);
/* Signals to their defaults, the terminal when asked, the umask back, then execve (reaper.c). */
_Noreturn void become_command(const struct child_context *context, unsigned saved_umask);

/* From csandbox_start (or csandbox_join) until csandbox_wait: signals sent to devenv go on to
 * `pid` (spawn.c). */
void start_forwarding(pid_t pid);
void stop_forwarding(void);

/* Appends `text` to the NUL-terminated string in buffer[size]; truncates. */
void text_append(char *buffer, size_t size, const char *text);
