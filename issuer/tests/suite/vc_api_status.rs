//! VC-API issuance of our own credential types (a definition with
//! `statusRequired`): every credential gets the issuer's status entries, one per
//! purpose the type requires (`used` too for a single-use type), whatever the
//! caller sends. A caller's own `credentialStatus`, or a context that cannot
//! carry the entries, would make a certificate no revocation reaches: refused.
//! Its fields pass the domain API's rules and the credential is rebuilt from
//! them (`Definition::request_of_credential`): a clinic token cannot sign a
//! certificate of a type of ours with made-up fields, codes or ID-number
//! digests. Credentials of no type of ours (the W3C suites') are signed as before.

use std::sync::Arc;

use chrono::Utc;
use serde_json::{json, Value};
use wallet_core::credential::CredentialId;
use wallet_core::credential_type::TypeRegistry;
use wallet_core::status::{check_required_entries, verify_status_list, StatusListCache, StatusPolicy};
use wallet_core::verification::{verify_credential, CheckResult, StatusSource, VerifyOptions};

use crate::support::requests::health_request;

const PUBLIC: &str = "https://issuer.example";

struct App {
    base: String,
    did: String,
    http: reqwest::Client,
    store: issuer::store::Store,
    types: TypeRegistry,
    _data: tempfile::TempDir,
}

async fn spawn() -> App {
    let data = tempfile::tempdir().unwrap();
    let mut settings = issuer::config::Settings::for_tests(data.path().to_path_buf());
    settings.public_url = Some(PUBLIC.to_owned());
    let app = issuer::startup::Application::build(&settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let did = app.did().to_owned();
    tokio::spawn(app.run_until_stopped());
    let http = issuer::domain::accounts::authorized_client(&settings).await.unwrap();
    let store = issuer::store::Store::connect(&settings.store_url()).await.unwrap();
    let types = TypeRegistry::load(settings.credential_types.as_deref()).unwrap();
    App { base, did, http, store, types, _data: data }
}

fn invoice() -> Value {
    json!({
        "invoiceCode": "44010126", "invoiceNumber": "0000123456", "payerName": "欧阳晓燕",
        "payee": "示例市第一人民医院", "visitType": "outpatient", "amountFen": 12345,
        "issueDate": Utc::now().date_naive().format("%Y-%m-%d").to_string()
    })
}

fn purposes(vc: &Value) -> Vec<String> {
    vc["credentialStatus"]
        .as_array()
        .map(|entries| entries.iter().map(|e| e["statusPurpose"].as_str().unwrap_or("?").to_owned()).collect())
        .unwrap_or_default()
}

impl App {
    async fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let resp = self.http.post(format!("{}{path}", self.base)).json(body).send().await.unwrap();
        (resp.status().as_u16(), resp.json().await.unwrap_or(Value::Null))
    }

    async fn issue(&self, credential: &Value) -> (u16, Value) {
        self.post("/credentials/issue", &json!({ "credential": credential })).await
    }

    /// A credential issued through the domain API: `(unsigned copy, signed)`. The
    /// unsigned copy is what a clinic could send to the VC-API: the same content
    /// without proof, status entries or 证照标识, under a fresh id.
    async fn domain_credential(&self, api_path: &str, request: &Value) -> (Value, Value) {
        let (status, issued) = self.post(&format!("/api/v1/{api_path}"), request).await;
        assert_eq!(status, 201, "{issued:#}");
        let signed = issued["credential"].clone();
        let mut unsigned = signed.clone();
        let members = unsigned.as_object_mut().unwrap();
        for member in ["proof", "credentialStatus", wallet_core::licence_id::CREDENTIAL_TERM] {
            members.remove(member);
        }
        members.insert("id".to_owned(), json!(CredentialId::generate().as_str()));
        // The ID number goes to the VC-API plain, as to the domain API: only the
        // issuer holds the key of its digest.
        let subject = members["credentialSubject"].as_object_mut().unwrap();
        if subject.remove("idNumberDigest").is_some() {
            subject.remove("idNumberSalt");
            subject.insert("idNumber".to_owned(), request["idNumber"].clone());
        }
        (unsigned, signed)
    }

    async fn tree_size(&self) -> String {
        let note = self.http.get(format!("{}/log/checkpoint", self.base)).send().await.unwrap().text().await.unwrap();
        note.lines().nth(1).unwrap().to_owned()
    }

    async fn unchanged_since(&self, size: &str, count: u64) {
        assert_eq!(self.tree_size().await, size, "nothing logged");
        assert_eq!(self.store.count_credentials(None).await.unwrap(), count, "nothing stored");
    }

    /// The status lists `vc` names, as this issuer publishes them now, verified.
    async fn status_lists(&self, vc: &Value) -> StatusSource {
        let now = Utc::now();
        let mut cache = StatusListCache::new();
        for entry in vc["credentialStatus"].as_array().unwrap() {
            let url = entry["statusListCredential"].as_str().unwrap();
            let path = url.strip_prefix(PUBLIC).unwrap_or_else(|| panic!("not this issuer's list: {url}"));
            let list: Value = self.http.get(format!("{}{path}", self.base)).send().await.unwrap().json().await.unwrap();
            cache.insert_verified(verify_status_list(url, &list, now).await.unwrap(), now).unwrap();
        }
        StatusSource::Cache { cache: Arc::new(cache), policy: StatusPolicy::default() }
    }
}

/// The refusal of a caller's own status entries: 400 `status_entry_assigned_by_issuer`,
/// zh + en, nothing signed, logged, stored.
async fn assert_status_refused(app: &App, credential: &Value, what: &str) {
    let (size, count) = (app.tree_size().await, app.store.count_credentials(None).await.unwrap());
    let (status, body) = app.issue(credential).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("status_entry_assigned_by_issuer")), "{what}: {body:#}");
    assert!(body.get("verifiableCredential").is_none(), "{what}: nothing signed is returned");
    for lang in ["zh", "en"] {
        assert!(body["message"][lang].as_str().is_some_and(|m| !m.is_empty()), "{what}: {body:#}");
    }
    app.unchanged_since(&size, count).await;
}

#[tokio::test]
async fn vc_api_refuses_status_entries_brought_for_a_type_of_ours() {
    let app = spawn().await;
    // A real certificate of another holder: its entries (indexes this credential does not own).
    let (unsigned, victim) = app.domain_credential("health-certificates", &health_request()).await;
    let foreign_entry = |purpose: &str, index: &str| {
        json!({
            "id": format!("https://attacker.example/status/1#{index}"),
            "type": "BitstringStatusListEntry",
            "statusPurpose": purpose,
            "statusListIndex": index,
            "statusListCredential": "https://attacker.example/status/1"
        })
    };
    let cases = [
        ("another credential's entries on this issuer's lists", victim["credentialStatus"].clone()),
        ("one of another credential's entries", victim["credentialStatus"][0].clone()),
        (
            "entries on a list the attacker serves (never set)",
            json!([foreign_entry("revocation", "7"), foreign_entry("suspension", "8")]),
        ),
        ("no entry at all", json!([])),
    ];
    for (what, status) in cases {
        let mut credential = unsigned.clone();
        credential["credentialStatus"] = status;
        assert_status_refused(&app, &credential, what).await;
    }

    // A medical invoice (single use) with revocation and suspension entries of its
    // own: the `used` entry it would never get.
    let (unsigned, victim) = app.domain_credential("medical-invoices", &invoice()).await;
    let mut credential = unsigned.clone();
    credential["credentialStatus"] = json!(victim["credentialStatus"].as_array().unwrap()[..2]);
    assert_status_refused(&app, &credential, "an invoice without its used entry").await;
}

#[tokio::test]
async fn vc_api_refuses_a_type_of_ours_under_a_context_that_cannot_carry_status() {
    let app = spawn().await;
    let (unsigned, _) = app.domain_credential("health-certificates", &health_request()).await;
    let v1 = "https://www.w3.org/2018/credentials/v1";
    let mut contexts = unsigned["@context"].as_array().unwrap().clone();
    // The VC 1.1 base context (with the 1.1 dates), before or in place of v2.
    let mut before = unsigned.clone();
    let mut with_v1 = vec![json!(v1)];
    with_v1.extend(contexts.iter().cloned());
    before["@context"] = json!(with_v1);
    contexts[0] = json!(v1);
    let mut instead = unsigned.clone();
    instead["@context"] = json!(contexts);
    let members = instead.as_object_mut().unwrap();
    let valid_from = members.remove("validFrom").unwrap();
    let valid_until = members.remove("validUntil").unwrap();
    members.insert("issuanceDate".to_owned(), valid_from);
    members.insert("expirationDate".to_owned(), valid_until);
    // What the data model alone says (the check every VC-API credential passes
    // before signing): v1 before v2 breaks it (a 1.1 credential needs
    // `issuanceDate`); a VC 1.1 certificate with its 1.1 dates passes it, and
    // was signed without status entries before this refusal.
    // (Read with the ID number as signed, a digest: the plain number the VC-API
    // takes is not a term of the context.)
    let data_model = |vc: &Value| {
        let mut as_signed = vc.clone();
        let subject = as_signed["credentialSubject"].as_object_mut().unwrap();
        subject.remove("idNumber");
        wallet_core::issuance::check_unsigned_credential(&app.types.loader(), &as_signed)
    };
    assert_eq!(data_model(&before).map_err(|e| e.code()), Err("missing_issuance_date"));
    assert!(data_model(&instead).is_ok(), "{:?}", data_model(&instead));
    let (size, count) = (app.tree_size().await, app.store.count_credentials(None).await.unwrap());
    for (what, credential) in [("v1 before v2", &before), ("v1 instead of v2", &instead)] {
        let (status, body) = app.issue(credential).await;
        assert_eq!(status, 400, "{what}: {body:#}");
        assert_eq!(body["error"].as_str(), Some("status_entries_need_credentials_v2"), "{what}: {body:#}");
        for lang in ["zh", "en"] {
            assert!(body["message"][lang].as_str().is_some_and(|m| !m.is_empty()), "{what}: {body:#}");
        }
    }
    app.unchanged_since(&size, count).await;
}

#[tokio::test]
async fn vc_api_gives_a_type_of_ours_every_required_status_entry_and_it_verifies() {
    let app = spawn().await;
    for (api_path, request, expected) in [
        ("health-certificates", health_request(), vec!["revocation", "suspension"]),
        ("medical-invoices", invoice(), vec!["revocation", "suspension", "used"]),
    ] {
        let (unsigned, _) = app.domain_credential(api_path, &request).await;
        let def = app.types.for_credential(&unsigned).unwrap();
        let (status, body) = app.issue(&unsigned).await;
        assert_eq!(status, 201, "{api_path}: {body:#}");
        let vc = body["verifiableCredential"].clone();
        assert_eq!(purposes(&vc), expected, "{api_path}: {vc:#}");
        let required: Vec<&str> = def.required_status_purposes().iter().map(|p| p.as_str()).collect();
        assert_eq!(purposes(&vc), required, "{api_path}");
        assert_eq!(check_required_entries(&vc, def.required_status_purposes()), None, "{api_path}");

        // As an inspector checks it, with the lists this issuer publishes.
        let mut options = VerifyOptions::at(Utc::now()).with_types(app.types.clone());
        options.status = app.status_lists(&vc).await;
        let report = verify_credential(&vc, &options).await.unwrap();
        assert!(report.verified, "{api_path}: {report:#?}");
        assert_eq!(report.checks.signature, CheckResult::Valid, "{api_path}");
        assert_eq!(report.checks.status, CheckResult::Valid, "{api_path}: {report:#?}");

        // The entries are the issuer's: revoking the credential reaches inspectors.
        let uuid = vc["id"].as_str().unwrap().trim_start_matches("urn:uuid:").to_owned();
        let (status, body) =
            app.post(&format!("/credentials/{uuid}/status"), &json!({"action": "revoke", "reason": "test"})).await;
        assert_eq!(status, 200, "{api_path}: {body:#}");
        options.status = app.status_lists(&vc).await;
        let report = verify_credential(&vc, &options).await.unwrap();
        assert!(!report.verified, "{api_path}: {report:#?}");
        assert!(
            matches!(&report.checks.status, CheckResult::Invalid { code, .. } if code == "revoked"),
            "{api_path}: {report:#?}"
        );
    }
}

#[tokio::test]
async fn vc_api_signs_credentials_of_no_type_of_ours_as_before() {
    let app = spawn().await;
    let example = |context: &str| {
        json!({
            "@context": [context, "https://www.w3.org/ns/credentials/examples/v2"],
            "type": ["VerifiableCredential", "ExampleCredential"],
            "issuer": app.did,
            "credentialSubject": {"id": "did:example:123", "name": "Alice"}
        })
    };
    // v2 without status: the issuer's two entries, as before.
    let (status, body) = app.issue(&example("https://www.w3.org/ns/credentials/v2")).await;
    assert_eq!(status, 201, "{body:#}");
    assert_eq!(purposes(&body["verifiableCredential"]), ["revocation", "suspension"]);
    // v2 with the caller's own entry (the W3C status suites): signed as sent.
    let mut own = example("https://www.w3.org/ns/credentials/v2");
    own["credentialStatus"] = json!({
        "id": "https://example.com/status/1#5",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "5",
        "statusListCredential": "https://example.com/status/1"
    });
    let (status, body) = app.issue(&own).await;
    assert_eq!(status, 201, "{body:#}");
    assert_eq!(body["verifiableCredential"]["credentialStatus"], own["credentialStatus"]);
    // VC 1.1: signed without entries, as before.
    let v1 = json!({
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential"],
        "issuer": app.did,
        "issuanceDate": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:123"}
    });
    let (status, body) = app.issue(&v1).await;
    assert_eq!(status, 201, "{body:#}");
    assert!(body["verifiableCredential"].get("credentialStatus").is_none(), "{body:#}");
}

/// The refusal of a credential of a type of ours that breaks its definition:
/// the expected status and code, every field named, zh + en, nothing signed,
/// logged or stored.
async fn assert_fields_refused(app: &App, credential: &Value, what: &str, code: &str, field: &str) {
    let (size, count) = (app.tree_size().await, app.store.count_credentials(None).await.unwrap());
    let (status, body) = app.issue(credential).await;
    assert_eq!((status, body["error"].as_str()), (422, Some("invalid_fields")), "{what}: {body:#}");
    let named = body["details"].as_array().into_iter().flatten().chain(body["fields"].as_array().into_iter().flatten());
    let named: Vec<&Value> = named.collect();
    assert!(
        named.iter().any(|d| d["field"].as_str() == Some(field) && d["code"].as_str() == Some(code)),
        "{what}: expected {field} {code}: {body:#}"
    );
    for lang in ["zh", "en"] {
        assert!(body["message"][lang].as_str().is_some_and(|m| !m.is_empty()), "{what}: {body:#}");
    }
    app.unchanged_since(&size, count).await;
}

/// A clinic token used to get any health certificate signed through the VC-API:
/// a result the definition refuses (`not_qualified`), fields no definition has,
/// a made-up ID-number digest (no real number behind it: the inspector's ID
/// check could never match, and nobody could tell), a birth date in the future,
/// properties and contexts the type does not describe. Each is refused as the
/// domain API refuses it, before anything is allocated.
#[tokio::test]
async fn attack_vc_api_refuses_a_type_of_ours_with_fields_its_definition_refuses() {
    let app = spawn().await;
    let (unsigned, signed) = app.domain_credential("health-certificates", &health_request()).await;
    let with_subject = |key: &str, value: Value| {
        let mut vc = unsigned.clone();
        vc["credentialSubject"][key] = value;
        vc
    };
    let without_subject = |key: &str| {
        let mut vc = unsigned.clone();
        vc["credentialSubject"].as_object_mut().unwrap().remove(key);
        vc
    };
    let with = |key: &str, value: Value| {
        let mut vc = unsigned.clone();
        vc[key] = value;
        vc
    };
    let mut made_up_digest = without_subject("idNumber");
    made_up_digest["credentialSubject"]["idNumberDigest"] = signed["credentialSubject"]["idNumberDigest"].clone();
    made_up_digest["credentialSubject"]["idNumberSalt"] = signed["credentialSubject"]["idNumberSalt"].clone();
    let mut contexts = unsigned["@context"].as_array().unwrap().clone();
    contexts.push(json!("https://www.w3.org/ns/credentials/examples/v2"));
    let cases = [
        (
            "a failed examination",
            with_subject("examinationResult", json!("unqualified")),
            "not_qualified",
            "examinationResult",
        ),
        (
            "a field no definition has",
            with_subject("bloodType", json!("O")),
            "unknown_property",
            "credentialSubject.bloodType",
        ),
        (
            "another holder's ID-number digest, no number",
            made_up_digest,
            "unknown_property",
            "credentialSubject.idNumberDigest",
        ),
        ("a birth date in the future", with_subject("birthDate", json!("2999-01-01")), "in_future", "birthDate"),
        ("a malformed ID number", with_subject("idNumber", json!("110105194912310021")), "checksum", "idNumber"),
        ("no name", without_subject("fullName"), "required", "fullName"),
        (
            "a property the type does not describe",
            with("evidence", json!([{"type": ["Evidence"]}])),
            "unknown_property",
            "evidence",
        ),
        ("an extra context", with("@context", json!(contexts)), "context_not_of_type", "@context"),
        (
            "a subject id that is not a device key",
            with_subject("id", json!("did:example:ebfeb1f712ebc6f1c276e12ec21")),
            "invalid_holder_key",
            "credentialSubject.id",
        ),
        (
            "validity smuggled in the subject",
            with_subject("validUntil", json!("2099-01-01T00:00:00Z")),
            "unknown_property",
            "credentialSubject.validUntil",
        ),
        ("an id that is not a urn:uuid", with("id", json!("https://clinic.example/1")), "invalid_credential_id", "id"),
    ];
    for (what, credential, code, field) in &cases {
        assert_fields_refused(&app, credential, what, code, field).await;
    }
    // Many subjects, or none: no object to check.
    for (what, subject) in [("two subjects", json!([{}, {}])), ("a string subject", json!("x"))] {
        let credential = with("credentialSubject", subject);
        assert_fields_refused(&app, &credential, what, "invalid_subject", "credentialSubject").await;
    }
}

/// What the VC-API signs for a type of ours is what the domain API signs for
/// the same fields: the ID number as a digest under the department key (which
/// the inspector's ID check matches), enum codes, the holder's device key as
/// the subject id; and it verifies.
#[tokio::test]
async fn vc_api_signs_a_type_of_ours_as_the_domain_api_would() {
    let app = spawn().await;
    let (mut unsigned, domain) = app.domain_credential("health-certificates", &health_request()).await;
    let device = wallet_core::holder::DeviceKey::generate();
    unsigned["credentialSubject"]["id"] = json!(device.did());
    unsigned["credentialSubject"]["examinationResult"] = json!("合格");
    let (status, body) = app.issue(&unsigned).await;
    assert_eq!(status, 201, "{body:#}");
    let vc = &body["verifiableCredential"];
    let subject = vc["credentialSubject"].as_object().unwrap();
    assert_eq!(subject["id"], json!(device.did()), "bound to the device key");
    assert_eq!(subject["examinationResult"], json!("qualified"), "the enum's code, as the domain API writes it");
    assert!(!subject.contains_key("idNumber"), "the plain ID number is never signed: {vc:#}");
    let digest = wallet_core::credential::IdNumberDigest {
        digest: subject["idNumberDigest"].as_str().unwrap().to_owned(),
        salt: subject["idNumberSalt"].as_str().unwrap().to_owned(),
    };
    let key = issuer::config::Settings::for_tests(std::env::temp_dir()).load_id_number_key().unwrap().unwrap();
    let number = wallet_core::credential::IdNumber::parse("11010519491231002X").unwrap();
    assert_eq!(digest.check(&number, &[key]), wallet_core::credential::IdMatch::Matches);
    for same in ["@context", "type", "issuer", "validFrom", "validUntil"] {
        assert_eq!(vc[same], domain[same], "{same}");
    }
    for field in ["fullName", "fullNamePinyin", "sex", "birthDate", "examinationDate", "examiningInstitution"] {
        assert_eq!(subject[field], domain["credentialSubject"][field], "{field}");
    }
    let options = VerifyOptions::at(Utc::now()).with_types(app.types.clone());
    let report = verify_credential(vc, &options).await.unwrap();
    assert_eq!(report.checks.signature, CheckResult::Valid, "{report:#?}");
}
