//! Why a licence cannot be reissued (`crate::domain::reissue`): stable codes and
//! zh/en messages. Its own file so the issuance error can carry it without an
//! import circle.

use wallet_core::localized::Localized;

/// Why a reissue was refused (all 409 Conflict but [`ReissueRefusal::NotReissuable`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReissueRefusal {
    /// The credential carries no 证照标识 (a type without a licence type code,
    /// a VC-API credential, or one issued before identifiers), or has no
    /// revocation entry, so it has no version to bump or cannot be superseded.
    NotReissuable,
    /// The credential is revoked: a revoked licence is not reissued.
    Revoked,
    /// The single-use credential was used: reissuing would allow a second use.
    Used,
    /// The credential is suspended: a reissue would lift the suspension.
    Suspended,
    /// This version was reissued already; the next version's 证照标识 is given.
    Superseded {
        /// The 证照标识 of the version that replaced it.
        by: String,
    },
    /// The version is 999, the last the standard's three digits allow.
    VersionExhausted,
}

impl ReissueRefusal {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotReissuable => "not_reissuable",
            Self::Revoked => "already_revoked",
            Self::Used => "already_used",
            Self::Suspended => "suspended",
            Self::Superseded { .. } => "already_superseded",
            Self::VersionExhausted => "licence_version_exhausted",
        }
    }

    /// What to tell people.
    pub fn message(&self) -> Localized {
        match self {
            Self::NotReissuable => Localized::new(
                "该凭证没有证照标识或吊销状态项，不能换发",
                "this credential has no licence identifier (证照标识) or no revocation entry: it cannot be reissued",
            ),
            Self::Revoked => Localized::new(
                "该凭证已吊销，不能换发",
                "this credential is revoked: a revoked licence is not reissued",
            ),
            Self::Used => Localized::new(
                "该一次性凭证已使用，不能换发",
                "this single-use credential was used: it cannot be reissued",
            ),
            Self::Suspended => Localized::new(
                "该凭证已暂停，不能换发；如需换发请先恢复",
                "this credential is suspended: reinstate it before reissuing (a reissue would lift the suspension)",
            ),
            Self::Superseded { by } => Localized::new(
                format!("该版本已换发，现行版本为 {by}"),
                format!("this version was reissued already; the current version is {by}"),
            ),
            Self::VersionExhausted => Localized::new(
                "证照标识版本号已到999，不能再换发；请签发新证照",
                "the licence identifier's version is 999, the last one: issue a new licence instead",
            ),
        }
    }
}
