/* A stand-in for a running QEMU in the lab: it keeps whatever argv it was started with (the
 * lab starts it with a real qemu-server command line, argv[0] /usr/bin/kvm) so
 * /proc/<pid>/cmdline and `ps` show that command line, writes its pid to the -pidfile argument
 * as QEMU does, and sleeps until it is killed. It runs no virtual machine. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i++) {
        if (strcmp(argv[i], "-pidfile") == 0) {
            FILE *f = fopen(argv[i + 1], "w");
            if (f) { fprintf(f, "%d\n", (int)getpid()); fclose(f); }
        }
    }
    for (;;) pause();
    return 0;
}
