//! The anchoring check: a verifier's log mirror, anchors read from its own chain
//! node, witness policy, and the verification report.

use std::sync::{Arc, RwLock};

use chrono::{TimeZone, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use wallet_core::issuance::sign_credential;
use wallet_core::keys::IssuerKey;
use wallet_core::transparency::*;
use wallet_core::verification::{verify_credential, AnchoringSource, VerifyOptions};

const ORIGIN: &str = "issuer.example/log";
const T0: u64 = 1_780_000_000;

/// An issuer's log as the issuer keeps it, to feed mirrors from.
struct IssuerLog {
    signer: LogSigner,
    tree: MerkleTree,
    entries: Vec<LogEntry>,
}

impl IssuerLog {
    fn new() -> Self {
        Self {
            signer: LogSigner::from_issuer_key(ORIGIN, &IssuerKey::generate()).unwrap(),
            tree: MerkleTree::new(),
            entries: Vec::new(),
        }
    }

    fn append(&mut self, digest: Hash, issuer: &str, at: u64) -> u64 {
        let entry = LogEntry::issued(digest, issuer, at).unwrap();
        self.entries.push(entry.clone());
        self.tree.append(entry.leaf_hash())
    }

    fn checkpoint(&self) -> String {
        Checkpoint::new(ORIGIN, self.tree.size(), self.tree.root()).sign(&self.signer).unwrap().to_string()
    }

    /// Bring `mirror` up to date.
    fn sync(&self, mirror: &mut LogMirror, now: u64) {
        let from = usize::try_from(mirror.size()).unwrap();
        mirror.extend(&self.entries[from..], &self.checkpoint(), now).unwrap();
    }

    fn anchor(&self, size: u64, block: u64, time: u64) -> ChainAnchor {
        ChainAnchor {
            chain_id: 31337,
            tx_hash: format!("0x{block:064x}"),
            from: "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266".into(),
            block_number: block,
            block_hash: format!("0x{:064x}", block + 1000),
            block_time: time,
            calldata: AnchorCalldata { tree_size: size, root: self.tree.root_at(size).unwrap(), note_digest: [0; 32] },
        }
    }
}

fn policy(required: bool) -> AnchoringPolicy {
    AnchoringPolicy { required, grace_secs: 600, skew_secs: 300, witnesses: WitnessPolicy::none() }
}

fn check(mirror: &LogMirror, digest: &Hash, claimed: u64, policy: &AnchoringPolicy, now: u64) -> AnchoringOutcome {
    LogMirrors::new(vec![mirror.clone()]).check(digest, "did:key:zIssuer", Some(claimed), policy, now)
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
fn a_logged_and_anchored_credential_reports_its_block_and_time() {
    let mut log = IssuerLog::new();
    log.append([1; 32], "did:key:zIssuer", T0);
    let index = log.append([2; 32], "did:key:zIssuer", T0 + 10);
    let mut mirror = LogMirror::new(log.signer.log_key().clone());
    log.sync(&mut mirror, T0 + 20);
    mirror.add_anchor(log.anchor(2, 7, T0 + 15)).unwrap();
    match check(&mirror, &[2; 32], T0 + 10, &policy(true), T0 + 30) {
        AnchoringOutcome::Anchored(evidence) => {
            assert_eq!((evidence.index, evidence.tree_size, evidence.block_number), (index, 2, 7));
            assert_eq!(evidence.block_time, T0 + 15);
            assert_eq!(evidence.log, ORIGIN);
        }
        other => panic!("expected anchored, got {other:?}"),
    }
}

#[test]
fn logged_but_not_yet_anchored_is_pending_then_overdue() {
    let mut log = IssuerLog::new();
    log.append([1; 32], "did:key:zIssuer", T0);
    let mut mirror = LogMirror::new(log.signer.log_key().clone());
    log.sync(&mut mirror, T0);
    assert_eq!(code(&check(&mirror, &[1; 32], T0, &policy(true), T0 + 60)), "anchoring_pending");
    assert_eq!(code(&check(&mirror, &[1; 32], T0, &policy(true), T0 + 601)), "anchoring_overdue");
    // An anchor of a tree that does not cover the entry does not help; one that does, does.
    log.append([2; 32], "did:key:zIssuer", T0 + 700);
    log.sync(&mut mirror, T0 + 700);
    assert_eq!(code(&check(&mirror, &[2; 32], T0 + 700, &policy(true), T0 + 1400)), "anchoring_overdue");
    mirror.add_anchor(log.anchor(2, 9, T0 + 710)).unwrap();
    assert_eq!(code(&check(&mirror, &[1; 32], T0, &policy(true), T0 + 2000)), "anchored");
    assert_eq!(code(&check(&mirror, &[2; 32], T0 + 700, &policy(true), T0 + 2000)), "anchored");
}

#[test]
fn a_credential_missing_from_a_log_that_moved_past_its_date_is_not_in_log() {
    let mut log = IssuerLog::new();
    log.append([1; 32], "did:key:zIssuer", T0);
    log.append([2; 32], "did:key:zIssuer", T0 + 3600);
    let mut mirror = LogMirror::new(log.signer.log_key().clone());
    log.sync(&mut mirror, T0 + 3600);
    // Backdated to before the latest entry: a genuine one would be there.
    assert_eq!(code(&check(&mirror, &[9; 32], T0 + 60, &policy(true), T0 + 3601)), "anchoring_not_in_log");
    // Claiming to be brand new: pending for the grace period only.
    assert_eq!(code(&check(&mirror, &[9; 32], T0 + 3650, &policy(true), T0 + 3700)), "anchoring_pending");
    assert_eq!(code(&check(&mirror, &[9; 32], T0 + 3650, &policy(true), T0 + 3650 + 601)), "anchoring_log_not_synced");
    log.sync(&mut mirror, T0 + 5000);
    assert_eq!(code(&check(&mirror, &[9; 32], T0 + 3650, &policy(true), T0 + 5001)), "anchoring_not_in_log");
    // Claiming the future.
    assert_eq!(code(&check(&mirror, &[9; 32], T0 + 99_999, &policy(true), T0 + 5001)), "anchoring_not_in_log");
}

#[test]
fn entries_that_do_not_hash_to_the_signed_root_are_refused_and_the_mirror_kept() {
    let mut log = IssuerLog::new();
    log.append([1; 32], "did:key:zIssuer", T0);
    let mut mirror = LogMirror::new(log.signer.log_key().clone());
    log.sync(&mut mirror, T0);
    log.append([2; 32], "did:key:zIssuer", T0 + 1);
    let forged = vec![LogEntry::issued([3; 32], "did:key:zIssuer", T0 + 1).unwrap()];
    let err = mirror.extend(&forged, &log.checkpoint(), T0 + 2).unwrap_err();
    assert!(matches!(err, MirrorError::Conflict(_)), "{err:?}");
    assert_eq!(mirror.size(), 1);
    // A checkpoint from another key is refused outright.
    let other = IssuerLog::new();
    assert!(matches!(
        mirror.extend(&log.entries[1..], &other.checkpoint(), T0 + 3).unwrap_err(),
        MirrorError::Checkpoint(_)
    ));
    // The honest entries still go in.
    log.sync(&mut mirror, T0 + 4);
    assert_eq!(mirror.size(), 2);
}

#[test]
fn an_anchor_of_another_root_is_a_conflict_that_fails_every_check() {
    let mut log = IssuerLog::new();
    log.append([1; 32], "did:key:zIssuer", T0);
    let mut mirror = LogMirror::new(log.signer.log_key().clone());
    log.sync(&mut mirror, T0);
    let mut bad = log.anchor(1, 5, T0 + 1);
    bad.calldata.root = [0xee; 32];
    assert!(matches!(mirror.add_anchor(bad).unwrap_err(), MirrorError::Conflict(_)));
    mirror.add_anchor(log.anchor(1, 6, T0 + 2)).unwrap();
    assert_eq!(code(&check(&mirror, &[1; 32], T0, &policy(false), T0 + 10)), "anchoring_log_conflict");
}

#[test]
fn anchors_ahead_of_the_mirror_are_checked_once_it_catches_up() {
    let mut log = IssuerLog::new();
    log.append([1; 32], "did:key:zIssuer", T0);
    let mut mirror = LogMirror::new(log.signer.log_key().clone());
    mirror.add_anchor(log.anchor(1, 3, T0 + 5)).unwrap();
    assert_eq!(mirror.anchors().count(), 0);
    log.sync(&mut mirror, T0 + 6);
    assert_eq!(mirror.anchors().count(), 1);
    assert_eq!(code(&check(&mirror, &[1; 32], T0, &policy(true), T0 + 10)), "anchored");
}

#[test]
fn k_of_n_witnesses_must_cover_the_entry() {
    let mut log = IssuerLog::new();
    log.append([1; 32], "did:key:zIssuer", T0);
    let mut mirror = LogMirror::new(log.signer.log_key().clone());
    log.sync(&mut mirror, T0);
    mirror.add_anchor(log.anchor(1, 2, T0 + 1)).unwrap();
    let mut witnesses: Vec<Witness> = (1..=3u8)
        .map(|i| {
            Witness::new(format!("w{i}.example"), Ed25519SigningKey::from_bytes(&[i; 32]), log.signer.log_key().clone())
                .unwrap()
        })
        .collect();
    let keys: Vec<WitnessKey> = witnesses.iter().map(|w| w.key().clone()).collect();
    let two_of_three = AnchoringPolicy { witnesses: WitnessPolicy::new(keys.clone(), 2).unwrap(), ..policy(true) };
    assert_eq!(code(&check(&mirror, &[1; 32], T0, &two_of_three, T0 + 10)), "anchoring_pending");
    assert_eq!(code(&check(&mirror, &[1; 32], T0, &two_of_three, T0 + 601)), "anchoring_not_witnessed");

    let cosigned = |witnesses: &mut [Witness]| {
        let mut note = SignedNote::parse(&log.checkpoint()).unwrap();
        for witness in witnesses {
            note.add_signature(witness.cosign(&log.checkpoint(), &[], T0 + 5).unwrap()).unwrap();
        }
        note.to_string()
    };
    assert_eq!(mirror.add_cosigned(&cosigned(&mut witnesses[..1]), &two_of_three.witnesses).unwrap(), 1);
    assert_eq!(code(&check(&mirror, &[1; 32], T0, &two_of_three, T0 + 601)), "anchoring_not_witnessed");
    assert_eq!(mirror.add_cosigned(&cosigned(&mut witnesses[1..3]), &two_of_three.witnesses).unwrap(), 2);
    match check(&mirror, &[1; 32], T0, &two_of_three, T0 + 601) {
        AnchoringOutcome::Anchored(evidence) => {
            assert_eq!(evidence.witnesses, vec!["w1.example", "w2.example", "w3.example"]);
        }
        other => panic!("expected anchored, got {other:?}"),
    }
    // A witness that cosigned a different tree of this log exposes a split view.
    let mut fork = IssuerLog { signer: log.signer.clone(), tree: MerkleTree::new(), entries: Vec::new() };
    fork.append([7; 32], "did:key:zIssuer", T0);
    let mut witness =
        Witness::new("w1.example", Ed25519SigningKey::from_bytes(&[1; 32]), log.signer.log_key().clone()).unwrap();
    let mut note = SignedNote::parse(&fork.checkpoint()).unwrap();
    note.add_signature(witness.cosign(&fork.checkpoint(), &[], T0 + 6).unwrap()).unwrap();
    assert!(matches!(mirror.add_cosigned(&note.to_string(), &two_of_three.witnesses), Err(MirrorError::Conflict(_))));
    assert_eq!(code(&check(&mirror, &[1; 32], T0, &two_of_three, T0 + 700)), "anchoring_log_conflict");
}

/// A third witness's key for `log`.
fn other_key(log: &IssuerLog) -> WitnessKey {
    Witness::new("x.example", Ed25519SigningKey::from_bytes(&[3; 32]), log.signer.log_key().clone())
        .unwrap()
        .key()
        .clone()
}

/// Log review of session 19: a mirror records which witnesses cosigned by
/// name, so two keys configured under one name counted one cosignature
/// twice. Such a policy is refused; a witness configured twice (same key and
/// name) is one witness.
#[test]
fn attack_one_witness_cannot_count_twice() {
    let mut log = IssuerLog::new();
    log.append([1; 32], "did:key:zIssuer", T0);
    let mut mirror = LogMirror::new(log.signer.log_key().clone());
    log.sync(&mut mirror, T0);
    mirror.add_anchor(log.anchor(1, 2, T0 + 1)).unwrap();
    let mut witness =
        Witness::new("w.example", Ed25519SigningKey::from_bytes(&[1; 32]), log.signer.log_key().clone()).unwrap();
    let other =
        Witness::new("w.example", Ed25519SigningKey::from_bytes(&[2; 32]), log.signer.log_key().clone()).unwrap();
    let shared = WitnessPolicy::new(vec![witness.key().clone(), other.key().clone()], 2);
    assert!(
        matches!(shared.err(), Some(wallet_core::transparency::WitnessError::SharedName { name }) if name == "w.example")
    );
    // One key under two names: cosigning one note as each would count twice.
    let renamed =
        Witness::new("v.example", Ed25519SigningKey::from_bytes(&[1; 32]), log.signer.log_key().clone()).unwrap();
    let two_names = WitnessPolicy::new(vec![witness.key().clone(), renamed.key().clone(), other_key(&log)], 2);
    assert!(matches!(two_names.err(), Some(wallet_core::transparency::WitnessError::SharedName { .. })));
    assert!(WitnessPolicy::new(vec![witness.key().clone(), witness.key().clone()], 2).is_err());
    let twice = WitnessPolicy::new(vec![witness.key().clone(), witness.key().clone()], 1).unwrap();
    let once = AnchoringPolicy { witnesses: twice, ..policy(true) };
    let mut note = SignedNote::parse(&log.checkpoint()).unwrap();
    note.add_signature(witness.cosign(&log.checkpoint(), &[], T0 + 5).unwrap()).unwrap();
    assert_eq!(mirror.add_cosigned(&note.to_string(), &once.witnesses).unwrap(), 1);
    match check(&mirror, &[1; 32], T0, &once, T0 + 601) {
        AnchoringOutcome::Anchored(evidence) => assert_eq!(evidence.witnesses, vec!["w.example"]),
        other => panic!("expected anchored, got {other:?}"),
    }
}

#[test]
fn another_issuers_entry_or_an_unfollowed_issuer_is_not_anchoring() {
    let mut log = IssuerLog::new();
    log.append([1; 32], "did:key:zOther", T0);
    log.append([2; 32], "did:key:zIssuer", T0);
    let mut mirror = LogMirror::new(log.signer.log_key().clone());
    log.sync(&mut mirror, T0);
    mirror.add_anchor(log.anchor(2, 2, T0 + 1)).unwrap();
    assert_eq!(code(&check(&mirror, &[1; 32], T0, &policy(true), T0 + 5)), "anchoring_wrong_issuer");
    let mirrors = LogMirrors::new(vec![mirror]);
    let outcome = mirrors.check(&[1; 32], "did:key:zNobody", Some(T0), &policy(true), T0 + 5);
    assert_eq!(code(&outcome), "anchoring_pending");
    let outcome = mirrors.check(&[1; 32], "did:key:zNobody", Some(T0), &policy(true), T0 + 601);
    assert_eq!(code(&outcome), "anchoring_no_log_for_issuer");
}

// ------------------------------------------------------------ in the verification report

fn unsigned(issuer: &str) -> Value {
    let mut vc: Value =
        serde_json::from_str(include_str!("../../../fixtures/credentials/sample-health-certificate.unsigned.json"))
            .unwrap();
    vc["issuer"] = json!(issuer);
    vc
}

async fn digest_of(signed: &Value) -> Hash {
    Sha256::digest(wallet_core::canonical::canonical_nquads(signed).await.unwrap().as_bytes()).into()
}

#[tokio::test]
async fn the_report_says_anchored_at_block_n_and_refuses_an_unlogged_credential() {
    let key = IssuerKey::generate();
    let created = Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap();
    let logged = sign_credential(&unsigned(&key.did()), &key, created).await.unwrap();
    // Signed with the same key, never logged (the thief's certificate).
    let mut forged = unsigned(&key.did());
    forged["id"] = json!("urn:uuid:0f1e2d3c-4b5a-4968-8776-655443322110");
    let unlogged = sign_credential(&forged, &key, created).await.unwrap();
    let at = u64::try_from(created.timestamp()).unwrap();

    let mut log = IssuerLog::new();
    log.append(digest_of(&logged).await, &key.did(), at);
    log.append([5; 32], &key.did(), at + 3600);
    let mut mirror = LogMirror::new(log.signer.log_key().clone());
    log.sync(&mut mirror, at + 3600);
    mirror.add_anchor(log.anchor(2, 42, at + 3610)).unwrap();
    let logs = Arc::new(RwLock::new(LogMirrors::new(vec![mirror])));

    let now = created + chrono::Duration::days(2);
    let options = |required| {
        VerifyOptions::at(now).with_anchoring(AnchoringSource::Mirrors { logs: logs.clone(), policy: policy(required) })
    };
    let report = verify_credential(&logged, &options(true)).await.unwrap();
    assert!(report.checks.anchoring.is_valid(), "{:?}", report.checks.anchoring);
    let anchor = report.anchor.expect("anchor evidence");
    assert_eq!((anchor.block_number, anchor.block_time, anchor.index), (42, at + 3610, 0));
    assert!(report.verified);

    let report = verify_credential(&unlogged, &options(true)).await.unwrap();
    assert_eq!(report.checks.anchoring.invalid_code(), Some("anchoring_not_in_log"));
    assert!(!report.verified);
    assert!(report.anchor.is_none());

    // Without anchoring configured the check says so and does not decide.
    let report = verify_credential(&unlogged, &VerifyOptions::at(now)).await.unwrap();
    assert!(!report.checks.anchoring.is_valid() && !report.checks.anchoring.is_invalid());
}

/// Issue #13: the log is the signer's, whatever the credential says its issuer is.
#[tokio::test]
async fn a_stolen_key_with_a_made_up_issuer_is_not_in_the_signers_log() {
    let key = IssuerKey::generate();
    let other = IssuerKey::generate();
    let created = Utc.with_ymd_and_hms(2026, 5, 1, 8, 0, 0).unwrap();
    let at = u64::try_from(created.timestamp()).unwrap();
    let genuine = sign_credential(&unsigned(&key.did()), &key, created).await.unwrap();

    // The signer's log moved past the forgeries' date.
    let mut log = IssuerLog::new();
    log.append(digest_of(&genuine).await, &key.did(), at);
    log.append([5; 32], &key.did(), at + 3600);
    let mut mirror = LogMirror::new(log.signer.log_key().clone());
    log.sync(&mut mirror, at + 3600);
    mirror.add_anchor(log.anchor(2, 42, at + 3610)).unwrap();
    // Another issuer's log, last synced before the forgeries' date: a claim
    // of that issuer, if it chose the log, would leave registration unknown.
    let mut other_log = IssuerLog::new();
    other_log.append([6; 32], &other.did(), at - 7200);
    let mut other_mirror = LogMirror::new(other_log.signer.log_key().clone());
    other_log.sync(&mut other_mirror, at - 7200);
    let logs = Arc::new(RwLock::new(LogMirrors::new(vec![other_mirror, mirror])));
    let now = created + chrono::Duration::days(2);
    // Not required: a missing log would only be `unchecked`.
    let options =
        VerifyOptions::at(now).with_anchoring(AnchoringSource::Mirrors { logs: logs.clone(), policy: policy(false) });

    for claimed in ["did:web:made-up.example", "https://nobody.example/issuer", other.did().as_str()] {
        let mut forged = unsigned(claimed);
        forged["id"] = json!("urn:uuid:0f1e2d3c-4b5a-4968-8776-655443322110");
        let forged = sign_credential(&forged, &key, created).await.unwrap();
        let report = verify_credential(&forged, &options).await.unwrap();
        assert_eq!(report.checks.signature, wallet_core::verification::CheckResult::Valid);
        assert_eq!(report.checks.anchoring.invalid_code(), Some("anchoring_not_in_log"), "{claimed}: {report:#?}");
        assert!(!report.verified);
    }
    // The genuine credential is still anchored, in its signer's log.
    let report = verify_credential(&genuine, &options).await.unwrap();
    assert!(report.checks.anchoring.is_valid(), "{:?}", report.checks.anchoring);
    assert_eq!(report.anchor.unwrap().block_number, 42);
}

#[test]
fn the_mirror_is_chosen_by_the_signer_and_its_entry_must_be_the_signers() {
    let mut log = IssuerLog::new();
    log.append([1; 32], "did:key:zOther", T0);
    log.append([2; 32], "did:key:zSigner", T0);
    let mut mirror = LogMirror::new(log.signer.log_key().clone());
    log.sync(&mut mirror, T0);
    mirror.add_anchor(log.anchor(2, 2, T0 + 1)).unwrap();
    let mirrors = LogMirrors::new(vec![mirror]);
    // Entry 0 is zOther's: a credential signed by zSigner is not anchored by it.
    let outcome = mirrors.check(&[1; 32], "did:key:zSigner", Some(T0), &policy(true), T0 + 5);
    assert_eq!(code(&outcome), "anchoring_wrong_issuer");
    assert_eq!(code(&mirrors.check(&[2; 32], "did:key:zSigner", Some(T0), &policy(true), T0 + 5)), "anchored");
    // A key of the same organisation (rotation) is accepted for the entry and the log.
    let same_org = |did: &str| did == "did:key:zOther";
    let outcome = mirrors.check_signed_by(&[1; 32], "did:key:zNewKey", &same_org, Some(T0), &policy(true), T0 + 5);
    assert_eq!(code(&outcome), "anchored");
    // Without that, a new key has no log.
    let outcome = mirrors.check(&[1; 32], "did:key:zNewKey", Some(T0), &policy(true), T0 + 601);
    assert_eq!(code(&outcome), "anchoring_no_log_for_issuer");
}

#[test]
fn a_log_signed_with_the_signers_key_is_its_log_even_before_any_entry() {
    let key = IssuerKey::generate();
    let mut log = IssuerLog {
        signer: LogSigner::from_issuer_key(ORIGIN, &key).unwrap(),
        tree: MerkleTree::new(),
        entries: Vec::new(),
    };
    log.append([9; 32], "did:key:zSomeoneElse", T0 + 1000);
    let mut mirror = LogMirror::new(log.signer.log_key().clone());
    log.sync(&mut mirror, T0 + 1000);
    assert!(mirror.signed_by(&key.did()) && !mirror.signed_by(&IssuerKey::generate().did()));
    let mirrors = LogMirrors::new(vec![mirror]);
    // The log moved past T0 without the credential: not in log, not "no log".
    let outcome = mirrors.check(&[1; 32], &key.did(), Some(T0), &policy(true), T0 + 1100);
    assert_eq!(code(&outcome), "anchoring_not_in_log");
}

/// A clinic whose authorisation the department withdrew (`privilegeWithdrawn`)
/// keeps its key, signs after the withdrawal and dates the proof the hour
/// before. Offline nothing tells that from what it really signed then, so
/// both are refused (`issuer_withdrawn_unanchored`); with the log's evidence
/// the credential it logged and anchored then stands. Attack review 3: the
/// withdrawn clinic runs its own log, so it logs and anchors the backdated
/// one too, after the withdrawal: being in the log is not evidence, being
/// anchored on the chain before the withdrawal is. The same holds for a
/// thief of a compromised key dating its forgery before the compromise
/// (`keyCompromise`, which once was judged by the claimed date alone).
/// Rotation (`superseded`) at the same time leaves earlier credentials
/// standing offline, as before.
#[tokio::test]
async fn a_withdrawn_issuer_needs_the_logs_evidence_for_what_it_claims_to_have_signed_before() {
    use crate::attack_common::{at, now, usual_window, Pki};
    use wallet_core::credential::HEALTH_CERTIFICATE_TYPE;
    use wallet_core::trust::{RevocationEntry, RevocationReason, TrustAlgorithm, TrustKey};
    use wallet_core::verification::IssuerTrust;
    let pki = Pki::department();
    let clinic = TrustKey::generate(TrustAlgorithm::P256);
    let TrustKey::P256(key) = &clinic else { panic!("P-256") };
    let serial = [0x3b_u8];
    let cert = pki.certify(&clinic, &[HEALTH_CERTIFICATE_TYPE], &usual_window(), &serial);
    let revoked = |reason| RevocationEntry {
        serial: serial.to_vec(),
        revoked_at: at("2026-05-20T00:00:00Z"),
        reason,
        invalidity_date: None,
    };
    let created = at("2026-05-19T23:00:00Z");
    let logged = sign_credential(&unsigned(&key.did()), key, created).await.unwrap();
    let mut later = unsigned(&key.did());
    later["id"] = json!("urn:uuid:0f1e2d3c-4b5a-4968-8776-655443322111");
    let backdated = sign_credential(&later, key, created).await.unwrap();
    let at_secs = u64::try_from(created.timestamp()).unwrap();
    // Before the withdrawal (00:00): the credential logged, anchored at 23:30.
    let mut log = IssuerLog::new();
    log.append(digest_of(&logged).await, &key.did(), at_secs);
    log.append([5; 32], &key.did(), at_secs + 1800);
    let mut mirror = LogMirror::new(log.signer.log_key().clone());
    log.sync(&mut mirror, at_secs + 1800);
    mirror.add_anchor(log.anchor(2, 42, at_secs + 1810)).unwrap();
    let before = Arc::new(RwLock::new(LogMirrors::new(vec![mirror.clone()])));
    // After it (01:00): the backdated one logged and anchored by the clinic's own log.
    log.append(digest_of(&backdated).await, &key.did(), at_secs + 7200);
    log.sync(&mut mirror, at_secs + 7200);
    mirror.add_anchor(log.anchor(3, 43, at_secs + 7210)).unwrap();
    let after = Arc::new(RwLock::new(LogMirrors::new(vec![mirror])));
    let inspector = |reason, logs: Option<&Arc<RwLock<LogMirrors>>>| {
        let store = pki.store(vec![cert.clone()], &[revoked(reason)]);
        let options = VerifyOptions::at(now()).with_trust(IssuerTrust::list(Arc::new(store)), true);
        match logs {
            Some(logs) => {
                options.with_anchoring(AnchoringSource::Mirrors { logs: logs.clone(), policy: policy(false) })
            }
            None => options,
        }
    };
    for reason in [RevocationReason::PrivilegeWithdrawn, RevocationReason::KeyCompromise] {
        for vc in [&logged, &backdated] {
            let report = verify_credential(vc, &inspector(reason, None)).await.unwrap();
            assert_eq!(report.checks.issuer_trust.invalid_code(), Some("issuer_withdrawn_unanchored"), "{report:#?}");
            assert!(!report.verified && report.trusted_issuer.is_none());
        }
        for logs in [&before, &after] {
            let report = verify_credential(&logged, &inspector(reason, Some(logs))).await.unwrap();
            assert!(report.checks.issuer_trust.is_valid() && report.checks.anchoring.is_valid(), "{report:#?}");
        }
        let report = verify_credential(&backdated, &inspector(reason, Some(&before))).await.unwrap();
        assert_eq!(report.checks.issuer_trust.invalid_code(), Some("issuer_withdrawn_unanchored"));
        assert!(!report.verified);
        // In the log and anchored, but only after the withdrawal.
        let report = verify_credential(&backdated, &inspector(reason, Some(&after))).await.unwrap();
        assert!(report.checks.anchoring.is_valid(), "the premise: it is logged and anchored; {report:#?}");
        assert_eq!(report.checks.issuer_trust.invalid_code(), Some("issuer_withdrawn_unanchored"), "{reason:?}");
        assert!(!report.verified);
    }
    let report = verify_credential(&backdated, &inspector(RevocationReason::Superseded, None)).await.unwrap();
    assert!(report.checks.issuer_trust.is_valid(), "{report:#?}");
}

/// Attack review 3: a log operator (a clinic runs its own log) dates its
/// entries in the far future. `now - at` saturated to 0, so such an entry was
/// "within the grace period" for ever: pending, neither witnessed nor
/// anchored, `unchecked` under `--require-anchoring` too. Now it is overdue
/// once the grace period after the clock (and its skew) has passed.
#[test]
fn attack_an_entry_dated_in_the_future_is_not_pending_for_ever() {
    let key = IssuerKey::generate();
    let mut log = IssuerLog::new();
    log.append([7; 32], &key.did(), T0 + 1_000_000_000);
    log.append([8; 32], &key.did(), T0 + 100);
    let mut mirror = LogMirror::new(log.signer.log_key().clone());
    log.sync(&mut mirror, T0 + 100);
    let mirrors = LogMirrors::new(vec![mirror]);
    let outcome = mirrors.check(&[7; 32], &key.did(), Some(T0), &policy(true), T0 + 200);
    assert_eq!(code(&outcome), "anchoring_overdue");
    // An honest entry just logged is still pending within the grace period.
    let outcome = mirrors.check(&[8; 32], &key.did(), Some(T0 + 100), &policy(true), T0 + 200);
    assert_eq!(code(&outcome), "anchoring_pending");
}
