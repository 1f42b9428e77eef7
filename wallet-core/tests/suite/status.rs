//! Revocation and suspension (W3C Bitstring Status List v1.0): the bitstring
//! against the spec and real-world lists, and `check_status` against the
//! negative corpus in `fixtures/status/` — every way a status check must fail
//! closed.
//!
//! The corpus is made by `regenerate_status_corpus` (ignored; run by hand):
//! `cargo test -p wallet-core --test suite -- --ignored regenerate_status_corpus`.

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{json, Value};
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::status::{
    check_status, status_entries, status_list_credential, verify_status_list, Bitstring, StatusEntry, StatusError,
    StatusListCache, StatusPolicy, StatusPurpose, MAX_DECODED_BYTES, MIN_STATUS_LIST_BITS,
};
use wallet_core::verification::CheckResult;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");

/// The revocation list of the corpus credential.
const REV_URL: &str = "https://issuer.example.gov.cn/status/3";
/// The suspension list of the corpus credential.
const SUS_URL: &str = "https://issuer.example.gov.cn/status/4";
const REV_INDEX: usize = 94_567;
const SUS_INDEX: usize = 23_110;

/// The spec's example `BitstringStatusListCredential` `encodedList`
/// (Bitstring Status List v1.0, "Example BitstringStatusListCredential"):
/// 131,072 entries, none set.
const SPEC_EXAMPLE_ENCODED_LIST: &str = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA";

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// First publication (all clear).
fn t0() -> DateTime<Utc> {
    t("2026-04-01T00:00:00Z")
}
/// Second publication (revoked / suspended).
fn t1() -> DateTime<Utc> {
    t("2026-04-02T00:00:00Z")
}
/// Third publication (revocation cleared / suspension lifted).
fn t2() -> DateTime<Utc> {
    t("2026-04-03T00:00:00Z")
}
/// When most tests fetch and check.
fn now() -> DateTime<Utc> {
    t("2026-04-03T12:00:00Z")
}

fn corpus_path(name: &str) -> String {
    format!("{FIXTURES}/status/{name}")
}

fn corpus(name: &str) -> Value {
    let text = std::fs::read_to_string(corpus_path(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn credential() -> Value {
    corpus("credential.json")
}

fn key(name: &str) -> IssuerKey {
    let pem = std::fs::read_to_string(format!("{FIXTURES}/keys/{name}")).unwrap();
    IssuerKey::from_pkcs8_pem(&pem).unwrap()
}

/// A cache holding the named revocation and suspension lists, fetched (and
/// verified) at `at`.
async fn cache_with(rev: &str, sus: &str, at: DateTime<Utc>) -> StatusListCache {
    let mut cache = StatusListCache::default();
    cache.offer(REV_URL, &corpus(rev), at, at).await.unwrap_or_else(|e| panic!("{rev}: {e}"));
    cache.offer(SUS_URL, &corpus(sus), at, at).await.unwrap_or_else(|e| panic!("{sus}: {e}"));
    cache
}

fn check(vc: &Value, cache: &StatusListCache, at: DateTime<Utc>) -> CheckResult {
    let (result, warnings) = check_status(vc, cache, &StatusPolicy::default(), at);
    assert!(warnings.is_empty(), "unexpected warnings: {warnings:?}");
    result
}

#[track_caller]
fn assert_invalid(result: &CheckResult, code: &str) {
    match result {
        CheckResult::Invalid { code: c, reason } => {
            assert_eq!(c, code, "reason: {reason}");
            assert!(!reason.zh.is_empty() && !reason.en.is_empty());
        }
        other => panic!("expected invalid {code}, got {other:?}"),
    }
}

// ---- the bitstring ----

#[test]
fn bit_order_matches_the_spec() {
    let mut bits = Bitstring::new(MIN_STATUS_LIST_BITS);
    bits.set(0, true).unwrap();
    assert_eq!(bits.as_bytes()[0], 0x80);
    bits.set(7, true).unwrap();
    assert_eq!(bits.as_bytes()[0], 0x81);
    bits.set(MIN_STATUS_LIST_BITS - 1, true).unwrap();
    assert_eq!(bits.as_bytes()[MIN_STATUS_LIST_BITS / 8 - 1], 0x01);
    let decoded = Bitstring::decode(&bits.encode()).unwrap();
    assert_eq!(decoded.iter_set().collect::<Vec<_>>(), vec![0, 7, MIN_STATUS_LIST_BITS - 1]);
    assert!(bits.encode().starts_with("uH4sI"), "u + base64url(GZIP)");
}

#[test]
fn decodes_the_spec_example_encoded_list() {
    let bits = Bitstring::decode(SPEC_EXAMPLE_ENCODED_LIST).unwrap();
    assert_eq!(bits.len(), MIN_STATUS_LIST_BITS);
    assert_eq!(bits.count_set(), 0);
    // Our encoder produces a list the spec's decoders read back the same.
    assert_eq!(Bitstring::decode(&Bitstring::new(MIN_STATUS_LIST_BITS).encode()).unwrap(), bits);
}

/// Real-world lists: the Blockcerts StatusList2021 samples (the legacy form,
/// without the multibase prefix). Their known set bits: index 23547 of the
/// revocation list (the `cert-rl-status-list-2021-revoked` sample), 12354 and
/// 23548 of the suspension list.
#[test]
fn legacy_blockcerts_lists_are_refused_but_decode_with_the_prefix() {
    for (name, set) in [
        ("legacy/blockcerts-status-list-2021.json", vec![23_547]),
        ("legacy/blockcerts-status-list-2021-suspension.json", vec![12_354, 23_548]),
    ] {
        let list = corpus(name);
        let encoded = list["credentialSubject"]["encodedList"].as_str().unwrap();
        assert_eq!(Bitstring::decode(encoded), Err(StatusError::MissingMultibasePrefix), "{name}");
        let bits = Bitstring::decode(&format!("u{encoded}")).unwrap();
        assert_eq!(bits.len(), MIN_STATUS_LIST_BITS, "{name}");
        assert_eq!(bits.iter_set().collect::<Vec<_>>(), set, "{name}");
    }
}

#[test]
fn decode_errors_are_distinct() {
    let good = Bitstring::new(MIN_STATUS_LIST_BITS).encode();
    let body = &good[1..];
    assert_eq!(Bitstring::decode(body), Err(StatusError::MissingMultibasePrefix));
    assert_eq!(Bitstring::decode(&format!("z{body}")), Err(StatusError::WrongMultibasePrefix('z')));
    assert_eq!(Bitstring::decode(&format!("m{body}")), Err(StatusError::WrongMultibasePrefix('m')));
    assert_eq!(Bitstring::decode(""), Err(StatusError::MissingMultibasePrefix));
    assert!(matches!(Bitstring::decode("u!!!!"), Err(StatusError::InvalidBase64(_))));
    assert!(matches!(Bitstring::decode(&format!("{good}==")), Err(StatusError::InvalidBase64(_))), "padding");
    assert!(matches!(Bitstring::decode("u+/+/"), Err(StatusError::InvalidBase64(_))), "standard alphabet");
    assert!(matches!(Bitstring::decode("uAAAAAAAA"), Err(StatusError::InvalidGzip(_))));
    // Truncated GZIP (no CRC / length trailer), and one bit flipped (CRC mismatch).
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let raw = b64.decode(body).unwrap();
    let truncated = format!("u{}", b64.encode(&raw[..raw.len() - 4]));
    assert!(matches!(Bitstring::decode(&truncated), Err(StatusError::InvalidGzip(_))), "{truncated}");
    let mut flipped = raw.clone();
    let crc_at = flipped.len() - 8;
    flipped[crc_at] ^= 1;
    assert!(matches!(Bitstring::decode(&format!("u{}", b64.encode(&flipped))), Err(StatusError::InvalidGzip(_))));
    for e in [
        StatusError::MissingMultibasePrefix,
        StatusError::WrongMultibasePrefix('z'),
        StatusError::InvalidBase64(String::new()),
        StatusError::InvalidGzip(String::new()),
    ] {
        assert_eq!(e.code(), "status_list_malformed");
    }
}

#[test]
fn decompression_bomb_is_refused() {
    use std::io::Write as _;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..=(MAX_DECODED_BYTES >> 20) {
        gz.write_all(&zeros).unwrap();
    }
    let compressed = gz.finish().unwrap();
    assert!(compressed.len() < 64 * 1024, "a bomb is small: {}", compressed.len());
    use base64::Engine as _;
    let encoded = format!("u{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&compressed));
    let err = Bitstring::decode(&encoded).unwrap_err();
    assert_eq!(err, StatusError::DecompressedTooLarge { limit: MAX_DECODED_BYTES });
    assert_eq!(err.code(), "status_list_too_large");
}

// ---- entries and the unsigned list ----

#[test]
fn entries_round_trip_through_json() {
    let entries = vec![
        StatusEntry::new(StatusPurpose::Revocation, 94_567, REV_URL),
        StatusEntry::new(StatusPurpose::Suspension, 23_110, SUS_URL),
    ];
    let json = entries[0].to_json();
    assert_eq!(
        json,
        json!({
            "id": "https://issuer.example.gov.cn/status/3#94567",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "94567",
            "statusListCredential": REV_URL,
        })
    );
    let vc = json!({"credentialStatus": entries.iter().map(StatusEntry::to_json).collect::<Vec<_>>()});
    assert_eq!(status_entries(&vc).unwrap(), entries);
    let single = json!({"credentialStatus": entries[1].to_json()});
    assert_eq!(status_entries(&single).unwrap(), vec![entries[1].clone()]);
    assert_eq!(status_entries(&json!({})).unwrap(), vec![]);
}

#[test]
fn malformed_and_unsupported_entries_are_errors() {
    let base = StatusEntry::new(StatusPurpose::Revocation, 5, REV_URL).to_json();
    let with = |key: &str, value: Value| {
        let mut e = base.clone();
        e[key] = value;
        json!({ "credentialStatus": e })
    };
    let without = |key: &str| {
        let mut e = base.clone();
        e.as_object_mut().unwrap().remove(key);
        json!({ "credentialStatus": e })
    };
    for (what, vc) in [
        ("numeric index", with("statusListIndex", json!(5))),
        ("negative index", with("statusListIndex", json!("-5"))),
        ("hex index", with("statusListIndex", json!("0x5"))),
        ("spaced index", with("statusListIndex", json!(" 5"))),
        ("empty index", with("statusListIndex", json!(""))),
        ("huge index", with("statusListIndex", json!("99999999999999999999999"))),
        ("no index", without("statusListIndex")),
        ("no purpose", without("statusPurpose")),
        ("no list", without("statusListCredential")),
        ("relative list URL", with("statusListCredential", json!("/status/3"))),
        ("list URL not a string", with("statusListCredential", json!({"id": REV_URL}))),
        ("no type", without("type")),
        ("statusSize 0", with("statusSize", json!(0))),
        ("empty array", json!({"credentialStatus": []})),
        ("not an object", json!({"credentialStatus": "https://issuer.example.gov.cn/status/3#5"})),
        ("null", json!({"credentialStatus": null})),
    ] {
        let err = status_entries(&vc).unwrap_err();
        assert_eq!(err.code(), "status_entry_malformed", "{what}: {err}");
        assert_invalid(&check(&vc, &StatusListCache::default(), now()), "status_entry_malformed");
    }
    for (what, vc) in [
        ("legacy type", with("type", json!("StatusList2021Entry"))),
        ("message purpose", with("statusPurpose", json!("message"))),
        ("refresh purpose", with("statusPurpose", json!("refresh"))),
        ("statusSize 2", with("statusSize", json!(2))),
    ] {
        let err = status_entries(&vc).unwrap_err();
        assert_eq!(err.code(), "status_entry_unsupported", "{what}: {err}");
    }
    assert_eq!(status_entries(&with("statusSize", json!(1))).unwrap().len(), 1);
}

#[test]
fn unsigned_list_credential_has_the_spec_shape() {
    let mut bits = Bitstring::new(MIN_STATUS_LIST_BITS);
    bits.set(3, true).unwrap();
    let vc = status_list_credential(REV_URL, "did:key:zDnaeX", StatusPurpose::Revocation, &bits, t0(), t1());
    assert_eq!(vc["@context"], json!(["https://www.w3.org/ns/credentials/v2"]));
    assert_eq!(vc["id"], REV_URL);
    assert_eq!(vc["type"], json!(["VerifiableCredential", "BitstringStatusListCredential"]));
    assert_eq!(vc["issuer"], "did:key:zDnaeX");
    assert_eq!(vc["validFrom"], "2026-04-01T00:00:00Z");
    assert_eq!(vc["validUntil"], "2026-04-02T00:00:00Z");
    let subject = &vc["credentialSubject"];
    assert_eq!(subject["id"], format!("{REV_URL}#list"));
    assert_eq!(subject["type"], "BitstringStatusList");
    assert_eq!(subject["statusPurpose"], "revocation");
    assert_eq!(Bitstring::decode(subject["encodedList"].as_str().unwrap()).unwrap(), bits);
    assert!(vc.get("proof").is_none());
}

// ---- the negative corpus: check_status ----

#[tokio::test]
async fn clear_lists_give_valid() {
    let cache = cache_with("list-revocation-clear.json", "list-suspension-clear.json", now()).await;
    assert_eq!(check(&credential(), &cache, now()), CheckResult::Valid);
    assert_eq!(cache.fetched_at(REV_URL), Some(now()));
}

#[tokio::test]
async fn revoked() {
    let cache = cache_with("list-revocation-revoked.json", "list-suspension-clear.json", now()).await;
    assert_invalid(&check(&credential(), &cache, now()), "revoked");
}

#[tokio::test]
async fn suspended() {
    let cache = cache_with("list-revocation-clear.json", "list-suspension-suspended.json", now()).await;
    assert_invalid(&check(&credential(), &cache, now()), "suspended");
}

#[tokio::test]
async fn revoked_wins_over_suspended() {
    let cache = cache_with("list-revocation-revoked.json", "list-suspension-suspended.json", now()).await;
    assert_invalid(&check(&credential(), &cache, now()), "revoked");
}

#[tokio::test]
async fn suspension_lifted_in_a_newer_list_is_valid_again() {
    let mut cache = cache_with("list-revocation-clear.json", "list-suspension-suspended.json", now()).await;
    assert_invalid(&check(&credential(), &cache, now()), "suspended");
    cache.offer(SUS_URL, &corpus("list-suspension-lifted.json"), now(), now()).await.unwrap();
    assert_eq!(check(&credential(), &cache, now()), CheckResult::Valid);
}

/// The library reports what the newest verified list says. Revocation is
/// final by the spec, but enforcing that is the issuer's job (its store must
/// never clear a revocation bit): a newer, properly signed list that clears
/// the bit is believed.
#[tokio::test]
async fn revocation_cleared_in_a_newer_list_reports_the_newest_list() {
    let mut cache = cache_with("list-revocation-revoked.json", "list-suspension-clear.json", now()).await;
    assert_invalid(&check(&credential(), &cache, now()), "revoked");
    cache.offer(REV_URL, &corpus("list-revocation-cleared-newer.json"), now(), now()).await.unwrap();
    assert_eq!(check(&credential(), &cache, now()), CheckResult::Valid);
}

#[tokio::test]
async fn rollback_to_an_older_list_is_refused_and_the_newer_kept() {
    let mut cache = cache_with("list-revocation-revoked.json", "list-suspension-clear.json", now()).await;
    let later = now() + Duration::hours(1);
    // Replaying the older, all-clear list (properly signed) must not un-revoke.
    let err = cache.offer(REV_URL, &corpus("list-revocation-clear.json"), later, later).await.unwrap_err();
    assert_eq!(err.code(), "status_list_rollback");
    assert_eq!(err, StatusError::Rollback { held: t1(), offered: t0() });
    assert_invalid(&check(&credential(), &cache, later), "revoked");
    assert_eq!(cache.fetched_at(REV_URL), Some(now()), "the newer list and its fetch time are kept");
    // The same publication again just renews the fetch time.
    cache.offer(REV_URL, &corpus("list-revocation-revoked.json"), later, later).await.unwrap();
    assert_eq!(cache.fetched_at(REV_URL), Some(later));
}

#[tokio::test]
async fn list_never_fetched_is_unavailable() {
    let cache = StatusListCache::default();
    let result = check(&credential(), &cache, now());
    assert_invalid(&result, "status_list_unavailable");
}

#[tokio::test]
async fn list_not_fetchable_is_unavailable_with_the_reason() {
    let mut cache = StatusListCache::default();
    cache.offer(SUS_URL, &corpus("list-suspension-clear.json"), now(), now()).await.unwrap();
    cache.record_failure(REV_URL, StatusError::HttpStatus(404), now());
    let result = check(&credential(), &cache, now());
    assert_invalid(&result, "status_list_unavailable");
    let CheckResult::Invalid { reason, .. } = result else { unreachable!() };
    assert!(reason.en.contains("404") && reason.zh.contains("404"), "{reason}");
    assert!(reason.en.contains(REV_URL), "{reason}");

    cache.record_failure(REV_URL, StatusError::FetchFailed("connection refused".into()), now());
    assert_invalid(&check(&credential(), &cache, now()), "status_list_unavailable");
}

/// Offers `list` for `url`; it must be refused with `code`, and the check of
/// the corpus credential must then fail with the same code.
async fn assert_refused(url: &str, list: &str, code: &str) {
    let mut cache = StatusListCache::default();
    let other =
        if url == REV_URL { (SUS_URL, "list-suspension-clear.json") } else { (REV_URL, "list-revocation-clear.json") };
    cache.offer(other.0, &corpus(other.1), now(), now()).await.unwrap();
    let err = cache.offer(url, &corpus(list), now(), now()).await.unwrap_err();
    assert_eq!(err.code(), code, "{list}: {err}");
    assert!(cache.fetched_at(url).is_none());
    assert_eq!(cache.last_failure(url).map(|f| &f.error), Some(&err));
    assert_invalid(&check(&credential(), &cache, now()), code);
}

#[tokio::test]
async fn tampered_list_has_a_bad_signature() {
    // The revoked list with the all-clear encodedList pasted in.
    assert_refused(REV_URL, "list-revocation-tampered.json", "status_list_bad_signature").await;
}

#[tokio::test]
async fn unsigned_list_is_refused() {
    assert_refused(REV_URL, "list-revocation-unsigned.json", "status_list_bad_signature").await;
}

#[tokio::test]
async fn a_bad_list_does_not_evict_the_good_one() {
    let mut cache = cache_with("list-revocation-revoked.json", "list-suspension-clear.json", now()).await;
    let err = cache.offer(REV_URL, &corpus("list-revocation-tampered.json"), now(), now()).await.unwrap_err();
    assert_eq!(err.code(), "status_list_bad_signature");
    assert_invalid(&check(&credential(), &cache, now()), "revoked");
}

#[tokio::test]
async fn list_signed_by_another_issuer() {
    for list in ["list-revocation-other-issuer.json", "list-revocation-other-issuer-claims-ours.json"] {
        let mut cache = StatusListCache::default();
        // A validly signed list: `offer` takes it; the check refuses it for
        // this credential, whose issuer did not sign it.
        cache.offer(REV_URL, &corpus(list), now(), now()).await.unwrap();
        cache.offer(SUS_URL, &corpus("list-suspension-clear.json"), now(), now()).await.unwrap();
        assert_invalid(&check(&credential(), &cache, now()), "status_list_wrong_issuer");
    }
}

#[tokio::test]
async fn list_shorter_than_the_minimum() {
    assert_refused(REV_URL, "list-revocation-too-short.json", "status_list_too_short").await;
}

#[tokio::test]
async fn list_with_the_wrong_purpose() {
    // A suspension list served at the revocation list's address.
    let cache = cache_with("list-revocation-wrong-purpose.json", "list-suspension-clear.json", now()).await;
    assert_invalid(&check(&credential(), &cache, now()), "status_list_wrong_purpose");
}

#[tokio::test]
async fn list_served_at_another_lists_address() {
    assert_refused(REV_URL, "list-revocation-wrong-id.json", "status_list_url_mismatch").await;
}

#[tokio::test]
async fn index_out_of_range() {
    let cache = cache_with("list-revocation-clear.json", "list-suspension-clear.json", now()).await;
    let vc = corpus("credential-index-out-of-range.json");
    assert_invalid(&check(&vc, &cache, now()), "status_index_out_of_range");
}

#[tokio::test]
async fn malformed_encoded_lists() {
    for list in [
        "list-revocation-malformed-encodedlist.json",
        "list-revocation-bad-gzip.json",
        "list-revocation-no-prefix.json",
        "list-revocation-z-prefix.json",
    ] {
        assert_refused(REV_URL, list, "status_list_malformed").await;
    }
}

#[tokio::test]
async fn list_not_yet_valid_is_refused() {
    assert_refused(REV_URL, "list-revocation-not-yet-valid.json", "status_list_not_yet_valid").await;
}

#[tokio::test]
async fn stale_beyond_seven_days() {
    let fetched = now();
    let cache = cache_with("list-revocation-clear.json", "list-suspension-clear.json", fetched).await;
    let later = fetched + Duration::days(7) + Duration::minutes(1);
    let (result, _) = check_status(&credential(), &cache, &StatusPolicy::default(), later);
    assert_invalid(&result, "status_data_stale");
    // Exactly at the limit it still passes (with the aging warning).
    let (result, warnings) = check_status(&credential(), &cache, &StatusPolicy::default(), fetched + Duration::days(7));
    assert_eq!(result, CheckResult::Valid);
    assert_eq!(warnings.len(), 1);
}

#[tokio::test]
async fn a_stale_list_still_says_revoked() {
    let cache = cache_with("list-revocation-revoked.json", "list-suspension-clear.json", now()).await;
    let later = now() + Duration::days(10);
    let (result, _) = check_status(&credential(), &cache, &StatusPolicy::default(), later);
    assert_invalid(&result, "revoked");
}

#[tokio::test]
async fn a_stale_list_does_not_say_suspended_it_says_stale() {
    let cache = cache_with("list-revocation-clear.json", "list-suspension-suspended.json", now()).await;
    let later = now() + Duration::days(10);
    let (result, _) = check_status(&credential(), &cache, &StatusPolicy::default(), later);
    assert_invalid(&result, "status_data_stale");
}

/// Online: a list not refreshed within the policy's deadline no longer vouches
/// for a clear bit (`Unchecked`, or `Invalid` when the policy says so), but a
/// set revocation bit is still final; offline (no deadline) nothing changes.
#[tokio::test]
async fn a_list_not_refreshed_in_time_leaves_the_status_unchecked() {
    let fetched = now();
    let cache = cache_with("list-revocation-clear.json", "list-suspension-clear.json", fetched).await;
    let online = StatusPolicy { refresh_deadline: Some(Duration::minutes(15)), ..StatusPolicy::default() };
    let (result, _) = check_status(&credential(), &cache, &online, fetched + Duration::minutes(15));
    assert_eq!(result, CheckResult::Valid, "at the deadline the list still counts");
    let later = fetched + Duration::minutes(16);
    let (result, _) = check_status(&credential(), &cache, &online, later);
    assert!(
        matches!(&result, CheckResult::Unchecked { code, .. } if code == "status_list_not_refreshed"),
        "{result:?}"
    );
    let strict = StatusPolicy { not_refreshed_fails: true, ..online };
    assert_invalid(&check_status(&credential(), &cache, &strict, later).0, "status_list_not_refreshed");
    let (result, _) = check_status(&credential(), &cache, &StatusPolicy::default(), later);
    assert_eq!(result, CheckResult::Valid, "without a deadline (offline) the ages alone decide");

    let revoked = cache_with("list-revocation-revoked.json", "list-suspension-clear.json", fetched).await;
    assert_invalid(&check_status(&credential(), &revoked, &online, later).0, "revoked");
}

/// Attack: a suspended credential, its list not refreshed in time (the issuer
/// down, the network cut). The set suspension bit is the issuer's last word:
/// before, the deadline was checked first, and the suspended credential read
/// `unchecked status_list_not_refreshed`, a green verdict.
#[tokio::test]
async fn attack_a_suspension_is_not_forgotten_when_its_list_goes_unrefreshed() {
    let fetched = now();
    let cache = cache_with("list-revocation-clear.json", "list-suspension-suspended.json", fetched).await;
    let online = StatusPolicy { refresh_deadline: Some(Duration::minutes(15)), ..StatusPolicy::default() };
    assert_invalid(&check_status(&credential(), &cache, &online, fetched + Duration::minutes(1)).0, "suspended");
    let later = fetched + Duration::minutes(16);
    let (result, _) = check_status(&credential(), &cache, &online, later);
    assert_invalid(&result, "suspended");
    let CheckResult::Invalid { reason, .. } = result else { unreachable!() };
    assert!(reason.en.contains("published"), "the report dates what it says: {reason}");
    // Stale beyond the offline limit it says stale (`a_stale_list_does_not_say_suspended_it_says_stale`): red too.
    let (result, _) = check_status(&credential(), &cache, &online, fetched + Duration::days(8));
    assert_invalid(&result, "status_data_stale");
}

#[tokio::test]
async fn stale_reason_names_the_failed_refresh() {
    let mut cache = cache_with("list-revocation-clear.json", "list-suspension-clear.json", now()).await;
    let later = now() + Duration::days(8);
    cache.record_failure(REV_URL, StatusError::HttpStatus(503), later);
    let (result, _) = check_status(&credential(), &cache, &StatusPolicy::default(), later);
    assert_invalid(&result, "status_data_stale");
    let CheckResult::Invalid { reason, .. } = result else { unreachable!() };
    assert!(reason.en.contains("503"), "{reason}");
}

#[tokio::test]
async fn aging_beyond_a_day_warns() {
    let cache = cache_with("list-revocation-clear.json", "list-suspension-clear.json", now()).await;
    let later = now() + Duration::hours(25);
    let (result, warnings) = check_status(&credential(), &cache, &StatusPolicy::default(), later);
    assert_eq!(result, CheckResult::Valid);
    assert_eq!(warnings.len(), 1, "one warning, not one per list: {warnings:?}");
    assert_eq!(warnings[0].code, "status_data_aging");
    assert!(warnings[0].message.en.contains("25 hours"), "{}", warnings[0].message);
    // Within a day: no warning.
    assert_eq!(check(&credential(), &cache, now() + Duration::hours(23)), CheckResult::Valid);
}

#[tokio::test]
async fn list_past_its_valid_until_fails() {
    // validUntil = t0 + 24 h.
    let mut cache = StatusListCache::default();
    let fetched = t0() + Duration::hours(1);
    cache.offer(REV_URL, &corpus("list-revocation-expired.json"), fetched, fetched).await.unwrap();
    cache.offer(SUS_URL, &corpus("list-suspension-clear.json"), fetched, fetched).await.unwrap();
    assert_eq!(check(&credential(), &cache, fetched), CheckResult::Valid);
    let after = t0() + Duration::hours(25);
    let (result, _) = check_status(&credential(), &cache, &StatusPolicy::default(), after);
    assert_invalid(&result, "status_list_expired");
    // Offered when already expired: refused, and the check says why.
    assert_refused(REV_URL, "list-revocation-expired.json", "status_list_expired").await;
}

#[tokio::test]
async fn credential_without_status_is_unchecked() {
    let cache = cache_with("list-revocation-revoked.json", "list-suspension-suspended.json", now()).await;
    match check(&corpus("credential-no-status.json"), &cache, now()) {
        CheckResult::Unchecked { code, .. } => assert_eq!(code, "no_status_entry"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn credential_with_malformed_or_legacy_entry() {
    let cache = cache_with("list-revocation-revoked.json", "list-suspension-clear.json", now()).await;
    assert_invalid(&check(&corpus("credential-malformed-entry.json"), &cache, now()), "status_entry_malformed");
    assert_invalid(&check(&corpus("credential-legacy-entry.json"), &cache, now()), "status_entry_unsupported");
}

#[tokio::test]
async fn verify_status_list_checks_the_url_and_exposes_the_list() {
    let list = corpus("list-revocation-revoked.json");
    let verified = verify_status_list(REV_URL, &list, now()).await.unwrap();
    assert_eq!(verified.url(), REV_URL);
    assert_eq!(verified.valid_from(), t1());
    assert_eq!(verified.bits().get(REV_INDEX), Some(true));
    assert_eq!(verified.bits().len(), MIN_STATUS_LIST_BITS);
    assert!(verified.has_purpose(StatusPurpose::Revocation));
    assert_eq!(verified.signer_dids(), [key("test-issuer.pem").did()]);
    let err = verify_status_list(SUS_URL, &list, now()).await.unwrap_err();
    assert_eq!(err.code(), "status_list_url_mismatch");

    // Verify outside the cache (no lock held), then insert.
    let mut cache = StatusListCache::default();
    cache.insert_verified(verified, now()).unwrap();
    let policy = StatusPolicy::default();
    assert_eq!(cache.refresh_at(REV_URL, &policy), Some(now() + Duration::hours(24)));
    assert_eq!(cache.refresh_at(SUS_URL, &policy), None);
}

#[tokio::test]
async fn a_signed_credential_from_the_corpus_verifies() {
    // The corpus credential is a real signed credential (status is not the only check).
    let report = wallet_core::verification::verify_credential(
        &credential(),
        &wallet_core::verification::VerifyOptions::at(now()),
    )
    .await
    .unwrap();
    assert!(report.checks.signature.is_valid(), "{report:?}");
}

// ---- property tests: round trips, and no panics on any input ----

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn set_get_encode_decode_round_trip(
        len_bytes in 1usize..4096,
        ops in proptest::collection::vec((any::<prop::sample::Index>(), any::<bool>()), 0..64),
    ) {
        let mut bits = Bitstring::new(len_bytes * 8);
        let mut model = vec![false; len_bytes * 8];
        for (index, value) in ops {
            let i = index.index(model.len());
            bits.set(i, value).unwrap();
            model[i] = value;
        }
        for (i, expected) in model.iter().enumerate() {
            prop_assert_eq!(bits.get(i), Some(*expected));
        }
        prop_assert_eq!(bits.get(model.len()), None);
        let decoded = Bitstring::decode(&bits.encode()).unwrap();
        prop_assert_eq!(&decoded, &bits);
        prop_assert_eq!(decoded.iter_set().collect::<Vec<_>>(),
            model.iter().enumerate().filter(|(_, b)| **b).map(|(i, _)| i).collect::<Vec<_>>());
    }

    #[test]
    fn decode_never_panics_on_strings(s in ".{0,200}") {
        let _ = Bitstring::decode(&s);
        let _ = Bitstring::decode(&format!("u{s}"));
    }

    #[test]
    fn decode_never_panics_on_corrupted_gzip(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        random in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut bits = Bitstring::new(8 * 1024);
        let _ = bits.set(77, true);
        let mut raw = b64.decode(&bits.encode()[1..]).unwrap();
        for (i, x) in flips {
            let i = i.index(raw.len());
            raw[i] ^= x;
        }
        let _ = Bitstring::decode(&format!("u{}", b64.encode(&raw)));
        let _ = Bitstring::decode(&format!("u{}", b64.encode(&raw[..cut.index(raw.len())])));
        let _ = Bitstring::decode(&format!("u{}", b64.encode(&random)));
    }

    #[test]
    fn status_parsing_and_check_never_panic(status in arb_json(), issuer in arb_json(), proof in arb_json()) {
        let cache = StatusListCache::default();
        for vc in [
            json!({"credentialStatus": status.clone(), "issuer": issuer, "proof": proof}),
            json!({"credentialStatus": [status.clone()]}),
            status.clone(),
        ] {
            let parsed = status_entries(&vc);
            let (result, _) = check_status(&vc, &cache, &StatusPolicy::default(), now());
            // Fail closed: nothing random is ever valid.
            prop_assert!(!result.is_valid(), "{:?} gave {:?}", vc, result);
            if let Ok(entries) = parsed {
                for e in entries {
                    let again = status_entries(&json!({"credentialStatus": e.to_json()})).unwrap();
                    prop_assert_eq!(again.len(), 1);
                    prop_assert_eq!((again[0].purpose, again[0].index, &again[0].list_url), (e.purpose, e.index, &e.list_url));
                }
            }
        }
    }

    #[test]
    fn well_formed_entries_with_random_fields_never_panic(
        index in ".{0,24}",
        purpose in prop_oneof![Just("revocation".to_owned()), Just("suspension".to_owned()), ".{0,12}"],
        url in prop_oneof![Just(REV_URL.to_owned()), ".{0,40}"],
        size in any::<Option<i64>>(),
    ) {
        let mut entry = json!({
            "type": "BitstringStatusListEntry", "statusPurpose": purpose,
            "statusListIndex": index, "statusListCredential": url,
        });
        if let Some(size) = size {
            entry["statusSize"] = json!(size);
        }
        let vc = json!({"credentialStatus": entry});
        let _ = status_entries(&vc);
        let (result, _) = check_status(&vc, &StatusListCache::default(), &StatusPolicy::default(), now());
        prop_assert!(!result.is_valid());
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,20}".prop_map(Value::String),
        prop_oneof![
            Just("BitstringStatusListEntry"),
            Just("revocation"),
            Just("suspension"),
            Just("94567"),
            Just(REV_URL),
            Just("statusListIndex"),
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("type".to_owned()),
                    Just("statusPurpose".to_owned()),
                    Just("statusListIndex".to_owned()),
                    Just("statusListCredential".to_owned()),
                    Just("statusSize".to_owned()),
                    Just("id".to_owned()),
                    ".{0,8}",
                ],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

// ---- the corpus generator ----

/// Writes `fixtures/status/`. Run by hand after an intended change:
/// `cargo test -p wallet-core --test suite -- --ignored regenerate_status_corpus`.
#[tokio::test]
#[ignore = "writes fixtures/status; run by hand"]
async fn regenerate_status_corpus() {
    use base64::Engine as _;
    let ours = key("test-issuer.pem");
    let other = key("other-issuer.pem");
    let dir = format!("{FIXTURES}/status");
    std::fs::create_dir_all(format!("{dir}/legacy")).unwrap();
    let write = |name: &str, v: &Value| {
        std::fs::write(corpus_path(name), format!("{}\n", serde_json::to_string_pretty(v).unwrap())).unwrap();
    };
    let month = Duration::days(30);
    let list = |url: &str, purpose: StatusPurpose, set: &[usize], from: DateTime<Utc>, until: DateTime<Utc>| {
        let mut bits = Bitstring::new(MIN_STATUS_LIST_BITS);
        for i in set {
            bits.set(*i, true).unwrap();
        }
        status_list_credential(url, &ours.did(), purpose, &bits, from, until)
    };
    let sign = |unsigned: Value, key: IssuerKey, created: DateTime<Utc>| async move {
        sign_credential(&unsigned, &key, created).await.unwrap()
    };

    // Credentials.
    let sample: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{FIXTURES}/credentials/sample-health-certificate.unsigned.json")).unwrap(),
    )
    .unwrap();
    let created = Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).unwrap();
    let mut unsigned = sample.clone();
    unsigned["issuer"] = json!(ours.did());
    unsigned["credentialStatus"] = json!([
        StatusEntry::new(StatusPurpose::Revocation, REV_INDEX as u64, REV_URL).to_json(),
        StatusEntry::new(StatusPurpose::Suspension, SUS_INDEX as u64, SUS_URL).to_json(),
    ]);
    write("credential.json", &sign(unsigned.clone(), ours.clone(), created).await);
    let mut no_status = unsigned.clone();
    no_status.as_object_mut().unwrap().remove("credentialStatus");
    write("credential-no-status.json", &sign(no_status, ours.clone(), created).await);
    let mut out_of_range = unsigned.clone();
    out_of_range["credentialStatus"][0] =
        StatusEntry::new(StatusPurpose::Revocation, MIN_STATUS_LIST_BITS as u64, REV_URL).to_json();
    write("credential-index-out-of-range.json", &sign(out_of_range, ours.clone(), created).await);
    let mut malformed = unsigned.clone();
    malformed["credentialStatus"][0]["statusListIndex"] = json!(REV_INDEX);
    write("credential-malformed-entry.json", &sign(malformed, ours.clone(), created).await);
    // A StatusList2021Entry is not defined by the VC 2.0 context: unsigned
    // (the status check reads it before any signature matters).
    let mut legacy = unsigned.clone();
    legacy["credentialStatus"][0]["type"] = json!("StatusList2021Entry");
    write("credential-legacy-entry.json", &legacy);

    // Good lists: the publication sequence.
    use StatusPurpose::{Revocation, Suspension};
    let rev_clear = list(REV_URL, Revocation, &[], t0(), t0() + month);
    write("list-revocation-clear.json", &sign(rev_clear.clone(), ours.clone(), t0()).await);
    let rev_revoked = sign(list(REV_URL, Revocation, &[REV_INDEX], t1(), t1() + month), ours.clone(), t1()).await;
    write("list-revocation-revoked.json", &rev_revoked);
    write(
        "list-revocation-cleared-newer.json",
        &sign(list(REV_URL, Revocation, &[], t2(), t2() + month), ours.clone(), t2()).await,
    );
    write(
        "list-suspension-clear.json",
        &sign(list(SUS_URL, Suspension, &[], t0(), t0() + month), ours.clone(), t0()).await,
    );
    write(
        "list-suspension-suspended.json",
        &sign(list(SUS_URL, Suspension, &[SUS_INDEX], t1(), t1() + month), ours.clone(), t1()).await,
    );
    write(
        "list-suspension-lifted.json",
        &sign(list(SUS_URL, Suspension, &[], t2(), t2() + month), ours.clone(), t2()).await,
    );

    // Bad lists.
    let mut tampered = rev_revoked.clone();
    tampered["credentialSubject"]["encodedList"] = rev_clear["credentialSubject"]["encodedList"].clone();
    write("list-revocation-tampered.json", &tampered);
    write("list-revocation-unsigned.json", &rev_clear);
    let mut by_other = rev_clear.clone();
    by_other["issuer"] = json!(other.did());
    write("list-revocation-other-issuer.json", &sign(by_other, other.clone(), t0()).await);
    write("list-revocation-other-issuer-claims-ours.json", &sign(rev_clear.clone(), other.clone(), t0()).await);
    let short = status_list_credential(
        REV_URL,
        &ours.did(),
        Revocation,
        &Bitstring::new(MIN_STATUS_LIST_BITS / 2),
        t0(),
        t0() + month,
    );
    write("list-revocation-too-short.json", &sign(short, ours.clone(), t0()).await);
    let wrong_purpose = list(REV_URL, Suspension, &[], t0(), t0() + month);
    write("list-revocation-wrong-purpose.json", &sign(wrong_purpose, ours.clone(), t0()).await);
    let wrong_id = list("https://issuer.example.gov.cn/status/5", Revocation, &[], t0(), t0() + month);
    write("list-revocation-wrong-id.json", &sign(wrong_id, ours.clone(), t0()).await);
    let expired = list(REV_URL, Revocation, &[], t0(), t0() + Duration::hours(24));
    write("list-revocation-expired.json", &sign(expired, ours.clone(), t0()).await);
    let future = t("2026-06-01T00:00:00Z");
    write(
        "list-revocation-not-yet-valid.json",
        &sign(list(REV_URL, Revocation, &[], future, future + month), ours.clone(), t0()).await,
    );
    let clear_encoded = rev_clear["credentialSubject"]["encodedList"].as_str().unwrap().to_owned();
    let gzip = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&clear_encoded[1..]).unwrap();
    for (name, encoded) in [
        ("list-revocation-malformed-encodedlist.json", "u!!not*base64url!!".to_owned()),
        (
            "list-revocation-bad-gzip.json",
            format!("u{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b"not a gzip stream at all")),
        ),
        ("list-revocation-no-prefix.json", clear_encoded[1..].to_owned()),
        ("list-revocation-z-prefix.json", format!("z{}", bs58::encode(&gzip).into_string())),
    ] {
        let mut l = rev_clear.clone();
        l["credentialSubject"]["encodedList"] = json!(encoded);
        write(name, &sign(l, ours.clone(), t0()).await);
    }

    // Legacy real-world lists (Blockcerts samples, StatusList2021 without prefix).
    for name in ["blockcerts-status-list-2021.json", "blockcerts-status-list-2021-suspension.json"] {
        let src = format!("/work/shared/vectors/blockcerts/{name}");
        if let Ok(text) = std::fs::read_to_string(&src) {
            std::fs::write(corpus_path(&format!("legacy/{name}")), text).unwrap();
        }
    }
}

// ---- issue #13: per-signer lists, rollback floors that can be persisted ----

/// A validly signed list by another key, served at the issuer's URL, neither
/// replaces the issuer's list nor is believed for its credential.
#[tokio::test]
async fn a_list_by_another_signer_never_replaces_the_one_held() {
    let mut cache = cache_with("list-revocation-revoked.json", "list-suspension-clear.json", now()).await;
    let later = now() + Duration::hours(1);
    for list in ["list-revocation-other-issuer.json", "list-revocation-other-issuer-claims-ours.json"] {
        cache.offer(REV_URL, &corpus(list), later, later).await.unwrap_or_else(|e| panic!("{list}: {e}"));
        assert_invalid(&check(&credential(), &cache, later), "revoked");
    }
    assert_eq!(cache.get_signed_by(REV_URL, &key("test-issuer.pem").did()).unwrap().valid_from(), t1());
    assert_eq!(cache.lists(REV_URL).len(), 2, "the issuer's list and the other key's, each under its signer");
    // The issuer's own older list is still a rollback.
    let err = cache.offer(REV_URL, &corpus("list-revocation-clear.json"), later, later).await.unwrap_err();
    assert_eq!(err.code(), "status_list_rollback");
}

/// The floors a verifier saves and restores after a restart: the older list
/// is refused by the new cache too, while other URLs and signers are unaffected.
#[tokio::test]
async fn rollback_floors_survive_into_a_new_cache() {
    let cache = cache_with("list-revocation-revoked.json", "list-suspension-clear.json", now()).await;
    let floors = cache.rollback_floors();
    assert_eq!(floors[REV_URL][&key("test-issuer.pem").did()], t1());

    let mut restarted = StatusListCache::default();
    restarted.restore_rollback_floors(&floors);
    let err = restarted.offer(REV_URL, &corpus("list-revocation-clear.json"), now(), now()).await.unwrap_err();
    assert_eq!(err, StatusError::Rollback { held: t1(), offered: t0() });
    assert_invalid(&check(&credential(), &restarted, now()), "status_list_rollback");
    // The same publication, another signer's list and another URL are fine.
    restarted.offer(REV_URL, &corpus("list-revocation-revoked.json"), now(), now()).await.unwrap();
    restarted.offer(REV_URL, &corpus("list-revocation-other-issuer.json"), now(), now()).await.unwrap();
    restarted.offer(SUS_URL, &corpus("list-suspension-clear.json"), now(), now()).await.unwrap();
    assert_invalid(&check(&credential(), &restarted, now()), "revoked");
}

/// Attack: one self-signed credential naming thousands of status lists (each
/// a URL the verifier would fetch and cache a failure for). At most
/// `MAX_STATUS_ENTRIES` entries are read; more is `status_entry_malformed`
/// before any list is looked at.
#[tokio::test]
async fn attack_a_credential_naming_thousands_of_status_lists_is_refused_before_any_fetch() {
    let mut vc = credential();
    let entry = |i: usize| {
        StatusEntry::new(StatusPurpose::Revocation, 1, format!("https://issuer.example.gov.cn/status/1?x={i}"))
            .to_json()
    };
    vc["credentialStatus"] = Value::Array((0..2000).map(entry).collect());
    let err = status_entries(&vc).unwrap_err();
    assert_eq!(err.code(), "status_entry_malformed", "{err}");
    assert!(err.to_string().contains("2000"), "{err}");
    let cache = cache_with("list-revocation-clear.json", "list-suspension-clear.json", now()).await;
    assert_invalid(&check_status(&vc, &cache, &StatusPolicy::default(), now()).0, "status_entry_malformed");
    // The bound itself is read.
    vc["credentialStatus"] = Value::Array((0..wallet_core::status::MAX_STATUS_ENTRIES).map(entry).collect());
    assert_eq!(status_entries(&vc).unwrap().len(), wallet_core::status::MAX_STATUS_ENTRIES);
    vc["credentialStatus"] = Value::Array((0..=wallet_core::status::MAX_STATUS_ENTRIES).map(entry).collect());
    assert!(status_entries(&vc).is_err());
}
