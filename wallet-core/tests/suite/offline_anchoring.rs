//! The anchoring check offline: a signed verifier bundle's logs (key, witness
//! policy, latest anchored tree) and the wallet's inclusion proof. The rule is
//! `transparency::check_inclusion_offline`; these tests drive it directly, through
//! `verify_credential` (`AnchoringSource::Bundled`) and through an opened bundle's
//! `verify_qr_text` with the wallet's export.

use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wallet_core::credential::CredentialId;
use wallet_core::credential_type::TypeRegistry;
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::transparency::*;
use wallet_core::verification::{verify_credential, AnchoringSource, CheckResult, VerifyOptions};
use wallet_core::verifier_bundle::{open_payload, FreshnessPolicy, VerifierBundle, VERIFIER_BUNDLE_VERSION};
use wallet_core::wallet::{StoreKey, Wallet};

const ORIGIN: &str = "clinic.example/log";
const ISSUER: &str = "did:key:zIssuer";
const T0: u64 = 1_780_000_000;

/// An issuer's log with three witnesses (a 2-of-3 policy).
struct Log {
    signer: LogSigner,
    tree: MerkleTree,
    entries: Vec<LogEntry>,
    witnesses: Vec<Witness>,
}

impl Log {
    fn new() -> Self {
        Self::with_signer(LogSigner::from_issuer_key(ORIGIN, &IssuerKey::generate()).unwrap())
    }

    /// A log (its witnesses) signed with `signer`.
    fn with_signer(signer: LogSigner) -> Self {
        let witnesses = (1..=3u8)
            .map(|i| {
                Witness::new(format!("w{i}.example"), Ed25519SigningKey::from_bytes(&[i; 32]), signer.log_key().clone())
                    .unwrap()
            })
            .collect();
        Self { signer, tree: MerkleTree::new(), entries: Vec::new(), witnesses }
    }

    fn append(&mut self, digest: Hash, issuer: &str) -> u64 {
        let entry = LogEntry::issued(digest, issuer, T0 + self.tree.size()).unwrap();
        self.entries.push(entry.clone());
        self.tree.append(entry.leaf_hash())
    }

    fn policy(&self, threshold: usize) -> WitnessPolicy {
        WitnessPolicy::new(self.witnesses.iter().map(|w| w.key().clone()).collect(), threshold).unwrap()
    }

    /// The current checkpoint, cosigned by the first `cosigners` witnesses.
    fn checkpoint(&mut self, cosigners: usize) -> String {
        let wire = Checkpoint::new(ORIGIN, self.tree.size(), self.tree.root()).sign(&self.signer).unwrap().to_string();
        let mut note = SignedNote::parse(&wire).unwrap();
        for witness in self.witnesses.iter_mut().take(cosigners) {
            note.add_signature(witness.cosign(&wire, &[], T0 + 5).unwrap()).unwrap();
        }
        note.to_string()
    }

    /// What the wallet keeps: the entry at `index` against the current tree, cosigned by `cosigners`.
    fn inclusion(&mut self, index: u64, cosigners: usize) -> InclusionBundle {
        let note = self.checkpoint(cosigners);
        let checkpoint = self.signer.log_key().open_checkpoint(&note).unwrap();
        let entry = self.entries[usize::try_from(index).unwrap()].clone();
        InclusionBundle::new(entry, index, &self.tree, &checkpoint).unwrap()
    }

    fn anchor(&self, size: u64) -> BundledAnchor {
        BundledAnchor {
            tree_size: size,
            root: self.tree.root_at(size).unwrap(),
            chain_id: 31337,
            block_number: 42,
            block_time: T0 + 60,
            tx_hash: format!("0x{:064x}", 42),
        }
    }

    /// The log as a verifier bundle carries it, anchored at `anchored` entries.
    fn bundled(&self, anchored: Option<u64>) -> BundledLog {
        let policy = self.policy(2);
        BundledLog {
            origin: ORIGIN.into(),
            log_key: self.signer.log_key().to_vkey(),
            witness_keys: policy.witnesses().iter().map(WitnessKey::to_vkey).collect(),
            witness_threshold: policy.threshold(),
            anchored: anchored.map(|size| self.anchor(size)),
            conflict: None,
        }
    }

    fn anchored(&self, anchored: Option<u64>) -> Vec<AnchoredLog> {
        vec![self.bundled(anchored).open().unwrap()]
    }
}

fn code(outcome: &AnchoringOutcome) -> &'static str {
    match outcome {
        AnchoringOutcome::Anchored(_) => "anchored",
        AnchoringOutcome::Pending { code, .. }
        | AnchoringOutcome::Failed { code, .. }
        | AnchoringOutcome::Unknown { code, .. } => code,
    }
}

#[test]
fn an_inclusion_proof_under_the_bundled_anchor_is_anchored_with_its_evidence() {
    let mut log = Log::new();
    log.append([1; 32], ISSUER);
    let index = log.append([2; 32], ISSUER);
    let inclusion = log.inclusion(index, 2);
    log.append([3; 32], ISSUER);
    // Anchored at the proof's size, and at a larger one.
    for anchored in [2, 3] {
        match check_inclusion_offline(&log.anchored(Some(anchored)), &inclusion, &[2; 32], ISSUER) {
            AnchoringOutcome::Anchored(evidence) => {
                assert_eq!((evidence.index, evidence.tree_size, evidence.logged_at), (1, anchored, T0 + 1));
                assert_eq!((evidence.chain_id, evidence.block_number, evidence.block_time), (31337, 42, T0 + 60));
                assert_eq!(evidence.log, ORIGIN);
                assert_eq!(evidence.witnesses, vec!["w1.example", "w2.example"]);
            }
            other => panic!("expected anchored, got {other:?}"),
        }
    }
}

#[test]
fn wrong_credential_tampered_proof_foreign_key_and_too_few_witnesses_are_invalid() {
    let mut log = Log::new();
    log.append([1; 32], ISSUER);
    let index = log.append([2; 32], ISSUER);
    log.append([3; 32], ISSUER);
    let inclusion = log.inclusion(index, 2);
    let logs = log.anchored(Some(3));
    let outcome =
        |inclusion: &InclusionBundle, digest: &Hash| code(&check_inclusion_offline(&logs, inclusion, digest, ISSUER));
    assert_eq!(outcome(&inclusion, &[2; 32]), "anchored");

    // The proof of another credential.
    assert_eq!(outcome(&inclusion, &[1; 32]), "anchoring_wrong_credential");
    // A proof hash altered.
    let mut tampered = inclusion.clone();
    tampered.proof[0][0] ^= 1;
    assert_eq!(outcome(&tampered, &[2; 32]), "anchoring_bad_inclusion_proof");
    // Another index.
    let mut moved = inclusion.clone();
    moved.index = 0;
    assert_eq!(outcome(&moved, &[2; 32]), "anchoring_bad_inclusion_proof");
    // The same tree signed by a key the bundle does not name for the log.
    let mut impostor = Log::new();
    for entry in &log.entries {
        impostor.append(*entry.credential_digest(), ISSUER);
    }
    let forged = impostor.inclusion(index, 0);
    assert_eq!(outcome(&forged, &[2; 32]), "anchoring_bad_checkpoint");
    // The checkpoint text altered (the log's signature no longer verifies).
    let mut altered = inclusion.clone();
    altered.checkpoint = altered.checkpoint.replacen("\n3\n", "\n4\n", 1);
    assert_eq!(outcome(&altered, &[2; 32]), "anchoring_bad_checkpoint");
    // One cosignature where the bundle's policy asks for two.
    let under_witnessed = log.inclusion(index, 1);
    let failed = check_inclusion_offline(&logs, &under_witnessed, &[2; 32], ISSUER);
    assert_eq!(code(&failed), "anchoring_not_witnessed");
    let AnchoringOutcome::Failed { reason, .. } = failed else { unreachable!() };
    assert!(reason.en.contains("1 of the 2"), "{}", reason.en);
    // Another issuer's entry for this digest.
    assert_eq!(code(&check_inclusion_offline(&logs, &inclusion, &[2; 32], "did:key:zOther")), "anchoring_wrong_issuer");
    // A log conflict the publisher found fails it too.
    let mut conflicted = log.bundled(Some(3));
    conflicted.conflict = Some("anchor 0x… records another root".into());
    let conflicted = vec![conflicted.open().unwrap()];
    assert_eq!(code(&check_inclusion_offline(&conflicted, &inclusion, &[2; 32], ISSUER)), "anchoring_log_conflict");
}

#[test]
fn newer_than_the_anchor_is_pending_and_an_unknown_log_is_unknown() {
    let mut log = Log::new();
    log.append([1; 32], ISSUER);
    let index = log.append([2; 32], ISSUER);
    let inclusion = log.inclusion(index, 2);
    // Logged after the bundle's last anchor (size 1), or nothing anchored yet.
    assert_eq!(
        code(&check_inclusion_offline(&log.anchored(Some(1)), &inclusion, &[2; 32], ISSUER)),
        "anchoring_pending"
    );
    assert_eq!(code(&check_inclusion_offline(&log.anchored(None), &inclusion, &[2; 32], ISSUER)), "anchoring_pending");
    // A bundle without this log.
    let other = Log::new();
    let mut elsewhere = other.bundled(None);
    elsewhere.origin = "elsewhere.example/log".into();
    elsewhere.log_key =
        LogSigner::from_issuer_key("elsewhere.example/log", &IssuerKey::generate()).unwrap().log_key().to_vkey();
    let logs = vec![elsewhere.open().unwrap()];
    assert_eq!(code(&check_inclusion_offline(&logs, &inclusion, &[2; 32], ISSUER)), "anchoring_log_not_in_bundle");
    assert_eq!(code(&check_inclusion_offline(&[], &inclusion, &[2; 32], ISSUER)), "anchoring_log_not_in_bundle");
}

/// Attack review 3: the log key is the credential key. Under a bundle whose
/// witness policy asks for none, the thief of a clinic's key signs a
/// one-entry "log" holding its forgery (smaller than the anchored tree, so
/// no root was compared): it read anchored, with the bundle's real block as
/// evidence. Without witnesses only a proof against the anchored tree itself
/// counts; with them, as before.
#[test]
fn attack_without_witnesses_a_thiefs_one_entry_log_is_not_anchored() {
    let mut log = Log::new();
    log.append([1; 32], ISSUER);
    let index = log.append([2; 32], ISSUER);
    log.append([3; 32], ISSUER);
    let mut unwitnessed = log.bundled(Some(3));
    (unwitnessed.witness_keys, unwitnessed.witness_threshold) = (Vec::new(), 0);
    let logs = vec![unwitnessed.open().unwrap()];
    // The thief's log: its forgery alone, signed with the same (stolen) key.
    let mut thiefs = Log::with_signer(log.signer.clone());
    let forged_index = thiefs.append([9; 32], ISSUER);
    let forged = thiefs.inclusion(forged_index, 0);
    assert_eq!(code(&check_inclusion_offline(&logs, &forged, &[9; 32], ISSUER)), "anchoring_proof_not_at_anchor");
    // A genuine proof against a smaller tree says the same (nothing ties it to the anchor) ...
    let mut earlier = Log::with_signer(log.signer.clone());
    earlier.append([1; 32], ISSUER);
    earlier.append([2; 32], ISSUER);
    let smaller = earlier.inclusion(index, 0);
    assert_eq!(code(&check_inclusion_offline(&logs, &smaller, &[2; 32], ISSUER)), "anchoring_proof_not_at_anchor");
    // ... and one against the anchored tree itself is anchored.
    let at_anchor = log.inclusion(index, 0);
    assert_eq!(code(&check_inclusion_offline(&logs, &at_anchor, &[2; 32], ISSUER)), "anchored");
    // With the witnesses the bundle names, a cosigned smaller tree still counts.
    let witnessed = earlier.inclusion(index, 2);
    assert_eq!(code(&check_inclusion_offline(&log.anchored(Some(3)), &witnessed, &[2; 32], ISSUER)), "anchored");
}

#[test]
fn an_anchored_root_that_differs_at_the_same_size_is_a_fork() {
    let mut log = Log::new();
    let index = log.append([2; 32], ISSUER);
    let inclusion = log.inclusion(index, 2);
    let mut bundled = log.bundled(Some(1));
    bundled.anchored.as_mut().unwrap().root = [0xee; 32];
    let logs = vec![bundled.open().unwrap()];
    assert_eq!(code(&check_inclusion_offline(&logs, &inclusion, &[2; 32], ISSUER)), "anchoring_log_conflict");
}

#[test]
fn bundled_logs_with_bad_keys_or_policies_do_not_open() {
    let log = Log::new();
    let mut bad_key = log.bundled(None);
    bad_key.log_key = "not a key".into();
    assert!(bad_key.open().is_err());
    let mut other_origin = log.bundled(None);
    other_origin.origin = "elsewhere.example/log".into();
    assert!(other_origin.open().unwrap_err().contains("not"));
    let mut impossible = log.bundled(None);
    impossible.witness_threshold = 4;
    assert!(impossible.open().unwrap_err().contains("witness policy"));
}

// ------------------------------------------------------------ in the report, and through an opened bundle

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 9, 30, 0).unwrap()
}

/// A health certificate signed by `key` (a type the compact QR form carries).
async fn issue(key: &IssuerKey) -> Value {
    let def = TypeRegistry::shipped().unwrap().by_type("HealthCertificate").unwrap();
    let request = json!({
        "fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
        "idNumber": "11010519491231002X", "examinationDate": "2026-05-20",
        "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified",
        "occupation": "food-service"
    });
    let checked = def
        .check_request_keyed(&request, NaiveDate::from_ymd_opt(2026, 5, 20).unwrap(), Some(&crate::id_key()))
        .unwrap();
    let unsigned =
        crate::with_status_entries(def.to_unsigned_credential(&checked, &CredentialId::generate(), &key.did()));
    sign_credential(&unsigned, key, Utc.with_ymd_and_hms(2026, 5, 20, 8, 0, 0).unwrap()).await.unwrap()
}

async fn digest_of(signed: &Value) -> Hash {
    Sha256::digest(wallet_core::canonical::canonical_nquads(signed).await.unwrap().as_bytes()).into()
}

/// A credential logged at index 1 of a 3-entry log anchored at 3; its inclusion proof.
async fn logged_credential() -> (Log, Value, InclusionBundle) {
    let key = IssuerKey::generate();
    let vc = issue(&key).await;
    let mut log = Log::new();
    log.append([1; 32], &key.did());
    let index = log.append(digest_of(&vc).await, &key.did());
    log.append([3; 32], &key.did());
    let inclusion = log.inclusion(index, 2);
    (log, vc, inclusion)
}

fn bundled_source(log: &Log, inclusion: Option<&InclusionBundle>, collected: Duration) -> AnchoringSource {
    AnchoringSource::Bundled {
        logs: log.anchored(Some(3)).into(),
        inclusion: inclusion.cloned().map(Arc::new),
        collected_at: now() - collected,
        warn_after: Duration::hours(24),
        max_age: Duration::days(7),
    }
}

#[tokio::test]
async fn the_report_says_anchored_offline_and_why_not_otherwise() {
    let (log, vc, inclusion) = logged_credential().await;
    let verify = |source| {
        let vc = vc.clone();
        async move { verify_credential(&vc, &VerifyOptions::at(now()).with_anchoring(source)).await.unwrap() }
    };

    let report = verify(bundled_source(&log, Some(&inclusion), Duration::hours(1))).await;
    assert_eq!(report.checks.anchoring, CheckResult::Valid, "{report:#?}");
    let anchor = report.anchor.as_ref().expect("anchor evidence");
    assert_eq!((anchor.index, anchor.block_number, anchor.tree_size), (1, 42, 3));
    assert!(report.verified);
    assert!(report.warnings.iter().all(|w| !w.code.starts_with("anchoring")), "{:?}", report.warnings);

    // No inclusion proof (a QR code): unchecked, does not fail the credential.
    let report = verify(bundled_source(&log, None, Duration::hours(1))).await;
    assert!(
        matches!(&report.checks.anchoring, CheckResult::Unchecked { code, .. } if code == "anchoring_no_inclusion_proof")
    );
    assert!(report.anchor.is_none() && report.verified);

    // Another credential's proof: invalid.
    let (_, _, foreign) = logged_credential().await;
    let report = verify(bundled_source(&log, Some(&foreign), Duration::hours(1))).await;
    assert_eq!(report.checks.anchoring.invalid_code(), Some("anchoring_wrong_credential"));
    assert!(!report.verified);

    // Three days old: still valid, with a warning naming the anchoring data.
    let report = verify(bundled_source(&log, Some(&inclusion), Duration::days(3))).await;
    assert!(report.checks.anchoring.is_valid());
    assert!(report.warnings.iter().any(|w| w.code == "anchoring_data_aging"), "{:?}", report.warnings);

    // Eight days old: the anchoring check fails, naming the stale data.
    let report = verify(bundled_source(&log, Some(&inclusion), Duration::days(8))).await;
    assert_eq!(report.checks.anchoring.invalid_code(), Some("anchoring_data_stale"), "{report:#?}");
    assert!(report.anchor.is_none() && !report.verified);
}

#[tokio::test]
async fn an_opened_bundle_checks_the_wallets_export_and_not_the_qr_code() {
    let (mut log, vc, inclusion) = logged_credential().await;
    let checkpoint = log.checkpoint(2);
    let bundle = VerifierBundle {
        version: VERIFIER_BUNDLE_VERSION,
        sequence: 1,
        issued_at: now() - Duration::hours(1),
        trust_list: String::new(),
        status_lists: Vec::new(),
        checkpoints: vec![checkpoint.clone()],
        logs: vec![log.bundled(Some(3))],
        base_sequence: None,
    };
    // Older readers' bundles (no logs) still parse; ours round-trip.
    let json = serde_json::to_value(&bundle).unwrap();
    assert_eq!(serde_json::from_value::<VerifierBundle>(json).unwrap(), bundle);
    let mut old = serde_json::to_value(&bundle).unwrap();
    old.as_object_mut().unwrap().remove("logs");
    assert!(serde_json::from_value::<VerifierBundle>(old).unwrap().logs.is_empty());

    let roots: [Vec<u8>; 0] = [];
    let opened = open_payload(bundle.clone(), &roots, now(), FreshnessPolicy::default()).await;
    // No trust list in this bundle: that is its only problem.
    assert_eq!(opened.problems.len(), 1, "{:?}", opened.problems);

    // The wallet: import the issuer's file, export it for the inspector.
    let dir = tempfile::tempdir().unwrap();
    let mut wallet = Wallet::open(dir.path().join("wallet.bin"), StoreKey::generate()).unwrap();
    let id = wallet.import_file(json!({"credential": vc, "inclusion": inclusion}).to_string().as_bytes()).unwrap();
    let export = wallet.export(&id).unwrap();
    let checked = opened.verify_qr_text(&export, None, now()).await.unwrap();
    assert_eq!(checked.credential, vc);
    assert_eq!(checked.report.checks.anchoring, CheckResult::Valid, "{:#?}", checked.report);
    assert_eq!(checked.report.anchor.as_ref().unwrap().block_number, 42);
    // The QR code and the bare credential JSON carry no inclusion proof.
    let qr = wallet_core::compact::encode_credential(&vc).unwrap();
    for text in [qr, vc.to_string()] {
        let checked = opened.verify_qr_text(&text, None, now()).await.unwrap();
        assert!(
            matches!(&checked.report.checks.anchoring, CheckResult::Unchecked { code, .. } if code == "anchoring_no_inclusion_proof"),
            "{:?}",
            checked.report.checks.anchoring
        );
    }
    // Importing the credential again without its proof keeps the proof held.
    assert_eq!(wallet.import_file(json!({"credential": vc}).to_string().as_bytes()).unwrap(), id);
    assert_eq!(wallet.export(&id).unwrap(), export);
    // A wallet without a proof exports `inclusion: null`: unchecked too.
    let mut bare = Wallet::open(dir.path().join("bare.bin"), StoreKey::generate()).unwrap();
    bare.import_file(json!({"credential": vc}).to_string().as_bytes()).unwrap();
    let checked = opened.verify_qr_text(&bare.export(&id).unwrap(), None, now()).await.unwrap();
    assert!(!checked.report.checks.anchoring.is_valid() && !checked.report.checks.anchoring.is_invalid());
    // An unreadable inclusion proof is unusable input.
    let garbled = json!({"credential": vc, "inclusion": {"entry": 1}}).to_string();
    assert_eq!(opened.verify_qr_text(&garbled, None, now()).await.unwrap_err().error, "anchoring_bundle_malformed");
    println!("wallet export with inclusion proof: {} bytes", export.len());

    // A bad log key, or a checkpoint that does not verify with the bundled key: problems.
    let mut bad = bundle.clone();
    bad.logs[0].log_key = "garbage".into();
    let opened = open_payload(bad, &roots, now(), FreshnessPolicy::default()).await;
    assert!(opened.problems.iter().any(|p| p.starts_with(&format!("log {ORIGIN}"))), "{:?}", opened.problems);
    let checked = opened.verify_qr_text(&export, None, now()).await.unwrap();
    assert!(
        matches!(&checked.report.checks.anchoring, CheckResult::Unchecked { code, .. } if code == "anchoring_log_not_in_bundle")
    );
    // The same log listed twice (say with another key): ambiguous, neither is used.
    let mut doubled = bundle.clone();
    let mut other_key = doubled.logs[0].clone();
    other_key.log_key = LogSigner::from_issuer_key(ORIGIN, &IssuerKey::generate()).unwrap().log_key().to_vkey();
    doubled.logs.push(other_key);
    let opened = open_payload(doubled, &roots, now(), FreshnessPolicy::default()).await;
    assert!(opened.problems.iter().any(|p| p.contains("listed more than once")), "{:?}", opened.problems);
    let checked = opened.verify_qr_text(&export, None, now()).await.unwrap();
    assert!(
        matches!(&checked.report.checks.anchoring, CheckResult::Unchecked { code, .. } if code == "anchoring_log_not_in_bundle")
    );
    let mut forged = bundle;
    forged.checkpoints = vec![checkpoint.replacen("\n3\n", "\n9\n", 1)];
    let opened = open_payload(forged, &roots, now(), FreshnessPolicy::default()).await;
    assert!(opened.problems.iter().any(|p| p.starts_with(&format!("checkpoint of {ORIGIN}"))), "{:?}", opened.problems);
}

#[tokio::test]
async fn deltas_carry_the_logs() {
    let (log, _, _) = logged_credential().await;
    let held = VerifierBundle {
        version: VERIFIER_BUNDLE_VERSION,
        sequence: 1,
        issued_at: now() - Duration::hours(2),
        trust_list: "t".into(),
        status_lists: Vec::new(),
        checkpoints: Vec::new(),
        logs: vec![log.bundled(Some(2))],
        base_sequence: None,
    };
    let newer = VerifierBundle { sequence: 2, logs: vec![log.bundled(Some(3))], ..held.clone() };
    let delta = newer.delta_since(&held);
    assert_eq!(delta.logs, newer.logs);
    let merged = VerifierBundle::apply_delta(&held, delta).unwrap();
    assert_eq!(merged.logs[0].anchored.as_ref().unwrap().tree_size, 3);
}

/// Issue #13: offline, the logged entry must be the signer's, not the claimed issuer's.
#[tokio::test]
async fn offline_the_entry_must_name_the_signer_not_the_claimed_issuer() {
    let department = IssuerKey::generate();
    let thief_key = IssuerKey::generate();
    // Signed by another key, claiming the department as issuer; the
    // department's log holds its digest under the department's DID.
    let def = TypeRegistry::shipped().unwrap().by_type("HealthCertificate").unwrap();
    let request = json!({
        "fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
        "idNumber": "11010519491231002X", "examinationDate": "2026-05-20",
        "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified",
        "occupation": "food-service"
    });
    let checked = def
        .check_request_keyed(&request, NaiveDate::from_ymd_opt(2026, 5, 20).unwrap(), Some(&crate::id_key()))
        .unwrap();
    let unsigned = def.to_unsigned_credential(&checked, &CredentialId::generate(), &department.did());
    let vc = sign_credential(&unsigned, &thief_key, Utc.with_ymd_and_hms(2026, 5, 20, 8, 0, 0).unwrap()).await.unwrap();
    let mut log = Log::new();
    log.append([1; 32], &department.did());
    let index = log.append(digest_of(&vc).await, &department.did());
    log.append([3; 32], &department.did());
    let inclusion = log.inclusion(index, 2);
    let options = VerifyOptions::at(now()).with_anchoring(bundled_source(&log, Some(&inclusion), Duration::hours(1)));
    let report = verify_credential(&vc, &options).await.unwrap();
    assert_eq!(report.checks.signature, CheckResult::Valid);
    assert_eq!(report.checks.anchoring.invalid_code(), Some("anchoring_wrong_issuer"), "{report:#?}");
    assert!(!report.verified);

    // The rule itself: the signer's entry is anchored, anyone else's is not,
    // and a key of the same organisation (rotation) is accepted.
    let logs = log.anchored(Some(3));
    let digest = digest_of(&vc).await;
    assert_eq!(code(&check_inclusion_offline(&logs, &inclusion, &digest, &department.did())), "anchored");
    assert_eq!(code(&check_inclusion_offline(&logs, &inclusion, &digest, &thief_key.did())), "anchoring_wrong_issuer");
    let rotated = |did: &str| did == department.did();
    let outcome = check_inclusion_offline_signed_by(&logs, &inclusion, &digest, "did:key:zNewKey", &rotated);
    assert_eq!(code(&outcome), "anchored");
}

#[tokio::test]
async fn a_derived_credential_is_anchored_by_its_base_credentials_log_entry() {
    use wallet_core::selective_disclosure::{anchoring_digest, derive_with, sign_base_for_type};
    let key = IssuerKey::generate();
    let def = TypeRegistry::shipped().unwrap().by_type("HealthCertificate").unwrap();
    let request = json!({
        "fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
        "idNumber": "11010519491231002X", "examinationDate": "2026-05-20",
        "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified",
        "occupation": "food-service"
    });
    let checked = def
        .check_request_keyed(&request, NaiveDate::from_ymd_opt(2026, 5, 20).unwrap(), Some(&crate::id_key()))
        .unwrap();
    let unsigned = def.to_unsigned_credential(&checked, &CredentialId::generate(), &key.did());
    let types = TypeRegistry::default();
    let base =
        sign_base_for_type(&types, &unsigned, &key, Utc.with_ymd_and_hms(2026, 5, 20, 8, 0, 0).unwrap()).await.unwrap();
    let derived = derive_with(&types, &base, &["/credentialSubject/birthDate".to_owned()]).await.unwrap();

    // The log entry the issuer writes for the base credential.
    let mut log = Log::new();
    log.append([1; 32], &key.did());
    let index = log.append(anchoring_digest(&base).unwrap(), &key.did());
    log.append([3; 32], &key.did());
    let inclusion = log.inclusion(index, 2);
    let options = VerifyOptions::at(now()).with_anchoring(bundled_source(&log, Some(&inclusion), Duration::hours(1)));
    let report = verify_credential(&derived, &options).await.unwrap();
    assert!(report.checks.signature.is_valid(), "{report:#?}");
    assert_eq!(report.checks.anchoring, CheckResult::Valid, "{report:#?}");

    // Logged by the base credential's N-Quads digest instead (as before): a
    // derived credential cannot match it.
    let mut log = Log::new();
    log.append([1; 32], &key.did());
    let index = log.append(digest_of(&base).await, &key.did());
    log.append([3; 32], &key.did());
    let inclusion = log.inclusion(index, 2);
    let options = VerifyOptions::at(now()).with_anchoring(bundled_source(&log, Some(&inclusion), Duration::hours(1)));
    let report = verify_credential(&derived, &options).await.unwrap();
    assert_eq!(report.checks.anchoring.invalid_code(), Some("anchoring_wrong_credential"), "{report:#?}");
}
