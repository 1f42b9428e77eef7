//! Department trust with SM2/SM3 (GM/T 0015 certificates, SM2 CRLs, trust
//! lists signed by an SM2 root), mixed with P-256, and cross-checked with
//! OpenSSL 3 both ways. Everything is generated at test time.

use std::path::Path;
use std::process::Command;

use chrono::{DateTime, Duration, Utc};
use der::{Decode as _, Encode as _};
use wallet_core::credential::HEALTH_CERTIFICATE_TYPE;
use wallet_core::sm2_rdfc_2026::Sm2IssuerKey;
use wallet_core::trust::{
    build_trust_list, certificate_pem_to_der, create_crl, create_csr, create_root, crl_der_to_pem, decrypt_trust_key,
    encrypt_private_key, issue_certificate, random_serial, summarize_certificate, CertificateValidity, DepartmentName,
    IssuerTrustFailureCode, RevocationEntry, RevocationReason, TrustAlgorithm, TrustKey, TrustList, TrustListContents,
    TrustListError, TrustStore,
};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("test time").with_timezone(&Utc)
}

fn window(from: &str, to: &str) -> CertificateValidity {
    CertificateValidity { not_before: at(from), not_after: at(to) }
}

const CLINIC_USCI: &str = "12110000MB0000001U";
const LIST_ISSUED: &str = "2026-06-01T00:00:00Z";
const SIGNED: &str = "2026-03-01T08:00:00Z";

fn now() -> DateTime<Utc> {
    at(LIST_ISSUED) + Duration::hours(1)
}

struct Root {
    key: TrustKey,
    pem: String,
    der: Vec<u8>,
}

fn root(algorithm: TrustAlgorithm, organization: &str) -> Root {
    let key = TrustKey::generate(algorithm);
    let pem = create_root(
        &DepartmentName { organization: organization.into(), common_name: format!("{organization}根证书") },
        &window("2025-01-01T00:00:00Z", "2045-01-01T00:00:00Z"),
        &key,
    )
    .expect("root");
    let der = certificate_pem_to_der(&pem).expect("der");
    Root { key, pem, der }
}

struct Clinic {
    key: TrustKey,
    pem: String,
    der: Vec<u8>,
    serial: Vec<u8>,
}

fn clinic(root: &Root, algorithm: TrustAlgorithm) -> Clinic {
    let key = TrustKey::generate(algorithm);
    let csr = create_csr(&key, "示例市第一人民医院", CLINIC_USCI, &key.did()).expect("csr");
    let serial = random_serial();
    let pem = issue_certificate(
        &csr,
        &root.pem,
        &root.key,
        &[HEALTH_CERTIFICATE_TYPE],
        &window("2026-01-01T00:00:00Z", "2028-01-01T00:00:00Z"),
        &serial,
    )
    .expect("issue");
    let der = certificate_pem_to_der(&pem).expect("der");
    Clinic { key, pem, der, serial }
}

fn crl(root: &Root, entries: &[RevocationEntry]) -> Vec<u8> {
    let this_update = at("2026-05-31T00:00:00Z");
    create_crl(&root.pem, &root.key, entries, this_update, this_update + Duration::days(30)).expect("crl")
}

fn list(roots: &[&Root], certificates: &[&[u8]], crls: Vec<Vec<u8>>, signer: &Root) -> Vec<u8> {
    let contents = TrustListContents {
        sequence: 1,
        issued_at: at(LIST_ISSUED),
        next_update: at(LIST_ISSUED) + Duration::days(2),
        roots: roots.iter().map(|r| r.der.clone()).collect(),
        issuer_certificates: certificates.iter().map(|c| c.to_vec()).collect(),
        crls,
    };
    build_trust_list(&contents, &signer.key, std::slice::from_ref(&signer.der)).expect("trust list")
}

fn load(list: &[u8], configured: &[&[u8]]) -> Result<TrustStore, TrustListError> {
    TrustList::load(list, configured, now(), Duration::days(1))
}

fn health() -> Vec<String> {
    vec!["VerifiableCredential".into(), HEALTH_CERTIFICATE_TYPE.into()]
}

fn assess(store: &TrustStore, did: &str) -> Result<(), IssuerTrustFailureCode> {
    store.assess_issuer(did, &health(), at(SIGNED)).map(|_| ()).map_err(|f| f.code)
}

/// Replace every occurrence of `from` by `to` (same length) in `der`.
fn relabel(der: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = der.to_vec();
    let mut replaced = 0;
    let mut i = 0;
    while i + from.len() <= out.len() {
        if out[i..i + from.len()] == *from {
            out[i..i + from.len()].copy_from_slice(to);
            replaced += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(replaced > 0, "nothing to relabel");
    out
}

// DER of the OBJECT IDENTIFIERs involved.
const SM2_WITH_SM3: &[u8] = &[0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x83, 0x75];
const ECDSA_WITH_SHA256: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
const SM2_CURVE: &[u8] = &[0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x82, 0x2d];
const P256_CURVE: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

// ---------------------------------------------------------------- chains

#[test]
fn sm2_root_sm2_clinic_sm2_crl_sm2_trust_list_is_trusted() {
    let department = root(TrustAlgorithm::Sm2, "示例市卫生健康委员会");
    let clinic = clinic(&department, TrustAlgorithm::Sm2);
    assert!(clinic.key.did().starts_with("did:key:z"));
    let summary = summarize_certificate(&clinic.der).expect("summary");
    assert_eq!(summary.did.as_deref(), Some(clinic.key.did().as_str()));
    let bytes = list(&[&department], &[&clinic.der], vec![crl(&department, &[])], &department);
    let header = String::from_utf8_lossy(&bytes).to_string();
    assert!(header.contains("protected"), "{header}");
    let store = load(&bytes, &[&department.der]).expect("an SM2-signed trust list loads");
    assert!(store.warnings().is_empty(), "{:?}", store.warnings());
    assert_eq!(assess(&store, &clinic.key.did()), Ok(()));
    let method = format!("{}#{}", clinic.key.did(), clinic.key.did().trim_start_matches("did:key:"));
    assert_eq!(assess(&store, &method), Ok(()));
}

#[test]
fn mixed_chains_trust_by_the_root_and_the_key_not_the_algorithm() {
    let sm2_root = root(TrustAlgorithm::Sm2, "国密根");
    let p256_root = root(TrustAlgorithm::P256, "P-256根");
    let p256_under_sm2 = clinic(&sm2_root, TrustAlgorithm::P256);
    let sm2_under_p256 = clinic(&p256_root, TrustAlgorithm::Sm2);
    let bytes = list(
        &[&sm2_root, &p256_root],
        &[&p256_under_sm2.der, &sm2_under_p256.der],
        vec![crl(&sm2_root, &[]), crl(&p256_root, &[])],
        &p256_root,
    );
    let store = load(&bytes, &[&sm2_root.der, &p256_root.der]).expect("loads");
    assert_eq!(assess(&store, &p256_under_sm2.key.did()), Ok(()));
    assert_eq!(assess(&store, &sm2_under_p256.key.did()), Ok(()));
    // Only the SM2 root configured: the P-256 root's clinic is not trusted.
    let bytes = list(&[&sm2_root], &[&p256_under_sm2.der, &sm2_under_p256.der], vec![crl(&sm2_root, &[])], &sm2_root);
    let store = load(&bytes, &[&sm2_root.der]).expect("loads");
    assert_eq!(assess(&store, &p256_under_sm2.key.did()), Ok(()));
    assert_eq!(assess(&store, &sm2_under_p256.key.did()), Err(IssuerTrustFailureCode::UntrustedRoot));
}

#[test]
fn revoked_sm2_clinic_is_refused_by_the_sm2_crl() {
    let department = root(TrustAlgorithm::Sm2, "示例市卫生健康委员会");
    let clinic = clinic(&department, TrustAlgorithm::Sm2);
    let revoking = crl(
        &department,
        &[RevocationEntry {
            serial: clinic.serial.clone(),
            revoked_at: at("2026-02-01T00:00:00Z"),
            reason: RevocationReason::KeyCompromise,
            invalidity_date: Some(at("2026-01-15T00:00:00Z")),
        }],
    );
    let store =
        load(&list(&[&department], &[&clinic.der], vec![revoking], &department), &[&department.der]).expect("loads");
    assert_eq!(assess(&store, &clinic.key.did()), Err(IssuerTrustFailureCode::IssuerRevoked));
}

// ---------------------------------------------------------------- refusals

#[test]
fn sm2_signatures_relabelled_as_ecdsa_are_refused() {
    let department = root(TrustAlgorithm::Sm2, "国密根");
    let clinic = clinic(&department, TrustAlgorithm::Sm2);
    // The clinic certificate claims ecdsa-with-SHA256 (inside and outside)
    // for the SM2 root's signature: no P-256 key to check it with, refused.
    let relabelled = relabel(&clinic.der, SM2_WITH_SM3, ECDSA_WITH_SHA256);
    let store =
        load(&list(&[&department], &[&relabelled], vec![crl(&department, &[])], &department), &[&department.der])
            .expect("loads");
    assert_eq!(assess(&store, &clinic.key.did()), Err(IssuerTrustFailureCode::UntrustedRoot));

    // Only the outer algorithm changed: malformed, left out.
    let outer_only = {
        let mut der = clinic.der.clone();
        let position = der.windows(SM2_WITH_SM3.len()).rposition(|w| w == SM2_WITH_SM3).expect("outer oid");
        der[position..position + SM2_WITH_SM3.len()].copy_from_slice(ECDSA_WITH_SHA256);
        der
    };
    assert!(summarize_certificate(&outer_only).is_err());

    // A CRL relabelled as ECDSA does not verify with the SM2 root.
    let crl_relabelled = relabel(&crl(&department, &[]), SM2_WITH_SM3, ECDSA_WITH_SHA256);
    let error = load(&list(&[&department], &[&clinic.der], vec![crl_relabelled], &department), &[&department.der])
        .expect_err("refused");
    assert!(matches!(error, TrustListError::InvalidCrl(_)), "{error:?}");
}

#[test]
fn a_p256_root_cannot_be_verified_as_sm2() {
    let department = root(TrustAlgorithm::P256, "P-256根");
    let clinic = clinic(&department, TrustAlgorithm::Sm2);
    let relabelled = relabel(&clinic.der, ECDSA_WITH_SHA256, SM2_WITH_SM3);
    let store =
        load(&list(&[&department], &[&relabelled], vec![crl(&department, &[])], &department), &[&department.der])
            .expect("loads");
    assert_eq!(assess(&store, &clinic.key.did()), Err(IssuerTrustFailureCode::UntrustedRoot));
    let crl_relabelled = relabel(&crl(&department, &[]), ECDSA_WITH_SHA256, SM2_WITH_SM3);
    let error = load(&list(&[&department], &[&clinic.der], vec![crl_relabelled], &department), &[&department.der])
        .expect_err("refused");
    assert!(matches!(error, TrustListError::InvalidCrl(_)), "{error:?}");
}

#[test]
fn bad_sm2_signatures_are_refused() {
    let department = root(TrustAlgorithm::Sm2, "国密根");
    let clinic = clinic(&department, TrustAlgorithm::Sm2);
    // Flip a bit in the certificate signature (the last octets).
    let mut forged = clinic.der.clone();
    let last = forged.len() - 2;
    forged[last] ^= 0x01;
    let store = load(&list(&[&department], &[&forged], vec![crl(&department, &[])], &department), &[&department.der])
        .expect("loads");
    assert_eq!(assess(&store, &clinic.key.did()), Err(IssuerTrustFailureCode::UntrustedRoot));

    // A CRL whose signature was altered.
    let mut crl_forged = crl(&department, &[]);
    let last = crl_forged.len() - 2;
    crl_forged[last] ^= 0x01;
    let error = load(&list(&[&department], &[&clinic.der], vec![crl_forged], &department), &[&department.der])
        .expect_err("refused");
    assert!(matches!(error, TrustListError::InvalidCrl(_)), "{error:?}");

    // A tampered SM2 trust list.
    let mut bytes = list(&[&department], &[&clinic.der], vec![crl(&department, &[])], &department);
    let text = String::from_utf8(bytes.clone()).expect("utf8").replace("\\\"sequence\\\":1", "\\\"sequence\\\":2");
    assert_ne!(text.as_bytes(), bytes.as_slice());
    assert!(matches!(load(text.as_bytes(), &[&department.der]), Err(TrustListError::BadSignature)));
    // The header claims ES256 for an SM2 signature.
    let envelope: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    let protected = envelope["protected"].as_str().expect("protected");
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = String::from_utf8(engine.decode(protected).expect("b64")).expect("utf8");
    assert!(header.contains("\"alg\":\"SM2SM3\""), "{header}");
    let claimed = engine.encode(header.replace("SM2SM3", "ES256"));
    let mut envelope = envelope;
    envelope["protected"] = claimed.into();
    bytes = serde_json::to_vec(&envelope).expect("json");
    assert!(matches!(load(&bytes, &[&department.der]), Err(TrustListError::BadSignature)));
}

#[test]
fn wrong_curve_and_oversize_keys_are_unknown() {
    let department = root(TrustAlgorithm::Sm2, "国密根");
    let clinic = clinic(&department, TrustAlgorithm::Sm2);
    // The SM2 point labelled as a P-256 key: not a point on P-256 (or, if it
    // were, not the key of the SAN's did:key), so the certificate is left out.
    let wrong_curve = relabel(&clinic.der, SM2_CURVE, P256_CURVE);
    let store =
        load(&list(&[&department], &[&wrong_curve], vec![crl(&department, &[])], &department), &[&department.der])
            .expect("loads");
    assert_eq!(store.issuer_certificate_count(), 0, "{:?}", store.warnings());
    assert_eq!(assess(&store, &clinic.key.did()), Err(IssuerTrustFailureCode::UnknownIssuer));
    // A root on the wrong curve is not a usable configured root.
    let bad_root = relabel(&department.der, SM2_CURVE, P256_CURVE);
    assert!(matches!(
        load(&list(&[&department], &[], vec![crl(&department, &[])], &department), &[&bad_root]),
        Err(TrustListError::InvalidConfiguration(_))
    ));
    // Oversize and junk DIDs are unknown issuers, quickly.
    let store =
        load(&list(&[&department], &[&clinic.der], vec![crl(&department, &[])], &department), &[&department.der])
            .expect("loads");
    let huge = format!("did:key:z{}", "2".repeat(200_000));
    assert_eq!(assess(&store, &huge), Err(IssuerTrustFailureCode::UnknownIssuer));
    assert_eq!(assess(&store, "did:key:zQ3s"), Err(IssuerTrustFailureCode::UnknownIssuer));
}

#[test]
fn sm2_keys_are_stored_encrypted_and_come_back() {
    let key = TrustKey::generate(TrustAlgorithm::Sm2);
    let pem = encrypt_private_key(&key, "correct horse").expect("encrypt");
    let back = decrypt_trust_key(&pem, "correct horse").expect("decrypt");
    assert_eq!(back.did(), key.did());
    assert_eq!(back.algorithm(), TrustAlgorithm::Sm2);
    assert!(decrypt_trust_key(&pem, "wrong").is_err());
    assert!(wallet_core::trust::decrypt_private_key(&pem, "correct horse").is_err(), "SM2 is not a P-256 key");
}

// ---------------------------------------------------------------- OpenSSL

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl installed");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

const DISTID: &str = "distid:1234567812345678";

#[test]
fn openssl_verifies_our_sm2_chain_and_crl_signature() {
    let department = root(TrustAlgorithm::Sm2, "示例市卫生健康委员会");
    let clinic = clinic(&department, TrustAlgorithm::Sm2);
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, content: &[u8]| std::fs::write(dir.path().join(name), content).expect("write");
    write("root.pem", department.pem.as_bytes());
    write("clinic.pem", clinic.pem.as_bytes());
    let attime = at(SIGNED).timestamp().to_string();
    let (ok, text) =
        openssl(dir.path(), &["verify", "-attime", &attime, "-vfyopt", DISTID, "-CAfile", "root.pem", "clinic.pem"]);
    assert!(ok && text.contains("clinic.pem: OK"), "{text}");
    // OpenSSL 3.0's default ID is empty: without -vfyopt it refuses (which
    // shows we sign with 1234567812345678, not the empty ID).
    let (ok, _) = openssl(dir.path(), &["verify", "-attime", &attime, "-CAfile", "root.pem", "clinic.pem"]);
    assert!(!ok);
    // The other root does not verify the clinic.
    let other = root(TrustAlgorithm::Sm2, "示例市卫生健康委员会");
    write("other.pem", other.pem.as_bytes());
    let (ok, _) =
        openssl(dir.path(), &["verify", "-attime", &attime, "-vfyopt", DISTID, "-CAfile", "other.pem", "clinic.pem"]);
    assert!(!ok);

    // The CRL: OpenSSL parses it and checks its signature with the SM2
    // primitive and our ID (`openssl verify -crl_check` cannot set an ID for
    // CRLs; see trust/algorithm.rs).
    let crl_der = crl(
        &department,
        &[RevocationEntry {
            serial: clinic.serial.clone(),
            revoked_at: at("2026-02-01T00:00:00Z"),
            reason: RevocationReason::Superseded,
            invalidity_date: None,
        }],
    );
    write("crl.pem", crl_der_to_pem(&crl_der).expect("pem").as_bytes());
    let (ok, text) = openssl(dir.path(), &["crl", "-in", "crl.pem", "-noout", "-text"]);
    assert!(ok && text.contains("SM2-with-SM3") && text.contains("Superseded"), "{text}");
    let parsed = x509_cert::crl::CertificateList::from_der(&crl_der).expect("crl");
    write("tbs.der", &parsed.tbs_cert_list.to_der().expect("tbs"));
    write("sig.der", parsed.signature.raw_bytes());
    openssl(dir.path(), &["x509", "-in", "root.pem", "-pubkey", "-noout", "-out", "root.pub"]);
    let (ok, text) = openssl(
        dir.path(),
        &["dgst", "-sm3", "-verify", "root.pub", "-sigopt", DISTID, "-signature", "sig.der", "tbs.der"],
    );
    assert!(ok && text.contains("Verified OK"), "{text}");
    write("tbs.der", b"tampered");
    let (ok, _) = openssl(
        dir.path(),
        &["dgst", "-sm3", "-verify", "root.pub", "-sigopt", DISTID, "-signature", "sig.der", "tbs.der"],
    );
    assert!(!ok);
}

#[test]
fn we_accept_an_sm2_root_clinic_certificate_and_crl_made_by_openssl() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path();
    let write = |name: &str, content: &str| std::fs::write(path.join(name), content).expect("write");
    let read = |name: &str| std::fs::read_to_string(path.join(name)).expect("read");
    // The department root, by OpenSSL.
    let (ok, text) = openssl(
        path,
        &[
            "req",
            "-x509",
            "-newkey",
            "sm2",
            "-nodes",
            "-keyout",
            "root.key",
            "-out",
            "root.pem",
            "-sm3",
            "-sigopt",
            DISTID,
            "-subj",
            "/C=CN/O=OpenSSL Dept/CN=OpenSSL Dept Root",
            "-days",
            "7300",
            "-addext",
            "basicConstraints=critical,CA:TRUE,pathlen:0",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    assert!(ok, "{text}");
    let root_pem = read("root.pem");
    let root_der = certificate_pem_to_der(&root_pem).expect("der");
    let root_key = Sm2IssuerKey::from_pkcs8_pem(&read("root.key")).expect("OpenSSL's SM2 key");

    // Our clinic's CSR, certified by OpenSSL with our profile's extensions.
    let clinic_key = Sm2IssuerKey::generate();
    write("clinic.csr", &create_csr(&clinic_key, "示例诊所", CLINIC_USCI, &clinic_key.did()).expect("csr"));
    let types_der = {
        let types = vec![der::asn1::Utf8StringRef::new(HEALTH_CERTIFICATE_TYPE).expect("utf8")];
        hex::encode(types.to_der().expect("der"))
    };
    write(
        "ext.cnf",
        &format!(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage={}\n\
             subjectAltName=URI:{}\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n{}=DER:{}\n",
            wallet_core::trust::CREDENTIAL_SIGNING_EKU_OID,
            clinic_key.did(),
            wallet_core::trust::CREDENTIAL_TYPES_EXTENSION_OID,
            types_der
        ),
    );
    let (ok, text) = openssl(
        path,
        &[
            "x509",
            "-req",
            "-in",
            "clinic.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-set_serial",
            "0x2a",
            "-days",
            "3650",
            "-sm3",
            "-sigopt",
            DISTID,
            "-vfyopt",
            DISTID,
            "-extfile",
            "ext.cnf",
            "-out",
            "clinic.pem",
        ],
    );
    assert!(ok, "{text}");
    let clinic_der = certificate_pem_to_der(&read("clinic.pem")).expect("der");

    // A CRL by `openssl ca -gencrl`, revoking serial 2a (keyCompromise).
    std::fs::create_dir_all(path.join("db")).expect("db");
    write("db/crlnumber", "01\n");
    write("db/index", "R\t350101000000Z\t260201000000Z,keyCompromise\t2A\tunknown\t/CN=clinic\n");
    write(
        "ca.cnf",
        "[ca]\ndefault_ca=d\n[d]\ndatabase=db/index\ncrlnumber=db/crlnumber\ndefault_md=sm3\ndefault_crl_days=30\n\
         certificate=root.pem\nprivate_key=root.key\ncrl_extensions=crl_ext\n[crl_ext]\nauthorityKeyIdentifier=keyid\n",
    );
    let (ok, text) = openssl(path, &["ca", "-config", "ca.cnf", "-gencrl", "-sigopt", DISTID, "-out", "crl.pem"]);
    assert!(ok, "{text}");
    let crl_der = wallet_core::trust::crl_pem_to_der(&read("crl.pem")).expect("crl der");

    // A trust list we sign with OpenSSL's root key; issued now-ish so the
    // OpenSSL validity (from today) covers it.
    let issued = Utc::now() - Duration::minutes(1);
    let contents = TrustListContents {
        sequence: 1,
        issued_at: issued,
        next_update: issued + Duration::days(2),
        roots: vec![root_der.clone()],
        issuer_certificates: vec![clinic_der.clone()],
        crls: vec![],
    };
    let unrevoked = build_trust_list(&contents, &root_key, std::slice::from_ref(&root_der)).expect("list");
    let store = TrustList::load(&unrevoked, &[&root_der], Utc::now(), Duration::days(1)).expect("loads");
    // No CRL yet: fail closed, but the chain (OpenSSL's SM2 signature) is accepted.
    let signed_at = Utc::now();
    let failure = store.assess_issuer(&clinic_key.did(), &health(), signed_at).expect_err("no CRL");
    assert_eq!(failure.code, IssuerTrustFailureCode::IssuerRevocationUnknown);

    let with_crl = build_trust_list(
        &TrustListContents { crls: vec![crl_der], ..contents.clone() },
        &root_key,
        std::slice::from_ref(&root_der),
    )
    .expect("list");
    let store =
        TrustList::load(&with_crl, &[&root_der], Utc::now(), Duration::days(1)).expect("OpenSSL's CRL verifies");
    let failure = store.assess_issuer(&clinic_key.did(), &health(), signed_at).expect_err("revoked");
    assert_eq!(failure.code, IssuerTrustFailureCode::IssuerRevoked);

    // An empty OpenSSL CRL: the clinic is trusted.
    write("db/index", "");
    let (ok, text) = openssl(path, &["ca", "-config", "ca.cnf", "-gencrl", "-sigopt", DISTID, "-out", "empty.pem"]);
    assert!(ok, "{text}");
    let empty = wallet_core::trust::crl_pem_to_der(&read("empty.pem")).expect("crl der");
    let list = build_trust_list(
        &TrustListContents { crls: vec![empty], ..contents },
        &root_key,
        std::slice::from_ref(&root_der),
    )
    .expect("list");
    let store = TrustList::load(&list, &[&root_der], Utc::now(), Duration::days(1)).expect("loads");
    assert!(store.assess_issuer(&clinic_key.did(), &health(), signed_at).is_ok());

    // The same chain signed with OpenSSL's default (empty) ID is refused.
    let (ok, text) = openssl(
        path,
        &[
            "x509",
            "-req",
            "-in",
            "clinic.csr",
            "-CA",
            "root.pem",
            "-CAkey",
            "root.key",
            "-set_serial",
            "0x2b",
            "-days",
            "3650",
            "-sm3",
            "-vfyopt",
            DISTID,
            "-extfile",
            "ext.cnf",
            "-out",
            "empty-id.pem",
        ],
    );
    assert!(ok, "{text}");
    let empty_id = certificate_pem_to_der(&read("empty-id.pem")).expect("der");
    let list = build_trust_list(
        &TrustListContents {
            sequence: 2,
            issued_at: issued,
            next_update: issued + Duration::days(2),
            roots: vec![root_der.clone()],
            issuer_certificates: vec![empty_id],
            crls: vec![],
        },
        &root_key,
        std::slice::from_ref(&root_der),
    )
    .expect("list");
    let store = TrustList::load(&list, &[&root_der], Utc::now(), Duration::days(1)).expect("loads");
    // Signed now: this certificate was made after `signed_at` (OpenSSL starts it at its own clock).
    let failure = store.assess_issuer(&clinic_key.did(), &health(), Utc::now()).expect_err("empty ID");
    assert_eq!(failure.code, IssuerTrustFailureCode::UntrustedRoot);
}
