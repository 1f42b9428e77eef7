//! The store test-suite, written once and run against both backends.
//!
//! Every test in [`store_tests!`] runs twice:
//!
//! * `sqlite::<name>` against a fresh SQLite file in a temporary directory;
//! * `postgres::<name>` against a fresh database created for that test on the server
//!   named by `TEST_DATABASE_URL` (an admin URL; the database is dropped afterwards).
//!
//! Without `TEST_DATABASE_URL`, the PostgreSQL tests are skipped with a `SKIPPED` line,
//! unless `CI` or `REQUIRE_POSTGRES` is set, in which case they fail
//! (`require(Dep::Postgres)`). To run everything:
//!
//! ```sh
//! scripts/with-postgres.sh cargo test -p issuer --test suite store::
//! ```

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use issuer::domain::accounts::{Role, TokenScope};
use issuer::store::{
    CredentialQuery, CredentialState, IdempotencyRecord, NewCredential, PublishedStatusList, SaveOutcome, StatusAction,
    StatusChange, StatusChangeOutcome, StatusListConfig, Store, StoreError, PURPOSES, SINGLE_USE_PURPOSES,
};
use issuer::store::{IssuedToSave, LogAppended, NewOffer, Period, Redemption, TokenGrant};
use sha2::{Digest, Sha256};
use tokio::sync::Barrier;
use tokio::task::JoinSet;
use wallet_core::status::StatusPurpose;
use wallet_core::transparency::{EntryKind, LogEntry, StatusListPurpose};

use crate::support::require::{require, Dep};

/// A connected store plus the URL it was opened from (for reconnecting).
struct TestDb {
    store: Store,
    url: String,
}

/// Generates `sqlite::$name` and `postgres::$name` for each backend-independent test.
macro_rules! store_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::store::run_on_sqlite(crate::store::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::store::run_on_postgres(crate::store::$name).await;
                }
            )*
        }
    };
}

store_tests!(
    saves_and_reads_back_verbatim,
    unknown_ids_and_keys_are_none,
    duplicate_id_is_rejected_and_rolls_back,
    idempotent_replay_returns_first_record,
    concurrent_saves_with_same_key_store_one_credential,
    scopes_are_independent,
    lists_newest_first_with_paging,
    lists_filter_by_kind_and_issue_date,
    counts_credentials,
    migrations_are_idempotent,
    data_survives_reopen,
    status_allocation_is_random_distinct_and_idempotent,
    status_lists_roll_over_at_the_allocation_limit,
    concurrent_status_allocations_never_share_an_index,
    status_changes_write_bit_version_and_audit_together,
    revocation_is_final,
    status_changes_need_a_stored_credential_with_entries,
    status_snapshot_is_consistent_and_publications_never_go_back,
    log_entries_are_written_in_the_save_and_status_transactions,
    concurrent_logged_saves_get_gap_free_unique_seqs,
    batched_appends_are_gap_free_with_concurrent_saves,
    the_anchor_queue_keeps_one_row_per_size_and_confirmed_rows_are_final,
    staff_accounts_count_failures_lock_and_unlock,
    api_tokens_are_found_by_hash_until_revoked,
    counts_group_issuance_and_status_changes_by_month_and_day,
    a_single_use_credential_is_used_exactly_once_even_concurrently,
    only_active_single_use_credentials_can_be_used,
    oid4vci_offers_count_wrong_pins_burn_and_are_single_use,
    concurrent_wrong_pins_never_exceed_the_limit,
    oid4vci_nonces_are_single_use,
    licence_serials_count_per_authority_and_type_even_concurrently,
    a_licence_id_is_found_and_never_stored_twice,
    a_reissue_revokes_the_previous_version_in_its_own_transaction_once,
    group_saves_answer_per_credential_and_log_in_order,
    a_group_with_a_stored_id_saves_nothing,
    concurrent_group_and_coalesced_saves_are_gap_free,
    grouped_status_allocation_is_distinct_idempotent_and_rolls_over,
    coalesced_status_allocations_are_distinct_idempotent_and_keep_their_purposes,
    a_group_of_300_stores_every_row_once_and_each_where_it_belongs,
);

// --- the tests ------------------------------------------------------------------

fn offer(id: &str, now: i64) -> NewOffer {
    NewOffer {
        offer_id: id.into(),
        code_hash: format!("code-{id}"),
        tx_code_hash: Some(format!("pin-{id}")),
        configuration_id: "HealthCertificate".into(),
        request_json: r#"{"fullName":"欧阳晓燕"}"#.into(),
        created_by: "token:t1".into(),
        created_at: now,
        expires_at: now + 600,
    }
}

fn grant(hash: &str, expires_at: i64) -> TokenGrant<'_> {
    TokenGrant { access_token_hash: hash, expires_at }
}

async fn oid4vci_offers_count_wrong_pins_burn_and_are_single_use(db: TestDb) {
    let store = db.store;
    let now = 1_800_000_000;
    store.create_offer(&offer("a", now)).await.expect("create");
    store.create_offer(&offer("b", now)).await.expect("create");
    store.create_offer(&offer("old", now - 601)).await.expect("create");
    let redeem = |code: &'static str, pin: &'static str, token: &'static str| {
        let store = store.clone();
        async move { store.redeem_offer(code, Some(pin), grant(token, now + 300), now, 5).await.expect("redeem") }
    };
    for left in (0..5).rev() {
        assert_eq!(redeem("code-a", "wrong", "t-a").await, Redemption::WrongTxCode { attempts_left: left });
    }
    assert_eq!(redeem("code-a", "pin-a", "t-a").await, Redemption::Burned, "burned: the right PIN no longer helps");
    assert!(store.offer_for_access_token("t-a", now).await.expect("read").is_none());
    assert_eq!(redeem("code-x", "pin-x", "t-x").await, Redemption::Unknown);
    assert_eq!(redeem("code-old", "pin-old", "t-old").await, Redemption::Expired);

    assert_eq!(redeem("code-b", "pin-b", "t-b").await, Redemption::Redeemed { offer_id: "b".into() });
    assert_eq!(redeem("code-b", "pin-b", "t-b2").await, Redemption::AlreadyRedeemed);
    let found = store.offer_for_access_token("t-b", now).await.expect("read").expect("offer");
    assert_eq!((found.offer_id.as_str(), found.configuration_id.as_str()), ("b", "HealthCertificate"));
    assert!(found.request_json.contains("欧阳晓燕"));
    assert!(store.offer_for_access_token("t-b", now + 300).await.expect("read").is_none(), "token expired");
    assert!(store.offer_for_access_token("t-b2", now).await.expect("read").is_none());
    assert!(store.complete_offer("b", "urn:uuid:1").await.expect("complete"));
    assert!(!store.complete_offer("b", "urn:uuid:2").await.expect("complete"), "one credential per offer");
    assert!(store.offer_for_access_token("t-b", now).await.expect("read").is_none());
    let sql = "SELECT offer_id FROM oid4vci_offers WHERE request_json <> '' ORDER BY offer_id";
    let offers_with_data = || async {
        match store.backend() {
            "sqlite" => {
                let path = db.url.trim_start_matches("sqlite://").to_owned();
                let connection = rusqlite::Connection::open(path).expect("open");
                let mut statement = connection.prepare(sql).expect("prepare");
                statement.query_map([], |row| row.get(0)).expect("query").collect::<Result<_, _>>().expect("rows")
            }
            _ => {
                let (client, connection) =
                    tokio_postgres::connect(&db.url, tokio_postgres::NoTls).await.expect("connect");
                tokio::spawn(connection);
                client.query(sql, &[]).await.expect("query").iter().map(|r| r.get(0)).collect::<Vec<String>>()
            }
        }
    };
    // The expired offer keeps its request until the timer's scrub (or the next offer).
    assert_eq!(offers_with_data().await, ["old"]);
    assert!(store.scrub_unusable_offers(now + 1000).await.expect("scrub") >= 1);
    assert!(offers_with_data().await.is_empty(), "no offer keeps personal data it can no longer be used for");
    // A later offer scrubs the personal data of used, burned and expired offers, too.
    store.create_offer(&offer("c", now + 1000)).await.expect("create");
    assert_eq!(offers_with_data().await, ["c"], "only the live offer keeps its request");
}

async fn concurrent_wrong_pins_never_exceed_the_limit(db: TestDb) {
    let store = db.store;
    let now = 1_800_000_000;
    store.create_offer(&offer("a", now)).await.expect("create");
    let mut tasks = JoinSet::new();
    for i in 0..20 {
        let store = store.clone();
        tasks.spawn(async move {
            let token = format!("t-{i}");
            store.redeem_offer("code-a", Some("wrong"), grant(&token, now + 300), now, 5).await.expect("redeem")
        });
    }
    let mut wrong = 0;
    let mut burned = 0;
    while let Some(outcome) = tasks.join_next().await {
        match outcome.expect("task") {
            Redemption::WrongTxCode { .. } => wrong += 1,
            Redemption::Burned => burned += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((wrong, burned), (5, 15));
}

async fn oid4vci_nonces_are_single_use(db: TestDb) {
    let store = db.store;
    let now = 1_800_000_000;
    assert!(store.use_nonce("n1", now + 300, now).await.expect("use"));
    assert!(!store.use_nonce("n1", now + 300, now + 10).await.expect("reuse"));
    assert!(store.use_nonce("n2", now + 300, now).await.expect("use"));
    // Expired entries are forgotten (the MAC check refuses expired nonces before this).
    assert!(store.use_nonce("n1", now + 900, now + 301).await.expect("after expiry"));
}

fn log_entry(n: u8) -> LogEntry {
    LogEntry::issued([n; 32], "did:key:zDnaeTest", 1_700_000_000 + u64::from(n)).expect("entry")
}

async fn log_entries_are_written_in_the_save_and_status_transactions(db: TestDb) {
    let store = db.store;
    assert_eq!(store.log_size().await.expect("size"), 0);
    let first = sample_credential("urn:uuid:log-1", "HealthCertificate", at(BASE_SECONDS, 0));
    let (outcome, appended) = store.save_issued_logged(&first, None, Some(&log_entry(1))).await.expect("save");
    assert_eq!(outcome, SaveOutcome::Saved);
    assert_eq!(appended, Some(LogAppended { seq: 0, leaf_hash: log_entry(1).leaf_hash() }));

    // A failed save (duplicate id) appends nothing: the entry rolls back with it.
    let failed = store.save_issued_logged(&first, None, Some(&log_entry(2))).await;
    assert!(matches!(failed, Err(StoreError::Duplicate(_))), "{failed:?}");
    assert_eq!(store.log_size().await.expect("size"), 1);

    // A replay appends nothing either.
    let second = sample_credential("urn:uuid:log-2", "HealthCertificate", at(BASE_SECONDS, 0));
    let record = idempotency_record("health-certificates", "log-key", &second.id, 201);
    let (outcome, appended) =
        store.save_issued_logged(&second, Some(&record), Some(&log_entry(2))).await.expect("save");
    assert_eq!((outcome, appended.map(|a| a.seq)), (SaveOutcome::Saved, Some(1)));
    let retry = sample_credential("urn:uuid:log-3", "HealthCertificate", at(BASE_SECONDS, 0));
    let (outcome, appended) =
        store.save_issued_logged(&retry, Some(&record), Some(&log_entry(3))).await.expect("replay");
    assert!(matches!(outcome, SaveOutcome::Replayed(_)) && appended.is_none());
    assert_eq!(store.log_size().await.expect("size"), 2);

    // A status change appends a StatusChanged entry for the same digest, in its transaction;
    // a change that changes nothing appends nothing.
    store.allocate_status(&second.id, &PURPOSES, &StatusListConfig::default()).await.expect("allocate");
    let outcome = store.change_status(&change(&second.id, StatusAction::Revoke, "r", "a")).await.expect("revoke");
    assert!(matches!(outcome, StatusChangeOutcome::Changed { .. }), "{outcome:?}");
    let outcome = store.change_status(&change(&second.id, StatusAction::Revoke, "r", "a")).await.expect("again");
    assert!(!matches!(outcome, StatusChangeOutcome::Changed { .. }), "{outcome:?}");
    let records = store.log_entries(0, None).await.expect("entries");
    assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), [0, 1, 2]);
    assert!(records.iter().all(|r| r.is_intact()));
    let status_entry = LogEntry::decode(&records[2].entry).expect("decode");
    assert_eq!(status_entry.kind(), EntryKind::StatusChanged { purpose: StatusListPurpose::Revocation, value: true });
    assert_eq!(status_entry.credential_digest(), log_entry(2).credential_digest());
    assert_eq!(records[2].credential_id.as_deref(), Some(second.id.as_str()));
    let issued = store.first_log_entry_for(&second.id).await.expect("read").expect("entry");
    assert_eq!((issued.seq, issued.entry.clone()), (1, log_entry(2).encode()));
    assert!(store.first_log_entry_for("urn:uuid:unknown").await.expect("read").is_none());
    assert_eq!(store.log_entries(1, Some(1)).await.expect("page").len(), 1);

    // Checkpoints: one per size, the latest is the largest.
    assert!(store.latest_log_checkpoint().await.expect("read").is_none());
    assert!(store.save_log_checkpoint(2, &[2; 32], "note 2").await.expect("save"));
    assert!(store.save_log_checkpoint(3, &[3; 32], "note 3").await.expect("save"));
    assert!(!store.save_log_checkpoint(3, &[9; 32], "other note 3").await.expect("save"));
    let latest = store.latest_log_checkpoint().await.expect("read").expect("checkpoint");
    assert_eq!((latest.size, latest.root.as_slice(), latest.note_text.as_str()), (3, &[3u8; 32][..], "note 3"));
    assert_eq!(store.log_checkpoint(2).await.expect("read").expect("checkpoint").note_text, "note 2");
}

async fn concurrent_logged_saves_get_gap_free_unique_seqs(db: TestDb) {
    const TASKS: usize = 12;
    let second_handle = Store::connect(&db.url).await.expect("second connection");
    let handles = [db.store.clone(), second_handle];
    let start_together = Arc::new(Barrier::new(TASKS));
    let mut tasks = JoinSet::new();
    for task in 0..TASKS {
        let store = handles[task % handles.len()].clone();
        let start_together = Arc::clone(&start_together);
        tasks.spawn(async move {
            let credential =
                sample_credential(&format!("urn:uuid:logged-{task}"), "HealthCertificate", at(BASE_SECONDS, 0));
            let entry = log_entry(task as u8);
            start_together.wait().await;
            let (_, appended) = store.save_issued_logged(&credential, None, Some(&entry)).await.expect("save");
            (credential.id, appended.expect("appended"))
        });
    }
    let mut seqs = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        let (id, appended) = joined.expect("task panicked");
        let record = db.store.first_log_entry_for(&id).await.expect("read").expect("entry");
        assert_eq!((record.seq, record.leaf_hash.as_slice()), (appended.seq, &appended.leaf_hash[..]));
        seqs.push(appended.seq);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (0..TASKS as u64).collect::<Vec<_>>(), "gap-free and unique");
    let records = handles[1].log_entries(0, None).await.expect("entries");
    assert_eq!(records.len(), TASKS);
    assert!(records.iter().enumerate().all(|(i, r)| r.seq == i as u64 && r.is_intact()));
    assert_eq!(handles[1].log_size().await.expect("size"), TASKS as u64);
}

async fn batched_appends_are_gap_free_with_concurrent_saves(db: TestDb) {
    let batch: Vec<(LogEntry, Option<String>)> =
        (0..500u32).map(|i| (log_entry((i % 250) as u8), (i % 2 == 0).then(|| format!("sha256:{i}")))).collect();
    let other = Store::connect(&db.url).await.expect("second connection");
    let saver = tokio::spawn(async move {
        for n in 0..20u8 {
            let credential =
                sample_credential(&format!("urn:uuid:batch-{n}"), "HealthCertificate", at(BASE_SECONDS, 0));
            other.save_issued_logged(&credential, None, Some(&log_entry(n))).await.expect("save");
        }
    });
    let mut appended = Vec::new();
    for chunk in batch.chunks(100) {
        appended.extend(db.store.append_log_entries(chunk).await.expect("append"));
    }
    saver.await.expect("saver");
    assert_eq!(appended.len(), 500);
    // Each batch is contiguous, in order.
    for pair in appended.chunks(100) {
        assert!(pair.windows(2).all(|w| w[1].seq == w[0].seq + 1));
    }
    let records = db.store.log_entries(0, None).await.expect("entries");
    assert_eq!(records.len(), 520);
    assert!(records.iter().enumerate().all(|(i, r)| r.seq == i as u64 && r.is_intact()), "gap-free and intact");
    for (record, (entry, subject)) in appended.iter().zip(&batch) {
        let stored = &records[record.seq as usize];
        assert_eq!(
            (stored.entry.as_slice(), stored.credential_id.as_deref()),
            (entry.encode().as_slice(), subject.as_deref())
        );
        assert_eq!(stored.leaf_hash.as_slice(), &record.leaf_hash[..]);
    }
    assert!(db.store.append_log_entries(&[]).await.expect("empty").is_empty());
    let found = db.store.first_log_entry_for("sha256:4").await.expect("read").expect("by subject");
    assert_eq!(found.seq, appended[4].seq);
}

async fn the_anchor_queue_keeps_one_row_per_size_and_confirmed_rows_are_final(db: TestDb) {
    use issuer::store::{AnchorRecord, AnchorState};
    let store = db.store;
    assert!(store.anchors().await.expect("read").is_empty());
    assert!(store.enqueue_anchor(&AnchorRecord::new(3, &[3; 32], &[30; 32], 100)).await.expect("enqueue"));
    assert!(!store.enqueue_anchor(&AnchorRecord::new(3, &[9; 32], &[90; 32], 101)).await.expect("again"));
    assert!(store.enqueue_anchor(&AnchorRecord::new(5, &[5; 32], &[50; 32], 102)).await.expect("enqueue"));
    let mut anchors = store.anchors().await.expect("read");
    assert_eq!(anchors.iter().map(|a| a.tree_size).collect::<Vec<_>>(), [3, 5]);
    assert_eq!(anchors[0].root, vec![3; 32], "the first root queued for a size is kept");
    // A verifier pages through them: those above a size, at most so many.
    let sizes = |page: Vec<AnchorRecord>| page.iter().map(|a| a.tree_size).collect::<Vec<_>>();
    assert_eq!(sizes(store.anchors_after(0, 100).await.expect("page")), [3, 5]);
    assert_eq!(sizes(store.anchors_after(0, 1).await.expect("page")), [3]);
    assert_eq!(sizes(store.anchors_after(3, 100).await.expect("page")), [5]);
    assert!(store.anchors_after(5, 100).await.expect("page").is_empty());

    let mut sent = anchors.remove(0);
    sent.state = AnchorState::Sent;
    sent.tx_hash = Some("0xabc".into());
    sent.attempts = 1;
    sent.chain_id = Some(31337);
    assert!(store.update_anchor(&sent).await.expect("sent"));
    let mut confirmed = sent.clone();
    confirmed.state = AnchorState::Confirmed;
    confirmed.block_number = Some(7);
    confirmed.block_time = Some(1_700_000_000);
    assert!(store.update_anchor(&confirmed).await.expect("confirm"));
    let mut resent = confirmed.clone();
    resent.state = AnchorState::Pending;
    resent.tx_hash = Some("0xdef".into());
    assert!(!store.update_anchor(&resent).await.expect("refused"), "a confirmed anchor is final");
    let stored = store.anchors().await.expect("read").remove(0);
    assert_eq!(stored, confirmed);
}

async fn saves_and_reads_back_verbatim(db: TestDb) {
    let store = db.store;
    let issued_at = at(BASE_SECONDS, 123_456);
    let credential = sample_credential("urn:uuid:read-back", "HealthCertificate", issued_at);
    let before = Utc::now() - Duration::seconds(1);
    let outcome = store.save_issued(&credential, None).await.expect("save");
    assert_eq!(outcome, SaveOutcome::Saved);

    let stored = store.credential(&credential.id).await.expect("read").expect("stored");
    assert_eq!(stored.id, credential.id);
    assert_eq!(stored.kind, credential.kind);
    assert_eq!(stored.issuer, credential.issuer);
    assert_eq!(stored.issued_at, credential.issued_at, "microseconds are kept");
    assert_eq!(stored.valid_from, credential.valid_from);
    assert_eq!(stored.valid_until, credential.valid_until);
    assert!(stored.credential_json == credential.credential_json, "JSON must be byte-identical");
    assert_eq!(stored.search_digest, credential.search_digest);
    assert!(
        stored.stored_at >= before && stored.stored_at <= Utc::now() + Duration::seconds(1),
        "stored_at {} should be about now",
        stored.stored_at
    );

    let minimal = NewCredential {
        valid_from: None,
        valid_until: None,
        search_digest: None,
        ..sample_credential("urn:uuid:minimal", "Generic", at(BASE_SECONDS, 0))
    };
    store.save_issued(&minimal, None).await.expect("save minimal");
    let stored = store.credential(&minimal.id).await.expect("read").expect("stored");
    assert_eq!((stored.valid_from, stored.valid_until, stored.search_digest), (None, None, None));
}

async fn unknown_ids_and_keys_are_none(db: TestDb) {
    let store = db.store;
    assert!(store.credential("urn:uuid:nobody").await.expect("read").is_none());
    assert!(store.idempotent_response("health-certificates", "nope").await.expect("read").is_none());

    let credential = sample_credential("urn:uuid:someone", "Generic", at(BASE_SECONDS, 0));
    store.save_issued(&credential, None).await.expect("save");
    assert!(store.credential("urn:uuid:SOMEONE").await.expect("read").is_none(), "ids are exact");
}

async fn duplicate_id_is_rejected_and_rolls_back(db: TestDb) {
    let store = db.store;
    let credential = sample_credential("urn:uuid:twice", "HealthCertificate", at(BASE_SECONDS, 0));
    store.save_issued(&credential, None).await.expect("first save");

    let again = NewCredential { credential_json: "{\"different\":true}".into(), ..credential.clone() };
    match store.save_issued(&again, None).await {
        Err(StoreError::Duplicate(id)) => assert_eq!(id, credential.id),
        other => panic!("expected Duplicate, got {other:?}"),
    }

    // With an idempotency record: the record must not survive the failed save.
    let record = idempotency_record("health-certificates", "dup-key", &again.id, 201);
    match store.save_issued(&again, Some(&record)).await {
        Err(StoreError::Duplicate(id)) => assert_eq!(id, credential.id),
        other => panic!("expected Duplicate, got {other:?}"),
    }
    assert!(store.idempotent_response("health-certificates", "dup-key").await.expect("read").is_none());

    let stored = store.credential(&credential.id).await.expect("read").expect("stored");
    assert_eq!(stored.credential_json, credential.credential_json, "the first save is kept");
    assert_eq!(store.count_credentials(None).await.expect("count"), 1);
}

async fn idempotent_replay_returns_first_record(db: TestDb) {
    let store = db.store;
    let first = sample_credential("urn:uuid:first", "HealthCertificate", at(BASE_SECONDS, 0));
    let first_record = idempotency_record("health-certificates", "key-1", &first.id, 201);
    assert_eq!(store.save_issued(&first, Some(&first_record)).await.expect("save"), SaveOutcome::Saved);

    let retry = sample_credential("urn:uuid:retry", "HealthCertificate", at(BASE_SECONDS, 1));
    let retry_record = IdempotencyRecord {
        request_digest: sha256_hex("a different body"),
        ..idempotency_record("health-certificates", "key-1", &retry.id, 201)
    };
    let outcome = store.save_issued(&retry, Some(&retry_record)).await.expect("replay");
    assert_eq!(outcome, SaveOutcome::Replayed(first_record.clone()));

    assert!(store.credential(&retry.id).await.expect("read").is_none(), "nothing new is stored");
    assert_eq!(store.count_credentials(None).await.expect("count"), 1);
    assert_eq!(store.idempotent_response("health-certificates", "key-1").await.expect("read"), Some(first_record));
}

async fn concurrent_saves_with_same_key_store_one_credential(db: TestDb) {
    const TASKS: usize = 8;
    // Two independent handles (two SQLite connections / two pools) so the race is real.
    let second_handle = Store::connect(&db.url).await.expect("second connection");
    let handles = [db.store.clone(), second_handle];
    let start_together = Arc::new(Barrier::new(TASKS));

    let mut tasks = JoinSet::new();
    for task in 0..TASKS {
        let store = handles[task % handles.len()].clone();
        let start_together = Arc::clone(&start_together);
        tasks.spawn(async move {
            let credential =
                sample_credential(&format!("urn:uuid:concurrent-{task}"), "HealthCertificate", at(BASE_SECONDS, 0));
            let record = idempotency_record("clinic:token-7", "same-key", &credential.id, 201);
            start_together.wait().await;
            let outcome = store.save_issued(&credential, Some(&record)).await.expect("save");
            (record, outcome)
        });
    }

    let mut saved = Vec::new();
    let mut replayed = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("task panicked") {
            (record, SaveOutcome::Saved) => saved.push(record),
            (_, SaveOutcome::Replayed(existing)) => replayed.push(existing),
        }
    }
    assert_eq!(saved.len(), 1, "exactly one request saves");
    let winner = &saved[0];
    assert_eq!(replayed.len(), TASKS - 1);
    assert!(replayed.iter().all(|record| record == winner), "every replay returns the winner's record");

    for store in &handles {
        assert_eq!(store.count_credentials(None).await.expect("count"), 1);
        let winner_id = winner.credential_id.as_deref().expect("winner has a credential");
        assert!(store.credential(winner_id).await.expect("read").is_some());
        assert_eq!(store.idempotent_response("clinic:token-7", "same-key").await.expect("read").as_ref(), Some(winner));
    }
}

async fn scopes_are_independent(db: TestDb) {
    let store = db.store;
    let for_clinic_a = sample_credential("urn:uuid:clinic-a", "HealthCertificate", at(BASE_SECONDS, 0));
    let for_clinic_b = sample_credential("urn:uuid:clinic-b", "HealthCertificate", at(BASE_SECONDS, 0));
    let record_a = idempotency_record("clinic:a", "shared-key", &for_clinic_a.id, 201);
    let record_b = idempotency_record("clinic:b", "shared-key", &for_clinic_b.id, 201);

    assert_eq!(store.save_issued(&for_clinic_a, Some(&record_a)).await.expect("a"), SaveOutcome::Saved);
    assert_eq!(store.save_issued(&for_clinic_b, Some(&record_b)).await.expect("b"), SaveOutcome::Saved);
    assert_eq!(store.count_credentials(None).await.expect("count"), 2);
    assert_eq!(store.idempotent_response("clinic:a", "shared-key").await.expect("a"), Some(record_a));
    assert_eq!(store.idempotent_response("clinic:b", "shared-key").await.expect("b"), Some(record_b));
    assert!(store.idempotent_response("clinic:c", "shared-key").await.expect("c").is_none());
}

async fn lists_newest_first_with_paging(db: TestDb) {
    let store = db.store;
    // Saved out of order; "tie-a"/"tie-b" share a timestamp (ties: id descending).
    let credentials = [
        ("urn:uuid:c", 30),
        ("urn:uuid:a", 10),
        ("urn:uuid:tie-a", 20),
        ("urn:uuid:e", 50),
        ("urn:uuid:tie-b", 20),
        ("urn:uuid:d", 40),
    ];
    for (id, minutes) in credentials {
        let issued_at = at(BASE_SECONDS + minutes * 60, 0);
        store.save_issued(&sample_credential(id, "Generic", issued_at), None).await.expect("save");
    }
    let expected_order = ["urn:uuid:e", "urn:uuid:d", "urn:uuid:c", "urn:uuid:tie-b", "urn:uuid:tie-a", "urn:uuid:a"];

    let all = store.list_credentials(&CredentialQuery::default()).await.expect("list");
    assert_eq!(ids(&all), expected_order);
    let first = &all[0];
    assert_eq!((first.kind.as_str(), first.issuer.as_str()), ("Generic", ISSUER_DID));
    assert_eq!(first.issued_at, at(BASE_SECONDS + 50 * 60, 0));
    assert_eq!(first.valid_until, Some(first.issued_at + Duration::days(365)));

    let mut paged = Vec::new();
    for page in 0..3 {
        let query = CredentialQuery { limit: 2, offset: page * 2, ..CredentialQuery::default() };
        let rows = store.list_credentials(&query).await.expect("page");
        assert_eq!(rows.len(), 2, "page {page}");
        paged.extend(rows);
    }
    assert_eq!(ids(&paged), expected_order);

    let past_the_end = CredentialQuery { offset: 6, ..CredentialQuery::default() };
    assert!(store.list_credentials(&past_the_end).await.expect("list").is_empty());
    let zero = CredentialQuery { limit: 0, ..CredentialQuery::default() };
    assert!(store.list_credentials(&zero).await.expect("list").is_empty());

    // The same listing with the documents, in one query (the staff pages' search).
    let query = CredentialQuery { limit: 3, offset: 1, ..CredentialQuery::default() };
    let stored = store.list_stored_credentials(&query).await.expect("stored");
    let stored_ids: Vec<&str> = stored.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(stored_ids, expected_order[1..4]);
    for s in &stored {
        assert!(Some(s.clone()) == store.credential(&s.id).await.expect("one"), "{}", s.id);
    }
}

async fn lists_filter_by_kind_and_issue_date(db: TestDb) {
    let store = db.store;
    let day = |n: i64| at(BASE_SECONDS + n * 86_400, 0);
    let credentials = [
        ("urn:uuid:hc-1", "HealthCertificate", day(1)),
        ("urn:uuid:hc-2", "HealthCertificate", day(2)),
        ("urn:uuid:hc-3", "HealthCertificate", day(3)),
        ("urn:uuid:fbl-2", "FoodBusinessLicence", day(2)),
        ("urn:uuid:gen-4", "Generic", day(4)),
    ];
    for (id, kind, issued_at) in credentials {
        store.save_issued(&sample_credential(id, kind, issued_at), None).await.expect("save");
    }
    let list = |query: CredentialQuery| {
        let store = store.clone();
        async move { ids(&store.list_credentials(&query).await.expect("list")) }
    };
    let kind = |kind: &str| Some(kind.to_owned());

    assert_eq!(
        list(CredentialQuery { kind: kind("HealthCertificate"), ..Default::default() }).await,
        ["urn:uuid:hc-3", "urn:uuid:hc-2", "urn:uuid:hc-1"]
    );
    assert!(list(CredentialQuery { kind: kind("Unknown"), ..Default::default() }).await.is_empty());
    // issued_from is inclusive, issued_until exclusive.
    assert_eq!(
        list(CredentialQuery { issued_from: Some(day(2)), issued_until: Some(day(4)), ..Default::default() }).await,
        ["urn:uuid:hc-3", "urn:uuid:hc-2", "urn:uuid:fbl-2"]
    );
    assert_eq!(list(CredentialQuery { issued_from: Some(day(4)), ..Default::default() }).await, ["urn:uuid:gen-4"]);
    assert_eq!(list(CredentialQuery { issued_until: Some(day(2)), ..Default::default() }).await, ["urn:uuid:hc-1"]);
    // A bound one microsecond after a timestamp excludes / includes it precisely.
    let just_after_day_3 = day(3) + Duration::microseconds(1);
    assert_eq!(
        list(CredentialQuery {
            kind: kind("HealthCertificate"),
            issued_from: Some(day(2)),
            issued_until: Some(just_after_day_3),
            limit: 1,
            offset: 1,
        })
        .await,
        ["urn:uuid:hc-2"]
    );
    assert_eq!(
        list(CredentialQuery { issued_from: Some(just_after_day_3), ..Default::default() }).await,
        ["urn:uuid:gen-4"]
    );
}

async fn counts_credentials(db: TestDb) {
    let store = db.store;
    assert_eq!(store.count_credentials(None).await.expect("count"), 0);
    let credentials = [
        ("urn:uuid:1", "HealthCertificate"),
        ("urn:uuid:2", "HealthCertificate"),
        ("urn:uuid:3", "FoodBusinessLicence"),
    ];
    for (id, kind) in credentials {
        store.save_issued(&sample_credential(id, kind, at(BASE_SECONDS, 0)), None).await.expect("save");
    }
    assert_eq!(store.count_credentials(None).await.expect("count"), 3);
    assert_eq!(store.count_credentials(Some("HealthCertificate")).await.expect("count"), 2);
    assert_eq!(store.count_credentials(Some("FoodBusinessLicence")).await.expect("count"), 1);
    assert_eq!(store.count_credentials(Some("Generic")).await.expect("count"), 0);
}

async fn migrations_are_idempotent(db: TestDb) {
    let credential = sample_credential("urn:uuid:kept", "Generic", at(BASE_SECONDS, 0));
    db.store.save_issued(&credential, None).await.expect("save");

    // Connecting again re-runs the migrator against an up-to-date schema, also while
    // the first handle is still open, and concurrently.
    let (second, third) = tokio::join!(Store::connect(&db.url), Store::connect(&db.url));
    let second = second.expect("second connect");
    let third = third.expect("third connect");
    assert_eq!(second.backend(), db.store.backend());
    for store in [&db.store, &second, &third] {
        assert_eq!(store.count_credentials(None).await.expect("count"), 1);
    }
    let another = sample_credential("urn:uuid:after", "Generic", at(BASE_SECONDS, 0));
    third.save_issued(&another, None).await.expect("save after reconnect");
    assert_eq!(db.store.count_credentials(None).await.expect("count"), 2);
}

async fn data_survives_reopen(db: TestDb) {
    let credential = sample_credential("urn:uuid:persisted", "FoodBusinessLicence", at(BASE_SECONDS, 999_999));
    let record = idempotency_record("food-business-licences", "persist-key", &credential.id, 201);
    db.store.save_issued(&credential, Some(&record)).await.expect("save");
    drop(db.store);

    let reopened = Store::connect(&db.url).await.expect("reopen");
    let stored = reopened.credential(&credential.id).await.expect("read").expect("persisted");
    assert_eq!(stored.credential_json, credential.credential_json);
    assert_eq!(stored.issued_at, credential.issued_at);
    assert_eq!(
        reopened.idempotent_response("food-business-licences", "persist-key").await.expect("read"),
        Some(record)
    );
}

async fn status_allocation_is_random_distinct_and_idempotent(db: TestDb) {
    let store = db.store;
    let config = StatusListConfig::default();
    let mut first = Vec::new();
    for n in 0..60 {
        let allocations =
            store.allocate_status(&format!("urn:uuid:alloc-{n}"), &PURPOSES, &config).await.expect("allocate");
        assert_eq!(allocations.len(), 2);
        assert_eq!(allocations[0].purpose, StatusPurpose::Revocation);
        assert_eq!(allocations[1].purpose, StatusPurpose::Suspension);
        assert_eq!((allocations[0].list_id, allocations[1].list_id), (1, 2), "one list per purpose");
        first.push(allocations);
    }
    let revocation: Vec<u64> = first.iter().map(|a| a[0].index).collect();
    let mut distinct = revocation.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), revocation.len(), "no index is handed out twice");
    assert_ne!(distinct, revocation, "indexes are not in issuance order");
    assert!(revocation.iter().all(|&i| i < 131_072));

    let again = store.allocate_status("urn:uuid:alloc-7", &PURPOSES, &config).await.expect("again");
    assert_eq!(again, first[7], "a credential keeps its entries");
    let record = store.credential_status("urn:uuid:alloc-7").await.expect("read").expect("entries");
    assert_eq!(record.state(), CredentialState::Active);
    assert_eq!(record.entries.len(), 2);
    assert_eq!(record.entries[0].index, first[7][0].index);
    assert!(store.credential_status("urn:uuid:nobody").await.expect("read").is_none());

    let lists = store.status_lists().await.expect("lists");
    assert_eq!(lists.len(), 2);
    for (list, purpose) in lists.iter().zip([StatusPurpose::Revocation, StatusPurpose::Suspension]) {
        assert_eq!(list.purpose, purpose);
        assert_eq!((list.size_bits, list.max_allocations, list.allocated, list.version), (131_072, 131_072, 60, 1));
    }
}

fn to_save(id: &str, key: Option<&str>, n: u8) -> IssuedToSave {
    IssuedToSave {
        credential: sample_credential(id, "Generic", at(1_700_000_000, 0)),
        idempotency: key.map(|key| idempotency_record("group", key, id, 201)),
        log_entry: log_entry(n),
    }
}

async fn group_saves_answer_per_credential_and_log_in_order(db: TestDb) {
    let store = db.store;
    let first = to_save("urn:uuid:group-0", Some("k0"), 0);
    store
        .save_issued_logged(&first.credential, first.idempotency.as_ref(), Some(&first.log_entry))
        .await
        .expect("save");
    let group = [
        to_save("urn:uuid:group-1", Some("k0"), 1), // key taken by a committed record
        to_save("urn:uuid:group-2", Some("k2"), 2),
        to_save("urn:uuid:group-3", Some("k3"), 3),
        to_save("urn:uuid:group-4", Some("k2"), 4), // key taken earlier in the group
        to_save("urn:uuid:group-5", None, 5),
    ];
    let outcomes = store.save_issued_group(&group).await.expect("group");
    let replayed_id = |o: &(SaveOutcome, Option<LogAppended>)| match &o.0 {
        SaveOutcome::Replayed(record) => record.credential_id.clone(),
        SaveOutcome::Saved => None,
    };
    assert_eq!(replayed_id(&outcomes[0]).as_deref(), Some("urn:uuid:group-0"));
    assert_eq!(replayed_id(&outcomes[3]).as_deref(), Some("urn:uuid:group-2"));
    let seqs: Vec<Option<u64>> = outcomes.iter().map(|o| o.1.map(|a| a.seq)).collect();
    assert_eq!(seqs, [None, Some(1), Some(2), None, Some(3)], "saved ones logged in order, after the first save");
    for (o, n) in outcomes.iter().zip(0u8..) {
        if let Some(appended) = o.1 {
            assert_eq!(appended.leaf_hash, wallet_core::transparency::leaf_hash(&log_entry(n + 1).encode()));
        }
    }
    assert_eq!(store.count_credentials(None).await.unwrap(), 4);
    assert!(store.credential("urn:uuid:group-1").await.unwrap().is_none(), "a replayed item is not stored");
    assert!(store.credential("urn:uuid:group-4").await.unwrap().is_none());
    let records = store.log_entries(0, None).await.unwrap();
    let subjects: Vec<Option<&str>> = records.iter().map(|r| r.credential_id.as_deref()).collect();
    assert_eq!(
        subjects,
        [Some("urn:uuid:group-0"), Some("urn:uuid:group-2"), Some("urn:uuid:group-3"), Some("urn:uuid:group-5")]
    );
    assert!(store.save_issued_group(&[]).await.unwrap().is_empty());
}

/// The multi-row statements of a group (one per table on PostgreSQL): no row
/// lost, doubled or given to another credential, for 300 rows with keys taken
/// before, keys repeated inside the group, rows without a key and optional
/// columns set and unset; the status entries of the 300 allocated the same way.
async fn a_group_of_300_stores_every_row_once_and_each_where_it_belongs(db: TestDb) {
    let store = db.store;
    const N: usize = 300;
    let id = |n: usize| format!("urn:uuid:big-{n:03}");
    // Keys: mostly their own; every 50th a key committed before the group;
    // every 40th (not 50th) the key of the row 7 before it; every 60th none.
    let key = |n: usize| -> Option<String> {
        if n % 60 == 59 {
            None
        } else if n % 50 == 49 {
            Some(format!("before-{n}"))
        } else if n % 40 == 39 {
            Some(format!("key-{}", n - 7))
        } else {
            Some(format!("key-{n}"))
        }
    };
    for n in (0..N).filter(|n| n % 50 == 49 && n % 60 != 59) {
        let earlier = IssuedToSave {
            credential: sample_credential(&format!("urn:uuid:earlier-{n}"), "Generic", at(BASE_SECONDS, 0)),
            idempotency: Some(idempotency_record("big", &format!("before-{n}"), &format!("urn:uuid:earlier-{n}"), 201)),
            log_entry: log_entry(255),
        };
        store.save_issued_group(&[earlier]).await.expect("earlier");
    }
    let ids: Vec<String> = (0..N).map(id).collect();
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let allocations =
        store.allocate_status_many(&id_refs, &PURPOSES, &StatusListConfig::default()).await.expect("status");
    let group: Vec<IssuedToSave> = (0..N)
        .map(|n| {
            let mut credential = sample_credential(&id(n), "Generic", at(BASE_SECONDS + n as i64, n as u32));
            credential.credential_json = credential.credential_json.replace("Zoë", &format!("Zoë {n}"));
            if n % 3 == 0 {
                credential.valid_from = None;
                credential.search_digest = None;
            }
            if n % 4 == 0 {
                credential.valid_until = None;
                credential.licence_id = Some(format!("LIC-{n:03}"));
            }
            let mut record = key(n).map(|key| idempotency_record("big", &key, &id(n), 201));
            if let Some(record) = record.as_mut() {
                record.response_body = format!("{{\"row\":{n},\"id\":\"{}\"}}", id(n));
            }
            IssuedToSave { credential, idempotency: record, log_entry: log_entry((n % 250) as u8) }
        })
        .collect();
    let outcomes = store.save_issued_group(&group).await.expect("group");
    assert_eq!(outcomes.len(), N);
    let before = store.log_size().await.unwrap() as usize - outcomes.iter().filter(|o| o.1.is_some()).count();
    let mut next_seq = before as u64;
    let mut stored = 0;
    for (n, (item, (outcome, appended))) in group.iter().zip(&outcomes).enumerate() {
        let replays = n % 60 != 59 && (n % 50 == 49 || n % 40 == 39);
        let found = store.credential(&id(n)).await.unwrap();
        if replays {
            let expected = if n % 50 == 49 { format!("urn:uuid:earlier-{n}") } else { id(n - 7) };
            match outcome {
                SaveOutcome::Replayed(record) => {
                    assert_eq!(record.credential_id.as_deref(), Some(expected.as_str()), "row {n}")
                }
                SaveOutcome::Saved => panic!("row {n} should replay"),
            }
            assert!(appended.is_none() && found.is_none(), "row {n}: a replay stores and logs nothing");
            continue;
        }
        stored += 1;
        assert_eq!(*outcome, SaveOutcome::Saved, "row {n}");
        assert_eq!(appended.map(|a| a.seq), Some(next_seq), "row {n}: logged in order, gap-free");
        next_seq += 1;
        let found = found.unwrap_or_else(|| panic!("row {n} is stored"));
        let c = &item.credential;
        assert_eq!(
            (&found.kind, &found.issuer, found.issued_at, found.valid_from, found.valid_until),
            (&c.kind, &c.issuer, c.issued_at, c.valid_from, c.valid_until),
            "row {n}"
        );
        assert_eq!((&found.credential_json, &found.search_digest), (&c.credential_json, &c.search_digest), "row {n}");
        assert_eq!(
            store.credential_id_by_licence_id(&format!("LIC-{n:03}")).await.unwrap(),
            c.licence_id.as_ref().map(|_| id(n))
        );
        if let Some(record) = &item.idempotency {
            assert_eq!(store.idempotent_response("big", &record.key).await.unwrap().as_ref(), Some(record), "row {n}");
        }
        let entry = store.first_log_entry_for(&id(n)).await.unwrap().unwrap_or_else(|| panic!("row {n} is logged"));
        assert_eq!(
            (Some(entry.seq), entry.entry.clone()),
            (appended.map(|a| a.seq), item.log_entry.encode()),
            "row {n}"
        );
        let status = store.credential_status(&id(n)).await.unwrap().unwrap_or_else(|| panic!("row {n} has status"));
        let held: Vec<(i64, u64)> = status.entries.iter().map(|e| (e.list_id, e.index)).collect();
        let allocated: Vec<(i64, u64)> = allocations[n].iter().map(|a| (a.list_id, a.index)).collect();
        assert_eq!(held, allocated, "row {n}: its own status entries");
    }
    assert_eq!(stored, N - 5 - 4, "300 rows less 5 replays of keys taken before and 4 of keys repeated in the group");
    assert_eq!(store.count_credentials(None).await.unwrap() as usize, stored + 5);
    let log = store.log_entries(0, None).await.unwrap();
    assert_eq!(log.len(), before + stored);
    assert!(log.iter().enumerate().all(|(i, r)| r.seq == i as u64 && r.is_intact()));
    let subjects: std::collections::HashSet<_> = log.iter().map(|r| r.credential_id.clone()).collect();
    assert_eq!(subjects.len(), log.len(), "each credential logged once");
    let mut indexes = std::collections::HashSet::new();
    for (n, allocated) in allocations.iter().enumerate() {
        assert_eq!(allocated.iter().map(|a| a.purpose).collect::<Vec<_>>(), PURPOSES, "row {n}");
        for a in allocated {
            assert!(indexes.insert((a.list_id, a.index)), "row {n}: an index handed out twice");
        }
    }
    assert_eq!(indexes.len(), 2 * N);
    for list in store.status_lists().await.unwrap() {
        assert_eq!(list.allocated, N as u64, "the allocation count of list {}", list.list_id);
    }
}

async fn a_group_with_a_stored_id_saves_nothing(db: TestDb) {
    let store = db.store;
    let stored = to_save("urn:uuid:twice", None, 0);
    store.save_issued_logged(&stored.credential, None, Some(&stored.log_entry)).await.expect("save");
    let group = [to_save("urn:uuid:fresh", Some("f"), 1), to_save("urn:uuid:twice", Some("t"), 2)];
    assert!(matches!(store.save_issued_group(&group).await, Err(StoreError::Duplicate(_))));
    assert_eq!(store.count_credentials(None).await.unwrap(), 1, "the whole group rolled back");
    assert_eq!(store.log_size().await.unwrap(), 1);
    assert!(store.idempotent_response("group", "f").await.unwrap().is_none());
}

async fn concurrent_group_and_coalesced_saves_are_gap_free(db: TestDb) {
    let store = db.store;
    let mut tasks = JoinSet::new();
    for g in 0..3u8 {
        let store = store.clone();
        tasks.spawn(async move {
            let group: Vec<IssuedToSave> = (0..20u8)
                .map(|i| to_save(&format!("urn:uuid:g{g}-{i}"), Some(&format!("g{g}-{i}")), g * 20 + i))
                .collect();
            store.save_issued_group(&group).await.expect("group").len()
        });
    }
    for i in 0..30u8 {
        let store = store.clone();
        tasks.spawn(async move {
            // Two requests per key: one credential each key, the other replayed.
            let key = format!("single-{}", i / 2);
            let outcome = store.save_issued_coalesced(to_save(&format!("urn:uuid:s-{i}"), Some(&key), 100 + i)).await;
            usize::from(matches!(outcome.expect("coalesced").0, SaveOutcome::Saved))
        });
    }
    let mut total = 0;
    while let Some(n) = tasks.join_next().await {
        total += n.unwrap();
    }
    assert_eq!(total, 60 + 15);
    let records = store.log_entries(0, None).await.unwrap();
    assert_eq!(records.len(), 75);
    assert!(records.iter().enumerate().all(|(i, r)| r.seq == i as u64 && r.is_intact()), "gap-free, intact");
    let subjects: std::collections::HashSet<_> = records.iter().map(|r| r.credential_id.clone().unwrap()).collect();
    assert_eq!(subjects.len(), 75, "each credential logged once");
    assert_eq!(store.count_credentials(None).await.unwrap(), 75);
}

async fn grouped_status_allocation_is_distinct_idempotent_and_rolls_over(db: TestDb) {
    let store = db.store;
    let small = StatusListConfig::with_max_allocations(8).expect("config");
    let before = store.allocate_status("urn:uuid:many-3", &PURPOSES, &small).await.expect("one");
    let ids: Vec<String> = (0..20).map(|n| format!("urn:uuid:many-{n}")).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let many = store.allocate_status_many(&refs, &PURPOSES, &small).await.expect("many");
    assert_eq!(many.len(), 20);
    assert_eq!(many[3], before, "an id with entries keeps them");
    let mut taken = std::collections::HashSet::new();
    for allocations in &many {
        assert_eq!(allocations.iter().map(|a| a.purpose).collect::<Vec<_>>(), PURPOSES);
        for a in allocations {
            assert!(taken.insert((a.list_id, a.index)), "no index handed out twice");
        }
    }
    let lists = store.status_lists().await.expect("lists");
    let mut per_purpose: Vec<(StatusPurpose, Vec<u64>)> = Vec::new();
    for purpose in PURPOSES {
        per_purpose.push((purpose, lists.iter().filter(|l| l.purpose == purpose).map(|l| l.allocated).collect()));
    }
    assert_eq!(per_purpose, [(StatusPurpose::Revocation, vec![8, 8, 4]), (StatusPurpose::Suspension, vec![8, 8, 4])]);
    for l in &lists {
        let in_list = taken.iter().filter(|(id, _)| *id == l.list_id).count() as u64;
        assert_eq!(in_list, l.allocated, "list {} counts what it handed out", l.list_id);
    }
    let again = store.allocate_status_many(&refs, &PURPOSES, &small).await.expect("again");
    assert_eq!(again, many, "allocating again hands out the same entries");
}

/// Single issuances' allocations, concurrent, share transactions
/// (`Store::allocate_status_coalesced`): each gets its own purposes, no index is
/// handed out twice, the lists count what they handed out, and asking again
/// gives the same entries.
async fn coalesced_status_allocations_are_distinct_idempotent_and_keep_their_purposes(db: TestDb) {
    let store = db.store;
    let config = StatusListConfig::with_max_allocations(16).expect("config");
    let mut tasks = JoinSet::new();
    for n in 0..60 {
        let store = store.clone();
        tasks.spawn(async move {
            let purposes: &[StatusPurpose] = if n % 3 == 0 { &SINGLE_USE_PURPOSES } else { &PURPOSES };
            let id = format!("urn:uuid:coalesced-{n}");
            let allocations = store.allocate_status_coalesced(&id, purposes, &config).await.expect("allocate");
            assert_eq!(allocations.iter().map(|a| a.purpose).collect::<Vec<_>>(), purposes, "{id}");
            (id, purposes, allocations)
        });
    }
    let mut taken = std::collections::HashSet::new();
    let mut allocated = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (id, purposes, allocations) = done.expect("task");
        for a in &allocations {
            assert!(taken.insert((a.list_id, a.index)), "no index handed out twice");
        }
        allocated.push((id, purposes, allocations));
    }
    for l in store.status_lists().await.expect("lists") {
        let in_list = taken.iter().filter(|(id, _)| *id == l.list_id).count() as u64;
        assert_eq!(in_list, l.allocated, "list {} counts what it handed out", l.list_id);
    }
    for (id, purposes, allocations) in allocated {
        let again = store.allocate_status_coalesced(&id, purposes, &config).await.expect("again");
        assert_eq!(again, allocations, "{id}: allocating again hands out the same entries");
    }
}

async fn status_lists_roll_over_at_the_allocation_limit(db: TestDb) {
    let store = db.store;
    let small = StatusListConfig::with_max_allocations(3).expect("config");
    assert_eq!(small.size_bits(), 131_072, "lists stay large; only the allocations are limited");
    let mut list_ids = Vec::new();
    for n in 0..7 {
        let allocations =
            store.allocate_status(&format!("urn:uuid:roll-{n}"), &PURPOSES, &small).await.expect("allocate");
        list_ids.push((allocations[0].list_id, allocations[1].list_id));
    }
    assert_eq!(list_ids, [(1, 2), (1, 2), (1, 2), (3, 4), (3, 4), (3, 4), (5, 6)]);
    let lists = store.status_lists().await.expect("lists");
    let allocated: Vec<(i64, StatusPurpose, u64)> = lists.iter().map(|l| (l.list_id, l.purpose, l.allocated)).collect();
    use StatusPurpose::{Revocation as R, Suspension as S};
    assert_eq!(allocated, [(1, R, 3), (2, S, 3), (3, R, 3), (4, S, 3), (5, R, 1), (6, S, 1)]);
    // A larger limit later applies to new lists only; the open ones are filled first.
    let large = StatusListConfig::default();
    let next = store.allocate_status("urn:uuid:roll-7", &PURPOSES, &large).await.expect("allocate");
    assert_eq!((next[0].list_id, next[1].list_id), (5, 6));
}

async fn concurrent_status_allocations_never_share_an_index(db: TestDb) {
    const TASKS: usize = 8;
    const PER_TASK: usize = 12;
    let second_handle = Store::connect(&db.url).await.expect("second connection");
    let handles = [db.store.clone(), second_handle];
    // A small limit so that lists also roll over under contention.
    let config = StatusListConfig::with_max_allocations(25).expect("config");
    let start_together = Arc::new(Barrier::new(TASKS));
    let mut tasks = JoinSet::new();
    for task in 0..TASKS {
        let store = handles[task % handles.len()].clone();
        let start_together = Arc::clone(&start_together);
        tasks.spawn(async move {
            start_together.wait().await;
            let mut out = Vec::new();
            for n in 0..PER_TASK {
                out.extend(
                    store
                        .allocate_status(&format!("urn:uuid:c-{task}-{n}"), &PURPOSES, &config)
                        .await
                        .expect("allocate"),
                );
            }
            out
        });
    }
    let mut all = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        all.extend(joined.expect("task panicked"));
    }
    assert_eq!(all.len(), TASKS * PER_TASK * 2);
    let distinct: std::collections::HashSet<(i64, u64)> = all.iter().map(|a| (a.list_id, a.index)).collect();
    assert_eq!(distinct.len(), all.len(), "every (list, index) is handed out once");
    let lists = handles[0].status_lists().await.expect("lists");
    assert!(lists.iter().all(|l| l.allocated <= 25), "the limit holds under concurrency");
    assert_eq!(lists.iter().map(|l| l.allocated).sum::<u64>(), (TASKS * PER_TASK * 2) as u64);
    for list in &lists {
        let used = all.iter().filter(|a| a.list_id == list.list_id).count() as u64;
        assert_eq!(used, list.allocated, "list {} counts what it handed out", list.list_id);
        assert!(all.iter().filter(|a| a.list_id == list.list_id).all(|a| a.purpose == list.purpose));
    }
    let open = |purpose| lists.iter().filter(|l| l.purpose == purpose && l.allocated < 25).count();
    assert!(open(StatusPurpose::Revocation) <= 1 && open(StatusPurpose::Suspension) <= 1, "no stray open lists");
}

async fn licence_serials_count_per_authority_and_type_even_concurrently(db: TestDb) {
    const TASKS: usize = 6;
    const PER_TASK: usize = 10;
    let (a, b) = ("11430000006122244L", "9144030071526726XG");
    let (health, food) = ("11100000000000000J901", "11100000000000000J902");
    assert_eq!(db.store.next_licence_serial(a, health).await.expect("serial"), 1);
    assert_eq!(db.store.next_licence_serial(a, health).await.expect("serial"), 2);
    assert_eq!(db.store.next_licence_serial(a, food).await.expect("serial"), 1, "another type counts on its own");
    assert_eq!(db.store.next_licence_serial(b, health).await.expect("serial"), 1, "another authority too");
    let second_handle = Store::connect(&db.url).await.expect("second connection");
    let handles = [db.store.clone(), second_handle];
    let start_together = Arc::new(Barrier::new(TASKS));
    let mut tasks = JoinSet::new();
    for task in 0..TASKS {
        let store = handles[task % handles.len()].clone();
        let start_together = Arc::clone(&start_together);
        tasks.spawn(async move {
            start_together.wait().await;
            let mut out = Vec::new();
            for _ in 0..PER_TASK {
                out.push(store.next_licence_serial(a, health).await.expect("serial"));
            }
            out
        });
    }
    let mut all = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        all.extend(joined.expect("task panicked"));
    }
    all.sort_unstable();
    let expected: Vec<u64> = (3..3 + (TASKS * PER_TASK) as u64).collect();
    assert_eq!(all, expected, "every serial handed out once, none skipped");
}

async fn a_licence_id_is_found_and_never_stored_twice(db: TestDb) {
    let licence_id = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U";
    let first = NewCredential {
        licence_id: Some(licence_id.to_owned()),
        ..sample_credential("urn:uuid:licensed-1", "HealthCertificate", at(BASE_SECONDS, 0))
    };
    db.store.save_issued(&first, None).await.expect("save");
    assert_eq!(
        db.store.credential_id_by_licence_id(licence_id).await.expect("read").as_deref(),
        Some("urn:uuid:licensed-1")
    );
    assert_eq!(db.store.credential_id_by_licence_id("1.2.156.3005.2.x").await.expect("read"), None);
    let second = NewCredential {
        licence_id: Some(licence_id.to_owned()),
        ..sample_credential("urn:uuid:licensed-2", "HealthCertificate", at(BASE_SECONDS, 1))
    };
    assert!(db.store.save_issued(&second, None).await.is_err(), "the identifier is unique");
    assert!(db.store.credential("urn:uuid:licensed-2").await.expect("read").is_none());
}

/// Reissue saves: of concurrent reissues of one credential exactly one is saved
/// and the previous version is revoked once; a save that fails after the
/// revocation (a duplicate id) leaves the previous version active; a previous
/// version without entries, revoked or unknown is refused with nothing saved.
async fn a_reissue_revokes_the_previous_version_in_its_own_transaction_once(db: TestDb) {
    use issuer::store::ReissueOutcome;
    let store = &db.store;
    let config = StatusListConfig::with_max_allocations(131_072).expect("config");
    let prefix = "1.2.156.3005.2.11100000000000000J901.11430000006122244L.7.";
    let previous = NewCredential {
        licence_id: Some(format!("{prefix}001.X")),
        ..sample_credential("urn:uuid:p", "Generic", at(1_700_000_000, 0))
    };
    store.save_issued_logged(&previous, None, Some(&log_entry(1))).await.expect("save");
    store.allocate_status("urn:uuid:p", &PURPOSES, &config).await.expect("allocate");
    let reissue = |id: &str, n: u8| IssuedToSave {
        credential: NewCredential {
            licence_id: Some(format!("{prefix}002.Y")),
            ..sample_credential(id, "Generic", at(1_700_000_100, 0))
        },
        idempotency: None,
        log_entry: log_entry(n),
    };

    // Fails after the revocation (the id is taken): rolled back, still active.
    let outcome = store.save_reissued(&reissue("urn:uuid:p", 2), "urn:uuid:p", "superseded by reissue", "t").await;
    assert_eq!(outcome.expect("outcome"), ReissueOutcome::Duplicate);
    assert_eq!(
        store.credential_status("urn:uuid:p").await.expect("status").expect("entries").state(),
        CredentialState::Active
    );
    assert!(store.status_events("urn:uuid:p").await.expect("events").is_empty());

    let (a, b) = (reissue("urn:uuid:a", 3), reissue("urn:uuid:b", 4));
    let (first, second) = tokio::join!(
        store.save_reissued(&a, "urn:uuid:p", "superseded by reissue", "t"),
        store.save_reissued(&b, "urn:uuid:p", "superseded by reissue", "t"),
    );
    let outcomes = [first.expect("first"), second.expect("second")];
    assert_eq!(outcomes.iter().filter(|o| matches!(o, ReissueOutcome::Saved(Some(_)))).count(), 1, "{outcomes:?}");
    assert!(outcomes.iter().any(|o| matches!(o, ReissueOutcome::PreviousRevoked | ReissueOutcome::Duplicate)));
    let events = store.status_events("urn:uuid:p").await.expect("events");
    assert_eq!(events.len(), 1);
    assert_eq!((events[0].action, events[0].reason.as_str()), (StatusAction::Revoke, "superseded by reissue"));
    let versions = store.licence_versions(prefix).await.expect("versions");
    let ids: Vec<&str> = versions.iter().map(|v| v.licence_id.as_str()).collect();
    assert_eq!(ids, [format!("{prefix}001.X"), format!("{prefix}002.Y")]);
    assert!(store
        .licence_versions("1.2.156.3005.2.11100000000000000J901.11430000006122244L.70.")
        .await
        .expect("none")
        .is_empty());

    // Suspended: rolled back, still suspended.
    let s = sample_credential("urn:uuid:s", "Generic", at(1_700_000_000, 0));
    store.save_issued(&s, None).await.expect("save");
    store.allocate_status("urn:uuid:s", &PURPOSES, &config).await.expect("allocate");
    let suspend = StatusChange {
        credential_id: "urn:uuid:s".into(),
        action: StatusAction::Suspend,
        reason: "check".into(),
        actor: "t".into(),
        place: None,
        at: Utc::now(),
    };
    assert!(matches!(store.change_status(&suspend).await.expect("suspend"), StatusChangeOutcome::Changed { .. }));
    let outcome = store.save_reissued(&reissue("urn:uuid:c", 5), "urn:uuid:s", "superseded by reissue", "t").await;
    assert_eq!(outcome.expect("outcome"), ReissueOutcome::PreviousSuspended);
    let state = store.credential_status("urn:uuid:s").await.expect("status").expect("entries").state();
    assert_eq!(state, CredentialState::Suspended);

    // Revoked already, unknown, or without entries: nothing saved.
    let outcome = store.save_reissued(&reissue("urn:uuid:c", 5), "urn:uuid:p", "superseded by reissue", "t").await;
    assert_eq!(outcome.expect("outcome"), ReissueOutcome::PreviousRevoked);
    let outcome = store.save_reissued(&reissue("urn:uuid:c", 5), "urn:uuid:none", "superseded by reissue", "t").await;
    assert_eq!(outcome.expect("outcome"), ReissueOutcome::PreviousNotRevocable);
    store.save_issued(&sample_credential("urn:uuid:bare", "Generic", at(1_700_000_000, 0)), None).await.expect("save");
    let outcome = store.save_reissued(&reissue("urn:uuid:c", 5), "urn:uuid:bare", "superseded by reissue", "t").await;
    assert_eq!(outcome.expect("outcome"), ReissueOutcome::PreviousNotRevocable);
    assert!(store.credential("urn:uuid:c").await.expect("read").is_none());
}

fn change(id: &str, action: StatusAction, reason: &str, actor: &str) -> StatusChange {
    StatusChange {
        credential_id: id.to_owned(),
        action,
        reason: reason.to_owned(),
        actor: actor.to_owned(),
        place: None,
        at: Utc::now(),
    }
}

fn use_at(id: &str, office: &str, reference: &str) -> StatusChange {
    StatusChange {
        place: Some(office.to_owned()),
        ..change(id, StatusAction::Use, reference, &format!("clerk at {office}"))
    }
}

async fn a_single_use_credential_is_used_exactly_once_even_concurrently(db: TestDb) {
    let store = db.store;
    let id = "urn:uuid:invoice-1";
    let saved = sample_credential(id, "MedicalBill", at(BASE_SECONDS, 0));
    store.save_issued_logged(&saved, None, Some(&log_entry(41))).await.expect("save");
    let entries =
        store.allocate_status(id, &SINGLE_USE_PURPOSES, &StatusListConfig::default()).await.expect("allocate");
    assert_eq!(entries.iter().map(|e| e.purpose).collect::<Vec<_>>(), SINGLE_USE_PURPOSES);
    let used_entry = entries[2].clone();
    let log_before = store.log_size().await.expect("size");

    // Eight offices try at once; the barrier releases them together.
    let offices = 8;
    let barrier = Arc::new(Barrier::new(offices));
    let mut tasks = JoinSet::new();
    for n in 0..offices {
        let (store, barrier) = (store.clone(), Arc::clone(&barrier));
        tasks.spawn(async move {
            barrier.wait().await;
            let office = format!("office-{n}");
            (office.clone(), store.change_status(&use_at(id, &office, &format!("claim-{n}"))).await.expect("use"))
        });
    }
    let mut winners = Vec::new();
    let mut refusals = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined.expect("task") {
            (office, StatusChangeOutcome::Changed { previous, current, .. }) => {
                assert_eq!((previous, current), (CredentialState::Active, CredentialState::Used));
                winners.push(office);
            }
            (_, StatusChangeOutcome::AlreadyUsed { use_event }) => refusals.push(use_event),
            (office, other) => panic!("{office}: unexpected {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one office uses it: {winners:?}");
    assert_eq!(refusals.len(), offices - 1);
    let winner = &winners[0];
    for refusal in &refusals {
        // Every refusal names when and where it was used: the winner's event.
        assert_eq!(refusal.place.as_deref(), Some(winner.as_str()));
        assert_eq!(refusal.action, StatusAction::Use);
        assert_eq!(refusal.new_state, CredentialState::Used);
        assert_eq!(refusal.reason, format!("claim-{}", winner.trim_start_matches("office-")));
    }
    let snapshot = store.status_list_snapshot(used_entry.list_id).await.expect("snapshot").expect("list");
    assert_eq!((snapshot.set_indexes.as_slice(), snapshot.list.version), ([used_entry.index].as_slice(), 2));
    assert_eq!(snapshot.list.purpose, StatusPurpose::Used);
    let events = store.status_events(id).await.expect("events");
    assert_eq!(events.len(), 1, "refusals write no event");
    assert_eq!(events[0].place.as_deref(), Some(winner.as_str()));
    // The use is logged (for anchoring) like a revocation: one entry, purpose `used`.
    assert_eq!(store.log_size().await.expect("size"), log_before + 1);
    let logged = store.log_entries(log_before, Some(1)).await.expect("entries");
    let entry = LogEntry::decode(&logged[0].entry).expect("decode");
    assert_eq!(entry.kind(), EntryKind::StatusChanged { purpose: StatusListPurpose::Used, value: true });
    assert_eq!(store.credential_status(id).await.expect("read").expect("entries").state(), CredentialState::Used);

    // A use is final: no suspension or reinstatement after it; revocation still works.
    for action in [StatusAction::Suspend, StatusAction::Reinstate] {
        let outcome = store.change_status(&change(id, action, "undo", "mallory")).await.expect("refused");
        assert!(matches!(outcome, StatusChangeOutcome::AlreadyUsed { .. }), "{action}: {outcome:?}");
    }
    let outcome = store.change_status(&change(id, StatusAction::Revoke, "forged", "auditor")).await.expect("revoke");
    assert!(matches!(outcome, StatusChangeOutcome::Changed { current: CredentialState::Revoked, .. }), "{outcome:?}");
    let outcome = store.change_status(&use_at(id, "office-x", "late")).await.expect("refused");
    assert_eq!(outcome, StatusChangeOutcome::AlreadyRevoked);
}

async fn only_active_single_use_credentials_can_be_used(db: TestDb) {
    let store = db.store;
    // Not single-use: no `used` entry.
    let plain = "urn:uuid:plain-1";
    store.save_issued(&sample_credential(plain, "HealthCertificate", at(BASE_SECONDS, 0)), None).await.expect("save");
    store.allocate_status(plain, &PURPOSES, &StatusListConfig::default()).await.expect("allocate");
    assert_eq!(store.change_status(&use_at(plain, "o", "r")).await.expect("use"), StatusChangeOutcome::NoStatusEntry);
    // Suspended: refused until reinstated.
    let bill = "urn:uuid:invoice-2";
    store.save_issued(&sample_credential(bill, "MedicalBill", at(BASE_SECONDS, 0)), None).await.expect("save");
    store.allocate_status(bill, &SINGLE_USE_PURPOSES, &StatusListConfig::default()).await.expect("allocate");
    store.change_status(&change(bill, StatusAction::Suspend, "disputed", "clinic")).await.expect("suspend");
    assert_eq!(store.change_status(&use_at(bill, "o", "r")).await.expect("use"), StatusChangeOutcome::Suspended);
    store.change_status(&change(bill, StatusAction::Reinstate, "settled", "clinic")).await.expect("reinstate");
    let outcome = store.change_status(&use_at(bill, "o", "r")).await.expect("use");
    assert!(matches!(outcome, StatusChangeOutcome::Changed { current: CredentialState::Used, .. }), "{outcome:?}");
    // Revoked: refused.
    let revoked = "urn:uuid:invoice-3";
    store.save_issued(&sample_credential(revoked, "MedicalBill", at(BASE_SECONDS, 0)), None).await.expect("save");
    store.allocate_status(revoked, &SINGLE_USE_PURPOSES, &StatusListConfig::default()).await.expect("allocate");
    store.change_status(&change(revoked, StatusAction::Revoke, "void", "clinic")).await.expect("revoke");
    assert_eq!(
        store.change_status(&use_at(revoked, "o", "r")).await.expect("use"),
        StatusChangeOutcome::AlreadyRevoked
    );
}

async fn status_changes_write_bit_version_and_audit_together(db: TestDb) {
    let store = db.store;
    let id = "urn:uuid:status-1";
    store.save_issued(&sample_credential(id, "HealthCertificate", at(BASE_SECONDS, 0)), None).await.expect("save");
    let entries = store.allocate_status(id, &PURPOSES, &StatusListConfig::default()).await.expect("allocate");
    let (revocation, suspension) = (&entries[0], &entries[1]);
    let version = |list_id: i64| {
        let store = store.clone();
        async move { store.status_list_snapshot(list_id).await.expect("snapshot").expect("list").list.version }
    };
    let set_bits = |list_id: i64| {
        let store = store.clone();
        async move { store.status_list_snapshot(list_id).await.expect("snapshot").expect("list").set_indexes }
    };
    assert_eq!(version(suspension.list_id).await, 1);

    let outcome = store.change_status(&change(id, StatusAction::Suspend, "lost card", "alice")).await.expect("suspend");
    let StatusChangeOutcome::Changed { previous, current, list_id, .. } = outcome else {
        panic!("expected a change, got {outcome:?}")
    };
    assert_eq!((previous, current, list_id), (CredentialState::Active, CredentialState::Suspended, suspension.list_id));
    assert_eq!(set_bits(suspension.list_id).await, [suspension.index]);
    assert_eq!(version(suspension.list_id).await, 2);
    assert_eq!(version(revocation.list_id).await, 1, "the other list is untouched");

    // Idempotent: nothing written, no version bump, no audit event.
    let outcome = store.change_status(&change(id, StatusAction::Suspend, "again", "alice")).await.expect("again");
    assert_eq!(outcome, StatusChangeOutcome::Unchanged(CredentialState::Suspended));
    assert_eq!(version(suspension.list_id).await, 2);

    let outcome =
        store.change_status(&change(id, StatusAction::Reinstate, "card found", "bob")).await.expect("reinstate");
    assert!(matches!(outcome, StatusChangeOutcome::Changed { current: CredentialState::Active, .. }), "{outcome:?}");
    assert!(set_bits(suspension.list_id).await.is_empty());
    assert_eq!(version(suspension.list_id).await, 3);
    assert_eq!(
        store.change_status(&change(id, StatusAction::Reinstate, "x", "bob")).await.expect("again"),
        StatusChangeOutcome::Unchanged(CredentialState::Active)
    );

    let events = store.status_events(id).await.expect("events");
    let summary: Vec<(StatusAction, CredentialState, CredentialState, &str, &str)> =
        events.iter().map(|e| (e.action, e.previous_state, e.new_state, e.reason.as_str(), e.actor.as_str())).collect();
    assert_eq!(
        summary,
        [
            (StatusAction::Suspend, CredentialState::Active, CredentialState::Suspended, "lost card", "alice"),
            (StatusAction::Reinstate, CredentialState::Suspended, CredentialState::Active, "card found", "bob"),
        ]
    );
    assert!(events[0].event_id < events[1].event_id);
    assert!(events.iter().all(|e| e.credential_id == id && (Utc::now() - e.occurred_at).num_seconds() < 60));
    let record = store.credential_status(id).await.expect("read").expect("entries");
    assert!(record.entries[1].updated_at.is_some());
    assert_eq!(record.state(), CredentialState::Active);
}

async fn staff_accounts_count_failures_lock_and_unlock(db: TestDb) {
    let store = db.store;
    store.create_staff("dr.li", "李医生", "$argon2id$fake", Role::Supervisor).await.expect("create");
    assert!(matches!(store.create_staff("dr.li", "again", "x", Role::Admin).await, Err(StoreError::Duplicate(_))));
    let account = store.staff_account("dr.li").await.expect("read").expect("account");
    assert_eq!((account.display_name.as_str(), account.password_hash.as_str()), ("李医生", "$argon2id$fake"));
    assert_eq!((account.failed_attempts, account.locked_at, account.role), (0, None, Role::Supervisor));
    assert!(!format!("{account:?}").contains("argon2"), "the hash stays out of debug output");
    for attempt in 1..=4 {
        let account = store.record_failed_login("dr.li", 5).await.expect("fail").expect("account");
        assert_eq!((account.failed_attempts, account.locked_at), (attempt, None));
    }
    store.record_successful_login("dr.li").await.expect("success");
    assert_eq!(store.staff_account("dr.li").await.expect("read").expect("account").failed_attempts, 0);
    for _ in 0..5 {
        store.record_failed_login("dr.li", 5).await.expect("fail");
    }
    let locked = store.staff_account("dr.li").await.expect("read").expect("account");
    assert!(locked.locked_at.is_some(), "locked after five");
    // A successful password check does not unlock (the service refuses locked accounts first).
    store.record_successful_login("dr.li").await.expect("success");
    assert!(store.staff_account("dr.li").await.expect("read").expect("account").locked_at.is_some());
    assert!(store.unlock_staff("dr.li").await.expect("unlock"));
    let unlocked = store.staff_account("dr.li").await.expect("read").expect("account");
    assert_eq!((unlocked.failed_attempts, unlocked.locked_at), (0, None));
    assert!(!store.unlock_staff("nobody").await.expect("unlock"));
    assert!(store.record_failed_login("nobody", 5).await.expect("fail").is_none());
    assert!(store.staff_account("nobody").await.expect("read").is_none());
}

async fn api_tokens_are_found_by_hash_until_revoked(db: TestDb) {
    let store = db.store;
    store.create_api_token("a1", "越秀区医院", "hash-a", TokenScope::All).await.expect("create");
    store.create_api_token("b2", "天河区医院", "hash-b", TokenScope::Issue).await.expect("create");
    assert!(matches!(
        store.create_api_token("a1", "x", "hash-c", TokenScope::All).await,
        Err(StoreError::Duplicate(_))
    ));
    assert!(matches!(
        store.create_api_token("c3", "x", "hash-a", TokenScope::All).await,
        Err(StoreError::Duplicate(_))
    ));
    let found = store.active_api_token("hash-a").await.expect("read").expect("token");
    assert_eq!((found.token_id.as_str(), found.clinic.as_str(), found.revoked_at), ("a1", "越秀区医院", None));
    assert!(store.active_api_token("hash-x").await.expect("read").is_none());
    assert!(store.revoke_api_token("a1").await.expect("revoke"));
    assert!(!store.revoke_api_token("a1").await.expect("revoke again"), "already revoked");
    assert!(store.active_api_token("hash-a").await.expect("read").is_none());
    let all = store.api_tokens().await.expect("list");
    assert_eq!(all.len(), 2);
    assert!(all.iter().any(|t| t.token_id == "a1" && t.revoked_at.is_some()));
    assert!(all.iter().any(|t| t.token_id == "b2" && t.revoked_at.is_none()));
}

async fn counts_group_issuance_and_status_changes_by_month_and_day(db: TestDb) {
    let store = db.store;
    assert!(store.counts_by(Period::Month).await.expect("counts").is_empty());
    let january = DateTime::parse_from_rfc3339("2026-01-15T12:00:00Z").expect("date").with_timezone(&Utc);
    let march = DateTime::parse_from_rfc3339("2026-03-31T23:59:59Z").expect("date").with_timezone(&Utc);
    for (id, at) in [("urn:uuid:m-1", january), ("urn:uuid:m-2", january), ("urn:uuid:m-3", march)] {
        store.save_issued(&sample_credential(id, "HealthCertificate", at), None).await.expect("save");
        store.allocate_status(id, &PURPOSES, &StatusListConfig::default()).await.expect("allocate");
    }
    store.change_status(&change("urn:uuid:m-1", StatusAction::Revoke, "r", "a")).await.expect("revoke");
    store.change_status(&change("urn:uuid:m-2", StatusAction::Suspend, "s", "a")).await.expect("suspend");
    let counts = store.counts_by(Period::Month).await.expect("counts");
    let this_month = Utc::now().format("%Y-%m").to_string();
    let get = |m: &str| counts.iter().find(|c| c.period == m).cloned().unwrap_or_default();
    assert_eq!((get("2026-01").issued, get("2026-03").issued), (2, 1));
    assert_eq!((get(&this_month).revoked, get(&this_month).suspended), (1, 1));
    assert!(counts.windows(2).all(|w| w[0].period > w[1].period), "newest month first");
    let days = store.counts_by(Period::Day).await.expect("counts");
    let get = |d: &str| days.iter().find(|c| c.period == d).cloned().unwrap_or_default();
    assert_eq!((get("2026-01-15").issued, get("2026-03-31").issued, get("2026-03-30").issued), (2, 1, 0));
    let today = Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!((get(&today).revoked, get(&today).suspended), (1, 1));
    assert!(days.windows(2).all(|w| w[0].period > w[1].period), "newest day first");
}

async fn revocation_is_final(db: TestDb) {
    let store = db.store;
    let id = "urn:uuid:status-2";
    store.save_issued(&sample_credential(id, "HealthCertificate", at(BASE_SECONDS, 0)), None).await.expect("save");
    let entries = store.allocate_status(id, &PURPOSES, &StatusListConfig::default()).await.expect("allocate");
    store.change_status(&change(id, StatusAction::Suspend, "check", "alice")).await.expect("suspend");
    let outcome = store.change_status(&change(id, StatusAction::Revoke, "fraud", "alice")).await.expect("revoke");
    assert!(
        matches!(
            outcome,
            StatusChangeOutcome::Changed {
                previous: CredentialState::Suspended,
                current: CredentialState::Revoked,
                ..
            }
        ),
        "{outcome:?}"
    );
    let revocation_list = store.status_list_snapshot(entries[0].list_id).await.expect("snapshot").expect("list");
    assert_eq!(revocation_list.set_indexes, [entries[0].index]);
    assert_eq!(revocation_list.list.version, 2);

    for action in [StatusAction::Reinstate, StatusAction::Suspend] {
        let outcome = store.change_status(&change(id, action, "undo", "mallory")).await.expect("refused");
        assert_eq!(outcome, StatusChangeOutcome::AlreadyRevoked, "{action}");
    }
    assert_eq!(
        store.change_status(&change(id, StatusAction::Revoke, "again", "alice")).await.expect("again"),
        StatusChangeOutcome::Unchanged(CredentialState::Revoked)
    );
    assert_eq!(store.credential_status(id).await.expect("read").expect("entries").state(), CredentialState::Revoked);
    assert_eq!(store.status_events(id).await.expect("events").len(), 2, "refusals and no-ops write no event");
    let after = store.status_list_snapshot(entries[0].list_id).await.expect("snapshot").expect("list");
    assert_eq!(after.list.version, 2);
}

async fn status_changes_need_a_stored_credential_with_entries(db: TestDb) {
    let store = db.store;
    assert_eq!(
        store.change_status(&change("urn:uuid:ghost", StatusAction::Revoke, "r", "a")).await.expect("change"),
        StatusChangeOutcome::UnknownCredential
    );
    // Allocated, but the issuance never completed: still unknown.
    store.allocate_status("urn:uuid:half", &PURPOSES, &StatusListConfig::default()).await.expect("allocate");
    assert_eq!(
        store.change_status(&change("urn:uuid:half", StatusAction::Revoke, "r", "a")).await.expect("change"),
        StatusChangeOutcome::UnknownCredential
    );
    let id = "urn:uuid:no-entries";
    store.save_issued(&sample_credential(id, "Generic", at(BASE_SECONDS, 0)), None).await.expect("save");
    for action in [StatusAction::Revoke, StatusAction::Suspend, StatusAction::Reinstate] {
        assert_eq!(
            store.change_status(&change(id, action, "r", "a")).await.expect("change"),
            StatusChangeOutcome::NoStatusEntry,
            "{action}"
        );
    }
    assert!(store.status_events(id).await.expect("events").is_empty());
}

async fn status_snapshot_is_consistent_and_publications_never_go_back(db: TestDb) {
    let store = db.store;
    assert!(store.status_list_snapshot(1).await.expect("snapshot").is_none());
    assert!(store.status_list_publication(1).await.expect("publication").is_none());
    let mut ids = Vec::new();
    for n in 0..5 {
        let id = format!("urn:uuid:pub-{n}");
        store.save_issued(&sample_credential(&id, "Generic", at(BASE_SECONDS, 0)), None).await.expect("save");
        ids.push((store.allocate_status(&id, &PURPOSES, &StatusListConfig::default()).await.expect("allocate"), id));
    }
    for (_, id) in ids.iter().take(3) {
        store.change_status(&change(id, StatusAction::Revoke, "r", "a")).await.expect("revoke");
    }
    let snapshot = store.status_list_snapshot(1).await.expect("snapshot").expect("list");
    let mut expected: Vec<u64> = ids.iter().take(3).map(|(a, _)| a[0].index).collect();
    expected.sort_unstable();
    assert_eq!(snapshot.set_indexes, expected, "ascending set indexes");
    assert_eq!(snapshot.list.version, 4);

    let (list, cached) = store.status_list_publication(1).await.expect("read").expect("list");
    assert_eq!((list.version, cached), (4, None));
    let published = |version: i64, seconds: i64| PublishedStatusList {
        list_id: 1,
        version,
        issuer: ISSUER_DID.to_owned(),
        list_url: "https://issuer.example/status/1".to_owned(),
        credential_json: format!("{{\"version\": {version},  \"odd spacing\": true}}"),
        etag: format!("\"etag-{version}-{seconds}\""),
        valid_until: at(BASE_SECONDS + seconds + 86_400, 0),
        published_at: at(BASE_SECONDS + seconds, 0),
    };
    assert!(store.save_status_list_publication(&published(4, 10)).await.expect("save"));
    assert!(!store.save_status_list_publication(&published(3, 20)).await.expect("older version"), "older version");
    assert!(!store.save_status_list_publication(&published(4, 5)).await.expect("earlier"), "earlier validFrom");
    assert!(store.save_status_list_publication(&published(4, 10)).await.expect("same"), "same time: replaces");
    // Another process's list of a newer version dated the same second: refused
    // (both would be validly signed with one validFrom, replayable over each other).
    assert!(
        !store.save_status_list_publication(&published(5, 10)).await.expect("same second"),
        "another version in the same second"
    );
    let (_, cached) = store.status_list_publication(1).await.expect("read").expect("list");
    assert_eq!(cached, Some(published(4, 10)));
    assert!(store.save_status_list_publication(&published(5, 30)).await.expect("newer"));
    let (_, cached) = store.status_list_publication(1).await.expect("read").expect("list");
    assert_eq!(cached, Some(published(5, 30)), "stored verbatim");
}

// --- backend-specific tests -------------------------------------------------------

#[tokio::test]
async fn unsupported_urls_are_rejected_without_leaking_secrets() {
    for url in ["mysql://issuer:hunter2@db.example/issuer", "ftp://example.org/x", "", "sqlite://"] {
        match Store::connect(url).await {
            Err(StoreError::UnsupportedUrl(message)) => {
                assert!(!message.contains("hunter2"), "{message}");
                let shown = StoreError::UnsupportedUrl(message).to_string();
                assert!(shown.starts_with("unsupported store URL"), "{shown}");
            }
            Err(other) => panic!("{url:?}: expected UnsupportedUrl, got {other:?}"),
            Ok(store) => panic!("{url:?}: expected UnsupportedUrl, got a {} store", store.backend()),
        }
    }
}

#[tokio::test]
async fn plain_paths_and_sqlite_urls_open_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let plain = dir.path().join("plain.sqlite3");
    let store = Store::connect(plain.to_str().expect("UTF-8 temp path")).await.expect("plain path");
    assert_eq!(store.backend(), "sqlite");
    assert!(plain.exists());

    let nested = dir.path().join("nested/dir/issuer.sqlite3");
    let url = format!("sqlite://{}", nested.display());
    assert!(url.starts_with("sqlite:///"), "absolute path gives three slashes: {url}");
    let store = Store::connect(&url).await.expect("sqlite URL");
    assert_eq!(store.backend(), "sqlite");
    assert!(nested.exists(), "parent directories are created");
}

/// A SQLite database written by the previous release (migrations 1–5, with status
/// rows) is upgraded in place by 0006, which rebuilds the status tables: every row
/// survives, foreign keys still hold, and the new purpose works.
#[tokio::test]
async fn the_single_use_migration_keeps_existing_status_data() {
    use sha2::Digest as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("issuer.sqlite3");
    let previous: [(i64, &str, &str); 5] = [
        (1, "0001_init", include_str!("../../migrations/sqlite/0001_init.sql")),
        (2, "0002_status_lists", include_str!("../../migrations/sqlite/0002_status_lists.sql")),
        (3, "0003_transparency_log", include_str!("../../migrations/sqlite/0003_transparency_log.sql")),
        (4, "0004_anchors", include_str!("../../migrations/sqlite/0004_anchors.sql")),
        (5, "0005_web_accounts", include_str!("../../migrations/sqlite/0005_web_accounts.sql")),
    ];
    {
        let db = rusqlite::Connection::open(&path).expect("open");
        db.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, \
             checksum TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT",
        )
        .expect("schema_migrations");
        for (version, name, sql) in previous {
            db.execute_batch(sql).expect(name);
            let checksum = hex::encode(Sha256::digest(sql.as_bytes()));
            db.execute(
                "INSERT INTO schema_migrations VALUES (?1, ?2, ?3, '2026-01-01T00:00:00Z')",
                rusqlite::params![version, name, checksum],
            )
            .expect("record");
        }
        db.execute_batch(
            "INSERT INTO status_lists (list_id, purpose, size_bits, max_allocations, allocated, version, created_at) \
                 VALUES (1, 'revocation', 131072, 131072, 1, 3, '2026-01-01T00:00:00Z'); \
             INSERT INTO status_entries (list_id, status_index, credential_id, purpose, is_set, allocated_at) \
                 VALUES (1, 4711, 'urn:uuid:old', 'revocation', 1, '2026-01-01T00:00:00Z'); \
             INSERT INTO status_events (credential_id, action, previous_state, new_state, reason, actor, occurred_at) \
                 VALUES ('urn:uuid:old', 'revoke', 'active', 'revoked', 'lost', 'alice', '2026-01-02T00:00:00Z'); \
             INSERT INTO status_list_publications (list_id, version, issuer, list_url, credential_json, etag, \
                 valid_until, published_at) VALUES (1, 3, 'did:key:z', 'http://x/status/1', '{}', '\"e\"', \
                 '2026-01-09T00:00:00Z', '2026-01-02T00:00:00Z');",
        )
        .expect("old rows");
    }
    let store = Store::connect(path.to_str().expect("UTF-8")).await.expect("migrate");
    let lists = store.status_lists().await.expect("lists");
    assert_eq!(lists.len(), 1);
    assert_eq!((lists[0].purpose, lists[0].allocated, lists[0].version), (StatusPurpose::Revocation, 1, 3));
    let record = store.credential_status("urn:uuid:old").await.expect("read").expect("entries");
    assert_eq!((record.entries[0].index, record.entries[0].is_set), (4711, true));
    let events = store.status_events("urn:uuid:old").await.expect("events");
    assert_eq!((events.len(), events[0].reason.as_str(), events[0].place.as_deref()), (1, "lost", None));
    assert!(store.status_list_publication(1).await.expect("publication").expect("list").1.is_some());
    drop(store);
    let db = rusqlite::Connection::open(&path).expect("reopen");
    let fk_problems: i64 = db.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).unwrap();
    assert_eq!(fk_problems, 0);
    let versions: i64 = db.query_row("SELECT max(version) FROM schema_migrations", [], |r| r.get(0)).unwrap();
    assert_eq!(versions, 10, "every later migration ran too");
    // Foreign keys are enforced again on a store connection (an entry for a missing list fails).
    let store = Store::connect(path.to_str().expect("UTF-8")).await.expect("reopen store");
    let entries = store.allocate_status("urn:uuid:new", &SINGLE_USE_PURPOSES, &StatusListConfig::default()).await;
    assert_eq!(entries.expect("allocate").len(), 3);
}

// --- fixtures -------------------------------------------------------------------

const ISSUER_DID: &str = "did:web:issuer.example";
/// 2024-05-01T10:40:00Z.
const BASE_SECONDS: i64 = 1_714_560_000;

fn at(seconds: i64, micros: u32) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, micros * 1000).expect("timestamp in range")
}

fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}

fn sample_credential(id: &str, kind: &str, issued_at: DateTime<Utc>) -> NewCredential {
    // Odd spacing, key order, escapes and non-ASCII: the store must not normalise any of it.
    let credential_json = format!(
        "{{\"@context\": [\"https://www.w3.org/ns/credentials/v2\"],\n  \"id\":\"{id}\",\
         \"type\":[\"VerifiableCredential\",\"{kind}\"],  \"issuer\":\"{ISSUER_DID}\",\
         \"credentialSubject\":{{\"name\":\"Zoë Ñúñez 🩺\",\"note\":\"tab\\tquote\\\"\"}},\
         \"z\":1,\"a\":2.50,\"proof\":{{\"proofValue\":\"z3FXQ\"}}}}\n"
    );
    NewCredential {
        id: id.to_owned(),
        kind: kind.to_owned(),
        issuer: ISSUER_DID.to_owned(),
        issued_at,
        valid_from: Some(issued_at),
        valid_until: Some(issued_at + Duration::days(365)),
        credential_json,
        search_digest: Some(sha256_hex(&format!("subject-of-{id}"))),
        licence_id: None,
    }
}

fn idempotency_record(scope: &str, key: &str, credential_id: &str, status: u16) -> IdempotencyRecord {
    IdempotencyRecord {
        scope: scope.to_owned(),
        key: key.to_owned(),
        request_digest: sha256_hex(&format!("request for {credential_id}")),
        response_status: status,
        response_body: format!("{{\"id\":\"{credential_id}\"}}"),
        credential_id: Some(credential_id.to_owned()),
    }
}

fn ids(summaries: &[issuer::store::CredentialSummary]) -> Vec<String> {
    summaries.iter().map(|summary| summary.id.clone()).collect()
}

// --- backend harness --------------------------------------------------------------

/// Runs `test` against a fresh SQLite file.
async fn run_on_sqlite<F, Fut>(test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()>,
{
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("issuer.sqlite3").display());
    let store = Store::connect(&url).await.expect("open SQLite store");
    assert_eq!(store.backend(), "sqlite");
    test(TestDb { store, url }).await;
}

/// Runs `test` against a fresh database on the `TEST_DATABASE_URL` server, then drops it.
async fn run_on_postgres<F, Fut>(test: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(admin_url) = require(Dep::Postgres) else {
        return;
    };
    let (admin, connection) =
        tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await.expect("connect to TEST_DATABASE_URL");
    tokio::spawn(connection);
    let database = format!("test_{}", uuid::Uuid::new_v4().simple());
    admin.batch_execute(&format!("CREATE DATABASE {database}")).await.expect("create test database");

    let url = with_database(&admin_url, &database);
    let store = Store::connect(&url).await.expect("connect PostgreSQL store");
    assert_eq!(store.backend(), "postgres");
    // Run in a task so that a failing test still gets its database dropped.
    let outcome = tokio::spawn(test(TestDb { store, url })).await;

    if let Err(err) = admin.batch_execute(&format!("DROP DATABASE {database} WITH (FORCE)")).await {
        eprintln!("warning: could not drop test database {database}: {err}");
    }
    if let Err(err) = outcome {
        std::panic::resume_unwind(err.into_panic());
    }
}

/// `url` with its database path replaced by `database` (query parameters kept).
fn with_database(url: &str, database: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("TEST_DATABASE_URL must be a postgres:// URL");
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let query = tail.find('?').map_or("", |start| &tail[start..]);
    format!("{scheme}://{authority}/{database}{query}")
}
