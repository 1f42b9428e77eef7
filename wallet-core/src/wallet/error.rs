//! Why a wallet operation failed.

/// Why a wallet operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalletError {
    /// The platform could not supply the store key.
    #[error("the platform keystore did not supply the key: {0}")]
    KeyUnavailable(String),
    /// The file does not decrypt with this key (wrong key, or the file was altered).
    #[error("the wallet file cannot be decrypted: wrong key or altered file")]
    WrongKeyOrTampered,
    /// The file is not a wallet file.
    #[error("not a wallet file")]
    NotAWalletFile,
    /// The decrypted contents cannot be read (a newer or damaged format).
    #[error("the wallet contents cannot be read: {0}")]
    Corrupt(String),
    /// Reading or writing the file failed.
    #[error("wallet file I/O: {0}")]
    Io(String),
    /// Encryption failed (not expected).
    #[error("encryption failed")]
    Crypto,
    /// What was imported is not a credential we can keep.
    #[error("not a credential: {0}")]
    NotACredential(String),
    /// The document is beyond the canonicalisation budget or the JSON limits
    /// (`document_too_complex`, `document_too_deep`, `document_too_large`).
    #[error(transparent)]
    TooComplex(crate::canonical::CanonicalizationError),
    /// The credential's signature does not verify (forged or altered).
    #[error("the credential's signature does not verify")]
    BadSignature,
    /// No credential with this id in the wallet.
    #[error("no such credential in the wallet")]
    NotFound,
    /// Another credential with this id is already in the wallet: importing
    /// never replaces one (anyone can sign a credential reusing the id of
    /// one shown to them). Delete the held one first.
    #[error("a different credential with this id is already in the wallet; delete it first to replace it")]
    IdTaken,
    /// Making a presentation failed.
    #[error(transparent)]
    Presentation(#[from] crate::presentation::PresentationError),
    /// Deriving a selectively disclosed credential failed (a bad pointer, or a
    /// base proof that does not derive).
    #[error(transparent)]
    Derive(#[from] crate::selective_disclosure::DeriveError),
    /// The OpenID4VCI exchange failed.
    #[error(transparent)]
    Oid4vci(#[from] crate::oid4vci::Oid4vciError),
}

impl WalletError {
    /// Stable machine code.
    pub fn code(&self) -> &str {
        match self {
            Self::KeyUnavailable(_) => "key_unavailable",
            Self::WrongKeyOrTampered => "wrong_key_or_tampered",
            Self::NotAWalletFile => "not_a_wallet_file",
            Self::Corrupt(_) => "corrupt_wallet",
            Self::Io(_) => "io_error",
            Self::Crypto => "crypto_error",
            Self::NotACredential(_) => "not_a_credential",
            Self::TooComplex(e) => e.code(),
            Self::BadSignature => "bad_signature",
            Self::NotFound => "not_found",
            Self::IdTaken => "credential_id_taken",
            Self::Presentation(e) => e.code(),
            Self::Derive(e) => e.code(),
            Self::Oid4vci(e) => &e.code,
        }
    }
}
