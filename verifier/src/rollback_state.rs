//! What must survive a restart so that an attacker cannot roll the verifier
//! back: the highest trust-list `sequence` accepted, per status list URL
//! and signer the highest `validFrom` accepted, the highest verifier
//! bundle `sequence` opened by `verifier check`, per configured root the
//! newest CRL `thisUpdate` accepted (no later trust list may go back on it),
//! and per mirrored log the
//! latest checkpoint accepted and any conflict found (a log that forks or
//! shrinks across a restart is caught, and a conflict is not forgotten). Kept in one small JSON file in
//! the verifier's data directory (`rollback-state.json`), written atomically
//! (temporary file, fsync, rename), read at start. A file that cannot be read
//! stops the verifier at start (naming the file): starting without it would
//! silently forget the floors.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// At most this many status list URLs keep a floor; beyond it the URL whose
/// newest accepted `validFrom` is oldest (a list not republished for longest)
/// loses its floor, so the file and the memory stay bounded however many
/// list URLs credentials name.
pub const MAX_STATUS_FLOOR_URLS: usize = 4096;

/// The file's name inside the data directory.
pub const ROLLBACK_STATE_FILE: &str = "rollback-state.json";

/// The trust list last accepted (online, or carried by a bundle opened by
/// `verifier check`), as signed, beside the floors: after a restart its CRLs
/// still revoke a trust-list or bundle signer (a thief's next list or bundle
/// simply leaves the revocation out), and a bundle may not carry an older list.
pub const HELD_TRUST_LIST_FILE: &str = "held-trust-list.json";

/// Status list rollback floors: URL → signer DID → highest `validFrom`.
pub type StatusFloors = BTreeMap<String, BTreeMap<String, DateTime<Utc>>>;

/// The persisted floors.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RollbackFloors {
    /// The highest trust-list sequence accepted.
    #[serde(default)]
    pub trust_list_sequence: Option<u64>,
    /// The highest status list `validFrom` accepted, per URL and signer.
    #[serde(default)]
    pub status_lists: StatusFloors,
    /// The highest verifier bundle sequence opened (`verifier check`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle_sequence: Option<u64>,
    /// Per mirrored log (by origin): what the verifier accepted of it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub logs: BTreeMap<String, LogFloor>,
    /// Per configured root (SHA-256 of its subject, hex): the
    /// newest CRL `thisUpdate` of an accepted trust list. No later list may
    /// hold an older CRL of that root, or none (`TrustStore::crl_below`),
    /// even when the held trust list file is lost or does not reopen.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub crl_floors: BTreeMap<String, DateTime<Utc>>,
}

/// What a verifier accepted of one log, kept across restarts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogFloor {
    /// The latest signed checkpoint note accepted (the log's own signature:
    /// re-verified when read back). A log shown after a restart must extend it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// The conflict found, if any: it stays until an operator removes it
    /// from the file (after the departments have looked at the evidence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conflict: Option<String>,
}

/// The floors, shared by the trust and status syncs, and where they are
/// saved (`None`: not persisted, e.g. in tests without a data directory).
#[derive(Debug, Clone, Default)]
pub struct RollbackState {
    inner: Arc<Mutex<RollbackFloors>>,
    path: Option<PathBuf>,
    /// The trust list last accepted, as signed ([`HELD_TRUST_LIST_FILE`]).
    held_trust_list: Arc<Mutex<Option<Vec<u8>>>>,
}

impl RollbackState {
    /// Floors kept in memory only.
    pub fn in_memory() -> Self {
        Self::default()
    }

    /// Read the floors from `<data_dir>/rollback-state.json` (none yet: empty).
    ///
    /// # Errors
    /// The directory cannot be created, or the file exists but cannot be read
    /// or parsed.
    pub fn open(data_dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(data_dir).with_context(|| format!("creating {}", data_dir.display()))?;
        let path = data_dir.join(ROLLBACK_STATE_FILE);
        let floors = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .with_context(|| format!("{} is not a valid rollback state file", path.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => RollbackFloors::default(),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let held_path = data_dir.join(HELD_TRUST_LIST_FILE);
        let held_trust_list = match std::fs::read(&held_path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e).with_context(|| format!("reading {}", held_path.display())),
        };
        Ok(Self {
            inner: Arc::new(Mutex::new(floors)),
            path: Some(path),
            held_trust_list: Arc::new(Mutex::new(held_trust_list)),
        })
    }

    /// The trust list last accepted, as signed (to be reopened with
    /// `TrustList::reopen_held`), across restarts.
    pub fn held_trust_list(&self) -> Option<Vec<u8>> {
        self.held_trust_list.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Keep `signed_list` as the trust list last accepted.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn record_held_trust_list(&self, signed_list: &[u8]) -> anyhow::Result<()> {
        let mut held = self.held_trust_list.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if held.as_deref() == Some(signed_list) {
            return Ok(());
        }
        if let Some(path) = &self.path {
            write_atomically(&path.with_file_name(HELD_TRUST_LIST_FILE), signed_list)?;
        }
        *held = Some(signed_list.to_vec());
        Ok(())
    }

    /// From the settings: persisted under `data_dir` when one is set.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn from_data_dir(data_dir: Option<&Path>) -> anyhow::Result<Self> {
        data_dir.map_or_else(|| Ok(Self::in_memory()), Self::open)
    }

    /// The floors now.
    pub fn floors(&self) -> RollbackFloors {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The highest trust-list sequence accepted so far (across restarts).
    pub fn trust_list_sequence(&self) -> Option<u64> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner).trust_list_sequence
    }

    /// Record that a trust list with `sequence` was accepted (the floor only goes up).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn record_trust_list_sequence(&self, sequence: u64) -> anyhow::Result<()> {
        self.update(|floors| {
            if floors.trust_list_sequence.is_some_and(|held| held >= sequence) {
                return false;
            }
            floors.trust_list_sequence = Some(sequence);
            true
        })
    }

    /// The newest CRL date accepted per configured root (see
    /// [`RollbackFloors::crl_floors`]).
    pub fn crl_floors(&self) -> BTreeMap<String, DateTime<Utc>> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner).crl_floors.clone()
    }

    /// Raise the CRL floors to `accepted` (`TrustStore::crl_floors` of a list
    /// accepted; each floor only goes up).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn record_crl_floors(&self, accepted: &BTreeMap<String, DateTime<Utc>>) -> anyhow::Result<()> {
        self.update(|floors| {
            let mut raised = false;
            for (root, date) in accepted {
                match floors.crl_floors.get_mut(root) {
                    Some(floor) if *floor >= *date => {}
                    Some(floor) => {
                        *floor = *date;
                        raised = true;
                    }
                    None => {
                        floors.crl_floors.insert(root.clone(), *date);
                        raised = true;
                    }
                }
            }
            raised
        })
    }

    /// The highest verifier bundle sequence opened so far (across runs).
    pub fn bundle_sequence(&self) -> Option<u64> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner).bundle_sequence
    }

    /// Record that a bundle with `sequence` was opened (the floor only goes up).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn record_bundle_sequence(&self, sequence: u64) -> anyhow::Result<()> {
        self.update(|floors| {
            if floors.bundle_sequence.is_some_and(|held| held >= sequence) {
                return false;
            }
            floors.bundle_sequence = Some(sequence);
            true
        })
    }

    /// The highest `validFrom` accepted for `url` from any of `signers`.
    pub fn status_floor(&self, url: &str, signers: &[String]) -> Option<DateTime<Utc>> {
        let floors = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let held = floors.status_lists.get(url)?;
        signers.iter().filter_map(|s| held.get(s)).max().copied()
    }

    /// Raise the status list floors to `status` (each floor only goes up);
    /// at most [`MAX_STATUS_FLOOR_URLS`] URLs are kept (never one just raised).
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn record_status_floors(&self, status: &StatusFloors) -> anyhow::Result<()> {
        self.update(|floors| {
            let mut changed = false;
            for (url, by_signer) in status {
                let held = floors.status_lists.entry(url.clone()).or_default();
                for (signer, valid_from) in by_signer {
                    match held.get(signer) {
                        Some(floor) if floor >= valid_from => {}
                        _ => {
                            held.insert(signer.clone(), *valid_from);
                            changed = true;
                        }
                    }
                }
            }
            while floors.status_lists.len() > MAX_STATUS_FLOOR_URLS {
                let oldest = floors
                    .status_lists
                    .iter()
                    .filter(|(url, _)| !status.contains_key(*url))
                    .min_by_key(|(_, by_signer)| by_signer.values().max().copied())
                    .map(|(url, _)| url.clone());
                let Some(oldest) = oldest else { break };
                floors.status_lists.remove(&oldest);
                changed = true;
            }
            changed
        })
    }

    /// What was accepted of the log `origin` before (across restarts).
    pub fn log_floor(&self, origin: &str) -> Option<LogFloor> {
        self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner).logs.get(origin).cloned()
    }

    /// Record what was accepted of the log `origin`: a conflict, once
    /// recorded, is never replaced, and the checkpoint is kept as it was when
    /// the conflict was found.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn record_log_floor(&self, origin: &str, floor: LogFloor) -> anyhow::Result<()> {
        self.update(|floors| {
            let held = floors.logs.entry(origin.to_owned()).or_default();
            let next = match &held.conflict {
                Some(_) => held.clone(),
                None if floor.conflict.is_some() => {
                    LogFloor { checkpoint: held.checkpoint.clone().or(floor.checkpoint), conflict: floor.conflict }
                }
                None => floor,
            };
            if *held == next {
                return false;
            }
            *held = next;
            true
        })
    }

    fn update(&self, change: impl FnOnce(&mut RollbackFloors) -> bool) -> anyhow::Result<()> {
        let mut floors = self.inner.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if !change(&mut floors) {
            return Ok(());
        }
        match &self.path {
            Some(path) => write_atomically(path, &serde_json::to_vec_pretty(&*floors)?),
            None => Ok(()),
        }
    }
}

/// Write to a temporary file next to `path`, sync it, rename it over `path`,
/// and sync the directory: a crash leaves the old file or the new one, never half.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut file = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path).with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(dir) = std::fs::File::open(dir) {
            let _ = dir.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floors_survive_reopening_and_only_go_up() {
        let dir = tempfile::tempdir().unwrap();
        let state = RollbackState::open(dir.path()).unwrap();
        assert_eq!(state.trust_list_sequence(), None);
        state.record_trust_list_sequence(5).unwrap();
        state.record_trust_list_sequence(3).unwrap();
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let mut status = StatusFloors::new();
        status
            .entry("https://i.example/status/1".into())
            .or_default()
            .insert("did:key:a".into(), at("2026-01-02T00:00:00Z"));
        state.record_status_floors(&status).unwrap();
        let mut older = StatusFloors::new();
        older
            .entry("https://i.example/status/1".into())
            .or_default()
            .insert("did:key:a".into(), at("2026-01-01T00:00:00Z"));
        state.record_status_floors(&older).unwrap();

        let reopened = RollbackState::open(dir.path()).unwrap();
        assert_eq!(reopened.trust_list_sequence(), Some(5));
        assert_eq!(reopened.floors().status_lists, status);
        assert!(!dir.path().join("rollback-state.json.tmp").exists());
    }

    #[test]
    fn status_floors_are_bounded_and_the_oldest_go_first() {
        let state = RollbackState::in_memory();
        let base = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        let extra = 10;
        for i in 0..MAX_STATUS_FLOOR_URLS + extra {
            let mut status = StatusFloors::new();
            let at = base + chrono::Duration::minutes(i64::try_from(i).unwrap());
            status.entry(format!("https://i.example/status/{i}")).or_default().insert("did:key:a".into(), at);
            state.record_status_floors(&status).unwrap();
        }
        let floors = state.floors().status_lists;
        assert_eq!(floors.len(), MAX_STATUS_FLOOR_URLS);
        let signer = ["did:key:a".to_owned()];
        assert_eq!(state.status_floor("https://i.example/status/0", &signer), None, "the oldest floor went");
        let newest = MAX_STATUS_FLOOR_URLS + extra - 1;
        assert!(state.status_floor(&format!("https://i.example/status/{newest}"), &signer).is_some());
        assert!(state.status_floor(&format!("https://i.example/status/{extra}"), &signer).is_some());
    }

    #[test]
    fn a_log_conflict_is_kept_with_the_checkpoint_accepted_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let state = RollbackState::open(dir.path()).unwrap();
        let origin = "issuer.example/log";
        let floor = |checkpoint: &str, conflict: Option<&str>| LogFloor {
            checkpoint: Some(checkpoint.to_owned()),
            conflict: conflict.map(str::to_owned),
        };
        state.record_log_floor(origin, floor("size 3", None)).unwrap();
        state.record_log_floor(origin, floor("size 5", None)).unwrap();
        state.record_log_floor(origin, floor("forked size 7", Some("split view"))).unwrap();
        // Later syncs change neither.
        state.record_log_floor(origin, floor("forked size 9", Some("another"))).unwrap();
        state.record_log_floor(origin, floor("forked size 9", None)).unwrap();
        let reopened = RollbackState::open(dir.path()).unwrap();
        assert_eq!(reopened.log_floor(origin), Some(floor("size 5", Some("split view"))));
        assert_eq!(reopened.log_floor("other.example/log"), None);
    }

    #[test]
    fn a_file_of_an_earlier_version_still_opens() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(ROLLBACK_STATE_FILE), br#"{"trustListSequence": 4, "statusLists": {}}"#)
            .unwrap();
        let state = RollbackState::open(dir.path()).unwrap();
        assert_eq!(state.trust_list_sequence(), Some(4));
        assert!(state.floors().logs.is_empty());
    }

    #[test]
    fn a_corrupt_file_stops_the_start() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(ROLLBACK_STATE_FILE), b"{not json").unwrap();
        let err = RollbackState::open(dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains(ROLLBACK_STATE_FILE), "{err:#}");
    }
}
