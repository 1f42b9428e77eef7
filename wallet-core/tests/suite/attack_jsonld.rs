//! Attacks on JSON-LD: what the JSON shows against what the signed RDF says.
//! An RDF-signed credential's `@context` is not signed, only its effect, so
//! every trick here edits contexts or keys of a P-256-signed health
//! certificate and expects the verdict not to be valid, naming why.

use serde_json::{json, Value};
use wallet_core::credential::HEALTH_CERTIFICATE_TYPE;
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::trust::{TrustAlgorithm, TrustKey};
use wallet_core::verification::{verify_credential, CheckResult, VerifyOptions};

use crate::attack_common::*;

fn p256_of(key: &TrustKey) -> IssuerKey {
    match key {
        TrustKey::P256(k) => k.clone(),
        TrustKey::Sm2(_) => panic!("not P-256"),
    }
}

async fn signed() -> (IssuerKey, Value) {
    let key = IssuerKey::generate();
    let vc = sign_credential(&unsigned(&key.did()), &key, signed_at()).await.unwrap();
    (key, vc)
}

fn options() -> VerifyOptions {
    VerifyOptions::at(now())
}

/// The verdict's code for `vc`: `Err(code)` when it is not a credential at
/// all, `Ok(signature code)` otherwise; `Ok(None)` means the signature held.
async fn outcome(vc: &Value) -> Result<Option<String>, String> {
    match verify_credential(vc, &options()).await {
        Ok(report) => {
            if report.checks.signature.is_valid() {
                assert!(report.checks.signature == CheckResult::Valid);
            }
            Ok(report.checks.signature.invalid_code().map(str::to_owned))
        }
        Err(e) => Err(e.code().to_owned()),
    }
}

fn with_inline_context(vc: &Value, context: Value) -> Value {
    let mut vc = vc.clone();
    vc["@context"].as_array_mut().unwrap().push(context);
    vc
}

/// A health certificate bound to `holder`'s key, signed by a fresh issuer key.
async fn holder_bound(holder: &IssuerKey) -> (IssuerKey, Value) {
    let issuer = IssuerKey::generate();
    let mut doc = unsigned(&issuer.did());
    doc["credentialSubject"]["id"] = json!(holder.did());
    let vc = sign_credential(&doc, &issuer, signed_at()).await.unwrap();
    (issuer, vc)
}

/// `vc` in a presentation signed by `presenter` over the inspector's
/// challenge, as verified: and the one credential's own report.
async fn presented_by(
    presenter: &IssuerKey,
    vc: Value,
) -> (wallet_core::verification::PresentationReport, wallet_core::verification::VerificationReport) {
    let vp = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [vc],
    });
    let vp = wallet_core::issuance::sign_presentation(
        &vp,
        presenter,
        now() - chrono::Duration::minutes(1),
        Some("c-1"),
        Some("inspector.example"),
        wallet_core::issuance::PresentationPurpose::Authentication,
    )
    .await
    .unwrap();
    let report =
        wallet_core::verification::verify_presentation(&vp, &options(), Some("c-1"), Some("inspector.example"))
            .await
            .unwrap();
    let inner = match &report.credentials[0] {
        wallet_core::verification::CredentialOutcome::Report(r) => (**r).clone(),
        other => panic!("{other:?}"),
    };
    (report, inner)
}

/// The JSON `type` names a credential type the signed RDF does not: an
/// inline context maps another registered type's name to the IRI of the
/// signed one. The signature alone holds (same RDF); the verdict must not.
#[tokio::test]
async fn attack_an_inline_context_renaming_the_credential_type_is_refused() {
    let pki = Pki::department();
    let clinic = TrustKey::generate(TrustAlgorithm::P256);
    // A clinic certified for both kinds (what makes the renaming worth it).
    let cert = pki.certify(&clinic, &[HEALTH_CERTIFICATE_TYPE, "DogVaccinationCertificate"], &usual_window(), &[0x21]);
    let options = inspector(pki.store(vec![cert], &[]));
    let key = p256_of(&clinic);
    let vc = sign_credential(&unsigned(&key.did()), &key, signed_at()).await.unwrap();
    assert!(verify_credential(&vc, &options).await.unwrap().verified);
    let mut renamed = with_inline_context(
        &vc,
        json!({"DogVaccinationCertificate": "https://w3id.org/ecert/vocab#HealthCertificate"}),
    );
    renamed["type"] = json!(["VerifiableCredential", "DogVaccinationCertificate"]);
    let report = verify_credential(&renamed, &options).await.unwrap();
    assert!(!report.verified, "shown as {:?}: {report:#?}", report.types);
    assert_invalid(&report.checks.signature, "type_term_redefined");
    // Without trust (VC-API): still not a valid signature for what the JSON says.
    let report = verify_credential(&renamed, &VerifyOptions::at(now())).await.unwrap();
    assert!(!report.verified);
    assert_invalid(&report.checks.signature, "type_term_redefined");
}

#[tokio::test]
async fn attack_an_inline_context_defining_a_registered_type_inside_the_subject_is_refused() {
    let (_, vc) = signed().await;
    let mut nested = vc.clone();
    nested["credentialSubject"]["@context"] =
        json!({"FoodBusinessLicence": "https://w3id.org/ecert/vocab#HealthCertificate"});
    assert!(outcome(&nested).await != Ok(None), "a nested context renaming a type");
}

#[tokio::test]
async fn attack_a_protected_term_redefined_inline_is_refused() {
    let (_, vc) = signed().await;
    // Swap the meanings of two subject properties (so the values swap on screen).
    let swapped = with_inline_context(
        &vc,
        json!({"fullName": "https://w3id.org/ecert/vocab#fullNamePinyin",
               "fullNamePinyin": "https://w3id.org/ecert/vocab#fullName"}),
    );
    assert_eq!(outcome(&swapped).await, Err("redefined_protected_term".to_owned()));
    // The same from a context inside the subject.
    let mut nested = vc.clone();
    nested["credentialSubject"]["@context"] = json!({"fullName": "https://w3id.org/ecert/vocab#fullNamePinyin"});
    let result = outcome(&nested).await;
    assert!(result == Err("redefined_protected_term".to_owned()) || matches!(result, Ok(Some(_))), "{result:?}");
    assert_ne!(result, Ok(None));
}

#[tokio::test]
async fn attack_a_vocab_injected_claim_is_not_signed() {
    let (_, vc) = signed().await;
    // @vocab injection so an extra claim expands, then the claim.
    let mut injected = with_inline_context(&vc, json!({"@vocab": "https://w3id.org/ecert/vocab#"}));
    injected["credentialSubject"]["approvedBy"] = json!("国家卫生健康委员会");
    assert_eq!(outcome(&injected).await, Ok(Some("bad_signature".to_owned())));
    // An undefined term without a context of its own (the base context's issuer-dependent @vocab).
    let mut undefined = vc.clone();
    undefined["credentialSubject"]["approvedBy"] = json!("国家卫生健康委员会");
    assert_ne!(outcome(&undefined).await, Ok(None));
}

#[tokio::test]
async fn attack_claims_dropped_by_expansion_are_refused() {
    let (_, vc) = signed().await;
    // A key shaped like a keyword is ignored by JSON-LD expansion: it would be shown but not signed.
    let mut at_key = vc.clone();
    at_key["credentialSubject"]["@examinationResult"] = json!("qualified-with-honours");
    assert_ne!(outcome(&at_key).await, Ok(None), "an @-key claim");
    // A term aliased to nothing (null mapping) drops its value.
    let mut nulled = with_inline_context(&vc, json!({"remark": null}));
    nulled["credentialSubject"]["remark"] = json!("免检");
    assert_ne!(outcome(&nulled).await, Ok(None), "a null-mapped term");
}

/// `kind` aliased to `@type` carries the real type; `type` shows only the
/// base one. Same RDF, so the signature alone holds; the JSON every check
/// and screen reads no longer names what was signed. Refused whether trust
/// is required (inspectors) or not (VC-API).
#[tokio::test]
async fn attack_a_type_alias_hiding_the_credential_type_from_the_json() {
    let pki = Pki::department();
    let clinic = TrustKey::generate(TrustAlgorithm::P256);
    let cert = pki.certify(&clinic, &[HEALTH_CERTIFICATE_TYPE], &usual_window(), &[0x22]);
    let options = inspector(pki.store(vec![cert], &[]));
    let key = p256_of(&clinic);
    let vc = sign_credential(&unsigned(&key.did()), &key, signed_at()).await.unwrap();
    let mut aliased = with_inline_context(&vc, json!({"kind": "@type"}));
    aliased["type"] = json!(["VerifiableCredential"]);
    aliased["kind"] = json!("HealthCertificate");
    for options in [options, VerifyOptions::at(now())] {
        let report = verify_credential(&aliased, &options).await.unwrap();
        assert_refused(&report, signature, "keyword_alias");
    }
    // Spelled as an expanded term definition, and inside the subject.
    let mut expanded = with_inline_context(&vc, json!({"kind": {"@id": "@type"}}));
    expanded["type"] = json!(["VerifiableCredential"]);
    expanded["kind"] = json!("HealthCertificate");
    assert_eq!(outcome(&expanded).await, Ok(Some("keyword_alias".to_owned())));
    let mut nested = vc.clone();
    nested["credentialSubject"]["@context"] = json!({"label": "@value"});
    assert_eq!(outcome(&nested).await, Ok(Some("keyword_alias".to_owned())));
}

/// A holder-bound credential whose subject `id` is moved to an alias of
/// `@id`: the signed RDF still names the holder's key, but the JSON subject
/// has no `id`, so the credential reads as unbound and anyone's presentation
/// of it passes.
#[tokio::test]
async fn attack_an_id_alias_cannot_unbind_a_holder_bound_credential() {
    let holder = IssuerKey::generate();
    let mallory = IssuerKey::generate();
    let (_, vc) = holder_bound(&holder).await;
    let mut unbound = with_inline_context(&vc, json!({"subjectRef": "@id"}));
    let subject = unbound["credentialSubject"].as_object_mut().unwrap();
    let id = subject.remove("id").unwrap();
    subject.insert("subjectRef".into(), id);
    // As signed: mallory is not the subject.
    let (report, inner) = presented_by(&mallory, vc.clone()).await;
    assert!(!report.verified);
    assert_invalid(&inner.checks.holder_binding, "presentation_not_by_subject");
    // With the alias: refused for the alias.
    let (report, inner) = presented_by(&mallory, unbound).await;
    assert!(!report.verified, "{report:#?}");
    assert_invalid(&inner.checks.signature, "keyword_alias");
}

#[tokio::test]
async fn attack_relative_ids_and_unknown_contexts_are_not_credentials() {
    let (_, vc) = signed().await;
    let mut relative = vc.clone();
    relative["credentialSubject"]["id"] = json!("patients/42");
    assert!(outcome(&relative).await.is_err() || outcome(&relative).await != Ok(None));
    let unknown = with_inline_context(&vc, json!("https://evil.example/context.jsonld"));
    assert_eq!(outcome(&unknown).await, Err("unknown_context".to_owned()));
    let mut base = with_inline_context(&vc, json!({"@base": "https://evil.example/"}));
    base["credentialSubject"]["id"] = json!("patients/42");
    assert_ne!(outcome(&base).await, Ok(None));
}

#[tokio::test]
async fn attack_a_json_literal_claim_is_not_signed() {
    let (_, vc) = signed().await;
    let mut literal =
        with_inline_context(&vc, json!({"extra": {"@id": "https://example.org/vocab#extra", "@type": "@json"}}));
    literal["credentialSubject"]["extra"] = json!({"examinationResult": "qualified"});
    assert_eq!(outcome(&literal).await, Ok(Some("bad_signature".to_owned())));
}

/// Duplicate JSON keys: the parser keeps one value, and the signature is
/// checked over exactly the document the verifier shows.
#[tokio::test]
async fn attack_duplicate_json_keys_verify_what_is_shown() {
    let (_, vc) = signed().await;
    let text = serde_json::to_string(&vc).unwrap();
    let needle = "\"fullName\":\"欧阳晓燕\"";
    assert!(text.contains(needle));
    for (forged, expect_valid) in
        [(format!("{needle},\"fullName\":\"王五\""), false), (format!("\"fullName\":\"王五\",{needle}"), true)]
    {
        let doc = wallet_core::canonical::parse_document(text.replacen(needle, &forged, 1).as_bytes());
        let doc = doc.unwrap();
        let shown = doc["credentialSubject"]["fullName"].as_str().unwrap().to_owned();
        let result = outcome(&doc).await;
        if expect_valid {
            assert_eq!(result, Ok(None));
            assert_eq!(shown, "欧阳晓燕", "a valid verdict shows the signed name");
        } else {
            assert_eq!(result, Ok(Some("bad_signature".to_owned())), "shown {shown}");
        }
    }
}

/// A keyword written out where the checks read its alias (`"@id"` for the
/// subject's `id`), or one that moves members out of where the checks look
/// (`@nest`, `@set`): expansion gives the same RDF, so the signature alone
/// holds (ssi's own check says so for every variant below), while the JSON
/// would read as unbound (anyone's presentation passes), as carrying no
/// status entry (a revoked credential green), as never expiring, or as
/// another credential (two copies of one single-use invoice). Refused as
/// `keyword_member`.
#[tokio::test]
async fn attack_keywords_written_out_cannot_hide_what_the_checks_read() {
    let holder = IssuerKey::generate();
    let mallory = IssuerKey::generate();
    let (issuer, vc) = holder_bound(&holder).await;
    assert_eq!(outcome(&vc).await, Ok(None));
    let moved = |path: &[&str], key: &str, wrap: &dyn Fn(Value) -> Value| {
        let mut variant = vc.clone();
        let mut object = &mut variant;
        for step in path {
            object = &mut object[*step];
        }
        let object = object.as_object_mut().unwrap();
        let value = object.remove(key).unwrap();
        let (new_key, new_value) = match wrap(value) {
            Value::Object(single) => single.into_iter().next().unwrap(),
            other => panic!("{other}"),
        };
        object.insert(new_key, new_value);
        variant
    };
    let mut set_subject = vc.clone();
    set_subject["credentialSubject"] = json!({"@set": [vc["credentialSubject"].clone()]});
    let variants = [
        ("the subject's id as @id", moved(&["credentialSubject"], "id", &|id| json!({"@id": id}))),
        ("the subject's id under @nest", moved(&["credentialSubject"], "id", &|id| json!({"@nest": {"id": id}}))),
        (
            "the status entries under @nest",
            moved(&[], "credentialStatus", &|s| json!({"@nest": {"credentialStatus": s}})),
        ),
        ("validUntil under @nest", moved(&[], "validUntil", &|v| json!({"@nest": {"validUntil": v}}))),
        ("the credential's id as @id", moved(&[], "id", &|id| json!({"@id": id}))),
        ("the subject in @set", set_subject),
    ];
    for (what, variant) in &variants {
        assert!(wallet_core::ecdsa_rdfc_2019::verify_with_ssi(variant, now()).await, "{what}: the signed RDF changed");
        assert_eq!(outcome(variant).await, Ok(Some("keyword_member".to_owned())), "{what}");
    }
    // The unbound-looking copy inside mallory's presentation.
    let (report, inner) = presented_by(&mallory, variants[0].1.clone()).await;
    assert!(!report.verified, "{report:#?}");
    assert_invalid(&inner.checks.signature, "keyword_member");
    // A language-tagged value object (VC 2.0 names: `@value`, `@language`,
    // `@direction`) is not a keyword member.
    let text = std::fs::read_to_string(format!(
        "{FIXTURES}/vcdm2/names-and-descriptions/credential-name-language-direction-en-ok.json"
    ))
    .unwrap();
    let mut named: Value = serde_json::from_str(&text).unwrap();
    named["issuer"] = json!(issuer.did());
    named["name"] = json!([named["name"].clone(), {"@value": "健康证明", "@language": "zh"}]);
    let named = sign_credential(&named, &issuer, signed_at()).await.unwrap();
    assert_eq!(outcome(&named).await, Ok(None));
}

/// Attack review 3: an inline term usable as a prefix writes the holder's
/// `did:key` as `k:zDn…`, signed as `did:key:zDn…` but read as no `did:key`
/// (the credential looks unbound, anyone's presentation passes); an inline
/// term with the IRI of `credentialStatus` carries the status entries under
/// another name, signed and unseen by the status check. The same RDF each
/// time: ssi's own signature check holds for every variant.
#[tokio::test]
async fn attack_prefix_terms_and_second_names_cannot_hide_what_the_checks_read() {
    let holder = IssuerKey::generate();
    let mallory = IssuerKey::generate();
    let (_, vc) = holder_bound(&holder).await;
    let did = holder.did();
    let suffix = did.strip_prefix("did:key:").unwrap();
    let mut prefixed = with_inline_context(&vc, json!({"k": "did:key:"}));
    prefixed["credentialSubject"]["id"] = json!(format!("k:{suffix}"));
    let mut explicit = with_inline_context(&vc, json!({"dk": {"@id": "did:ke", "@prefix": true}}));
    explicit["credentialSubject"]["id"] = json!(format!("dk:y:{suffix}"));
    let mut renamed = with_inline_context(
        &vc,
        json!({"cs": {"@id": "https://www.w3.org/2018/credentials#credentialStatus", "@type": "@id"}}),
    );
    let status = renamed.as_object_mut().unwrap().remove("credentialStatus").unwrap();
    renamed["cs"] = status;
    for (what, variant, code) in [
        ("a prefix term", &prefixed, "prefix_term"),
        ("an explicit @prefix", &explicit, "prefix_term"),
        ("a second name for credentialStatus", &renamed, "signed_term_alias"),
    ] {
        assert!(wallet_core::ecdsa_rdfc_2019::verify_with_ssi(variant, now()).await, "{what}: the signed RDF changed");
        assert_eq!(outcome(variant).await, Ok(Some(code.to_owned())), "{what}");
    }
    let (report, inner) = presented_by(&mallory, prefixed).await;
    assert!(!report.verified, "{report:#?}");
    assert_invalid(&inner.checks.signature, "prefix_term");
    // A second name for a class (as the W3C input credential-proof-ok.json
    // defines inline) hides no member: not refused.
    let class =
        with_inline_context(&vc, json!({"Ed25519Signature2020": "https://w3id.org/security#Ed25519Signature2020"}));
    assert_eq!(outcome(&class).await, Ok(None));
}
