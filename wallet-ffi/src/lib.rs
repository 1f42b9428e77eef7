//! A plain C ABI over wallet-core, so phone apps (Swift and Kotlin call C) and any
//! language with a C FFI embed the same verification code the services run.
//!
//! Conventions (see `include/ecert_wallet.h`):
//!
//! - Inputs are NUL-terminated UTF-8 strings or `(pointer, length)` byte buffers;
//!   NULL or invalid UTF-8 is an error, never undefined behaviour on our side.
//! - Outputs are JSON strings owned by the caller, freed with
//!   [`ecert_string_free`]. A NULL return means failure; [`ecert_last_error`]
//!   then gives a JSON `{"error": code, "message": {"zh", "en"}}` for this thread.
//! - No panic crosses the boundary: every entry point catches unwinding and turns
//!   it into an error (`internal_error`).
//! - Time is passed in explicitly (`now_unix`, seconds; 0 = the system clock), so
//!   an app can verify against a trusted clock and tests are reproducible.
//!
//! The verification runs synchronously (wallet-core's async functions do no I/O
//! here: everything comes from the bundle), on the caller's thread.

#![allow(unsafe_code)]

use std::cell::RefCell;
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use wallet_core::localized::Localized;
use wallet_core::trust::TrustList;
use wallet_core::verifier_bundle::{open_bundle_after, FreshnessPolicy, HeldBundle, OpenedBundle};

thread_local! {
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// An error as the C side sees it.
#[derive(Debug)]
struct FfiError {
    code: String,
    message: Localized,
}

impl FfiError {
    fn new(code: &str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self { code: code.to_owned(), message: Localized::new(zh, en) }
    }
}

fn set_last_error(error: Option<FfiError>) {
    let text = error.map(|e| {
        let json = json!({"error": e.code, "message": e.message}).to_string();
        CString::new(json).unwrap_or_else(|_| c"{\"error\":\"internal_error\"}".to_owned())
    });
    LAST_ERROR.with(|slot| *slot.borrow_mut() = text);
}

/// Runs `body`, catching panics; `Err` and panics set the thread's last error.
fn guarded<T>(failed: T, body: impl FnOnce() -> Result<T, FfiError>) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => {
            set_last_error(None);
            value
        }
        Ok(Err(error)) => {
            set_last_error(Some(error));
            failed
        }
        Err(_) => {
            set_last_error(Some(FfiError::new("internal_error", "内部错误", "internal error (a panic was caught)")));
            failed
        }
    }
}

/// # Safety
/// `ptr` is NULL or a NUL-terminated string valid for reads.
unsafe fn text_arg<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, FfiError> {
    if ptr.is_null() {
        return Err(FfiError::new("null_argument", format!("参数 {name} 为空"), format!("{name} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    let c = unsafe { CStr::from_ptr(ptr) };
    c.to_str()
        .map_err(|_| FfiError::new("invalid_utf8", format!("参数 {name} 不是 UTF-8"), format!("{name} is not UTF-8")))
}

/// # Safety
/// `ptr` is valid for reads of `len` bytes (or NULL with `len` 0, an empty
/// buffer: Swift's empty `Data`). A `len` beyond `isize::MAX` (a caller's -1
/// through JNI or ctypes) is refused before any read: no buffer is that long,
/// and a slice of it is undefined behaviour.
unsafe fn bytes_arg<'a>(ptr: *const u8, len: usize, name: &str) -> Result<&'a [u8], FfiError> {
    if isize::try_from(len).is_err() {
        return Err(FfiError::new(
            "invalid_length",
            format!("参数 {name} 的长度 {len} 不可能"),
            format!("{name} cannot be {len} bytes long"),
        ));
    }
    if ptr.is_null() {
        if len == 0 {
            return Ok(&[]);
        }
        return Err(FfiError::new("null_argument", format!("参数 {name} 为空"), format!("{name} is NULL")));
    }
    // SAFETY: the caller guarantees `len` readable bytes at `ptr`, and `len`
    // is at most isize::MAX.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

fn out_json(value: &Value) -> Result<*mut c_char, FfiError> {
    CString::new(value.to_string())
        .map(CString::into_raw)
        .map_err(|_| FfiError::new("internal_error", "输出含有 NUL 字符", "output contains a NUL byte"))
}

fn clock(now_unix: i64) -> Result<DateTime<Utc>, FfiError> {
    if now_unix == 0 {
        return Ok(Utc::now());
    }
    DateTime::from_timestamp(now_unix, 0)
        .ok_or_else(|| FfiError::new("invalid_time", "时间超出范围", "now_unix is out of range"))
}

/// Every `-----BEGIN CERTIFICATE-----` block of `pem`, as DER.
fn roots_from_pem(pem: &str) -> Result<Vec<Vec<u8>>, FfiError> {
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    let mut roots = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find(BEGIN) {
        let Some(end) = rest[start..].find(END).map(|e| start + e + END.len()) else { break };
        let der = wallet_core::trust::certificate_pem_to_der(&rest[start..end]).map_err(|e| {
            FfiError::new("invalid_root", format!("根证书无法解析：{e}"), format!("bad root certificate: {e}"))
        })?;
        roots.push(der);
        rest = &rest[end..];
    }
    if roots.is_empty() {
        return Err(FfiError::new("no_trust_root", "没有配置根证书", "no root certificate in roots_pem"));
    }
    Ok(roots)
}

/// An opened, department-verified verifier bundle.
pub struct EcertInspector {
    opened: OpenedBundle,
}

/// The library's version, a static string (do not free).
#[no_mangle]
pub extern "C" fn ecert_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The last error on this thread as JSON, or NULL. Valid until the next call on
/// this thread; do not free.
#[no_mangle]
pub extern "C" fn ecert_last_error() -> *const c_char {
    LAST_ERROR.with(|slot| slot.borrow().as_ref().map_or(std::ptr::null(), |s| s.as_ptr()))
}

/// Frees a string returned by this library. NULL is ignored.
///
/// # Safety
/// `s` is NULL or a string this library returned, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn ecert_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: `s` came from `CString::into_raw` in this library (caller's contract).
        drop(unsafe { CString::from_raw(s) });
    }
}

/// Opens a verifier bundle (the signed file downloaded when online), checking the
/// department signature against `roots_pem` (one or more PEM certificates) with the
/// default freshness policy (warn after 24 h, fail after 7 days). `held_sequence`:
/// the sequence of the bundle the app held before (a bundle must not go back), or
/// -1. Returns NULL on error (`bundle_untrusted_signer`, `bundle_malformed`,
/// `bundle_rollback`, …). [`ecert_inspector_open_after`] also takes the trust
/// list the app kept.
///
/// # Safety
/// `bundle` is valid for `bundle_len` bytes; `roots_pem` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ecert_inspector_open(
    bundle: *const u8,
    bundle_len: usize,
    roots_pem: *const c_char,
    held_sequence: i64,
    now_unix: i64,
) -> *mut EcertInspector {
    // SAFETY: forwarded caller contract; no held trust list.
    unsafe { ecert_inspector_open_after(bundle, bundle_len, roots_pem, held_sequence, std::ptr::null(), 0, now_unix) }
}

/// [`ecert_inspector_open`], also given the trust list the app kept from the
/// bundle it held before ([`ecert_inspector_trust_list`]; NULL and 0: none). Its
/// CRLs still revoke: a bundle signed by a signer it revokes is refused
/// (`bundle_untrusted_signer`), and so is one carrying an older trust list
/// (`bundle_trust_list_rollback`), which would leave a revocation out, or a
/// trust list holding a department's CRL older than the held one's, or none
/// (`bundle_crl_rollback`).
///
/// # Safety
/// As [`ecert_inspector_open`]; `held_trust_list` is valid for
/// `held_trust_list_len` bytes (or NULL with 0).
#[no_mangle]
pub unsafe extern "C" fn ecert_inspector_open_after(
    bundle: *const u8,
    bundle_len: usize,
    roots_pem: *const c_char,
    held_sequence: i64,
    held_trust_list: *const u8,
    held_trust_list_len: usize,
    now_unix: i64,
) -> *mut EcertInspector {
    guarded(std::ptr::null_mut(), || {
        // SAFETY: forwarded caller contract.
        let bytes = unsafe { bytes_arg(bundle, bundle_len, "bundle") }?;
        // SAFETY: forwarded caller contract.
        let roots = roots_from_pem(unsafe { text_arg(roots_pem, "roots_pem") }?)?;
        // SAFETY: forwarded caller contract.
        let held_list = unsafe { bytes_arg(held_trust_list, held_trust_list_len, "held_trust_list") }?;
        let held_list = match held_list {
            [] => None,
            signed => Some(TrustList::reopen_held(signed, &roots).map_err(|e| {
                FfiError::new("held_trust_list_unusable", format!("保存的信任列表无法使用：{e}"), e.to_string())
            })?),
        };
        let now = clock(now_unix)?;
        let held = HeldBundle { sequence: u64::try_from(held_sequence).ok(), trust_list: held_list.as_ref() };
        let opened = pollster::block_on(open_bundle_after(bytes, &roots, now, FreshnessPolicy::default(), held))
            .map_err(|e| FfiError::new(e.code(), format!("核验数据包无法使用：{e}"), e.to_string()))?;
        Ok(Box::into_raw(Box::new(EcertInspector { opened })))
    })
}

/// The trust list the opened bundle carries, as signed (JSON text), for the
/// app to keep and pass to [`ecert_inspector_open_after`] with the next
/// bundle; NULL when the carried list did not verify (`trust_list_unavailable`):
/// then keep the list held before, never nothing (a list that does not
/// verify is checked against no held list, and a later bundle could carry a
/// CRL from before a revocation).
///
/// # Safety
/// `inspector` is NULL or was returned by [`ecert_inspector_open`] and not freed.
#[no_mangle]
pub unsafe extern "C" fn ecert_inspector_trust_list(inspector: *const EcertInspector) -> *mut c_char {
    guarded(std::ptr::null_mut(), || {
        // SAFETY: NULL or a live inspector (caller's contract).
        let inspector = unsafe { inspector.as_ref() }
            .ok_or_else(|| FfiError::new("null_argument", "参数 inspector 为空", "inspector is NULL"))?;
        if inspector.opened.trust_store().is_none() {
            return Err(FfiError::new(
                "trust_list_unavailable",
                "核验数据包中的信任列表不可用",
                "the bundle's trust list did not verify",
            ));
        }
        CString::new(inspector.opened.bundle.trust_list.as_str())
            .map(CString::into_raw)
            .map_err(|_| FfiError::new("internal_error", "输出含有 NUL 字符", "output contains a NUL byte"))
    })
}

/// The opened bundle's sequence, issue time and problems, as JSON.
///
/// # Safety
/// `inspector` is NULL or was returned by [`ecert_inspector_open`] and not freed.
#[no_mangle]
pub unsafe extern "C" fn ecert_inspector_info(inspector: *const EcertInspector, now_unix: i64) -> *mut c_char {
    guarded(std::ptr::null_mut(), || {
        // SAFETY: NULL or a live inspector (caller's contract).
        let inspector = unsafe { inspector.as_ref() }
            .ok_or_else(|| FfiError::new("null_argument", "参数 inspector 为空", "inspector is NULL"))?;
        let now = clock(now_unix)?;
        let b = &inspector.opened.bundle;
        out_json(&json!({
            "sequence": b.sequence,
            "issuedAt": b.issued_at,
            "age": inspector.opened.age(now),
            "statusLists": b.status_lists.len(),
            "problems": inspector.opened.problems,
        }))
    })
}

/// Verifies the text of a credential QR code fully offline against the bundle.
/// Returns `{"verified", "report", "credential"}` as JSON (a credential that fails
/// a check is not an error: `verified` is false and the report says which check);
/// NULL when the text is not a credential at all (`qr_…` codes). The text may
/// also be the wallet's export `{"credential": …, "inclusion": …}`: only then is
/// anchoring checked offline (a QR code carries no inclusion proof).
///
/// # Safety
/// `inspector` was returned by [`ecert_inspector_open`] and not freed; `qr_text` is
/// a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ecert_inspector_verify(
    inspector: *const EcertInspector,
    qr_text: *const c_char,
    now_unix: i64,
) -> *mut c_char {
    guarded(std::ptr::null_mut(), || {
        // SAFETY: NULL or a live inspector (caller's contract).
        let inspector = unsafe { inspector.as_ref() }
            .ok_or_else(|| FfiError::new("null_argument", "参数 inspector 为空", "inspector is NULL"))?;
        // SAFETY: forwarded caller contract.
        let text = unsafe { text_arg(qr_text, "qr_text") }?;
        verify_text(inspector, text, None, now_unix)
    })
}

/// [`ecert_inspector_verify`] for a holder presentation made over the inspector's
/// `challenge` (shown to the holder): a presentation over another challenge, or
/// none, fails the holder-binding check.
///
/// # Safety
/// As [`ecert_inspector_verify`]; `challenge` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ecert_inspector_verify_challenge(
    inspector: *const EcertInspector,
    qr_text: *const c_char,
    challenge: *const c_char,
    now_unix: i64,
) -> *mut c_char {
    guarded(std::ptr::null_mut(), || {
        // SAFETY: NULL or a live inspector (caller's contract).
        let inspector = unsafe { inspector.as_ref() }
            .ok_or_else(|| FfiError::new("null_argument", "参数 inspector 为空", "inspector is NULL"))?;
        // SAFETY: forwarded caller contract.
        let text = unsafe { text_arg(qr_text, "qr_text") }?;
        // SAFETY: forwarded caller contract.
        let challenge = unsafe { text_arg(challenge, "challenge") }?;
        verify_text(inspector, text, Some(challenge), now_unix)
    })
}

fn verify_text(
    inspector: &EcertInspector,
    text: &str,
    challenge: Option<&str>,
    now_unix: i64,
) -> Result<*mut c_char, FfiError> {
    let now = clock(now_unix)?;
    let checked = pollster::block_on(inspector.opened.verify_qr_text(text, challenge, now))
        .map_err(|e| FfiError { code: e.error, message: e.message })?;
    out_json(&json!({
        "verified": checked.report.verified,
        "report": checked.report,
        "credential": checked.credential,
    }))
}

/// Frees an inspector. NULL is ignored.
///
/// # Safety
/// `inspector` is NULL or was returned by [`ecert_inspector_open`] and not freed.
#[no_mangle]
pub unsafe extern "C" fn ecert_inspector_free(inspector: *mut EcertInspector) {
    if !inspector.is_null() {
        // SAFETY: created by `Box::into_raw` in `ecert_inspector_open` (caller's contract).
        drop(unsafe { Box::from_raw(inspector) });
    }
}

/// Decodes a credential QR text (compact form) to the W3C credential JSON, without
/// verifying it (for display). NULL on error.
///
/// # Safety
/// `qr_text` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ecert_decode_qr_text(qr_text: *const c_char) -> *mut c_char {
    guarded(std::ptr::null_mut(), || {
        // SAFETY: forwarded caller contract.
        let text = unsafe { text_arg(qr_text, "qr_text") }?;
        let vc = wallet_core::compact::decode_credential(text.trim()).map_err(|e| {
            FfiError::new(
                e.code(),
                format!("二维码内容不是可识别的电子证照：{e}"),
                format!("not a credential QR code: {e}"),
            )
        })?;
        out_json(&vc)
    })
}

/// Decodes the QR code in an image (PNG or JPEG bytes: a photo or a screenshot) to
/// its text. NULL when no QR code is found.
///
/// # Safety
/// `image` is valid for `image_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn ecert_decode_qr_image(image: *const u8, image_len: usize) -> *mut c_char {
    guarded(std::ptr::null_mut(), || {
        // SAFETY: forwarded caller contract.
        let bytes = unsafe { bytes_arg(image, image_len, "image") }?;
        let text = wallet_core::qr::decode_image(bytes)
            .map_err(|e| FfiError::new(e.code(), format!("图片中未找到可读的二维码：{e}"), e.to_string()))?;
        CString::new(text).map(CString::into_raw).map_err(|_| {
            FfiError::new("qr_not_text", "二维码内容含 NUL 字符", "the QR code's text contains a NUL byte")
        })
    })
}

/// Selective disclosure (`ecdsa-sd-2023`): from `base_json` (a credential with its
/// issuer's base proof) derive the credential that shows the mandatory statements
/// and those `selective_pointers_json` names (a JSON array of RFC 6901 pointers,
/// e.g. `["/credentialSubject/birthDate"]`; `[]` for the mandatory ones only).
/// Returns `{"credential": …, "qrText": "EC1:…"}`; NULL on error (`not_sd_base_proof`,
/// `bad_selective_pointer`, …). Uses the shipped credential types.
///
/// # Safety
/// Both arguments are NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn ecert_derive_credential(
    base_json: *const c_char,
    selective_pointers_json: *const c_char,
) -> *mut c_char {
    guarded(std::ptr::null_mut(), || {
        // SAFETY: forwarded caller contract.
        let base = unsafe { text_arg(base_json, "base_json") }?;
        // SAFETY: forwarded caller contract.
        let pointers = unsafe { text_arg(selective_pointers_json, "selective_pointers_json") }?;
        let base: Value = serde_json::from_str(base).map_err(|e| {
            FfiError::new("invalid_json", format!("凭证不是 JSON：{e}"), format!("base_json is not JSON: {e}"))
        })?;
        let pointers: Vec<String> = serde_json::from_str(pointers).map_err(|e| {
            FfiError::new(
                "invalid_json",
                format!("所选字段应为 JSON 字符串数组：{e}"),
                format!("selective_pointers_json is not a JSON array of strings: {e}"),
            )
        })?;
        let types = wallet_core::credential_type::TypeRegistry::default();
        let derived = pollster::block_on(wallet_core::selective_disclosure::derive_with(&types, &base, &pointers))
            .map_err(|e| {
                let m = e.message();
                FfiError { code: e.code().to_owned(), message: m }
            })?;
        let qr_text = wallet_core::compact::encode_credential_with(&types, &derived)
            .map_err(|e| FfiError::new(e.code(), format!("无法生成二维码：{e}"), format!("no QR text for it: {e}")))?;
        out_json(&json!({"credential": derived, "qrText": qr_text}))
    })
}

// --- the citizen's wallet -------------------------------------------------------

use wallet_core::presentation::Freshness;
use wallet_core::ui_text::Lang;
use wallet_core::wallet::{StoreKey, Wallet, WalletError};

/// An open wallet: its encrypted file and the decrypted contents in memory.
pub struct EcertWallet {
    wallet: Wallet<StoreKey>,
}

fn wallet_error(e: &WalletError) -> FfiError {
    FfiError::new(e.code(), format!("钱包操作失败：{e}"), e.to_string())
}

fn lang_arg(lang: *const c_char) -> Result<Lang, FfiError> {
    // SAFETY: NULL (→ zh) or a NUL-terminated string (caller's contract, forwarded).
    if lang.is_null() {
        return Ok(Lang::Zh);
    }
    // SAFETY: non-NULL and NUL-terminated by the caller's contract.
    match unsafe { text_arg(lang, "lang") }? {
        "zh" => Ok(Lang::Zh),
        "en" => Ok(Lang::En),
        other => Err(FfiError::new(
            "invalid_lang",
            format!("不支持的语言 {other}"),
            format!("lang must be zh or en, not {other}"),
        )),
    }
}

/// # Safety
/// `wallet` is NULL or a live wallet from [`ecert_wallet_open`].
unsafe fn wallet_ref<'a>(wallet: *const EcertWallet) -> Result<&'a EcertWallet, FfiError> {
    // SAFETY: NULL or live (caller's contract).
    unsafe { wallet.as_ref() }.ok_or_else(|| FfiError::new("null_argument", "参数 wallet 为空", "wallet is NULL"))
}

/// Opens the wallet file at `path` (creating it, with a new device key, when
/// missing), encrypted with the 32-byte `store_key` the platform keeps in its
/// keystore. NULL on error (`wrong_key_or_tampered`, `not_a_wallet_file`, …).
///
/// # Safety
/// `path` is a NUL-terminated string; `store_key` points to 32 readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ecert_wallet_open(path: *const c_char, store_key: *const u8) -> *mut EcertWallet {
    guarded(std::ptr::null_mut(), || {
        // SAFETY: forwarded caller contract.
        let path = unsafe { text_arg(path, "path") }?;
        // SAFETY: forwarded caller contract (32 bytes).
        let key = unsafe { bytes_arg(store_key, 32, "store_key") }?;
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(key);
        let wallet = Wallet::open(path, StoreKey::new(bytes)).map_err(|e| wallet_error(&e))?;
        Ok(Box::into_raw(Box::new(EcertWallet { wallet })))
    })
}

/// The wallet's device public key as a JWK (what an issuer binds credentials to).
///
/// # Safety
/// `wallet` is NULL or a live wallet.
#[no_mangle]
pub unsafe extern "C" fn ecert_wallet_device_jwk(wallet: *const EcertWallet) -> *mut c_char {
    guarded(std::ptr::null_mut(), || {
        // SAFETY: forwarded caller contract.
        let w = unsafe { wallet_ref(wallet) }?;
        out_json(&w.wallet.device_key().jwk())
    })
}

/// Imports a credential from the text of its QR code (its signature must verify).
/// Returns `{"id": …}`.
///
/// # Safety
/// `wallet` is NULL or a live wallet; `qr_text` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ecert_wallet_import_qr(wallet: *mut EcertWallet, qr_text: *const c_char) -> *mut c_char {
    guarded(std::ptr::null_mut(), || {
        // SAFETY: NULL or live and not shared with another thread (caller's contract).
        let w = unsafe { wallet.as_mut() }
            .ok_or_else(|| FfiError::new("null_argument", "参数 wallet 为空", "wallet is NULL"))?;
        // SAFETY: forwarded caller contract.
        let text = unsafe { text_arg(qr_text, "qr_text") }?;
        let id = w.wallet.import_qr(text).map_err(|e| wallet_error(&e))?;
        out_json(&json!({"id": id}))
    })
}

/// The credentials in the wallet, as a JSON array of summaries in `lang` ("zh",
/// "en"; NULL = zh): id, title, name, pinyin, validity, holder binding.
///
/// # Safety
/// `wallet` is NULL or a live wallet; `lang` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ecert_wallet_list(wallet: *const EcertWallet, lang: *const c_char) -> *mut c_char {
    guarded(std::ptr::null_mut(), || {
        // SAFETY: forwarded caller contract.
        let w = unsafe { wallet_ref(wallet) }?;
        let lang = lang_arg(lang)?;
        out_json(
            &serde_json::to_value(w.wallet.list(lang))
                .map_err(|e| FfiError::new("internal_error", "序列化失败", e.to_string()))?,
        )
    })
}

/// One credential's detail screen in `lang`: title, labelled rows, validity and its QR text.
///
/// # Safety
/// `wallet` is NULL or a live wallet; `id` is a NUL-terminated string; `lang` is
/// NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ecert_wallet_render(
    wallet: *const EcertWallet,
    id: *const c_char,
    lang: *const c_char,
) -> *mut c_char {
    guarded(std::ptr::null_mut(), || {
        // SAFETY: forwarded caller contract.
        let w = unsafe { wallet_ref(wallet) }?;
        // SAFETY: forwarded caller contract.
        let id = unsafe { text_arg(id, "id") }?;
        let rendered = w.wallet.render(id, lang_arg(lang)?).map_err(|e| wallet_error(&e))?;
        out_json(
            &serde_json::to_value(rendered)
                .map_err(|e| FfiError::new("internal_error", "序列化失败", e.to_string()))?,
        )
    })
}

/// The holder-bound presentation QR text (`EP1:…`) of a credential bound to this
/// wallet's device key, made at `now_unix` (0 = now), over the inspector's
/// `challenge` when not NULL. Valid for a minute: the app refreshes it.
///
/// # Safety
/// `wallet` is NULL or a live wallet; `id` is a NUL-terminated string; `challenge`
/// is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ecert_wallet_present(
    wallet: *const EcertWallet,
    id: *const c_char,
    now_unix: i64,
    challenge: *const c_char,
) -> *mut c_char {
    guarded(std::ptr::null_mut(), || {
        // SAFETY: forwarded caller contract.
        let w = unsafe { wallet_ref(wallet) }?;
        // SAFETY: forwarded caller contract.
        let id = unsafe { text_arg(id, "id") }?;
        let now = clock(now_unix)?;
        let freshness = if challenge.is_null() {
            Freshness::At(now)
        } else {
            // SAFETY: non-NULL and NUL-terminated (caller's contract).
            Freshness::Challenge(now, unsafe { text_arg(challenge, "challenge") }?.to_owned())
        };
        let text = w.wallet.present(id, &freshness).map_err(|e| wallet_error(&e))?;
        CString::new(text)
            .map(CString::into_raw)
            .map_err(|_| FfiError::new("internal_error", "输出含有 NUL 字符", "output contains a NUL byte"))
    })
}

/// Deletes a credential: 1 deleted, 0 not in the wallet, -1 error (see the last error).
///
/// # Safety
/// `wallet` is NULL or a live wallet; `id` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn ecert_wallet_delete(wallet: *mut EcertWallet, id: *const c_char) -> i32 {
    guarded(-1, || {
        // SAFETY: NULL or live and not shared with another thread (caller's contract).
        let w = unsafe { wallet.as_mut() }
            .ok_or_else(|| FfiError::new("null_argument", "参数 wallet 为空", "wallet is NULL"))?;
        // SAFETY: forwarded caller contract.
        let id = unsafe { text_arg(id, "id") }?;
        w.wallet.delete(id).map(i32::from).map_err(|e| wallet_error(&e))
    })
}

/// Closes a wallet (its file is already saved after every change); NULL is ignored.
///
/// # Safety
/// `wallet` is NULL or a live wallet, not used afterwards.
#[no_mangle]
pub unsafe extern "C" fn ecert_wallet_free(wallet: *mut EcertWallet) {
    if !wallet.is_null() {
        // SAFETY: created by `Box::into_raw` in `ecert_wallet_open` (caller's contract).
        drop(unsafe { Box::from_raw(wallet) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attack review: a length of -1 from a JNI or ctypes caller (`SIZE_MAX`)
    /// is refused before any read; NULL with length 0 is an empty buffer.
    #[test]
    fn attack_a_length_beyond_isize_max_is_an_error_not_a_read() {
        let byte = 7_u8;
        for len in [usize::MAX, isize::MAX.unsigned_abs() + 1] {
            // SAFETY: refused before the pointer is read.
            let refused = unsafe { bytes_arg(&byte, len, "image") }.unwrap_err();
            assert_eq!(refused.code, "invalid_length");
        }
        // SAFETY: NULL with 0: nothing is read.
        assert_eq!(unsafe { bytes_arg(std::ptr::null(), 0, "image") }.unwrap(), &[] as &[u8]);
        // SAFETY: refused before the pointer is read.
        assert_eq!(unsafe { bytes_arg(std::ptr::null(), 3, "image") }.unwrap_err().code, "null_argument");
        // SAFETY: one readable byte.
        assert_eq!(unsafe { bytes_arg(&byte, 1, "image") }.unwrap(), &[7]);
    }
}
