/*
 * A Windows C program that mixes printf/puts with greet/print_point, its
 * stdout a pipe (fully buffered): the lines must come out in program order.
 * They do only if mylib writes through this program's own C runtime stream,
 * so mk/windows.mk builds it twice, on msvcrt.dll and on the UCRT, and
 * tests/windows/check_order.sh reads its stdout.
 */
#include <stdio.h>

#include "mylib.h"

int main(void) {
    Point p = {4, -5};
    int codes[3];
    printf("1 printf\n");
    printf("2 ");
    greet("two");
    codes[0] = mylib_last_error();
    puts("3 puts");
    codes[1] = mylib_print_point(&p);
    codes[2] = mylib_greet("five");
    printf("6 end\n");
    if (codes[0] != MYLIB_OK || codes[1] != MYLIB_OK || codes[2] != MYLIB_OK) {
        fprintf(stderr, "status %d %d %d\n", codes[0], codes[1], codes[2]);
        return 1;
    }
    return 0;
}
