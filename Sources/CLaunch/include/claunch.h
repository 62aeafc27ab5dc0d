#pragma once
/*
 * The fast start of `devenv run` and `devenv enter` (docs/architecture.md, "Process picture":
 * "The launcher and launch records").
 *
 * The `devenv` executable is a small C program. For `run`/`enter` it finds the project and the
 * store the way devenv does, and looks for a launch record: the flat sandbox config a previous
 * full start of the same invocation wrote, with the inputs it was computed from (the manifest,
 * the lock, the layers, the user database, the caller's variables, the devenv binary itself…).
 * When every input is unchanged it runs the sandbox straight from the record, in C; otherwise,
 * and for every other command, it execs `devenv-core` (the Swift program, next to it), telling
 * it where to write a new record. A record is only ever a cache: removing it costs one full start.
 */
#include <stddef.h>
#include <time.h>

#include "csandbox.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The environment variables the launcher hands devenv-core with a miss: where to write the
 * record, and the invocation it is for ("devenv-launch 1\n<verb>\n<store>\n<project>\n…"). */
#define CLAUNCH_RECORD_VARIABLE "DEVENV_LAUNCH_RECORD"
#define CLAUNCH_KEY_VARIABLE "DEVENV_LAUNCH_KEY"
/* Set (to anything) to have the launcher say on stderr whether it started from a record. */
#define CLAUNCH_TRACE_VARIABLE "DEVENV_TRACE_START"

/* How a path the config was computed from is compared with what the launcher finds. */
enum claunch_check_kind {
    CLAUNCH_CONTENT = 1,    /* same file: device, inode, size, mode, mtime and ctime (or still absent) */
    CLAUNCH_IDENTITY = 2,   /* same inode (or still absent): immutable things such as layer directories */
    CLAUNCH_DIRECTORY = 3,  /* a directory exists there */
};

enum claunch_id_mode {
    CLAUNCH_ID_ROOT = 1,        /* write uid_map and gid_map */
    CLAUNCH_ID_SINGLE = 2,      /* setgroups "deny", then the maps */
    CLAUNCH_ID_SUBORDINATE = 3, /* run newuidmap and newgidmap */
};

/* What a full start knows besides the sandbox config. */
struct claunch_record_input {
    const char *key;                    /* the launcher's DEVENV_LAUNCH_KEY */
    const char *core_path;              /* the devenv-core that computed this */
    const char *project_dir;            /* on the host */
    const char *mount_point;            /* where project_dir is inside */
    int foreground;                     /* the command wants the terminal (enter's shell) */
    const char *notes;                  /* printed on stderr before each start; "" for none */

    const char *const *check_paths;
    const int *check_kinds;             /* enum claunch_check_kind, one per path */
    size_t check_count;
    const char *const *variables;       /* the caller's variables the config depends on */
    size_t variable_count;

    int id_mode;                        /* enum claunch_id_mode */
    const char *uid_map;                /* "inside outside count" lines */
    const char *gid_map;
    const char *newuidmap;              /* helper paths for CLAUNCH_ID_SUBORDINATE */
    const char *newgidmap;

    /* Files changed at or after this instant may have changed after they were read: with one
     * of them among the checks, no record is written (the next start writes it). */
    struct timespec not_after;
};

/* Writes the record for `config` (argv is enter's shell; cwd, stdio and foreground are the
 * launcher's to decide) atomically at `path`. Returns 0 when written, 1 when skipped because an
 * input changed too recently, -1 with a message in `error`. */
int claunch_record_write(const char *path, const struct csandbox_config *config,
                         const struct claunch_record_input *input, char *error, size_t error_size);

/* Writes an answer record at `path`: what `build` or `status` printed for an up-to-date project
 * (`out` on stdout, `err` on stderr) and its exit status, valid while the inputs in `input` are
 * unchanged (its sandbox fields are not used). Returns as claunch_record_write. */
int claunch_answer_write(const char *path, const struct claunch_record_input *input, const char *out, const char *err,
                         int status, char *error, size_t error_size);

/* Layers in use. A sandbox holds its layers for as long as it runs: a file in
 * `<layers_dir>/.in-use/` naming them one a line, under a shared flock the kernel drops when the
 * process ends. gc and a rebuild delete no layer a live hold names. */
#define CLAUNCH_IN_USE_DIRECTORY ".in-use"

/* Registers a hold on `names` (directories in `layers_dir`); returns its descriptor (keep it open
 * while the sandbox runs) and writes the hold's path to `held`, or -1 with errno. */
int claunch_hold_layers(const char *layers_dir, const char *const *names, size_t count, char *held, size_t held_size);

/* Ends a hold (fd < 0: nothing to do). */
void claunch_release_layers(int fd, const char *held);

/* For deleting layers: takes the exclusive store-wide lock (no sandbox registers while it is
 * held; close the returned descriptor to release it), removes the holds of processes that are
 * gone, and sets `*names` to a malloc'd, newline-separated list of what live holds name. -1 with
 * errno on failure. */
int claunch_layers_in_use(const char *layers_dir, char **names);

/* The working tree of the git repository containing `start` (an absolute, physical directory),
 * as libgit2's discovery finds it without crossing a file system boundary: the nearest
 * directory with a `.git` directory (holding HEAD and objects) or a `.git` file ("gitdir: …").
 * Writes it to `out` and returns 1, or returns 0 outside a repository. */
int claunch_discover_work_tree(const char *start, char *out, size_t out_size);

/* The launcher: runs `argv` from a valid record and returns 1 with the exit status in `*status`,
 * or returns 0 when devenv-core has to do it (having set the record variables when it should
 * write one). */
int claunch_try(int argc, char **argv, int *status);

/* Execs devenv-core next to the running executable with `argv`; returns only on failure,
 * after saying why on stderr, with the exit status to use. */
int claunch_exec_core(char **argv);

#ifdef __cplusplus
}
#endif
