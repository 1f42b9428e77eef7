//! Why a status entry, a status list or a status check failed.

use chrono::{DateTime, Utc};

use crate::localized::Localized;

fn ts(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Everything that can go wrong reading status entries, decoding, verifying
/// or caching status lists, and checking a credential against them.
///
/// Every variant has a stable machine [`code`](Self::code) and a plain-words
/// [`reason`](Self::reason) in zh and en. Several variants share a code (all
/// encoding faults are `status_list_malformed`, all fetch faults
/// `status_list_unavailable`); the variant and the reason say which.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatusError {
    /// A `credentialStatus` entry breaks the Bitstring Status List rules
    /// (missing or non-string `statusListIndex`, not a base-10 integer, no
    /// `statusListCredential` URL, …). Code `status_entry_malformed`.
    #[error("malformed credentialStatus entry: {0}")]
    EntryMalformed(String),
    /// A `credentialStatus` entry this verifier cannot check: another status
    /// method (e.g. the legacy `StatusList2021Entry`), a purpose other than
    /// revocation / suspension, or `statusSize` > 1. Code `status_entry_unsupported`.
    #[error("unsupported credentialStatus entry: {0}")]
    EntryUnsupported(String),

    /// `encodedList` has no multibase prefix: the legacy StatusList2021 /
    /// Blockcerts form (`H4sI…`). Code `status_list_malformed`.
    #[error("encodedList has no multibase prefix (expected 'u'; legacy StatusList2021 form?)")]
    MissingMultibasePrefix,
    /// `encodedList` has a multibase prefix other than `u` (base64url, no
    /// padding), e.g. `z` (base58btc). Code `status_list_malformed`.
    #[error("encodedList has multibase prefix {0:?}, expected 'u' (base64url without padding)")]
    WrongMultibasePrefix(char),
    /// `encodedList` after its prefix is not base64url without padding.
    /// Code `status_list_malformed`.
    #[error("encodedList is not base64url without padding: {0}")]
    InvalidBase64(String),
    /// `encodedList` is not a single, complete GZIP member (bad header, bad
    /// deflate data, CRC or length mismatch, trailing bytes). Code `status_list_malformed`.
    #[error("encodedList is not valid GZIP data: {0}")]
    InvalidGzip(String),
    /// `encodedList` expands beyond [`MAX_DECODED_BYTES`](super::MAX_DECODED_BYTES)
    /// (a decompression bomb, or a list no verifier should hold). Code `status_list_too_large`.
    #[error("encodedList expands to more than {limit} bytes")]
    DecompressedTooLarge {
        /// The cap, in bytes.
        limit: usize,
    },

    /// The status list credential does not have the required structure
    /// (type, `credentialSubject`, `statusPurpose`, `validFrom`, …), or is not
    /// a credential at all. Code `status_list_malformed`.
    #[error("malformed status list credential: {0}")]
    ListMalformed(String),
    /// The status list credential's `id` is not the URL it was fetched from
    /// (a list of the same issuer served in place of another). Code `status_list_url_mismatch`.
    #[error("status list credential id {id:?} is not the URL it was fetched from ({url})")]
    ListUrlMismatch {
        /// Where it was fetched from.
        url: String,
        /// Its `id` (empty when missing).
        id: String,
    },
    /// The status list credential's signature is missing, does not verify, or
    /// uses a key or suite we do not accept. Code `status_list_bad_signature`.
    #[error("status list signature invalid: {0}")]
    ListBadSignature(String),
    /// The status list credential's `validFrom` is in the future. Code `status_list_not_yet_valid`.
    #[error("status list not valid before {valid_from}")]
    ListNotYetValid {
        /// Its `validFrom`.
        valid_from: DateTime<Utc>,
    },
    /// The status list credential is past its `validUntil`: the issuer says it
    /// must not be relied on any more. Code `status_list_expired`.
    #[error("status list expired at {valid_until}")]
    ListExpired {
        /// Its `validUntil`.
        valid_until: DateTime<Utc>,
    },
    /// The bitstring is shorter than [`MIN_STATUS_LIST_BITS`](super::MIN_STATUS_LIST_BITS)
    /// (herd privacy). Code `status_list_too_short`.
    #[error("status list has {bits} entries, fewer than the minimum {min}")]
    ListTooShort {
        /// Its length in bits.
        bits: usize,
        /// The minimum.
        min: usize,
    },
    /// An older list (earlier `validFrom`) was offered for a URL whose newer
    /// list is held: refused, the newer one kept. Code `status_list_rollback`.
    #[error("status list rollback refused: offered validFrom {offered} is older than the held {held}")]
    Rollback {
        /// `validFrom` of the list held.
        held: DateTime<Utc>,
        /// `validFrom` of the list offered.
        offered: DateTime<Utc>,
    },
    /// The list could not be fetched (network error, timeout, refused).
    /// Recorded by the caller with [`StatusListCache::record_failure`](super::StatusListCache::record_failure).
    /// Code `status_list_unavailable`.
    #[error("status list could not be fetched: {0}")]
    FetchFailed(String),
    /// The list URL answered with a non-success HTTP status (e.g. 404).
    /// Code `status_list_unavailable`.
    #[error("status list could not be fetched: HTTP {0}")]
    HttpStatus(u16),

    /// The cache holds no list (and no recorded failure) for this URL.
    /// Code `status_list_unavailable`.
    #[error("no status list has been fetched from {0}")]
    NotFetched(String),
    /// The list is not signed by the credential's issuer: its signing key is
    /// neither the credential's signing key nor the credential's issuer DID.
    /// Code `status_list_wrong_issuer`.
    #[error("status list signed by {list_signer}, not by the credential's issuer {credential_issuer}")]
    ListWrongIssuer {
        /// The DID that signed the list.
        list_signer: String,
        /// The credential's issuer (or signing DID).
        credential_issuer: String,
    },
    /// The list's `statusPurpose` is not the entry's. Code `status_list_wrong_purpose`.
    #[error("status list purpose {found:?} does not match the entry's purpose {expected}")]
    ListWrongPurpose {
        /// The entry's purpose.
        expected: String,
        /// The list's purposes.
        found: Vec<String>,
    },
    /// `statusListIndex` is beyond the end of the list. Code `status_index_out_of_range`.
    #[error("status index {index} is out of range (list length {len})")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The list's length in bits.
        len: usize,
    },
    /// An online verifier could not refresh the list for longer than its
    /// policy allows ([`StatusPolicy::refresh_deadline`](super::StatusPolicy::refresh_deadline)):
    /// the held list no longer vouches for a clear bit. Code `status_list_not_refreshed`.
    #[error(
        "status list last fetched at {fetched_at} could not be refreshed for more than {deadline_minutes} minutes"
    )]
    NotRefreshed {
        /// When it was last fetched.
        fetched_at: DateTime<Utc>,
        /// The policy's limit, in minutes.
        deadline_minutes: i64,
    },
    /// The list was fetched longer ago than the freshness policy allows.
    /// Code `status_data_stale`.
    #[error("status list fetched at {fetched_at} is older than {max_age_hours} hours")]
    DataStale {
        /// When it was fetched.
        fetched_at: DateTime<Utc>,
        /// The policy's limit, in hours.
        max_age_hours: i64,
    },
}

impl StatusError {
    /// Stable machine code (what a `CheckResult::Invalid` carries).
    pub fn code(&self) -> &'static str {
        match self {
            Self::EntryMalformed(_) => "status_entry_malformed",
            Self::EntryUnsupported(_) => "status_entry_unsupported",
            Self::MissingMultibasePrefix
            | Self::WrongMultibasePrefix(_)
            | Self::InvalidBase64(_)
            | Self::InvalidGzip(_)
            | Self::ListMalformed(_) => "status_list_malformed",
            Self::DecompressedTooLarge { .. } => "status_list_too_large",
            Self::ListUrlMismatch { .. } => "status_list_url_mismatch",
            Self::ListBadSignature(_) => "status_list_bad_signature",
            Self::ListNotYetValid { .. } => "status_list_not_yet_valid",
            Self::ListExpired { .. } => "status_list_expired",
            Self::ListTooShort { .. } => "status_list_too_short",
            Self::Rollback { .. } => "status_list_rollback",
            Self::FetchFailed(_) | Self::HttpStatus(_) | Self::NotFetched(_) => "status_list_unavailable",
            Self::ListWrongIssuer { .. } => "status_list_wrong_issuer",
            Self::ListWrongPurpose { .. } => "status_list_wrong_purpose",
            Self::IndexOutOfRange { .. } => "status_index_out_of_range",
            Self::DataStale { .. } => "status_data_stale",
            Self::NotRefreshed { .. } => "status_list_not_refreshed",
        }
    }

    /// For a person, in zh and en.
    pub fn reason(&self) -> Localized {
        match self {
            Self::EntryMalformed(d) => Localized::new(
                format!("凭证的状态条目格式错误，无法检查是否被吊销：{d}"),
                format!("the credential's status entry is malformed, so revocation cannot be checked: {d}"),
            ),
            Self::EntryUnsupported(d) => Localized::new(
                format!("凭证的状态条目类型不受支持，无法检查是否被吊销：{d}"),
                format!("the credential's status entry is not supported, so revocation cannot be checked: {d}"),
            ),
            Self::MissingMultibasePrefix => Localized::new(
                "状态列表编码错误：缺少多重编码前缀 u（旧版 StatusList2021 格式）",
                "the status list is wrongly encoded: no multibase prefix 'u' (legacy StatusList2021 form)",
            ),
            Self::WrongMultibasePrefix(c) => Localized::new(
                format!("状态列表编码错误：多重编码前缀为 “{c}”，应为 u"),
                format!("the status list is wrongly encoded: multibase prefix '{c}', expected 'u'"),
            ),
            Self::InvalidBase64(d) => Localized::new(
                format!("状态列表编码错误：不是无填充的 base64url：{d}"),
                format!("the status list is wrongly encoded: not base64url without padding: {d}"),
            ),
            Self::InvalidGzip(d) => Localized::new(
                format!("状态列表编码错误：GZIP 数据损坏：{d}"),
                format!("the status list is wrongly encoded: corrupt GZIP data: {d}"),
            ),
            Self::DecompressedTooLarge { limit } => Localized::new(
                format!("状态列表解压后超过 {limit} 字节，已拒绝"),
                format!("the status list expands to more than {limit} bytes and was refused"),
            ),
            Self::ListMalformed(d) => {
                Localized::new(format!("状态列表格式错误：{d}"), format!("the status list is malformed: {d}"))
            }
            Self::ListUrlMismatch { url, id } => Localized::new(
                format!("状态列表的标识 “{id}” 与其获取地址 {url} 不符（可能被替换）"),
                format!("the status list's id \"{id}\" is not the address it came from, {url} (it may have been swapped)"),
            ),
            Self::ListBadSignature(d) => Localized::new(
                format!("状态列表签名无效：内容被改动或不是由签发机构签发：{d}"),
                format!("the status list's signature is invalid: altered, or not signed by the issuer: {d}"),
            ),
            Self::ListNotYetValid { valid_from } => Localized::new(
                format!("状态列表尚未生效（自 {} 起），请检查本机时钟", ts(valid_from)),
                format!("the status list is not valid yet (from {}); check this device's clock", ts(valid_from)),
            ),
            Self::ListExpired { valid_until } => Localized::new(
                format!("状态列表已过期（有效期至 {}），请联网更新后再核验", ts(valid_until)),
                format!(
                    "the status list expired at {}; go online to refresh it, then verify again",
                    ts(valid_until)
                ),
            ),
            Self::ListTooShort { bits, min } => Localized::new(
                format!("状态列表只有 {bits} 个条目，少于隐私保护所需的 {min} 个"),
                format!("the status list has only {bits} entries, fewer than the {min} that herd privacy requires"),
            ),
            Self::Rollback { held, offered } => Localized::new(
                format!("拒绝旧版状态列表（{}），已持有更新的版本（{}）", ts(offered), ts(held)),
                format!(
                    "an older status list ({}) was refused: a newer one ({}) is already held",
                    ts(offered),
                    ts(held)
                ),
            ),
            Self::FetchFailed(d) => Localized::new(
                format!("无法获取状态列表（网络错误）：{d}"),
                format!("the status list could not be fetched (network error): {d}"),
            ),
            Self::HttpStatus(code) => Localized::new(
                format!("无法获取状态列表（HTTP {code}）"),
                format!("the status list could not be fetched (HTTP {code})"),
            ),
            Self::NotFetched(url) => Localized::new(
                format!("尚未获取状态列表 {url}，无法确认是否被吊销"),
                format!("the status list {url} has not been fetched: revocation cannot be checked"),
            ),
            Self::ListWrongIssuer { list_signer, credential_issuer } => Localized::new(
                format!("状态列表不是由该凭证的签发机构签发（签名者 {list_signer}，凭证签发者 {credential_issuer}）"),
                format!(
                    "the status list is not signed by the credential's issuer (signed by {list_signer}; the credential's issuer is {credential_issuer})"
                ),
            ),
            Self::ListWrongPurpose { expected, found } => Localized::new(
                format!("状态列表用途为 {}，与凭证状态条目的用途 {expected} 不符", found.join(", ")),
                format!("the status list's purpose is {}, not the entry's purpose {expected}", found.join(", ")),
            ),
            Self::IndexOutOfRange { index, len } => Localized::new(
                format!("状态序号 {index} 超出状态列表长度 {len}"),
                format!("status index {index} is beyond the end of the status list (length {len})"),
            ),
            Self::DataStale { fetched_at, max_age_hours } => Localized::new(
                format!(
                    "状态列表已过时（{} 获取，超过 {max_age_hours} 小时），请联网更新后再核验",
                    ts(fetched_at)
                ),
                format!(
                    "the status data is stale (fetched {}, more than {max_age_hours} hours ago); go online to refresh it, then verify again",
                    ts(fetched_at)
                ),
            ),
            Self::NotRefreshed { fetched_at, deadline_minutes } => Localized::new(
                format!(
                    "状态列表已超过 {deadline_minutes} 分钟未能更新（最近一次获取于 {}），无法确认凭证当前未被吊销或暂停",
                    ts(fetched_at)
                ),
                format!(
                    "the status list could not be refreshed for more than {deadline_minutes} minutes (last fetched {}): \
                     whether the credential is revoked or suspended now is not known",
                    ts(fetched_at)
                ),
            ),
        }
    }
}
