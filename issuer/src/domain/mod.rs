//! What the issuer does, apart from how it is asked: issuing, status
//! changes, credential offers, staff accounts and tokens, finding issued
//! credentials (search, the ID-number lookup), notarisation, the
//! transparency log and its anchoring. No HTTP here: refusals are typed error
//! enums, turned into HTTP answers by `crate::http::error`.

pub mod accounts;
pub mod anchor;
pub mod audit;
pub mod batch;
pub mod batch_issuance;
pub mod issuance;
pub mod issuance_error;
pub mod licence_ids;
pub mod lookup;
pub mod notarization;
pub mod offer_keys;
pub mod offers;
pub mod proof_suite;
pub mod reissue;
pub mod reissue_refusal;
pub mod roles;
pub mod search;
pub mod status;
pub mod transparency_log;
