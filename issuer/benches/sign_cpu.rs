//! The CPU of one issuance (criterion, one thread), beside a raw P-256
//! signature measured in the same run: where the time goes inside signing
//! and the anchoring digest, and what one-pass signing
//! (`wallet_core::one_pass_signing`) saves. The credential is a health
//! certificate as the issuer signs it (with its status entries).
//!
//! ```sh
//! cargo bench --profile dev -p issuer --bench sign_cpu
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // a benchmark: a panic is a failure report

use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use wallet_core::canonical::{canonicalize_with, Budget};
use wallet_core::credential::{CredentialId, IdNumberKey};
use wallet_core::credential_type::TypeRegistry;
use wallet_core::issuance::{sign_credential_anchored, sign_credential_with_ssi};
use wallet_core::keys::IssuerKey;
use wallet_core::signer::IssuerSigner as _;
use wallet_core::transparency::credential_digest_with;

/// The signer `IssuerKey` was before its generator table (#16): the `p256`
/// crate's `SigningKey`, same key, same signatures.
struct CrateSigner {
    key: p256::ecdsa::SigningKey,
    public: p256::PublicKey,
}

impl wallet_core::signer::IssuerSigner for CrateSigner {
    fn public_key(&self) -> p256::PublicKey {
        self.public
    }

    fn sign_es256(&self, message: &[u8]) -> Result<[u8; 64], wallet_core::signer::SignerError> {
        let signature: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(&self.key, message);
        Ok(signature.to_bytes().into())
    }
}

fn unsigned(types: &TypeRegistry, key: &IssuerKey) -> Value {
    let def = types.by_api_path("health-certificates").unwrap();
    let id_key = IdNumberKey::parse(
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/keys/test-id-number.key"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let request = json!({
        "fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
        "idNumber": "11010519491231002X", "examinationDate": "2026-03-12",
        "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified"
    });
    let checked = def.check_request_keyed(&request, Utc::now().date_naive(), Some(&id_key)).unwrap();
    let mut credential = def.to_unsigned_credential(&checked, &CredentialId::generate(), &key.did());
    credential["credentialStatus"] = json!([
        {"id": "https://issuer.example/status/3#94567", "type": "BitstringStatusListEntry", "statusPurpose": "revocation",
         "statusListIndex": "94567", "statusListCredential": "https://issuer.example/status/3"},
        {"id": "https://issuer.example/status/4#23110", "type": "BitstringStatusListEntry", "statusPurpose": "suspension",
         "statusListIndex": "23110", "statusListCredential": "https://issuer.example/status/4"}
    ]);
    credential
}

fn benches(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let types = TypeRegistry::shipped().unwrap();
    let loader = types.loader();
    let key = IssuerKey::generate();
    let unsigned = unsigned(&types, &key);
    let now = Utc::now();
    let signed = runtime.block_on(sign_credential_with_ssi(&types, &unsigned, &key, now)).unwrap();
    let mut proof_config = signed["proof"].clone();
    proof_config.as_object_mut().unwrap().remove("proofValue");
    proof_config["@context"] = signed["@context"].clone();
    let anchored = runtime.block_on(sign_credential_anchored(&types, &unsigned, &key, now)).unwrap();
    assert_eq!(anchored.signed, signed, "one-pass and ssi signatures differ");
    assert_eq!(anchored.digest, runtime.block_on(credential_digest_with(&loader, &signed)).unwrap());

    let mut g = c.benchmark_group("issuance CPU");
    // The same key, signed by the p256 crate (what IssuerKey did before its
    // generator table, #16): the two signatures are the same bytes.
    let reference: p256::ecdsa::SigningKey = {
        use p256::pkcs8::DecodePrivateKey as _;
        p256::SecretKey::from_pkcs8_pem(&key.to_pkcs8_pem().unwrap()).unwrap().into()
    };
    let by_crate: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(&reference, &[7_u8; 64]);
    assert_eq!(key.sign_es256(&[7_u8; 64]).unwrap(), <[u8; 64]>::from(by_crate.to_bytes()));
    g.bench_function("P-256 sign, the p256 crate's SigningKey (before: baseline)", |b| {
        b.iter(|| -> p256::ecdsa::Signature { p256::ecdsa::signature::Signer::sign(&reference, &[7_u8; 64]) })
    });
    g.bench_function("P-256 sign of hashData, IssuerKey (generator table)", |b| b.iter(|| key.sign_es256(&[7_u8; 64])));
    g.bench_function("data-model check (JSON-LD expansion, kept contexts)", |b| {
        b.iter(|| wallet_core::data_model::check_credential_with(&loader, &unsigned).unwrap())
    });
    g.bench_function("canonicalise the unsecured credential (expansion + RDFC)", |b| {
        b.to_async(&runtime).iter(|| canonicalize_with(&loader, &unsigned, Budget::default()))
    });
    g.bench_function("canonicalise the proof configuration", |b| {
        b.to_async(&runtime).iter(|| canonicalize_with(&loader, &proof_config, Budget::default()))
    });
    g.bench_function("anchoring digest (canonicalise the signed credential)", |b| {
        b.to_async(&runtime).iter(|| credential_digest_with(&loader, &signed))
    });
    g.bench_function("before: sign through ssi (check, budget, ssi) + anchoring digest", |b| {
        b.to_async(&runtime).iter(|| async {
            let signed = sign_credential_with_ssi(&types, &unsigned, &key, now).await.unwrap();
            credential_digest_with(&loader, &signed).await.unwrap()
        })
    });
    g.bench_function("after: one-pass sign with its anchoring digest", |b| {
        b.to_async(&runtime).iter(|| sign_credential_anchored(&types, &unsigned, &key, now))
    });
    let crate_signer = CrateSigner { key: reference.clone(), public: key.public_key() };
    let by_crate = runtime.block_on(sign_credential_anchored(&types, &unsigned, &crate_signer, now)).unwrap();
    assert_eq!(by_crate.signed, anchored.signed, "the generator table signs what the p256 crate signs");
    g.bench_function("one-pass sign with its anchoring digest, the p256 crate's signer (before the table)", |b| {
        b.to_async(&runtime).iter(|| sign_credential_anchored(&types, &unsigned, &crate_signer, now))
    });
    g.finish();
}

criterion_group! {
    name = sign_cpu;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = benches
}
criterion_main!(sign_cpu);
