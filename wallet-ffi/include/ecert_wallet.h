/*
 * ecert_wallet.h — the plain C ABI of wallet-core (crate `wallet-ffi`, library
 * `libecert_wallet.so`; add the `staticlib` crate type for a static library).
 *
 * Strings are NUL-terminated UTF-8. Functions returning `char *` give a string
 * the caller owns: free it with ecert_string_free(). A NULL return is a failure;
 * ecert_last_error() then returns {"error": code, "message": {"zh": …, "en": …}}
 * for the calling thread (valid until that thread's next call; do not free).
 * `now_unix` is the verification time in Unix seconds; 0 means the system clock.
 * No function panics across the boundary or aborts on bad input.
 */
#ifndef ECERT_WALLET_H
#define ECERT_WALLET_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct EcertInspector EcertInspector;

/* The library version (static; do not free). */
const char *ecert_version(void);

/* The calling thread's last error as JSON, or NULL (do not free). */
const char *ecert_last_error(void);

/* Frees a string returned by this library; NULL is ignored. */
void ecert_string_free(char *s);

/* Opens a signed verifier bundle, checking the department signature against
 * roots_pem (one or more PEM certificates). held_sequence: the sequence of the
 * bundle held before (refuses going back), or -1. NULL on error. */
EcertInspector *ecert_inspector_open(const uint8_t *bundle, size_t bundle_len, const char *roots_pem,
                                     int64_t held_sequence, int64_t now_unix);

/* ecert_inspector_open, also given the trust list the app kept from the bundle it
 * held before (ecert_inspector_trust_list; NULL and 0: none): a bundle whose
 * signer it revokes (bundle_untrusted_signer), carrying an older trust list
 * (bundle_trust_list_rollback) or a department's CRL older than the held list's,
 * or none (bundle_crl_rollback) is refused. NULL on error. */
EcertInspector *ecert_inspector_open_after(const uint8_t *bundle, size_t bundle_len, const char *roots_pem,
                                           int64_t held_sequence, const uint8_t *held_trust_list,
                                           size_t held_trust_list_len, int64_t now_unix);

/* The trust list the opened bundle carries, as signed (JSON text), for the app to
 * keep for ecert_inspector_open_after; NULL when it did not verify (then keep the
 * list held before, never nothing). Free with ecert_string_free. */
char *ecert_inspector_trust_list(const EcertInspector *inspector);

/* {"sequence", "issuedAt", "age", "statusLists", "problems"} as JSON. */
char *ecert_inspector_info(const EcertInspector *inspector, int64_t now_unix);

/* Verifies a credential QR text offline: {"verified", "report", "credential"}.
 * A credential failing a check is not an error ("verified": false). NULL when
 * the text is not a credential. The text may also be the wallet's export
 * {"credential": ..., "inclusion": ...}: only then is anchoring checked offline. */
char *ecert_inspector_verify(const EcertInspector *inspector, const char *qr_text, int64_t now_unix);

/* The same, for a holder presentation made over the inspector's challenge. */
char *ecert_inspector_verify_challenge(const EcertInspector *inspector, const char *qr_text, const char *challenge,
                                       int64_t now_unix);

/* Frees an inspector; NULL is ignored. */
void ecert_inspector_free(EcertInspector *inspector);

/* Decodes a credential QR text to its W3C credential JSON (not verified). */
char *ecert_decode_qr_text(const char *qr_text);

/* Selective disclosure (ecdsa-sd-2023): from base_json (a credential with its
 * issuer's base proof) derives the credential showing the mandatory statements
 * and those selective_pointers_json names (a JSON array of JSON pointers, "[]"
 * for the mandatory ones only): {"credential": …, "qrText": "EC1:…"}. NULL on
 * error (not_sd_base_proof, bad_selective_pointer, …). */
char *ecert_derive_credential(const char *base_json, const char *selective_pointers_json);

/* Finds and decodes the QR code in a PNG or JPEG image; returns its text. */
char *ecert_decode_qr_image(const uint8_t *image, size_t image_len);

/* --- the citizen's wallet ---------------------------------------------------- */

typedef struct EcertWallet EcertWallet;

/* Opens (or creates, with a new device key) the wallet file at path, encrypted
 * (AES-256-GCM) with the 32-byte key the platform keeps in its keystore. */
EcertWallet *ecert_wallet_open(const char *path, const uint8_t *store_key);

/* The device public key as a JWK (what an issuer binds credentials to). */
char *ecert_wallet_device_jwk(const EcertWallet *wallet);

/* Imports a credential from its QR text (the signature must verify): {"id"}. */
char *ecert_wallet_import_qr(EcertWallet *wallet, const char *qr_text);

/* Summaries of the credentials, lang "zh" or "en" (NULL = zh), as a JSON array. */
char *ecert_wallet_list(const EcertWallet *wallet, const char *lang);

/* A credential's detail screen: title, rows, validity, QR text. */
char *ecert_wallet_render(const EcertWallet *wallet, const char *id, const char *lang);

/* The holder-bound presentation QR text (EP1:…), made at now_unix, over the
 * inspector's challenge when not NULL. Valid for a minute. */
char *ecert_wallet_present(const EcertWallet *wallet, const char *id, int64_t now_unix, const char *challenge);

/* 1 deleted, 0 not in the wallet, -1 error. */
int32_t ecert_wallet_delete(EcertWallet *wallet, const char *id);

/* Closes the wallet (every change is already saved); NULL is ignored. */
void ecert_wallet_free(EcertWallet *wallet);

#ifdef __cplusplus
}
#endif

#endif /* ECERT_WALLET_H */
