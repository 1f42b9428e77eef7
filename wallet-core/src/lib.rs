//! wallet-core: the credential model, its encodings (W3C VC 2.0 JSON-LD with
//! `ecdsa-rdfc-2019` Data Integrity proofs, and the compact QR form), QR
//! rendering and decoding, and the one verification routine that both services,
//! phone wallets and inspector apps share.
//!
//! No web framework, no database and no async runtime in the public API.

pub mod bulk_verification;
pub mod canonical;
pub mod compact;
pub mod contexts;
pub mod credential;
pub mod credential_type;
pub mod data_integrity;
pub mod data_model;
mod did_key;
pub mod display_text;
pub mod ecdsa_jcs_2019;
pub mod ecdsa_rdfc_2019;
pub mod holder;
pub mod issuance;
pub mod jcs;
pub mod keys;
mod ld_claims;
pub mod licence_id;
pub mod licence_id_check;
pub mod localized;
pub mod oid4vci;
pub mod one_pass_signing;
mod p256_signing;
pub mod p384_key;
pub mod presentation;
mod processed_contexts;
pub mod qr;
pub mod report;
pub mod selective_disclosure;
mod signed_json;
pub mod signer;
pub mod sm2_rdfc_2026;
mod sm2_signature_check;
pub mod status;
pub mod transparency;
pub mod trust;
pub mod ui_text;
pub mod verification;
pub mod verifier_bundle;
pub mod wallet;
