//! Credential types from definition files: the shipped five issue, sign,
//! verify and round-trip through the compact QR form; a new type from a file
//! alone does too (and its new fields are signed); bad files are refused with
//! their reasons.

use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use wallet_core::canonical::canonical_nquads_with;
use wallet_core::compact::{self, CompactError};
use wallet_core::credential::CredentialId;
use wallet_core::credential_type::{Definition, RequestError, TypeRegistry};
use wallet_core::issuance::sign_credential_with;
use wallet_core::keys::IssuerKey;
use wallet_core::verification::{verify_credential, CheckResult, VerifyOptions};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 15).unwrap()
}

pub(crate) fn sample_request(type_name: &str) -> Value {
    match type_name {
        "HealthCertificate" => json!({
            "fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
            "idNumber": "11010519491231002X", "examinationDate": "2026-03-12",
            "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified",
            "occupation": "food-service"
        }),
        "FoodBusinessLicence" => json!({
            "licenceNumber": "JY14401030012345", "licensee": "示例餐饮管理有限公司",
            "unifiedSocialCreditCode": "91350100M000100Y43", "legalRepresentative": "王五",
            "businessAddress": "示例市中山路1号", "businessScope": ["热食类食品制售", "冷食类食品制售"],
            "validFrom": "2026-01-01T00:00:00Z", "validUntil": "2031-01-01T00:00:00Z"
        }),
        "PhysicianPractisingCertificate" => json!({
            "fullName": "张伟", "sex": "M", "birthDate": "1980-02-01", "idNumber": "11010519491231002X",
            "certificateNumber": "110440100001234", "practiceCategory": "clinical", "practiceScope": "内科专业",
            "practiceInstitution": "示例市第一人民医院", "registrationDate": "2025-06-01"
        }),
        "DrivingInstructorLicence" => json!({
            "fullName": "李娜", "sex": "女", "idNumber": "11010519491231002X", "certificateNumber": "JL2025000123",
            "vehicleClass": "C1", "trainingSchool": "示例市安达驾驶培训学校", "issueDate": "2025-09-10"
        }),
        "DogVaccinationCertificate" => json!({
            "ownerName": "陈静", "dogName": "旺财", "breed": "中华田园犬", "dogSex": "male", "birthYear": 2022,
            "microchipNumber": "900123456789012", "vaccine": "rabies", "vaccinationDate": "2026-03-01",
            "vaccinationClinic": "示例市动物疫病预防控制中心"
        }),
        "MedicalInvoice" => json!({
            "invoiceCode": "44010126", "invoiceNumber": "0000123456", "payerName": "欧阳晓燕",
            "payee": "示例市第一人民医院", "visitType": "outpatient", "amountFen": 12345, "issueDate": "2026-03-10"
        }),
        other => panic!("no sample for {other}"),
    }
}

async fn issue(def: &Definition, request: &Value, key: &IssuerKey) -> Value {
    issue_with(&TypeRegistry::default(), def, request, key).await
}

async fn issue_with(types: &TypeRegistry, def: &Definition, request: &Value, key: &IssuerKey) -> Value {
    let checked = def
        .check_request_keyed(request, today(), Some(&crate::id_key()))
        .unwrap_or_else(|e| panic!("{}: {e:?}", def.type_name));
    let unsigned = def.to_unsigned_credential(&checked, &CredentialId::generate(), &key.did());
    sign_credential_with(types, &unsigned, key, Utc.with_ymd_and_hms(2026, 3, 15, 8, 0, 0).unwrap()).await.unwrap()
}

fn at_issue_time() -> VerifyOptions {
    VerifyOptions::at(Utc.with_ymd_and_hms(2026, 3, 16, 0, 0, 0).unwrap())
}

#[tokio::test]
async fn every_shipped_type_issues_verifies_and_round_trips_the_qr_form() {
    let key = IssuerKey::generate();
    let registry = TypeRegistry::shipped().unwrap();
    let names: Vec<_> = registry.definitions().map(|d| d.type_name.as_str()).collect();
    assert_eq!(
        names,
        [
            "HealthCertificate",
            "FoodBusinessLicence",
            "PhysicianPractisingCertificate",
            "DrivingInstructorLicence",
            "DogVaccinationCertificate",
            "MedicalInvoice"
        ]
    );
    for def in registry.definitions() {
        let signed = issue(def, &sample_request(&def.type_name), &key).await;
        let report = verify_credential(&signed, &at_issue_time()).await.unwrap();
        assert_eq!(report.checks.signature, CheckResult::Valid, "{}", def.type_name);
        let qr = compact::encode_credential(&signed).unwrap();
        let back = compact::decode_credential(&qr).unwrap();
        assert_eq!(serde_json::to_string(&back).unwrap(), serde_json::to_string(&signed).unwrap());
        assert_eq!(verify_credential(&back, &at_issue_time()).await.unwrap().checks.signature, CheckResult::Valid);
        // New terms use their definition codes: the type name never appears as text.
        println!(
            "{}: QR text {} characters, CBOR {} bytes",
            def.type_name,
            qr.len(),
            compact::encode_cbor(&signed).unwrap().len()
        );
        assert!(qr.len() < 900, "{}: {} characters", def.type_name, qr.len());
        assert!(!compact::encode_cbor(&signed)
            .unwrap()
            .windows(def.type_name.len())
            .any(|w| w == def.type_name.as_bytes()));
    }
}

#[test]
fn health_certificate_from_its_definition_is_byte_identical_to_the_fixture() {
    // The fixture was made by the hand-written code this definition replaced.
    let fixture: Value =
        serde_json::from_str(include_str!("../../../fixtures/credentials/sample-health-certificate.unsigned.json"))
            .unwrap();
    let def = TypeRegistry::shipped().unwrap().by_type("HealthCertificate").unwrap();
    let mut request = sample_request("HealthCertificate");
    request["validFrom"] = json!("2026-03-15T00:00:00Z");
    let checked = def.check_request_keyed(&request, today(), Some(&crate::id_key())).unwrap();
    let id = CredentialId::parse(fixture["id"].as_str().unwrap()).unwrap();
    let mut from_definition = def.to_unsigned_credential(&checked, &id, fixture["issuer"].as_str().unwrap());
    // The salt is fresh per credential; everything else must match byte for byte.
    for k in ["idNumberDigest", "idNumberSalt"] {
        assert!(from_definition["credentialSubject"][k].as_str().unwrap().starts_with('u'));
        from_definition["credentialSubject"][k] = fixture["credentialSubject"][k].clone();
    }
    let mut expected = fixture.clone();
    expected.as_object_mut().unwrap().shift_remove("credentialStatus");
    assert_eq!(serde_json::to_string(&from_definition).unwrap(), serde_json::to_string(&expected).unwrap());
    assert!(!from_definition.to_string().contains("11010519491231002X"));
}

#[test]
fn health_certificate_defaults_to_one_year_from_the_examination_and_reports_every_bad_field() {
    let def = TypeRegistry::shipped().unwrap().by_type("HealthCertificate").unwrap();
    let checked =
        def.check_request_keyed(&sample_request("HealthCertificate"), today(), Some(&crate::id_key())).unwrap();
    assert_eq!(
        (checked.valid_from.to_rfc3339(), checked.valid_until.to_rfc3339()),
        ("2026-03-12T00:00:00+00:00".into(), "2027-03-11T23:59:59+00:00".into())
    );
    let mut r = sample_request("HealthCertificate");
    r["fullName"] = json!(" ");
    r["sex"] = json!("x");
    r["birthDate"] = json!("1991/07/23");
    r["idNumber"] = json!("110105194912310021");
    r["examinationResult"] = json!("unqualified");
    let Err(RequestError::Fields(errs)) = def.check_request_keyed(&r, today(), Some(&crate::id_key())) else {
        panic!("should fail")
    };
    let fields: Vec<_> = errs.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
    assert_eq!(
        fields,
        [
            ("fullName", "required"),
            ("sex", "invalid_value"),
            ("birthDate", "invalid_date"),
            ("idNumber", "checksum"),
            ("examinationResult", "not_qualified")
        ]
    );
    // validUntil before validFrom.
    let mut r = sample_request("FoodBusinessLicence");
    r["validUntil"] = json!("2025-01-01T00:00:00Z");
    let Err(RequestError::Fields(errs)) = TypeRegistry::shipped()
        .unwrap()
        .by_type("FoodBusinessLicence")
        .unwrap()
        .check_request_keyed(&r, today(), Some(&crate::id_key()))
    else {
        panic!("should fail")
    };
    assert_eq!((errs[0].field.as_str(), errs[0].code.as_str()), ("validUntil", "before_valid_from"));
}

#[test]
fn field_errors_have_stable_codes_and_both_languages() {
    let def = TypeRegistry::shipped().unwrap().by_type("DogVaccinationCertificate").unwrap();
    let mut req = sample_request("DogVaccinationCertificate");
    req["dogName"] = json!(" ");
    req["birthYear"] = json!(1800);
    req["vaccine"] = json!("flu");
    req["vaccinationDate"] = json!("2027-01-01");
    req["microchipNumber"] = json!("90-01");
    let Err(RequestError::Fields(errs)) = def.check_request_keyed(&req, today(), Some(&crate::id_key())) else {
        panic!("should fail")
    };
    let got: Vec<_> = errs.iter().map(|e| (e.field.as_str(), e.code.as_str())).collect();
    assert_eq!(
        got,
        [
            ("dogName", "required"),
            ("birthYear", "out_of_range"),
            ("microchipNumber", "invalid_format"),
            ("vaccine", "invalid_value"),
            ("vaccinationDate", "in_future"),
        ]
    );
    assert!(errs.iter().all(|e| !e.message.zh.is_empty() && !e.message.en.is_empty()));
    assert_eq!(errs[4].message.zh, "免疫日期不能晚于今天");
    // Unknown fields and wrong JSON types are malformed requests, not field errors.
    assert!(
        matches!(def.check_request_keyed(&json!({"colour": "black"}), today(), Some(&crate::id_key())), Err(RequestError::Malformed(m)) if m.contains("colour"))
    );
    assert!(matches!(
        def.check_request_keyed(&json!({"dogName": 5}), today(), Some(&crate::id_key())),
        Err(RequestError::Malformed(_))
    ));
    let hc = TypeRegistry::shipped().unwrap().by_type("HealthCertificate").unwrap();
    let mut req = sample_request("HealthCertificate");
    req["examinationResult"] = json!("unqualified");
    let Err(RequestError::Fields(errs)) = hc.check_request_keyed(&req, today(), Some(&crate::id_key())) else {
        panic!("should fail")
    };
    assert_eq!((errs[0].field.as_str(), errs[0].code.as_str()), ("examinationResult", "not_qualified"));
}

/// A credential type that exists only as a definition file (fixtures/credential-types/).
const BOILER: &str = include_str!("../../../fixtures/credential-types/boiler-operator-certificate.json");

#[tokio::test]
async fn a_type_from_a_file_alone_issues_round_trips_and_its_new_fields_are_signed() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("boiler.json"), BOILER).unwrap();
    let registry = TypeRegistry::load(Some(dir.path())).unwrap();
    let def = registry.by_type("BoilerOperatorCertificate").unwrap();
    // The shipped types alone do not know the codes… (checked on a hand-made
    // CBOR map with key code 2003, as an old inspector would see a new type).
    let unknown = compact::decode_cbor(&[0xa1, 0x39, 0x03, 0xe9, 0x61, 0x78]);
    let unknown = unknown.unwrap_err();
    assert_eq!(unknown, CompactError::UnknownTermCode(2003));
    assert_eq!(unknown.to_string(), "unknown term code 2003 (a credential type this reader has no definition for)");
    // …while the registry that loaded the file does.
    assert_eq!(
        compact::decode_cbor_with(&registry, &[0xa1, 0x39, 0x03, 0xe9, 0x61, 0x78]),
        Ok(json!({"employer": "x"}))
    );

    let key = IssuerKey::generate();
    let request = json!({"fullName": "赵强", "idNumber": "11010519491231002X", "boilerClass": "G1", "yearsOfExperience": 12, "employer": "示例热力公司"});
    let signed = issue_with(&registry, &def, &request, &key).await;
    assert_eq!(signed["@context"][1], "https://w3id.org/ecert/types/boiler-operator-certificate/v1");
    let options = || VerifyOptions::at(Utc::now()).with_types(registry.clone());
    let report = verify_credential(&signed, &options()).await.unwrap();
    assert_eq!(report.checks.signature, CheckResult::Valid);
    // A verifier with the shipped types only does not know its context: not a credential it can check.
    let err = verify_credential(&signed, &VerifyOptions::at(Utc::now())).await.unwrap_err();
    assert_eq!(err.code(), "unknown_context");

    // Every new field is in the canonical N-Quads under its IRI (nothing silently dropped).
    let nquads = canonical_nquads_with(&registry.loader(), &signed).await.unwrap();
    for iri in ["https://example.gov.cn/vocab/boiler#boilerClass", "https://example.gov.cn/vocab/boiler#employer"] {
        assert!(nquads.contains(iri), "{iri} missing from\n{nquads}");
    }
    // Tampering with a new field breaks the signature.
    for (field, value) in [("boilerClass", "G2"), ("employer", "别的公司")] {
        let mut tampered = signed.clone();
        tampered["credentialSubject"][field] = json!(value);
        let report = verify_credential(&tampered, &options()).await.unwrap();
        assert!(
            matches!(report.checks.signature, CheckResult::Invalid { .. }),
            "{field}: {:?}",
            report.checks.signature
        );
    }

    // The compact form uses the file's codes and round-trips; the decoded credential verifies.
    let qr = compact::encode_credential_with(&registry, &signed).unwrap();
    let back = compact::decode_credential_with(&registry, &qr).unwrap();
    assert_eq!(back, signed);
    let cbor = compact::encode_cbor_with(&registry, &signed).unwrap();
    assert!(!cbor.windows(8).any(|w| w == b"employer"), "the key is coded, not written out");
    assert!(verify_credential(&back, &options()).await.unwrap().verified);
    // Without the definition the QR text does not decode.
    assert_eq!(compact::decode_credential(&qr).map_err(|e| e.code()), Err("unknown_term_code"));

    // Display follows the definition: labels, enum labels, print/qr flags; no ID digest.
    let shown = def.display_fields(&signed);
    let names: Vec<_> = shown.iter().map(|f| (f.name.as_str(), f.value.zh.as_str(), f.print, f.qr)).collect();
    assert_eq!(
        names,
        [
            ("fullName", "赵强", true, true),
            ("boilerClass", "工业锅炉司炉", true, true),
            ("yearsOfExperience", "12", true, true),
            ("employer", "示例热力公司", false, false)
        ]
    );
}

fn refused(files: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let err = TypeRegistry::load(Some(dir.path())).expect_err("should be refused");
    err.to_string()
}

fn boiler_with(edit: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(BOILER).unwrap();
    edit(&mut v);
    v.to_string()
}

#[test]
fn bad_definition_files_are_refused_with_their_reasons() {
    let cases: Vec<(String, &str)> = vec![
        (
            boiler_with(|v| v["fields"][2]["type"] = json!("colour")),
            "field \"boilerClass\": unknown field type \"colour\"",
        ),
        (boiler_with(|v| v["fields"][3]["name"] = json!("fullName")), "field \"fullName\": duplicate field name"),
        (boiler_with(|v| v["fields"][4]["code"] = json!(2002)), "field \"employer\": duplicate code 2002"),
        (boiler_with(|v| v["fields"][2]["label"]["en"] = json!("")), "field \"boilerClass\": the label has no en text"),
        (boiler_with(|v| v["fields"][2]["label"] = json!({"zh": "作业项目"})), "missing field `en`"),
        (boiler_with(|v| v["name"]["zh"] = json!(" ")), "name has no zh text"),
        (
            boiler_with(|v| v["fields"][4]["iri"] = json!("not an iri")),
            "field \"employer\": iri: \"not an iri\" is not an absolute IRI",
        ),
        (boiler_with(|v| v["type"] = json!("VerifiableCredential")), "is a built-in VC type"),
        (
            boiler_with(|v| v["type"] = json!("HealthCertificate")),
            "the type \"HealthCertificate\" already has a code in term table 1",
        ),
        (
            boiler_with(|v| v["type"] = json!("DogVaccinationCertificate")),
            "type DogVaccinationCertificate clashes with a shipped or earlier definition",
        ),
        (
            boiler_with(|v| v["apiPath"] = json!("licences")),
            "apiPath \"licences\" is already used by shipped:food-business-licence.json",
        ),
        (
            boiler_with(|v| v["fields"][2]["code"] = json!(1003)),
            "field \"boilerClass\": duplicate code 1003: already the code of the term \"practiceCategory\"",
        ),
        (boiler_with(|v| v["fields"][2]["code"] = json!(17)), "outside the definition range"),
        (
            boiler_with(|v| {
                v["fields"][2].as_object_mut().unwrap().remove("code");
            }),
            "field \"boilerClass\": needs a compact-QR code",
        ),
        (
            boiler_with(|v| v["fields"][0]["code"] = json!(2009)),
            "field \"fullName\": code: the name already has a code in term table 1",
        ),
        (boiler_with(|v| v["fields"][2]["print"] = json!("yes")), "invalid type"),
        (boiler_with(|v| v["fields"][2]["printOnCard"] = json!(true)), "unknown field `printOnCard`"),
        (boiler_with(|v| v["fields"][3]["name"] = json!("id")), "field \"id\": the name is reserved"),
        (boiler_with(|v| v["fields"][1]["type"] = json!("text")), "field \"idNumber\": a text field needs maxLength"),
        (boiler_with(|v| v["validity"]["fromDefault"] = json!("employer")), "validity.fromDefault \"employer\""),
        (boiler_with(|v| v["issuingDepartments"] = json!([])), "issuingDepartments is empty"),
        (boiler_with(|v| v["jsonLd"]["context"] = json!("https://w3id.org/ecert/v1")), "is a bundled context"),
        (
            boiler_with(|v| v["jsonLd"] = json!({"context": "https://w3id.org/ecert/v1", "bundled": true})),
            "the bundled context https://w3id.org/ecert/v1 does not define the type",
        ),
        (boiler_with(|v| v["valueCodes"]["context"] = json!(2000)), "have the same code"),
        // Enum value codes: in the definition range, unique, not a field's, not another definition's.
        (boiler_with(|v| v["fields"][2]["values"][0]["valueCode"] = json!(999)), "valueCode 999 is outside"),
        (boiler_with(|v| v["fields"][2]["values"][0]["valueCode"] = json!(2001)), "have the same code"),
        (boiler_with(|v| v["fields"][2]["values"][0]["valueCode"] = json!(2003)), "code 2003 is also a field's code"),
        (
            boiler_with(|v| v["fields"][2]["values"][0]["valueCode"] = json!(1007)),
            "valueCodes: duplicate code 1007: already the code of \"clinical\"",
        ),
        (
            boiler_with(|v| {
                v["jsonLd"]["context"] = json!("https://w3id.org/ecert/types/physician-practising-certificate/v1")
            }),
            "already used by shipped:physician-practising-certificate.json",
        ),
        ("{ not json".to_owned(), "not a definition"),
    ];
    for (text, expected) in cases {
        let message = refused(&[("boiler.json", &text)]);
        assert!(message.contains("boiler.json"), "names the file: {message}");
        assert!(message.contains(expected), "expected {expected:?} in {message:?}");
    }
    // Two extra files that clash with each other: the second is named.
    let other = boiler_with(|v| {
        v["type"] = json!("CraneOperatorCertificate");
        v["apiPath"] = json!("crane-operator-certificates");
        v["jsonLd"]["context"] = json!("https://w3id.org/ecert/types/crane/v1");
        v["valueCodes"] = json!({"typeName": 2100, "context": 2101});
        v["fields"][2]["code"] = json!(2102);
        v["fields"][4]["code"] = json!(2002);
    });
    let message = refused(&[("a-boiler.json", BOILER), ("b-crane.json", &other)]);
    assert!(
        message.contains("b-crane.json")
            && message.contains("field \"boilerClass\": the term already has the code 2002 in another definition"),
        "{message}"
    );
    // A directory that does not exist.
    assert!(TypeRegistry::load(Some(std::path::Path::new("/nonexistent/types")))
        .unwrap_err()
        .to_string()
        .contains("/nonexistent/types"));
}
