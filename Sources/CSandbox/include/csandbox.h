#pragma once
/*
 * The sandbox spawn: everything from clone() to execve() (docs/architecture.md, "Process
 * picture": "The C spawn and the reaper").
 *
 * Swift fills a csandbox_config with plain C data, then:
 *   csandbox_spawn()  clones the child into new namespaces; it waits for its id maps,
 *   csandbox_apply_id_maps()  writes /proc/<pid>/uid_map and gid_map, or runs
 *                     newuidmap/newgidmap,
 *   csandbox_start()  lets the child build the root filesystem and exec the command, and
 *                     returns once the command runs or setup failed,
 *   csandbox_wait()   forwards signals and returns the command's exit status.
 * All memory the config points to only has to live until csandbox_spawn() returns: the
 * child works on its own copy of the address space.
 */
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A host file or directory mounted at `target` inside (recursively, nosuid, nodev). */
struct csandbox_bind {
    const char *source;
    const char *target;
    int readonly;
    /* The symlink at `source` itself, mounted over the symlink at `target`: a placeholder that
     * cannot be removed or replaced from inside (see ProtectedPath). */
    int symlink;
};

/* A tmpfs at `target` inside (nosuid, nodev); `options` is tmpfs' data, e.g. "mode=1777". */
struct csandbox_tmpfs {
    const char *target;
    const char *options;
};

/* A file written into the generated top layer of the root filesystem (read-only inside). */
struct csandbox_file {
    const char *path;
    const char *content;
    size_t length;
    unsigned mode;
};

struct csandbox_config {
    char *const *argv;          /* NULL-terminated; argv[0] without '/' is looked up in envp's PATH */
    char *const *envp;          /* NULL-terminated */
    const char *cwd;            /* absolute, inside */
    const char *hostname;

    /* Root filesystem: an overlay of `lowers` (names of directories in `layers_dir`, topmost
     * first) under a generated layer holding mountpoints and `files`. `scratch` names an empty
     * directory in `layers_dir` the child mounts its scratch tmpfs on (in its own mount
     * namespace, so concurrent sandboxes share it). Relative names keep the overlay's option
     * string short and free of characters it would need escaped. */
    const char *layers_dir;
    const char *const *lowers;
    size_t lower_count;
    const char *scratch;
    int writable_root;          /* tmpfs upper layer: writable, gone on exit */
    /* A writable upper layer that outlives the sandbox (a build step's new layer): absolute host
     * paths of two empty directories on one filesystem, used instead of writable_root's tmpfs;
     * NULL for none. */
    const char *upper_dir;
    const char *work_dir;
    /* For a sandbox whose ids are shifted away from the host's (devenv as root: ids that own
     * nothing on the host), its id maps ("inside outside count" lines); NULL otherwise. The
     * child cannot reach the host's directories by path then (their owners are not mapped in
     * its namespace), so csandbox_spawn makes idmapped copies, with these maps, of layers_dir,
     * of the directory holding upper_dir and work_dir (siblings, then), and of every bind's
     * source (not recursive): the sandbox sees the host's owners as they are, and what it
     * creates as id k is id k on the host. Needs CAP_SYS_ADMIN on the host. */
    const char *idmap_uid_map;
    const char *idmap_gid_map;

    const struct csandbox_bind *binds;      /* in mount order: parents before children */
    size_t bind_count;
    const struct csandbox_tmpfs *tmpfs;
    size_t tmpfs_count;
    const struct csandbox_file *files;
    size_t file_count;
    const char *const *masked;  /* files hidden behind /dev/null, directories behind an empty tmpfs */
    size_t masked_count;
    const char *const *readonly;
    size_t readonly_count;

    uid_t uid;                  /* the command's ids, inside */
    gid_t gid;
    int root_mapped;            /* id 0 is mapped: set up as root so generated files are root's */
    int setgroups_allowed;      /* 0 when /proc/<pid>/setgroups is "deny" (single-id mapping) */
    /* uid 0 keeps Docker's default capabilities in the namespace instead of none, so a build
     * step's package manager can chown and switch to its service users. */
    int keep_capabilities;

    const void *seccomp_filter; /* struct sock_filter[], seccomp_length bytes; NULL: unconfined */
    size_t seccomp_length;

    int new_network;            /* private network namespace with loopback up */
    /* No command: pid 1 only holds the namespaces (a running environment, `devenv up`) until
     * control_fd closes; commands join them with csandbox_join(). argv may be NULL then. */
    int hold;
    int foreground;             /* own process group, made the foreground one of the terminal on fd 0 */
    int own_process_group;      /* own process group, no terminal: a service, signalled as a group */
    int stdio[3];               /* host fds that become the command's 0, 1 and 2; -1: the caller's own */
};

struct csandbox_process {
    pid_t pid;                  /* the child (pid 1 inside), as the caller's namespace sees it */
    int control_fd;             /* one byte sent means "maps written"; closing it ends the sandbox */
    int status_fd;              /* read end: setup and exec failures as text; EOF once the command runs */
};

/* Why csandbox_start() failed. */
enum csandbox_failure {
    CSANDBOX_SETUP = 1,         /* building the sandbox failed */
    CSANDBOX_EXEC = 2,          /* the command could not be executed; `errno_out` says why */
};

/* Clones the child; on failure returns -1 and puts a message in `error`. */
int csandbox_spawn(const struct csandbox_config *config, struct csandbox_process *process,
                   char *error, size_t error_size);

/* Releases the child after its id maps are written. Returns 0 once the command runs, or a
 * csandbox_failure with the child's message in `error` (the child is reaped then). */
int csandbox_start(struct csandbox_process *process, char *error, size_t error_size, int *errno_out);

/* Waits for the sandbox to end, forwarding signals sent to this process (from csandbox_start on,
 * so none is lost to a command that is already running; not those a terminal sends to the whole
 * process group: the command gets those itself). Returns the command's exit
 * status, 128+N when signal N killed it. With `reclaim_terminal`, makes this process group the
 * terminal's foreground one again afterwards (the command may have taken it). */
int csandbox_wait(struct csandbox_process *process, int reclaim_terminal);

/* The namespaces a running sandbox is joined by, in the order they are joined: the names are
 * those of /proc/PID/ns/. */
enum { CSANDBOX_NAMESPACE_COUNT = 7 };
/* The name of namespace `index` (0 to CSANDBOX_NAMESPACE_COUNT - 1): "user", "mnt", … */
const char *csandbox_namespace_name(int index);

/* Runs config's command inside a running sandbox, as `docker exec` does: the child enters the
 * namespaces `namespaces` names (descriptors of /proc/PID/ns/NAME of its pid 1, in
 * csandbox_namespace_name's order; -1 for one the caller is in already), forks the command into the pid namespace as a child of the
 * caller's (CLONE_PARENT), and the command then becomes config's user with the same hardening
 * as a started one (no capabilities, no_new_privs, seccomp, only fds 0-2). Of the config only
 * argv, envp, cwd, uid, gid, setgroups_allowed, seccomp, foreground, own_process_group and stdio
 * count: the root and the mounts are the running sandbox's. Returns 0 once the command runs,
 * with `process->pid` its pid as the caller sees it (csandbox_wait waits for it), or a
 * csandbox_failure with a message in `error`. With `forward_signals`, signals sent to the
 * caller go on to the command from the moment its pid is known until csandbox_wait returns. */
int csandbox_join(const struct csandbox_config *config, const int *namespaces, int forward_signals,
                  struct csandbox_process *process, char *error, size_t error_size, int *errno_out);

/* Takes back the signals csandbox_start forwards: a held sandbox has no command to get them. */
void csandbox_stop_forwarding(void);

/* Kills and reaps a child that will not be started. */
void csandbox_abort(struct csandbox_process *process);

/* How a child's user namespace gets its ids (Sandbox's IDMapping.Mode; a launch record stores
 * these numbers). */
enum csandbox_id_mode {
    CSANDBOX_ID_ROOT = 1,        /* write uid_map and gid_map */
    CSANDBOX_ID_SINGLE = 2,      /* setgroups "deny", then the maps */
    CSANDBOX_ID_SUBORDINATE = 3, /* run newuidmap and newgidmap */
};

/* Gives the child `pid`, which waits for them, its id maps ("inside outside count" lines) as
 * `mode` (enum csandbox_id_mode) says; `newuidmap` and `newgidmap` are the helpers' paths, used
 * only for CSANDBOX_ID_SUBORDINATE. The one implementation for devenv-core and the launcher.
 * Returns 0, or -1 with a message in `error`. */
int csandbox_apply_id_maps(pid_t pid, int mode, const char *uid_map, const char *gid_map, const char *newuidmap,
                           const char *newgidmap, char *error, size_t size);

/* Clones a child into a new user namespace only, which waits for its id maps, then becomes root
 * (0/0) inside and execve's argv[0] (an absolute path) with `argv` and `envp`, its stdout and
 * stderr on a pipe whose read end goes to `*output_fd`. The caller writes the maps
 * (newuidmap/newgidmap), sends one byte on `*go_fd` and closes it; a child that gets EOF instead
 * exits 125. Returns the child's pid, or -1 with errno set. */
pid_t csandbox_userns_spawn(char *const *argv, char *const *envp, int *output_fd, int *go_fd);

#ifdef __cplusplus
}
#endif
