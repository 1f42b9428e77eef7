//! Attack review, part 2: JSON presentations (`verify_presentation`, VC-API
//! `/presentations/verify`). Replay with another challenge or domain, no
//! challenge when one is asked, a presentation by a key other than the
//! subject's: already refused (`presentations::*`, kept as regressions). Here:
//! the work one presentation can cause, and one credential presented twice.

use std::time::Instant;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use wallet_core::credential::CredentialId;
use wallet_core::credential_type::TypeRegistry;
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::verification::{verify_presentation, VerifyOptions};

/// The largest number of credentials one presentation may carry (the rule under test).
const MOST_CREDENTIALS: usize = 32;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
}

async fn certificate(key: &IssuerKey) -> Value {
    let request = json!({
        "fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
        "idNumber": "11010519491231002X", "examinationDate": "2026-03-12",
        "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified",
        "occupation": "food-service"
    });
    let def = TypeRegistry::shipped().unwrap().by_type("HealthCertificate").unwrap();
    let checked = def
        .check_request_keyed(&request, NaiveDate::from_ymd_opt(2026, 3, 15).unwrap(), Some(&crate::id_key()))
        .unwrap();
    let unsigned = def.to_unsigned_credential(&checked, &CredentialId::generate(), &key.did());
    sign_credential(&unsigned, key, Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).unwrap()).await.unwrap()
}

fn presentation(credentials: Vec<Value>) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": credentials
    })
}

/// `n` copies of `vc`, each under its own id (forgeries: each costs a full
/// canonicalisation and signature check, exactly like a genuine credential).
fn distinct_copies(vc: &Value, n: usize) -> Vec<Value> {
    (0..n)
        .map(|_| {
            let mut copy = vc.clone();
            copy["id"] = json!(CredentialId::generate().as_str());
            copy
        })
        .collect()
}

async fn refusal_code(vp: &Value) -> Result<String, String> {
    match verify_presentation(vp, &VerifyOptions::at(now()), None, None).await {
        Err(e) => Ok(e.code().to_owned()),
        Ok(report) => Err(format!("accepted with {} credential reports", report.credentials.len())),
    }
}

/// One request body (≤ 256 KiB) of forged credentials must not buy the
/// attacker a hundred verifications: refused before any JSON-LD work.
#[tokio::test]
async fn attack_a_presentation_of_a_hundred_credentials_is_refused_before_any_proof_work() {
    let vc = certificate(&IssuerKey::generate()).await;
    let one_size = serde_json::to_vec(&vc).unwrap().len();
    let n = (250 * 1024 / (one_size + 1)).min(400);
    assert!(n >= 100, "{n} credentials of {one_size} bytes fit in one presentation");
    let many = presentation(distinct_copies(&vc, n));
    assert!(serde_json::to_vec(&many).unwrap().len() <= 256 * 1024);

    let started = Instant::now();
    let _ = verify_presentation(&presentation(vec![vc.clone()]), &VerifyOptions::at(now()), None, None).await;
    let one = started.elapsed();
    let started = Instant::now();
    let outcome = refusal_code(&many).await;
    let all = started.elapsed();
    println!("one credential: {one:?}; a presentation of {n} ({one_size} bytes each): {all:?} → {outcome:?}");
    assert_eq!(outcome.as_deref(), Ok("too_many_credentials"), "{n} credentials in one presentation");

    // The largest presentation allowed still verifies (each credential reported).
    let most = presentation(distinct_copies(&vc, MOST_CREDENTIALS));
    let report = verify_presentation(&most, &VerifyOptions::at(now()), None, None).await.unwrap();
    assert_eq!(report.credentials.len(), MOST_CREDENTIALS);
    let over = presentation(distinct_copies(&vc, MOST_CREDENTIALS + 1));
    assert_eq!(refusal_code(&over).await.as_deref(), Ok("too_many_credentials"));
}

/// Regression: one huge presentation is refused by size before any work.
#[tokio::test]
async fn attack_a_presentation_over_the_size_limit_is_refused() {
    let mut vc = certificate(&IssuerKey::generate()).await;
    vc["credentialSubject"]["note"] = json!("x".repeat(300 * 1024));
    assert_eq!(refusal_code(&presentation(vec![vc])).await.as_deref(), Ok("document_too_large"));
}

/// The same credential twice (as sent, or altered under the same id) is not
/// two credentials: a relying party counting what it was shown must not be
/// told "two valid health certificates" or "two invoices".
#[tokio::test]
async fn attack_the_same_credential_twice_in_one_presentation_is_refused() {
    let vc = certificate(&IssuerKey::generate()).await;
    let twice = presentation(vec![vc.clone(), vc.clone()]);
    assert_eq!(refusal_code(&twice).await.as_deref(), Ok("duplicate_credential"));

    let mut altered = vc.clone();
    altered["credentialSubject"]["fullName"] = json!("欧阳晓明");
    let same_id = presentation(vec![vc.clone(), altered]);
    assert_eq!(refusal_code(&same_id).await.as_deref(), Ok("duplicate_credential"));

    // Two different credentials are fine.
    let other = certificate(&IssuerKey::generate()).await;
    let report =
        verify_presentation(&presentation(vec![vc, other]), &VerifyOptions::at(now()), None, None).await.unwrap();
    assert_eq!(report.credentials.len(), 2);
}
