/* A small inspector app in C: the FFI test drives it (wallet-ffi/tests/c_abi.rs).
 *
 * usage: inspect ROOTS_PEM NOW_UNIX BUNDLE QR_TEXT_FILE [IMAGE]
 * Prints one JSON value per line: the bundle info, then the verification of each
 * line of QR_TEXT_FILE (or the last error), then the QR decoded from IMAGE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: inspect ROOTS_PEM NOW_UNIX BUNDLE QR_TEXT_FILE [IMAGE]\n"); return 2; }
    size_t len;
    char *roots = (char *)slurp(argv[1], &len);
    long long now = atoll(argv[2]);
    unsigned char *bundle = slurp(argv[3], &len);
    printf("{\"version\":\"%s\"}\n", ecert_version());

    /* Misuse is an error, not a crash. */
    print_owned(ecert_inspector_verify(NULL, "EC1:x", now));
    print_owned(ecert_decode_qr_text("not a QR code"));

    EcertInspector *inspector = ecert_inspector_open(bundle, len, roots, -1, now);
    if (!inspector) {
        printf("{\"failed\":%s}\n", ecert_last_error());
        return 1;
    }
    print_owned(ecert_inspector_info(inspector, now));
    size_t qr_len;
    char *qrs = (char *)slurp(argv[4], &qr_len);
    for (char *line = strtok(qrs, "\n"); line; line = strtok(NULL, "\n")) {
        print_owned(ecert_inspector_verify(inspector, line, now));
    }
    if (argc > 5) {
        size_t image_len;
        unsigned char *image = slurp(argv[5], &image_len);
        char *text = ecert_decode_qr_image(image, image_len);
        if (text) {
            print_owned(ecert_inspector_verify(inspector, text, now));
            ecert_string_free(text);
        } else {
            printf("{\"failed\":%s}\n", ecert_last_error());
        }
        free(image);
    }
    ecert_inspector_free(inspector);
    free(qrs);
    free(bundle);
    free(roots);
    return 0;
}
