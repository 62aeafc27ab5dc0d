/* Writing and reading launch records (record.h has the format). */
#include "record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- writing ---- */

struct writer {
    char *data;
    size_t length, capacity;
    int failed;
};

static void put(struct writer *w, const void *bytes, size_t length) {
    if (w->failed) return;
    if (w->length + length > w->capacity) {
        size_t capacity = w->capacity ? w->capacity : 16384;
        while (capacity < w->length + length) capacity *= 2;
        char *grown = realloc(w->data, capacity);
        if (!grown) {
            w->failed = 1;
            return;
        }
        w->data = grown;
        w->capacity = capacity;
    }
    memcpy(w->data + w->length, bytes, length);
    w->length += length;
}

static void entry_header(struct writer *w, uint16_t tag, size_t length) {
    uint32_t length32 = (uint32_t)length;
    if (length > UINT32_MAX) w->failed = 1;
    put(w, &tag, sizeof tag);
    put(w, &length32, sizeof length32);
}

static void entry(struct writer *w, uint16_t tag, const void *bytes, size_t length) {
    entry_header(w, tag, length);
    put(w, bytes, length);
}

static void entry_string(struct writer *w, uint16_t tag, const char *text) {
    if (text) entry(w, tag, text, strlen(text) + 1);
}

static void entry_u32(struct writer *w, uint16_t tag, uint32_t value) {
    entry(w, tag, &value, sizeof value);
}

/* Two strings in one entry, after a 32-bit number: binds, tmpfs mounts, variables. */
static void entry_pair(struct writer *w, uint16_t tag, uint32_t number, const char *first, const char *second, size_t second_length) {
    size_t first_length = strlen(first) + 1;
    entry_header(w, tag, sizeof number + first_length + second_length);
    put(w, &number, sizeof number);
    put(w, first, first_length);
    put(w, second, second_length);
}

/* Whether a time stamp is at or after `instant` (git's "racily clean" test). A file system that
 * keeps whole seconds only (no nanoseconds in either stamp) is compared in seconds. */
static int changed_since(const struct file_check *check, const struct timespec *instant) {
    if (!check->present) return 0;
    int64_t s = instant->tv_sec, ns = check->mtime_nsec || check->ctime_nsec ? instant->tv_nsec : 0;
    return check->mtime_sec > s || (check->mtime_sec == s && check->mtime_nsec >= ns)
        || check->ctime_sec > s || (check->ctime_sec == s && check->ctime_nsec >= ns);
}

/* The header and what every record has: the invocation, its inputs and their state now. 1 when
 * an input changed too recently to be recorded (nothing is to be written). */
static int write_inputs(struct writer *w, const struct claunch_record_input *input) {
    put(w, RECORD_MAGIC, 4);
    uint32_t version = RECORD_VERSION;
    put(w, &version, sizeof version);
    uint64_t checksum = 0;
    put(w, &checksum, sizeof checksum);

    entry_string(w, TAG_KEY, input->key);
    entry_string(w, TAG_CORE, input->core_path);
    entry_string(w, TAG_PROJECT, input->project_dir);
    entry_string(w, TAG_MOUNT_POINT, input->mount_point);
    entry_u32(w, TAG_FOREGROUND, input->foreground ? 1 : 0);
    entry_string(w, TAG_NOTES, input->notes ? input->notes : "");
    uint32_t invoker[2] = {getuid(), getgid()};
    entry(w, TAG_INVOKER, invoker, sizeof invoker);

    for (size_t i = 0; i < input->check_count; i++) {
        struct file_check check;
        file_check_take(input->check_paths[i], (uint32_t)input->check_kinds[i], &check);
        if (check.kind == CLAUNCH_CONTENT && changed_since(&check, &input->not_after)) return 1;
        size_t path_length = strlen(input->check_paths[i]) + 1;
        entry_header(w, TAG_CHECK, sizeof check + path_length);
        put(w, &check, sizeof check);
        put(w, input->check_paths[i], path_length);
    }
    for (size_t i = 0; i < input->variable_count; i++) {
        const char *value = getenv(input->variables[i]);
        entry_pair(w, TAG_VARIABLE, value != NULL, input->variables[i], value ? value : "", value ? strlen(value) + 1 : 1);
    }
    return 0;
}

static int write_out(struct writer *w, const char *path, char *error, size_t error_size);

int claunch_answer_write(const char *path, const struct claunch_record_input *input, const char *out, const char *err,
                         int status, char *error, size_t error_size) {
    struct writer w = {0};
    if (write_inputs(&w, input)) {
        free(w.data);
        return 1;
    }
    entry(&w, TAG_ANSWER_OUT, out, strlen(out));
    entry(&w, TAG_ANSWER_ERR, err, strlen(err));
    entry_u32(&w, TAG_ANSWER_STATUS, (uint32_t)status);
    return write_out(&w, path, error, error_size);
}

int claunch_record_write(const char *path, const struct csandbox_config *config,
                         const struct claunch_record_input *input, char *error, size_t error_size) {
    if (config->upper_dir || config->work_dir || config->keep_capabilities) {
        snprintf(error, error_size, "a build step's sandbox is not recorded");
        return -1;
    }
    struct writer w = {0};
    if (write_inputs(&w, input)) {
        free(w.data);
        return 1;
    }

    entry_u32(&w, TAG_ID_MODE, (uint32_t)input->id_mode);
    entry_string(&w, TAG_UID_MAP, input->uid_map);
    entry_string(&w, TAG_GID_MAP, input->gid_map);
    entry_string(&w, TAG_NEWUIDMAP, input->newuidmap);
    entry_string(&w, TAG_NEWGIDMAP, input->newgidmap);

    for (char *const *arg = config->argv; arg && *arg; arg++) entry_string(&w, TAG_ARGV, *arg);
    for (char *const *var = config->envp; var && *var; var++) entry_string(&w, TAG_ENV, *var);
    entry_string(&w, TAG_HOSTNAME, config->hostname);
    entry_string(&w, TAG_LAYERS_DIR, config->layers_dir);
    for (size_t i = 0; i < config->lower_count; i++) entry_string(&w, TAG_LOWER, config->lowers[i]);
    entry_string(&w, TAG_SCRATCH, config->scratch);
    entry_u32(&w, TAG_WRITABLE_ROOT, config->writable_root ? 1 : 0);
    for (size_t i = 0; i < config->bind_count; i++) {
        const struct csandbox_bind *bind = &config->binds[i];
        entry_pair(&w, TAG_BIND, (bind->readonly ? 1u : 0u) | (bind->symlink ? 2u : 0u), bind->source, bind->target, strlen(bind->target) + 1);
    }
    for (size_t i = 0; i < config->tmpfs_count; i++) {
        const struct csandbox_tmpfs *tmpfs = &config->tmpfs[i];
        entry_pair(&w, TAG_TMPFS, 0, tmpfs->target, tmpfs->options, strlen(tmpfs->options) + 1);
    }
    for (size_t i = 0; i < config->file_count; i++) {
        const struct csandbox_file *file = &config->files[i];
        entry_pair(&w, TAG_FILE, file->mode, file->path, file->content, file->length);
    }
    for (size_t i = 0; i < config->masked_count; i++) entry_string(&w, TAG_MASKED, config->masked[i]);
    for (size_t i = 0; i < config->readonly_count; i++) entry_string(&w, TAG_READONLY, config->readonly[i]);
    struct record_ids ids = {
        .uid = config->uid, .gid = config->gid, .root_mapped = config->root_mapped ? 1 : 0,
        .setgroups_allowed = config->setgroups_allowed ? 1 : 0, .keep_capabilities = 0,
    };
    entry(&w, TAG_IDS, &ids, sizeof ids);
    if (config->seccomp_filter) entry(&w, TAG_SECCOMP, config->seccomp_filter, config->seccomp_length);
    entry_u32(&w, TAG_NEW_NETWORK, config->new_network ? 1 : 0);
    entry_u32(&w, TAG_IDMAP, config->idmap_uid_map ? 1 : 0);
    if (input->join) {
        struct record_join join = {.holder = input->join_holder, .holder_start = input->join_holder_start};
        for (int i = 0; i < CSANDBOX_NAMESPACE_COUNT; i++) join.fds[i] = input->join_fds[i];
        entry(&w, TAG_JOIN, &join, sizeof join);
    }
    return write_out(&w, path, error, error_size);
}

/* Seals the record (its checksum) and puts it at `path` whole or not at all; frees `w`. */
static int write_out(struct writer *w, const char *path, char *error, size_t error_size) {
    if (w->failed) {
        free(w->data);
        snprintf(error, error_size, "out of memory");
        return -1;
    }
    uint64_t checksum = fnv1a(FNV_OFFSET, w->data + RECORD_HEADER_SIZE, w->length - RECORD_HEADER_SIZE);
    memcpy(w->data + 8, &checksum, sizeof checksum);

    /* The directory is made on first use; a record appears whole (rename) or not at all. */
    char directory[4096];
    snprintf(directory, sizeof directory, "%s", path);
    char *slash = strrchr(directory, '/');
    if (slash && slash != directory) {
        *slash = '\0';
        if (mkdir(directory, 0700) < 0 && errno != EEXIST) {
            snprintf(error, error_size, "mkdir %s: %s", directory, strerror(errno));
            free(w->data);
            return -1;
        }
    }
    char temporary[4200];
    snprintf(temporary, sizeof temporary, "%s.tmp-%d", path, (int)getpid());
    int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        snprintf(error, error_size, "create %s: %s", temporary, strerror(errno));
        free(w->data);
        return -1;
    }
    size_t done = 0;
    while (done < w->length) {
        ssize_t n = write(fd, w->data + done, w->length - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += (size_t)n;
    }
    int write_error = done == w->length ? 0 : errno ? errno : EIO;
    free(w->data);
    if (close(fd) < 0 && !write_error) write_error = errno;
    if (write_error || rename(temporary, path) < 0) {
        int number = write_error ? write_error : errno;
        unlink(temporary);
        snprintf(error, error_size, "write %s: %s", path, strerror(number));
        return -1;
    }
    return 0;
}

uint64_t fnv1a(uint64_t hash, const void *bytes, size_t length) {
    for (const unsigned char *byte = bytes, *end = byte + length; byte < end; byte++) hash = (hash ^ *byte) * 0x100000001b3ull;
    return hash;
}

/* ---- checks ---- */

void file_check_take(const char *path, uint32_t kind, struct file_check *check) {
    memset(check, 0, sizeof *check);
    check->kind = kind;
    struct stat info;
    if (stat(path, &info) < 0) return;
    check->present = 1;
    check->mode = info.st_mode;
    check->device = info.st_dev;
    check->inode = info.st_ino;
    check->size = (uint64_t)info.st_size;
    check->mtime_sec = info.st_mtim.tv_sec;
    check->mtime_nsec = info.st_mtim.tv_nsec;
    check->ctime_sec = info.st_ctim.tv_sec;
    check->ctime_nsec = info.st_ctim.tv_nsec;
}

int file_check_matches(const struct file_check *then, const struct file_check *now) {
    switch (then->kind) {
    case CLAUNCH_DIRECTORY:
        return now->present && S_ISDIR(now->mode);
    case CLAUNCH_IDENTITY:
        if (then->present != now->present) return 0;
        return !now->present || (then->device == now->device && then->inode == now->inode
                                 && (then->mode & S_IFMT) == (now->mode & S_IFMT));
    case CLAUNCH_CONTENT:
        if (then->present != now->present) return 0;
        return !now->present || (then->device == now->device && then->inode == now->inode && then->mode == now->mode
                                 && then->size == now->size && then->mtime_sec == now->mtime_sec
                                 && then->mtime_nsec == now->mtime_nsec && then->ctime_sec == now->ctime_sec
                                 && then->ctime_nsec == now->ctime_nsec);
    default:
        return 0;
    }
}

/* ---- reading ---- */

struct cursor {
    const char *at, *end;
};

/* The next entry, or 0 at the end; -1 for a truncated one. */
static int next_entry(struct cursor *c, uint16_t *tag, const char **payload, uint32_t *length) {
    if (c->at == c->end) return 0;
    if ((size_t)(c->end - c->at) < sizeof *tag + sizeof *length) return -1;
    memcpy(tag, c->at, sizeof *tag);
    memcpy(length, c->at + sizeof *tag, sizeof *length);
    c->at += sizeof *tag + sizeof *length;
    if ((size_t)(c->end - c->at) < *length) return -1;
    *payload = c->at;
    c->at += *length;
    return 1;
}

/* A NUL-terminated string filling the payload exactly, or NULL. */
static const char *whole_string(const char *payload, uint32_t length) {
    return length && payload[length - 1] == '\0' && memchr(payload, '\0', length) == payload + length - 1 ? payload : NULL;
}

/* After a 32-bit number, two strings (the second may be bytes of `second_length`). */
static int split_pair(const char *payload, uint32_t length, uint32_t *number, const char **first,
                      const char **second, size_t *second_length) {
    if (length < sizeof *number + 1) return -1;
    memcpy(number, payload, sizeof *number);
    const char *rest = payload + sizeof *number, *end = payload + length;
    const char *nul = memchr(rest, '\0', (size_t)(end - rest));
    if (!nul) return -1;
    *first = rest;
    *second = nul + 1;
    *second_length = (size_t)(end - *second);
    return 0;
}

static void *array(size_t count, size_t size) { return calloc(count + 1, size); }

/* Reads the file at `path` whole into r->buffer: only a plain file of sensible size that the
 * caller owns. 0, or -1 with the reason in `why`. */
static int load(const char *path, struct record *r, char *why, size_t why_size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(why, why_size, errno == ENOENT ? "no record yet" : "cannot open the record: %s", strerror(errno));
        return -1;
    }
    struct stat info;
    if (fstat(fd, &info) < 0 || !S_ISREG(info.st_mode) || info.st_size > (64 << 20)) {
        close(fd);
        snprintf(why, why_size, "the record is not a plain file of sensible size");
        return -1;
    }
    /* A record says what to mount and run: only one the caller wrote is followed. */
    if (info.st_uid != getuid()) {
        close(fd);
        snprintf(why, why_size, "the record belongs to another user");
        return -1;
    }
    r->size = (size_t)info.st_size;
    r->buffer = malloc(r->size + 1);
    size_t done = 0;
    while (r->buffer && done < r->size) {
        ssize_t n = read(fd, r->buffer + done, r->size - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        done += (size_t)n;
    }
    close(fd);
    if (!r->buffer || done != r->size) {
        record_free(r);
        snprintf(why, why_size, "cannot read the record");
        return -1;
    }
    return 0;
}

static int current_version(const struct record *r) {
    uint32_t version = 0;
    if (r->size < RECORD_HEADER_SIZE || memcmp(r->buffer, RECORD_MAGIC, 4) != 0) return 0;
    memcpy(&version, r->buffer + 4, 4);
    return version == RECORD_VERSION;
}

static int checksum_matches(const struct record *r) {
    uint64_t checksum;
    memcpy(&checksum, r->buffer + 8, sizeof checksum);
    return checksum == fnv1a(FNV_OFFSET, r->buffer + RECORD_HEADER_SIZE, r->size - RECORD_HEADER_SIZE);
}

static struct cursor entries(const struct record *r) {
    return (struct cursor){r->buffer + RECORD_HEADER_SIZE, r->buffer + r->size};
}

/* How many entries of each tag there are: the lists' lengths. -1 for a truncated entry. */
static int count_entries(const struct record *r, size_t counts[TAG_ANSWER_STATUS + 1]) {
    struct cursor c = entries(r);
    uint16_t tag;
    const char *payload;
    uint32_t length;
    int more;
    while ((more = next_entry(&c, &tag, &payload, &length)) > 0) {
        if (tag <= TAG_ANSWER_STATUS) counts[tag]++;
    }
    return more;
}

static int allocate_lists(struct record *r, const size_t counts[TAG_ANSWER_STATUS + 1]) {
    r->checks = array(counts[TAG_CHECK], sizeof *r->checks);
    r->check_paths = array(counts[TAG_CHECK], sizeof *r->check_paths);
    r->variable_names = array(counts[TAG_VARIABLE], sizeof *r->variable_names);
    r->variable_values = array(counts[TAG_VARIABLE], sizeof *r->variable_values);
    r->argv = array(counts[TAG_ARGV], sizeof *r->argv);
    r->envp = array(counts[TAG_ENV], sizeof *r->envp);
    r->lowers = array(counts[TAG_LOWER], sizeof *r->lowers);
    r->masked = array(counts[TAG_MASKED], sizeof *r->masked);
    r->readonly = array(counts[TAG_READONLY], sizeof *r->readonly);
    r->binds = array(counts[TAG_BIND], sizeof *r->binds);
    r->tmpfs = array(counts[TAG_TMPFS], sizeof *r->tmpfs);
    r->files = array(counts[TAG_FILE], sizeof *r->files);
    return r->checks && r->check_paths && r->variable_names && r->variable_values && r->argv && r->envp && r->lowers
        && r->masked && r->readonly && r->binds && r->tmpfs && r->files ? 0 : -1;
}

/* What decoding learns besides the record's own fields. */
struct decoding {
    size_t argc, envc;
    int have_ids, idmapped;
};

/* Where an entry holding one string goes: a field, or the next place in a list; NULL when `tag`
 * is not such an entry. */
static const char **string_slot(struct record *r, struct decoding *d, uint16_t tag) {
    switch (tag) {
    case TAG_KEY: return &r->key;
    case TAG_CORE: return &r->core;
    case TAG_PROJECT: return &r->project;
    case TAG_MOUNT_POINT: return &r->mount_point;
    case TAG_NOTES: return &r->notes;
    case TAG_UID_MAP: return &r->uid_map;
    case TAG_GID_MAP: return &r->gid_map;
    case TAG_NEWUIDMAP: return &r->newuidmap;
    case TAG_NEWGIDMAP: return &r->newgidmap;
    case TAG_HOSTNAME: return &r->config.hostname;
    case TAG_LAYERS_DIR: return &r->config.layers_dir;
    case TAG_SCRATCH: return &r->config.scratch;
    case TAG_ARGV: return &r->argv[d->argc++];
    case TAG_ENV: return &r->envp[d->envc++];
    case TAG_LOWER: return &r->lowers[r->lower_count++];
    case TAG_MASKED: return &r->masked[r->masked_count++];
    case TAG_READONLY: return &r->readonly[r->readonly_count++];
    default: return NULL;
    }
}

/* An entry holding one 32-bit number. */
static int decode_number(struct record *r, struct decoding *d, uint16_t tag, const char *payload, uint32_t length) {
    uint32_t number;
    if (length != sizeof number) return -1;
    memcpy(&number, payload, sizeof number);
    switch (tag) {
    case TAG_FOREGROUND: r->foreground = number != 0; break;
    case TAG_ID_MODE: r->id_mode = (int)number; break;
    case TAG_WRITABLE_ROOT: r->config.writable_root = number != 0; break;
    case TAG_NEW_NETWORK: r->config.new_network = number != 0; break;
    case TAG_IDMAP: d->idmapped = number != 0; break;
    default: r->answer_status = (int)number; break;
    }
    return 0;
}

static int decode_invoker(struct record *r, const char *payload, uint32_t length) {
    uint32_t ids[2];
    if (length != sizeof ids) return -1;
    memcpy(ids, payload, sizeof ids);
    r->invoker_uid = ids[0];
    r->invoker_gid = ids[1];
    return 0;
}

static int decode_ids(struct record *r, struct decoding *d, const char *payload, uint32_t length) {
    struct record_ids ids;
    if (length != sizeof ids) return -1;
    memcpy(&ids, payload, sizeof ids);
    r->config.uid = ids.uid;
    r->config.gid = ids.gid;
    r->config.root_mapped = (int)ids.root_mapped;
    r->config.setgroups_allowed = (int)ids.setgroups_allowed;
    d->have_ids = 1;
    return 0;
}

static int decode_check(struct record *r, const char *payload, uint32_t length) {
    /* The struct is copied out: the payload need not be aligned. */
    if (length < sizeof(struct file_check) + 1) return -1;
    struct file_check *check = malloc(sizeof *check);
    if (!check) return -1;
    memcpy(check, payload, sizeof *check);
    const char *check_path = whole_string(payload + sizeof *check, length - (uint32_t)sizeof *check);
    r->checks[r->check_count] = check;
    if (!check_path) return -1;
    r->check_paths[r->check_count++] = check_path;
    return 0;
}

/* A variable, bind, tmpfs mount or file: a number and two strings (a file's second is bytes). */
static int decode_pair(struct record *r, uint16_t tag, const char *payload, uint32_t length) {
    uint32_t number;
    const char *first, *second;
    size_t second_length;
    if (split_pair(payload, length, &number, &first, &second, &second_length) < 0) return -1;
    if (tag == TAG_FILE) {
        r->files[r->file_count++] = (struct csandbox_file){.path = first, .content = second, .length = second_length, .mode = number};
        return 0;
    }
    if (!whole_string(second, (uint32_t)second_length)) return -1;
    if (tag == TAG_VARIABLE) {
        r->variable_names[r->variable_count] = first;
        r->variable_values[r->variable_count++] = number ? second : NULL;
    } else if (tag == TAG_BIND) {
        r->binds[r->bind_count++] = (struct csandbox_bind){.source = first, .target = second, .readonly = (int)(number & 1), .symlink = (int)(number >> 1 & 1)};
    } else {
        r->tmpfs[r->tmpfs_count++] = (struct csandbox_tmpfs){.target = first, .options = second};
    }
    return 0;
}

static int decode_entry(struct record *r, struct decoding *d, uint16_t tag, const char *payload, uint32_t length) {
    const char **slot = string_slot(r, d, tag);
    if (slot) return (*slot = whole_string(payload, length)) ? 0 : -1;
    switch (tag) {
    case TAG_FOREGROUND: case TAG_ID_MODE: case TAG_WRITABLE_ROOT: case TAG_NEW_NETWORK: case TAG_IDMAP:
    case TAG_ANSWER_STATUS:
        return decode_number(r, d, tag, payload, length);
    case TAG_INVOKER: return decode_invoker(r, payload, length);
    case TAG_IDS: return decode_ids(r, d, payload, length);
    case TAG_CHECK: return decode_check(r, payload, length);
    case TAG_VARIABLE: case TAG_BIND: case TAG_TMPFS: case TAG_FILE: return decode_pair(r, tag, payload, length);
    case TAG_SECCOMP:
        r->config.seccomp_filter = payload;
        r->config.seccomp_length = length;
        return 0;
    case TAG_ANSWER_OUT:
        r->answer = 1;
        r->answer_out = payload;
        r->answer_out_length = length;
        return 0;
    case TAG_ANSWER_ERR:
        r->answer_err = payload;
        r->answer_err_length = length;
        return 0;
    case TAG_JOIN:
        if (length != sizeof r->joined) return -1;
        memcpy(&r->joined, payload, sizeof r->joined);
        r->join = 1;
        return 0;
    default:
        return -1;
    }
}

/* Every entry into the record (the lists allocated); -1 for one that is not well-formed. */
static int decode_entries(struct record *r, struct decoding *d) {
    struct cursor c = entries(r);
    uint16_t tag;
    const char *payload;
    uint32_t length;
    int more;
    while ((more = next_entry(&c, &tag, &payload, &length)) > 0) {
        if (decode_entry(r, d, tag, payload, length) < 0) return -1;
    }
    return more;
}

/* Whether the entries make a whole record of their kind, every required one there. */
static int complete(const struct record *r, const size_t counts[TAG_ANSWER_STATUS + 1], const struct decoding *d) {
    if (!r->key || !r->core || !r->project || !r->mount_point || !r->notes) return 0;
    /* Nothing to run in an answer: one with a sandbox in it is not one devenv wrote. */
    if (r->answer) return r->answer_err && counts[TAG_ANSWER_STATUS] == 1 && !counts[TAG_ARGV] && !counts[TAG_LOWER];
    return r->config.hostname && r->config.layers_dir && r->config.scratch && d->have_ids && r->id_mode && r->uid_map
        && r->gid_map && (r->id_mode != CSANDBOX_ID_SUBORDINATE || (r->newuidmap && r->newgidmap));
}

/* Points the sandbox config at what was read; argv, cwd and foreground are the launcher's, and
 * stdio its own. */
static void assemble_config(struct record *r, int idmapped) {
    if (idmapped) {
        r->config.idmap_uid_map = r->uid_map;
        r->config.idmap_gid_map = r->gid_map;
    }
    r->config.envp = (char *const *)r->envp;
    r->config.lowers = r->lowers;
    r->config.lower_count = r->lower_count;
    r->config.binds = r->binds;
    r->config.bind_count = r->bind_count;
    r->config.tmpfs = r->tmpfs;
    r->config.tmpfs_count = r->tmpfs_count;
    r->config.files = r->files;
    r->config.file_count = r->file_count;
    r->config.masked = r->masked;
    r->config.masked_count = r->masked_count;
    r->config.readonly = r->readonly;
    r->config.readonly_count = r->readonly_count;
    r->config.stdio[0] = r->config.stdio[1] = r->config.stdio[2] = -1;
}

static int rejected(struct record *r, char *why, size_t why_size, const char *reason) {
    record_free(r);
    snprintf(why, why_size, "%s", reason);
    return -1;
}

int record_read(const char *path, struct record *r, char *why, size_t why_size) {
    memset(r, 0, sizeof *r);
    if (load(path, r, why, why_size) < 0) return -1;
    if (!current_version(r)) return rejected(r, why, why_size, "the record is of another devenv version");
    size_t counts[TAG_ANSWER_STATUS + 1] = {0};
    struct decoding d = {0};
    if (!checksum_matches(r) || count_entries(r, counts) < 0 || allocate_lists(r, counts) < 0 || decode_entries(r, &d) < 0
        || !complete(r, counts, &d))
        return rejected(r, why, why_size, "the record is damaged");
    if (!r->answer) assemble_config(r, d.idmapped);
    return 0;
}

void record_free(struct record *r) {
    if (r->checks) {
        for (size_t i = 0; i < r->check_count; i++) free((void *)r->checks[i]);
        /* A check copied before its path failed to parse. */
        free((void *)r->checks[r->check_count]);
    }
    free(r->checks);
    free(r->check_paths);
    free(r->variable_names);
    free(r->variable_values);
    free(r->argv);
    free(r->envp);
    free(r->lowers);
    free(r->masked);
    free(r->readonly);
    free(r->binds);
    free(r->tmpfs);
    free(r->files);
    free(r->buffer);
    memset(r, 0, sizeof *r);
}
