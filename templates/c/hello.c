/* Proves the environment works: devenv run -- sh -c 'make -s hello && ./hello' */
#include <stdio.h>

int main(void) {
    printf("hello from C (gcc %d.%d)\n", __GNUC__, __GNUC_MINOR__);
    return 0;
}
