//! OpenID4VCI offers (pre-authorized code + PIN) and used key-proof nonces.
//! The PIN check, attempt counting and burning happen in one transaction, so
//! concurrent guesses cannot exceed the limit.

use super::backend::{args, Mode};
use super::{Store, StoreError};

/// A new offer to store.
#[derive(Clone, PartialEq, Eq)]
pub struct NewOffer {
    /// Public id (UUID).
    pub offer_id: String,
    /// SHA-256 hex of the pre-authorized code.
    pub code_hash: String,
    /// SHA-256 hex of the PIN (bound to the code), when the offer has one.
    pub tx_code_hash: Option<String>,
    /// `HealthCertificate` / `FoodBusinessLicence`.
    pub configuration_id: String,
    /// The validated domain request (personal data; cleared when the offer is used up).
    pub request_json: String,
    /// The API token id / staff user that made it.
    pub created_by: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds; the code is refused from then on.
    pub expires_at: i64,
}

impl std::fmt::Debug for NewOffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewOffer")
            .field("offer_id", &self.offer_id)
            .field("configuration_id", &self.configuration_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The outcome of presenting a pre-authorized code (and PIN) at the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// No offer with this code.
    Unknown,
    /// The code has expired.
    Expired,
    /// Too many wrong PINs: the offer is burned for good.
    Burned,
    /// The code was already exchanged for a token (single use).
    AlreadyRedeemed,
    /// Wrong PIN; this many attempts are left (0: the offer is now burned).
    WrongTxCode {
        /// Attempts left.
        attempts_left: u32,
    },
    /// Accepted: the access token (its hash) is now bound to this offer.
    Redeemed {
        /// The offer.
        offer_id: String,
    },
}

/// What the credential endpoint needs of an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedeemedOffer {
    /// The offer.
    pub offer_id: String,
    /// Which configuration was offered.
    pub configuration_id: String,
    /// The domain request to issue from.
    pub request_json: String,
}

/// The token to bind on success.
#[derive(Debug, Clone)]
pub struct TokenGrant<'a> {
    /// SHA-256 hex of the access token.
    pub access_token_hash: &'a str,
    /// Unix seconds.
    pub expires_at: i64,
}

struct OfferRow {
    offer_id: String,
    tx_code_hash: Option<String>,
    state: String,
    expires_at: i64,
    failed_attempts: i64,
}

enum Decision {
    Refuse(Redemption),
    CountFailure { attempts: i64, burn: bool, left: u32 },
    Accept,
}

fn decide(row: &OfferRow, tx_code_hash: Option<&str>, now: i64, max_attempts: u32) -> Decision {
    match row.state.as_str() {
        "burned" => return Decision::Refuse(Redemption::Burned),
        "token_issued" | "credential_issued" => return Decision::Refuse(Redemption::AlreadyRedeemed),
        _ => {}
    }
    if now >= row.expires_at {
        return Decision::Refuse(Redemption::Expired);
    }
    match (&row.tx_code_hash, tx_code_hash) {
        (Some(expected), Some(given)) if expected == given => Decision::Accept,
        (None, _) => Decision::Accept,
        _ => {
            let attempts = row.failed_attempts + 1;
            let left = u32::try_from(i64::from(max_attempts) - attempts).unwrap_or(0);
            Decision::CountFailure { attempts, burn: left == 0, left }
        }
    }
}

/// Clears the personal data of offers that can no longer be used.
const SCRUB: &str = "UPDATE oid4vci_offers SET request_json = '' WHERE request_json <> '' AND \
     (state IN ('burned', 'credential_issued') OR (state = 'offered' AND expires_at <= $1) \
      OR (state = 'token_issued' AND token_expires_at <= $1))";

impl Store {
    /// Clears the personal data (the request, with the plain ID number) of
    /// offers that can no longer be used, as of `now`: the issuer runs it on a
    /// timer, so an offer nobody redeems does not keep it until the next offer
    /// is made. Returns how many were cleared.
    pub async fn scrub_unusable_offers(&self, now: i64) -> Result<u64, StoreError> {
        let mut tx = self.begin(Mode::Write).await?;
        let cleared = tx.execute(SCRUB, &args![now]).await?;
        tx.commit().await?;
        Ok(cleared)
    }

    /// Stores a new offer (and clears the personal data of offers no longer usable).
    pub async fn create_offer(&self, o: &NewOffer) -> Result<(), StoreError> {
        let mut tx = self.begin(Mode::Write).await?;
        tx.execute(SCRUB, &args![o.created_at]).await?;
        tx.execute(
            "INSERT INTO oid4vci_offers (offer_id, code_hash, tx_code_hash, configuration_id, request_json, \
             created_by, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &args![
                &o.offer_id,
                &o.code_hash,
                &o.tx_code_hash,
                &o.configuration_id,
                &o.request_json,
                &o.created_by,
                o.created_at,
                o.expires_at
            ],
        )
        .await?;
        tx.commit().await
    }

    /// Presents a pre-authorized code with a PIN (its hash), atomically: a wrong PIN
    /// counts an attempt and burns the offer at `max_attempts`; a right one binds the
    /// access token and makes the code used.
    pub async fn redeem_offer(
        &self,
        code_hash: &str,
        tx_code_hash: Option<&str>,
        token: TokenGrant<'_>,
        now: i64,
        max_attempts: u32,
    ) -> Result<Redemption, StoreError> {
        let mut tx = self.begin(Mode::Write).await?;
        // FOR UPDATE (PostgreSQL; SQLite's write lock covers it): concurrent guesses for
        // one offer queue here, so the count is exact.
        let sql = format!(
            "SELECT offer_id, tx_code_hash, state, expires_at, failed_attempts FROM oid4vci_offers \
             WHERE code_hash = $1{}",
            tx.dialect().for_update()
        );
        let Some(row) = tx.query_opt(&sql, &args![code_hash]).await? else {
            tx.rollback().await?;
            return Ok(Redemption::Unknown);
        };
        let row = OfferRow {
            offer_id: row.get(0)?,
            tx_code_hash: row.get(1)?,
            state: row.get(2)?,
            expires_at: row.get(3)?,
            failed_attempts: row.get(4)?,
        };
        let outcome = match decide(&row, tx_code_hash, now, max_attempts) {
            Decision::Refuse(r) => r,
            Decision::CountFailure { attempts, burn, left } => {
                tx.execute(
                    "UPDATE oid4vci_offers SET failed_attempts = $2, \
                     state = CASE WHEN $3 THEN 'burned' ELSE state END, \
                     request_json = CASE WHEN $3 THEN '' ELSE request_json END WHERE offer_id = $1",
                    &args![&row.offer_id, attempts, burn],
                )
                .await?;
                Redemption::WrongTxCode { attempts_left: left }
            }
            Decision::Accept => {
                tx.execute(
                    "UPDATE oid4vci_offers SET state = 'token_issued', access_token_hash = $2, \
                     token_expires_at = $3 WHERE offer_id = $1",
                    &args![&row.offer_id, token.access_token_hash, token.expires_at],
                )
                .await?;
                Redemption::Redeemed { offer_id: row.offer_id }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// The offer an unexpired access token was granted for, while no credential was issued for it.
    pub async fn offer_for_access_token(
        &self,
        token_hash: &str,
        now: i64,
    ) -> Result<Option<RedeemedOffer>, StoreError> {
        let row = self
            .session()
            .await?
            .query_opt(
                "SELECT offer_id, configuration_id, request_json FROM oid4vci_offers \
                 WHERE access_token_hash = $1 AND state = 'token_issued' AND token_expires_at > $2",
                &args![token_hash, now],
            )
            .await?;
        row.map(|r| Ok(RedeemedOffer { offer_id: r.get(0)?, configuration_id: r.get(1)?, request_json: r.get(2)? }))
            .transpose()
    }

    /// Marks the offer used up by `credential_id` and clears its request; false when it
    /// was not waiting for its credential (already issued).
    pub async fn complete_offer(&self, offer_id: &str, credential_id: &str) -> Result<bool, StoreError> {
        let changed = self
            .session()
            .await?
            .execute(
                "UPDATE oid4vci_offers SET state = 'credential_issued', credential_id = $2, request_json = '' \
                 WHERE offer_id = $1 AND state = 'token_issued'",
                &args![offer_id, credential_id],
            )
            .await?;
        Ok(changed > 0)
    }

    /// Records a key-proof nonce as used; false when it was used before. Forgets
    /// nonces past their expiry (they are refused on expiry anyway).
    pub async fn use_nonce(&self, nonce_hash: &str, expires_at: i64, now: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin(Mode::Write).await?;
        tx.execute("DELETE FROM oid4vci_used_nonces WHERE expires_at <= $1", &args![now]).await?;
        let inserted = tx
            .execute(
                "INSERT INTO oid4vci_used_nonces (nonce_hash, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &args![nonce_hash, expires_at],
            )
            .await?;
        tx.commit().await?;
        Ok(inserted > 0)
    }
}
