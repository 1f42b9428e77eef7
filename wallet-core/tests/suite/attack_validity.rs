//! Attack: a clinic (or whoever holds its key) issues the yearly health
//! certificate valid for ten years, or with no end at all, and so spares its
//! holder every later examination. The type's definition says how long its
//! credentials are valid (`validity.months`): a longer validity is refused at
//! issuance (`validity_too_long`) and, for a credential signed anyway, at
//! verification (`validity_exceeds_type`), as is one without a start or end.
//! Credentials of no defined type keep the data model's reading (no end: a
//! warning).

use chrono::NaiveDate;
use serde_json::{json, Value};
use wallet_core::credential::IdNumberKey;
use wallet_core::credential_type::{RequestError, TypeRegistry};
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::verification::{verify_credential, CheckResult, VerificationReport, VerifyOptions};

use crate::attack_common::*;

async fn signed_with_validity(key: &IssuerKey, until: Option<&str>) -> Value {
    let mut vc = unsigned(&key.did());
    match until {
        Some(until) => vc["validUntil"] = json!(until),
        None => {
            vc.as_object_mut().unwrap().remove("validUntil");
        }
    }
    sign_credential(&vc, key, signed_at()).await.unwrap()
}

async fn verify(vc: &Value) -> VerificationReport {
    verify_credential(vc, &VerifyOptions::at(now())).await.unwrap_or_else(|e| panic!("malformed: {e}"))
}

#[tokio::test]
async fn attack_a_health_certificate_valid_for_longer_than_its_type_allows_is_refused() {
    let key = IssuerKey::generate();
    // The fixture is valid from 2026-03-15T00:00:00Z; a health certificate for 12 months.
    for (what, until) in [
        ("ten years", Some("2036-03-14T23:59:59Z")),
        ("twelve months and a second", Some("2027-03-15T00:00:01Z")),
        ("no end", None),
    ] {
        let vc = signed_with_validity(&key, until).await;
        let report = verify(&vc).await;
        assert!(!report.verified, "{what}: {report:#?}");
        assert_eq!(
            report.checks.signature,
            CheckResult::Valid,
            "{what}: the signature is good; the type's rule refuses it"
        );
        assert_eq!(report.checks.validity_period.invalid_code(), Some("validity_exceeds_type"), "{what}: {report:#?}");
        let CheckResult::Invalid { reason, .. } = &report.checks.validity_period else { unreachable!() };
        assert!(reason.zh.contains("12") && reason.en.contains("12 months"), "{what}: {reason:?}");
    }
    // As issued (12 months less a second), and exactly 12 months: the period is valid.
    for until in ["2027-03-14T23:59:59Z", "2027-03-15T00:00:00Z"] {
        let report = verify(&signed_with_validity(&key, Some(until)).await).await;
        assert_eq!(report.checks.validity_period, CheckResult::Valid, "{until}: {report:#?}");
    }
}

#[tokio::test]
async fn a_credential_of_no_type_of_ours_keeps_its_long_validity() {
    let key = IssuerKey::generate();
    let vc = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "type": ["VerifiableCredential", "ExampleDegreeCredential"],
        "issuer": key.did(),
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2076-01-01T00:00:00Z",
        "credentialSubject": {"degree": {"type": "ExampleBachelorDegree", "name": "Bachelor of Science and Arts"}}
    });
    let signed = sign_credential(&vc, &key, signed_at()).await.unwrap();
    let report = verify(&signed).await;
    assert_eq!(report.checks.validity_period, CheckResult::Valid, "{report:#?}");
}

#[test]
fn issuance_refuses_a_validity_longer_than_the_type_allows() {
    let types = TypeRegistry::default();
    let def = types.by_type("HealthCertificate").unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
    let key = IdNumberKey::generate();
    let request = |until: Option<&str>| {
        let mut r = json!({
            "fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
            "idNumber": "11010519491231002X", "examinationDate": "2026-03-12", "examiningInstitution": "广州市越秀区疾病预防控制中心",
            "examinationResult": "qualified"
        });
        if let Some(until) = until {
            r["validUntil"] = json!(until);
        }
        r
    };
    let Err(RequestError::Fields(errors)) =
        def.check_request_keyed(&request(Some("2028-03-12T00:00:00Z")), today, Some(&key))
    else {
        panic!("two years accepted");
    };
    assert!(errors.iter().any(|e| e.field == "validUntil" && e.code == "validity_too_long"), "{errors:?}");
    let error = errors.iter().find(|e| e.code == "validity_too_long").unwrap();
    assert!(!error.message.zh.is_empty() && error.message.en.contains("12 months"), "{error:?}");
    // The default (12 months less a second) and exactly 12 months are issued.
    let checked = def.check_request_keyed(&request(None), today, Some(&key)).unwrap();
    assert_eq!(checked.valid_until.to_rfc3339(), "2027-03-11T23:59:59+00:00");
    assert!(
        def.check_request_keyed(&request(Some("2026-03-12T00:00:00Z")), today, Some(&key)).is_err(),
        "ends before it starts"
    );
    def.check_request_keyed(&request(Some("2027-03-12T00:00:00Z")), today, Some(&key)).unwrap();
}
