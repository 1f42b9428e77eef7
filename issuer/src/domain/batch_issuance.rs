//! Issuing a batch (`POST /api/v1/{apiPath}/batch`) with group commit.
//!
//! The rows go through the single-item rules (the same checks, codes, replay and
//! log guarantees as [`Issuer::issue_type`]), but the work is grouped:
//!
//! 1. every row is read and checked; the idempotency records of all its keys are
//!    read in one query (a key already used replays, as on the single route);
//! 2. the status entries of all fresh rows are allocated in **one** transaction;
//! 3. the rows are signed on the CPU pool, [`BATCH_PARALLELISM`] at a time (every
//!    core busy), outside any transaction or database lock;
//! 4. signed rows are committed as they come, in groups: whatever has been signed
//!    while the previous group was committing (at most [`GROUP_COMMIT_ROWS`]) is
//!    stored in one transaction ([`crate::store::Store::save_issued_group`]):
//!    credentials, idempotency records and log entries together, one fsync.
//!
//! A batch cut off half-way (a crash, a lost connection) leaves whole groups:
//! every committed row has its credential, its key and its log entry, and
//! sending the batch again replays those rows and issues the rest. A row whose
//! key appears earlier in the same batch waits for that row and then replays it
//! (or is refused `idempotency_key_reused` when its request differs).

use std::collections::{HashMap, HashSet};

use futures_util::StreamExt as _;
use serde_json::Value;
use wallet_core::credential::CredentialId;
use wallet_core::credential_type::Definition;
use wallet_core::transparency::LogEntry;

use super::batch::{BatchRow, MAX_BATCH_ROWS};
use super::issuance::{
    check_typed_request, digest_hex, issued_body, new_credential, parse_request, replay, BatchOutcome, IdempotencyKey,
    IssuanceError, Issued, Issuer, BATCH_PARALLELISM,
};
use super::proof_suite::ProofSuite;
use crate::store::{IdempotencyRecord, IssuedToSave, SaveOutcome};

/// Most signed rows committed in one transaction.
pub const GROUP_COMMIT_ROWS: usize = 250;

/// A row checked and ready to sign.
struct Fresh {
    position: usize,
    key: String,
    request_digest: String,
    id: CredentialId,
}

/// A row signed, waiting for its group's commit.
struct Signed {
    row: SignedRow,
    to_save: IssuedToSave,
}

/// What a signed row's answer is made of, once the store has said what it did.
struct SignedRow {
    position: usize,
    id: CredentialId,
    body: Value,
    request_digest: String,
}

/// What became of one row before signing.
enum Checked {
    /// Answered already (refused, or replayed from an earlier request).
    Done(Result<Issued, IssuanceError>),
    /// Its key is used by an earlier row of this batch: issued after the batch, as a replay.
    Repeated { body: Vec<u8>, key: IdempotencyKey },
    /// To sign (its unsigned credential is kept beside it).
    Fresh,
}

impl Issuer {
    /// Issue a batch of `def`'s credentials, one answer per row, in row order (see
    /// the module documentation for how the work is grouped).
    ///
    /// # Errors
    /// The batch as a whole: [`IssuanceError::TooManyRows`];
    /// [`IssuanceError::TypeNotAuthorised`]. Row refusals are in the rows.
    pub async fn issue_batch(&self, def: &Definition, rows: Vec<BatchRow>) -> Result<Vec<BatchOutcome>, IssuanceError> {
        self.issue_batch_with(def, rows, &ProofSuite::default()).await
    }

    /// [`Issuer::issue_batch`] with every row signed as `suite` says (the batch
    /// route's `?cryptosuite=`, as on the single route: e.g. `ecdsa-sd-2023`
    /// base proofs for app-wallet holders); the idempotency scope is per suite.
    ///
    /// # Errors
    /// As [`Issuer::issue_batch`].
    pub async fn issue_batch_with(
        &self,
        def: &Definition,
        rows: Vec<BatchRow>,
        suite: &ProofSuite,
    ) -> Result<Vec<BatchOutcome>, IssuanceError> {
        if rows.len() > MAX_BATCH_ROWS {
            return Err(IssuanceError::TooManyRows { rows: rows.len(), max: MAX_BATCH_ROWS });
        }
        self.check_authorised(def)?;
        let scope = format!("{}{}", def.api_path, suite.scope_suffix());
        let keys: Vec<&str> = rows.iter().filter_map(|r| r.idempotency_key.as_deref()).collect();
        let known = self.store.idempotent_responses(&scope, &keys).await.map_err(IssuanceError::internal)?;

        let mut seen: HashSet<String> = HashSet::new();
        let mut checked: Vec<(usize, Option<String>, Checked)> = Vec::with_capacity(rows.len());
        let mut fresh: Vec<Fresh> = Vec::new();
        let mut unsigned: Vec<Value> = Vec::new();
        for (position, row) in rows.into_iter().enumerate() {
            let check = match (row.body, row.idempotency_key.as_deref()) {
                (Err(e), _) => Checked::Done(Err(e)),
                (Ok(_), None) => Checked::Done(Err(IssuanceError::IdempotencyKeyMissing)),
                (Ok(body), Some(key)) => match IdempotencyKey::parse(key) {
                    Err(e) => Checked::Done(Err(e)),
                    Ok(key) if !seen.insert(key.as_str().to_owned()) => Checked::Repeated { body, key },
                    Ok(key) => {
                        let request_digest = digest_hex(&body);
                        if let Some(saved) = known.get(key.as_str()) {
                            Checked::Done(replay(saved.clone(), &request_digest))
                        } else {
                            let id = CredentialId::generate();
                            let built = parse_request::<Value>(&body)
                                .and_then(|req| check_typed_request(def, &req, self.id_number_key.as_ref()))
                                .map(|checked| def.to_unsigned_credential(&checked, &id, &self.key.did()));
                            match built {
                                Ok(credential) => {
                                    unsigned.push(credential);
                                    fresh.push(Fresh { position, key: key.as_str().to_owned(), request_digest, id });
                                    Checked::Fresh
                                }
                                Err(e) => Checked::Done(Err(e)),
                            }
                        }
                    }
                },
            };
            checked.push((row.row, row.idempotency_key, check));
        }

        let mut answers = self.issue_fresh(def, &scope, fresh, unsigned, suite).await;
        let mut outcomes = Vec::with_capacity(checked.len());
        for (position, (row, idempotency_key, check)) in checked.into_iter().enumerate() {
            let result = match check {
                Checked::Done(result) => result,
                Checked::Fresh => answers
                    .remove(&position)
                    .unwrap_or_else(|| Err(IssuanceError::internal("a batch row got no answer"))),
                Checked::Repeated { body, key } => self.issue_type_with(&def.type_name, &body, Some(key), suite).await,
            };
            outcomes.push(BatchOutcome { row, idempotency_key, result });
        }
        let issued = outcomes.iter().filter(|o| matches!(&o.result, Ok(i) if !i.replayed)).count();
        tracing::info!(kind = %def.type_name, rows = outcomes.len(), issued, "batch issued");
        Ok(outcomes)
    }

    /// Allocate status entries for, sign and group-commit the fresh rows; the
    /// answer of each by its position in the batch.
    async fn issue_fresh(
        &self,
        def: &Definition,
        scope: &str,
        fresh: Vec<Fresh>,
        unsigned: Vec<Value>,
        suite: &ProofSuite,
    ) -> HashMap<usize, Result<Issued, IssuanceError>> {
        let mut answers = HashMap::with_capacity(fresh.len());
        if fresh.is_empty() {
            return answers;
        }
        let ids: Vec<&str> = fresh.iter().map(|f| f.id.as_str()).collect();
        // Serials and status entries are taken for the whole batch at once; when
        // that fails, every fresh row gets the same answer.
        let prepared = match self.with_new_licence_ids(def, unsigned).await {
            Ok(unsigned) => {
                self.status.with_status_entries_many(&ids, unsigned, def.single_use).await.map_err(|e| e.to_string())
            }
            Err(e) => Err(e.to_string()),
        };
        let unsigned = match prepared {
            Ok(unsigned) => unsigned,
            Err(why) => {
                for f in &fresh {
                    answers.insert(f.position, Err(IssuanceError::internal(&why)));
                }
                return answers;
            }
        };
        let (sender, mut receiver) =
            tokio::sync::mpsc::channel::<Result<Signed, (usize, IssuanceError)>>(GROUP_COMMIT_ROWS);
        let sign = async move {
            let mut signed = futures_util::stream::iter(fresh.into_iter().zip(unsigned))
                .map(|(f, unsigned)| async move {
                    match self.sign_and_digest(unsigned, suite).await {
                        Ok((signed, log_entry)) => self.to_save(scope, f, &signed, log_entry),
                        Err(e) => Err((f.position, e)),
                    }
                })
                .buffered(BATCH_PARALLELISM);
            while let Some(one) = signed.next().await {
                if sender.send(one).await.is_err() {
                    break;
                }
            }
        };
        let commit = async {
            let mut group = Vec::with_capacity(GROUP_COMMIT_ROWS);
            while receiver.recv_many(&mut group, GROUP_COMMIT_ROWS).await > 0 {
                let mut to_commit = Vec::with_capacity(group.len());
                for one in group.drain(..) {
                    match one {
                        Ok(signed) => to_commit.push(signed),
                        Err((position, e)) => {
                            answers.insert(position, Err(e));
                        }
                    }
                }
                for (position, answer) in self.commit_group(to_commit).await {
                    answers.insert(position, answer);
                }
            }
        };
        futures_util::future::join(sign, commit).await;
        answers
    }

    /// What to store for a signed row.
    fn to_save(
        &self,
        scope: &str,
        fresh: Fresh,
        signed: &Value,
        log_entry: LogEntry,
    ) -> Result<Signed, (usize, IssuanceError)> {
        let position = fresh.position;
        let credential = new_credential(&self.types, &fresh.id, signed).map_err(|e| (position, e))?;
        let body = issued_body(&fresh.id, signed);
        let idempotency = IdempotencyRecord {
            scope: scope.to_owned(),
            key: fresh.key,
            request_digest: fresh.request_digest.clone(),
            response_status: 201,
            response_body: body.to_string(),
            credential_id: Some(fresh.id.as_str().to_owned()),
        };
        Ok(Signed {
            row: SignedRow { position, id: fresh.id, body, request_digest: fresh.request_digest },
            to_save: IssuedToSave { credential, idempotency: Some(idempotency), log_entry },
        })
    }

    /// Commit one group; when the group cannot be committed whole (a credential
    /// id already stored, a lost connection), each row is stored on its own, so
    /// every row still gets its own answer.
    async fn commit_group(&self, group: Vec<Signed>) -> Vec<(usize, Result<Issued, IssuanceError>)> {
        if group.is_empty() {
            return Vec::new();
        }
        // The rows handed to the store without a copy of their credentials.
        let (group, items): (Vec<SignedRow>, Vec<IssuedToSave>) = group.into_iter().map(|s| (s.row, s.to_save)).unzip();
        let saved = match self.store.save_issued_group(&items).await {
            Ok(saved) => saved,
            Err(e) => {
                tracing::warn!(error = %e, rows = group.len(), "group commit failed; storing the rows one by one");
                let mut one_by_one = Vec::with_capacity(group.len());
                for t in &items {
                    one_by_one.push(
                        self.store
                            .save_issued_logged(&t.credential, t.idempotency.as_ref(), Some(&t.log_entry))
                            .await
                            .map_err(IssuanceError::internal),
                    );
                }
                return self.answers(group, one_by_one).await;
            }
        };
        self.answers(group, saved.into_iter().map(Ok).collect()).await
    }

    /// Each row's answer from what the store did with it; the log learns the new entries.
    async fn answers(
        &self,
        group: Vec<SignedRow>,
        saved: Vec<Result<(SaveOutcome, Option<crate::store::LogAppended>), IssuanceError>>,
    ) -> Vec<(usize, Result<Issued, IssuanceError>)> {
        let mut answers = Vec::with_capacity(group.len());
        for (signed, saved) in group.into_iter().zip(saved) {
            let answer = match saved {
                Ok((SaveOutcome::Saved, appended)) => {
                    if let Some(appended) = appended {
                        self.log.appended(appended).await;
                    }
                    tracing::debug!(credential_id = %signed.id, "issued in a batch");
                    Ok(Issued { status: 201, body: signed.body, replayed: false })
                }
                // A concurrent request with the same key won the race: our signature is discarded.
                Ok((SaveOutcome::Replayed(existing), _)) => replay(existing, &signed.request_digest),
                Err(e) => Err(e),
            };
            answers.push((signed.position, answer));
        }
        answers
    }
}
