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
