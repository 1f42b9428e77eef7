//! What the issuer does, apart from how it is asked: issuing, status
//! changes, credential offers, staff accounts and tokens, notarisation, the
//! transparency log and its anchoring. No HTTP here.

pub mod accounts;
pub mod anchor;
pub mod issuance;
pub mod notarization;
pub mod offer_keys;
pub mod offers;
pub mod status;
pub mod transparency_log;
