/* The devenv executable: starts `run` and `enter` straight from a launch record when one is
 * valid (claunch.h), and hands everything else to devenv-core, the Swift program. Starting a
 * built environment is the one thing users do dozens of times a day; loading a 150 MB Swift
 * binary for it would cost more than the sandbox itself. */
#include <claunch.h>
#include <signal.h>

int main(int argc, char **argv) {
    /* A caller may start devenv with signals blocked (Foundation's Process does); devenv must
     * still get the ones it forwards, and the command starts with none blocked either way. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    int status;
    if (claunch_try(argc, argv, &status)) return status;
    return claunch_exec_core(argv);
}
