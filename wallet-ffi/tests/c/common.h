/* What the two test programs share: reading a file, printing a returned JSON string. */
#ifndef ECERT_TEST_COMMON_H
#define ECERT_TEST_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include "ecert_wallet.h"

static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(3); }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)size + 1);
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) { perror(path); exit(3); }
    fclose(f);
    buf[size] = 0;
    *len = (size_t)size;
    return buf;
}

/* Prints and frees a string from the library, or the last error when it is NULL. */
static void print_owned(char *json) {
    if (json) {
        printf("%s\n", json);
        ecert_string_free(json);
    } else {
        printf("{\"failed\":%s}\n", ecert_last_error());
    }
}

#endif
