#pragma once
/* The launch record's file format, shared by its writer (devenv-core, through
 * claunch_record_write) and its reader (the launcher).
 *
 * "DVLR", a version, a 64-bit FNV-1a hash of the rest, then entries: a 16-bit tag, a 32-bit
 * length and that many bytes, in the machine's byte order (a record never leaves the machine
 * that wrote it). Strings carry their NUL; a tag that repeats is a list, in order. The hash
 * makes a damaged record a miss rather than a different sandbox. */
#define _GNU_SOURCE
#include "claunch.h"

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#define RECORD_MAGIC "DVLR"
/* Bumped whenever an entry changes meaning: an old record is then a miss, never misread. */
#define RECORD_VERSION 6u
#define RECORD_HEADER_SIZE 16

/* FNV-1a, 64 bits, continuing from `hash` (start with FNV_OFFSET): the record's checksum and
 * the record file's name. */
#define FNV_OFFSET 0xcbf29ce484222325ull
uint64_t fnv1a(uint64_t hash, const void *bytes, size_t length);

enum record_tag {
    TAG_KEY = 1, TAG_CORE, TAG_PROJECT, TAG_MOUNT_POINT, TAG_FOREGROUND, TAG_NOTES, TAG_INVOKER,
    TAG_CHECK, TAG_VARIABLE,
    TAG_ID_MODE, TAG_UID_MAP, TAG_GID_MAP, TAG_NEWUIDMAP, TAG_NEWGIDMAP,
    TAG_ARGV, TAG_ENV, TAG_HOSTNAME, TAG_LAYERS_DIR, TAG_LOWER, TAG_SCRATCH, TAG_WRITABLE_ROOT,
    TAG_BIND, TAG_TMPFS, TAG_FILE, TAG_MASKED, TAG_READONLY, TAG_IDS, TAG_SECCOMP, TAG_NEW_NETWORK,
    TAG_IDMAP, /* 1: the maps are also the idmapped mounts' (csandbox_config.idmap_uid_map) */
    /* An answer record (`build`, `status`) has these instead of a sandbox: what to print and the
     * exit status. */
    TAG_ANSWER_OUT, TAG_ANSWER_ERR, TAG_ANSWER_STATUS,
    /* A join record (run/enter while the project is up): struct record_join. The sandbox is
     * joined, not started; the config is the command's, the rest as a full start records it. */
    TAG_JOIN,
};

/* Where the running environment's namespaces are: descriptors `fds` (csandbox_namespace_name's
 * order; -1 for one the caller shares) held open by process `holder`, which started at
 * `holder_start` (field 22 of /proc/PID/stat), so a process reusing its pid is not asked. */
struct record_join {
    int32_t holder;
    uint32_t reserved;
    uint64_t holder_start;
    int32_t fds[CSANDBOX_NAMESPACE_COUNT];
    uint32_t padding;
};

/* What stat() found at a checked path when the record was written. */
struct file_check {
    uint32_t kind;              /* enum claunch_check_kind */
    uint32_t present;
    uint32_t mode;
    uint32_t reserved;
    uint64_t device, inode, size;
    int64_t mtime_sec, mtime_nsec, ctime_sec, ctime_nsec;
};

struct record_ids {
    uint32_t uid, gid, root_mapped, setgroups_allowed, keep_capabilities;
};

/* A record read back: every pointer points into `buffer`. */
struct record {
    char *buffer;
    size_t size;
    const char *key, *core, *project, *mount_point, *notes;
    int foreground;
    uint32_t invoker_uid, invoker_gid;

    const struct file_check **checks;
    const char **check_paths;
    size_t check_count;
    const char **variable_names;    /* each with its value (NULL: unset) */
    const char **variable_values;
    size_t variable_count;

    int id_mode;
    const char *uid_map, *gid_map, *newuidmap, *newgidmap;

    const char **argv;              /* NULL-terminated */
    const char **envp;              /* NULL-terminated */
    const char **lowers, **masked, **readonly;
    size_t lower_count, masked_count, readonly_count;
    struct csandbox_bind *binds;
    size_t bind_count;
    struct csandbox_tmpfs *tmpfs;
    size_t tmpfs_count;
    struct csandbox_file *files;
    size_t file_count;
    struct csandbox_config config;  /* argv, cwd, foreground and stdio left for the launcher */

    int join;                       /* a join record: `joined` says where */
    struct record_join joined;

    int answer;                     /* an answer record: no sandbox, these instead */
    const char *answer_out, *answer_err;
    size_t answer_out_length, answer_err_length;
    int answer_status;
};

/* Reads the record at `path`. Returns 0, or -1 with the reason in `why` (ENOENT: "no record"). */
int record_read(const char *path, struct record *record, char *why, size_t why_size);
void record_free(struct record *record);

/* What stat() says of `path` now, for `kind`. */
void file_check_take(const char *path, uint32_t kind, struct file_check *check);
/* Whether `now` still matches `then` (taken with the same kind). */
int file_check_matches(const struct file_check *then, const struct file_check *now);
