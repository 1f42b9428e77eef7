/* A small phone-wallet app in C: the FFI test drives it (wallet-ffi/tests/c_abi.rs).
 *
 * usage: wallet WALLET_FILE KEY_HEX jwk
 *        wallet WALLET_FILE KEY_HEX import QR_TEXT_FILE
 *        wallet WALLET_FILE KEY_HEX use ROOTS_PEM NOW_UNIX BUNDLE QR_TEXT_FILE
 * Prints one JSON value per line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: see the comment at the top\n"); return 2; }
    uint8_t key[32];
    for (int i = 0; i < 32; i++) {
        unsigned int byte;
        if (sscanf(argv[2] + 2 * i, "%2x", &byte) != 1) { fprintf(stderr, "bad key hex\n"); return 2; }
        key[i] = (uint8_t)byte;
    }
    EcertWallet *wallet = ecert_wallet_open(argv[1], key);
    if (!wallet) {
        printf("{\"failed\":%s}\n", ecert_last_error());
        return 1;
    }
    if (strcmp(argv[3], "jwk") == 0) {
        print_owned(ecert_wallet_device_jwk(wallet));
        ecert_wallet_free(wallet);
        return 0;
    }
    if (strcmp(argv[3], "import") == 0 && argc > 4) {
        size_t n;
        char *text = (char *)slurp(argv[4], &n);
        text[strcspn(text, "\n")] = 0;
        print_owned(ecert_wallet_import_qr(wallet, text));
        ecert_wallet_free(wallet);
        free(text);
        return 0;
    }
    if (argc < 8) { fprintf(stderr, "usage: see the comment at the top\n"); return 2; }
    size_t len;
    char *roots = (char *)slurp(argv[4], &len);
    long long now = atoll(argv[5]);
    unsigned char *bundle = slurp(argv[6], &len);
    size_t qr_len;
    char *qr = (char *)slurp(argv[7], &qr_len);
    qr[strcspn(qr, "\n")] = 0;

    char *imported = ecert_wallet_import_qr(wallet, qr);
    if (!imported) {
        printf("{\"failed\":%s}\n", ecert_last_error());
        return 1;
    }
    printf("%s\n", imported);
    /* The id is the only string value of {"id":"…"}. */
    char id[200] = {0};
    sscanf(imported, "{\"id\":\"%199[^\"]\"}", id);
    ecert_string_free(imported);

    print_owned(ecert_wallet_list(wallet, "zh"));
    print_owned(ecert_wallet_render(wallet, id, "en"));
    char *presentation = ecert_wallet_present(wallet, id, now, NULL);
    char *challenged = ecert_wallet_present(wallet, id, now, "inspector-7f3a");
    printf("{\"presentation\":\"%s\"}\n", presentation ? presentation : "");

    EcertInspector *inspector = ecert_inspector_open(bundle, len, roots, -1, now);
    if (!inspector) {
        printf("{\"failed\":%s}\n", ecert_last_error());
        return 1;
    }
    /* Shown now: valid; shown two minutes later: the presentation has expired. */
    print_owned(ecert_inspector_verify(inspector, presentation, now));
    print_owned(ecert_inspector_verify(inspector, presentation, now + 120));
    print_owned(ecert_inspector_verify_challenge(inspector, challenged, "inspector-7f3a", now));
    print_owned(ecert_inspector_verify_challenge(inspector, challenged, "another-one", now));
    ecert_string_free(presentation);
    ecert_string_free(challenged);
    ecert_inspector_free(inspector);

    printf("{\"deleted\":%d}\n", ecert_wallet_delete(wallet, id));
    printf("{\"deletedAgain\":%d}\n", ecert_wallet_delete(wallet, id));
    print_owned(ecert_wallet_list(wallet, "en"));
    ecert_wallet_free(wallet);
    free(qr);
    free(bundle);
    free(roots);
    return 0;
}
