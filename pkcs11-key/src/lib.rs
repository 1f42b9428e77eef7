//! Signing keys in a PKCS#11 token (an HSM, 密码机; SoftHSM2 in tests), for
//! the services and `ecert-pki`: the issuer's signing key, a department's root
//! key and the verifier bundle's signing key. A key is named by an RFC 7512
//! URI ([`pkcs11_uri`]), its module found by path or name ([`pkcs11_module`]),
//! and it signs through wallet-core's `IssuerSigner` ([`pkcs11_signer`]): the
//! private key never leaves the token. wallet-core itself has no PKCS#11 code
//! (it is built for phone apps).

pub mod pkcs11_module;
pub mod pkcs11_signer;
pub mod pkcs11_uri;
