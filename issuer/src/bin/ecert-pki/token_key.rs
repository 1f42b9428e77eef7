//! The clinic side with a key in a PKCS#11 token (HSM): `ecert-pki token-key`
//! generates the issuer's P-256 key pair inside the token (the private key
//! `CKA_SENSITIVE`, not `CKA_EXTRACTABLE`: it never leaves) and makes a CSR
//! for it, signed in the token. Rotation is the same command with a new
//! object label, then a restart of the issuer with the new URI (the old key
//! stays in the token, never used to sign again).

use anyhow::Context as _;
use issuer::pkcs11_signer::{generate_in_token, Pkcs11Signer};
use issuer::pkcs11_uri::Pkcs11Uri;
use wallet_core::signer::IssuerSigner as _;
use wallet_core::trust::create_csr;

use super::clinic::{check_organization, check_usci};
use super::files;
use super::TokenKeyArgs;

/// `ecert-pki token-key`.
pub fn token_key(args: &TokenKeyArgs) -> anyhow::Result<()> {
    check_usci(&args.usci)?;
    let organization = check_organization(&args.organization)?;
    let uri = Pkcs11Uri::parse(args.signing_key.trim())?;
    generate_in_token(&uri).with_context(|| format!("generating the key {} in the token", uri.describe()))?;
    let signer = Pkcs11Signer::open(&uri).with_context(|| format!("opening the new key {}", uri.describe()))?;
    let csr = create_csr(&signer as &dyn wallet_core::signer::IssuerSigner, organization, &args.usci, &signer.did())
        .context("making the certificate signing request")?;
    files::write_output(args.out.as_deref(), &csr)?;
    eprintln!("Generated the issuer key {} in the token (it cannot be exported)", uri.describe());
    eprintln!("  key:         {}", signer.did());
    if let Some(out) = &args.out {
        eprintln!("  CSR written to {}", out.display());
    }
    eprintln!("Next steps:");
    eprintln!("  1. Send the CSR to your department; it issues a certificate and a trust list with it.");
    eprintln!("  2. Start (or, to rotate, restart) the issuer with --signing-key set to this URI once");
    eprintln!("     that trust list is out; then ask for the old certificate's revocation (superseded).");
    Ok(())
}
