/* Built only through an installed mylib: the header and flags come from pkg-config. */
#include <mylib.h>
#include <stdio.h>
#include <string.h>

int main(void) {
    int values[] = {1, 2, 3, 4};
    char *text = NULL;
    if (add(2, 3) != 5) return 1;
    if (sum_array(values, 4) != 10) return 2;
    if (strcmp(mylib_version(), MYLIB_VERSION_STRING) != 0) return 3;
    if (mylib_greeting("install", &text) != MYLIB_OK) return 4;
    puts(text);
    mylib_string_free(text);
    sum_array(NULL, 1);
    if (mylib_last_error() != MYLIB_ERR_NULL_POINTER) return 5;
    printf("installed mylib %s works\n", mylib_version());
    return 0;
}
