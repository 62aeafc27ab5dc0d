/* Linux headers Swift's Glibc module leaves out. Declarations only; everything is in libc. */
#include <sys/xattr.h>
#include <sys/sysmacros.h>
#include <sys/fsuid.h>
#include <fcntl.h>

/* O_PATH needs _GNU_SOURCE, which Swift's Glibc module is not built with. */
static const int clinux_O_PATH = 010000000;

#include <sys/syscall.h>
#include <unistd.h>

/* glibc 2.36 has pidfd_open only in <sys/pidfd.h>, which Swift's Glibc module does not export. */
static inline int clinux_pidfd_open(int pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

#include <spawn.h>
/* glibc ≥ 2.34 declares it only under _GNU_SOURCE: a spawned helper or daemon must not keep
 * descriptors devenv inherited from its own caller (a test's pipe, a terminal's socket). */
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
