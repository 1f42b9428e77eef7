//! `ecert-pki …`: the certificate lifecycle as an operator runs it — a
//! file-based department certificate authority (in the manner of
//! `openssl ca`) and the clinic side (certificate requests, key rotation).
//! All cryptography is `wallet_core::trust`'s; this module keeps the files.
//!
//! # Department CA directory (one per department root)
//!
//! | file | what |
//! |---|---|
//! | `root.pem` | the root certificate |
//! | `root.key.pem` | its private key, passphrase-encrypted PKCS#8, mode 0600 |
//! | `root.key.uri` | instead of `root.key.pem`: the PKCS#11 URI of the key in the department's token (`init-root --token`; see [`root_key`]) |
//! | `issued/<serial-hex>.pem` | every certificate issued by this root |
//! | `revocations.json` | the revocation register, from which CRLs are made |
//! | `trust-list.sequence` | the last trust-list sequence number signed with this root |
//! | `.lock` | present while a command changes the register or the sequence |
//!
//! # Passphrase
//!
//! Commands that use a root key (`init-root`, `issue`, `crl`, `trust-list`)
//! read its passphrase from `--passphrase-file FILE` (one line; the trailing
//! newline is ignored) or, without that option, from the environment variable
//! `ISSUER_PKI_PASSPHRASE`. It is never a command-line argument (those are
//! visible to every user of the machine) and never printed; an empty one is
//! refused. `trust-list` unlocks every directory it is given with that same
//! passphrase. A root key in a token needs no passphrase: its PIN comes from
//! the URI's `pin-source` file or `ISSUER_PKCS11_PIN`.
//!
//! # Clinic data directory
//!
//! The issuer service signs with `<data-dir>/issuer-key.pem` (unencrypted
//! PKCS#8, mode 0600, see [`issuer::signing_key`]), or with
//! `<data-dir>/issuer-key-sm2.pem` when it runs with `--key-algorithm sm2`
//! (`request` and `rotate-key` take `--algorithm sm2` for that key). `request` makes a CSR for
//! that key; `rotate-key` replaces it and keeps the old one in
//! `<data-dir>/retired-keys/issuer-key-<UTC timestamp>.pem` for audit.
//!
//! # Output
//!
//! Documents (certificate, CSR, CRL as PEM) go to `--out FILE` or, without
//! it, to stdout; messages go to stderr. Private keys are never printed.

mod ca_dir;
mod clinic;
mod department;
mod files;
mod passphrase;
mod root_key;
mod show;
mod token_key;

use std::path::PathBuf;

use chrono::{DateTime, SubsecRound as _, Utc};

use passphrase::PassphraseArgs;
use root_key::RootKeyArgs;

/// The department PKI tool: its own binary, so that the clinics' `issuer`
/// service carries no root CA code.
#[derive(clap::Parser)]
#[command(
    name = "ecert-pki",
    about = "Department PKI: roots, issuer certificates, revocation, trust lists, key rotation"
)]
struct Cli {
    #[command(subcommand)]
    command: PkiCommand,
}

fn main() -> anyhow::Result<()> {
    issuer::telemetry::init();
    run(<Cli as clap::Parser>::parse().command)
}

/// PKI subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum PkiCommand {
    /// Department: create a root CA in a new directory (root.pem, encrypted
    /// root.key.pem or, with --token, root.key.uri naming the key in an HSM,
    /// issued/, revocations.json, trust-list.sequence).
    InitRoot(InitRootArgs),
    /// Department: re-sign the root (same name, key and validity) so that it
    /// may authorise issuers only for the given credential types; the earlier
    /// root.pem is kept as root.<serial>.pem. Give the new root.pem to verifiers.
    BoundRoot(BoundRootArgs),
    /// Clinic: make a certificate signing request (CSR) for the issuer
    /// service's current key (DATA/issuer-key.pem, generated if absent).
    Request(RequestArgs),
    /// Department: issue an issuer certificate from a clinic's CSR.
    Issue(IssueArgs),
    /// Department: record the revocation of an issued certificate in
    /// revocations.json (then make a new CRL / trust list).
    Revoke(RevokeArgs),
    /// Department: make a signed CRL (PEM) from revocations.json.
    Crl(CrlArgs),
    /// Department: make a signed trust list of roots, their issued
    /// certificates and fresh CRLs, for verifiers.
    TrustList(TrustListArgs),
    /// Describe a certificate, CSR, CRL or trust list file.
    Show(ShowArgs),
    /// Clinic: replace the issuer service's key with a new one (the old one is
    /// kept in DATA/retired-keys/) and make a CSR for the new key.
    RotateKey(RotateKeyArgs),
    /// Department: make a new ID number key (32 random bytes, file mode 0600) for
    /// the issuers' `--id-number-key` and the inspectors' verifiers; prints its key id.
    IdNumberKey(IdNumberKeyArgs),
    /// Clinic: generate the issuer's key in a PKCS#11 token (HSM; it cannot be
    /// exported) and make a CSR for it. To rotate, run it with a new object label
    /// and restart the issuer with the new URI.
    TokenKey(TokenKeyArgs),
}

/// `ecert-pki token-key`.
#[derive(Debug, clap::Args)]
pub struct TokenKeyArgs {
    /// The new key, as the issuer's `--signing-key` URI:
    /// `pkcs11:token=…;object=<new label>?module-path=…&pin-source=file:…`
    /// (the PIN from that file or `ISSUER_PKCS11_PIN`).
    #[arg(long, env = "ISSUER_SIGNING_KEY", value_name = "URI")]
    pub signing_key: String,
    /// The organisation's registered Chinese name (subject O and CN).
    #[arg(long)]
    pub organization: String,
    /// The organisation's 18-character unified social credit code.
    #[arg(long)]
    pub usci: String,
    /// Write the CSR here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
}

/// `ecert-pki id-number-key`.
#[derive(Debug, clap::Args)]
pub struct IdNumberKeyArgs {
    /// The new key file (refused when it exists).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

fn id_number_key(args: &IdNumberKeyArgs) -> anyhow::Result<()> {
    let key = wallet_core::credential::IdNumberKey::generate();
    files::create_private(&args.out, format!("{}\n", key.to_text()).as_bytes())?;
    println!("{}", key.key_id());
    Ok(())
}

/// `ecert-pki init-root`.
#[derive(Debug, clap::Args)]
pub struct InitRootArgs {
    /// The CA directory to create (it may exist, but must not hold a root).
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// The department (subject O), e.g. "广州市卫生健康委员会".
    #[arg(long)]
    pub organization: String,
    /// The CA's name (subject CN), e.g. "广州市卫生健康委员会电子证照根证书".
    #[arg(long)]
    pub common_name: String,
    /// Signature algorithm of the root: `p256` (ECDSA P-256/SHA-256) or `sm2`
    /// (SM2/SM3, GM/T 0015). Its certificates, CRLs and trust lists follow.
    #[arg(long, default_value = "p256")]
    pub algorithm: wallet_core::trust::TrustAlgorithm,
    /// Validity of the root certificate, in years from now.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub years: u32,
    /// The only credential types this department may authorise issuers for,
    /// comma-separated, e.g. HealthCertificate: signed into the root, and
    /// checked by every verifier configured with it.
    #[arg(long, value_delimiter = ',', num_args = 1.., required_unless_present = "any_type", conflicts_with = "any_type")]
    pub authorises: Vec<String>,
    /// Let this root authorise issuers for any credential type (its mistakes,
    /// or the thief of its key, then reach every type). Bound it later with
    /// `bound-root`.
    #[arg(long)]
    pub any_type: bool,
    /// Keep the root key in a PKCS#11 token (HSM) instead of root.key.pem: the
    /// key the URI names (`pkcs11:token=…;object=<label>?module-path=…&pin-source=file:…`),
    /// generated there if the token does not have it; P-256 only. The URI is
    /// recorded in DIR/root.key.uri; the PIN never (pin-source file or ISSUER_PKCS11_PIN).
    #[arg(long, value_name = "URI", conflicts_with = "passphrase_file")]
    pub token: Option<String>,
    /// The passphrase that will protect root.key.pem.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `ecert-pki bound-root`.
#[derive(Debug, clap::Args)]
pub struct BoundRootArgs {
    /// The department's CA directory.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// The only credential types the root may authorise, comma-separated.
    #[arg(long, value_delimiter = ',', required = true, num_args = 1..)]
    pub authorises: Vec<String>,
    /// Bound the root although credentials signed under certificates it
    /// issued for other types would then read invalid at verifiers given the
    /// new root (certificates revoked since, whose earlier signatures stand).
    #[arg(long)]
    pub invalidate_history: bool,
    /// The root key in a token, if not as DIR records it.
    #[command(flatten)]
    pub root_key: RootKeyArgs,
    /// The passphrase of root.key.pem.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `ecert-pki request`.
#[derive(Debug, clap::Args)]
pub struct RequestArgs {
    /// The issuer service's data directory (holds issuer-key.pem).
    #[arg(long, value_name = "DATA")]
    pub data_dir: PathBuf,
    /// The key's algorithm: `p256` (the service's `issuer-key.pem`) or `sm2`
    /// (`issuer-key-sm2.pem`, for `issuer serve --key-algorithm sm2`); the
    /// CSR is signed with that key.
    #[arg(long, default_value = "p256")]
    pub algorithm: wallet_core::trust::TrustAlgorithm,
    /// The organisation's registered Chinese name (subject O and CN).
    #[arg(long)]
    pub organization: String,
    /// The organisation's 18-character unified social credit code.
    #[arg(long)]
    pub usci: String,
    /// Write the CSR here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `ecert-pki issue`.
#[derive(Debug, clap::Args)]
pub struct IssueArgs {
    /// The department's CA directory.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// The clinic's certificate signing request (PEM).
    #[arg(long, value_name = "FILE")]
    pub csr: PathBuf,
    /// Credential types the issuer may sign, comma-separated, e.g.
    /// HealthCertificate,FoodBusinessLicence (letters and digits, starting with a letter).
    #[arg(long, value_delimiter = ',', required = true, num_args = 1..)]
    pub types: Vec<String>,
    /// Directory of extra credential type definitions: every type in --types must be
    /// defined (shipped, or a file here).
    #[arg(long, value_name = "DIR")]
    pub credential_types: Option<PathBuf>,
    /// Validity in days from now (it must end before the root's).
    #[arg(long, default_value_t = 730, value_parser = clap::value_parser!(u32).range(1..))]
    pub days: u32,
    /// Also write the certificate here (it is always stored in DIR/issued/);
    /// without it the certificate goes to stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The root key in a token, if not as DIR records it.
    #[command(flatten)]
    pub root_key: RootKeyArgs,
    /// The passphrase of root.key.pem.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// Why a certificate is revoked, as given on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RevokeReason {
    /// The key is (or may be) in someone else's hands: signatures from the
    /// invalidity date (or the revocation time) on are void.
    KeyCompromise,
    /// Replaced by a new certificate (key rotation): signatures made before
    /// the revocation stay valid.
    Superseded,
    /// The holder stopped issuing: signatures made before stay valid.
    CessationOfOperation,
    /// The holder's name or affiliation changed: signatures made before stay valid.
    AffiliationChanged,
}

impl RevokeReason {
    /// The RFC 5280 reason.
    pub fn to_revocation_reason(self) -> wallet_core::trust::RevocationReason {
        use wallet_core::trust::RevocationReason;
        match self {
            Self::KeyCompromise => RevocationReason::KeyCompromise,
            Self::Superseded => RevocationReason::Superseded,
            Self::CessationOfOperation => RevocationReason::CessationOfOperation,
            Self::AffiliationChanged => RevocationReason::AffiliationChanged,
        }
    }
}

/// `ecert-pki revoke`.
#[derive(Debug, clap::Args)]
pub struct RevokeArgs {
    /// The department's CA directory.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Serial number of the certificate, hex (colons allowed, as OpenSSL prints it).
    #[arg(long, value_name = "HEX")]
    pub serial: String,
    /// Why it is revoked.
    #[arg(long, value_enum)]
    pub reason: RevokeReason,
    /// key-compromise only: since when the key is known or suspected to be
    /// compromised (RFC 3339, may be before --at); signatures from then on are void.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    pub invalidity_date: Option<DateTime<Utc>>,
    /// Revocation time (RFC 3339, not in the future). Default: now.
    #[arg(long, value_name = "RFC3339", value_parser = parse_rfc3339)]
    pub at: Option<DateTime<Utc>>,
    /// Free-text note kept in revocations.json (e.g. a ticket number).
    #[arg(long)]
    pub comment: Option<String>,
    /// Who records the revocation (kept in revocations.json). Default: $USER.
    #[arg(long, value_name = "NAME")]
    pub recorded_by: Option<String>,
}

/// `ecert-pki crl`.
#[derive(Debug, clap::Args)]
pub struct CrlArgs {
    /// The department's CA directory.
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Days until the CRL's nextUpdate (verifiers refuse it afterwards).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=366))]
    pub days: u32,
    /// Write the CRL (PEM) here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// The root key in a token, if not as DIR records it.
    #[command(flatten)]
    pub root_key: RootKeyArgs,
    /// The passphrase of root.key.pem.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `ecert-pki trust-list`.
#[derive(Debug, clap::Args)]
pub struct TrustListArgs {
    /// A CA directory whose root, issued certificates and a fresh CRL go into
    /// the list; repeat for several departments. All keys are unlocked with
    /// the same passphrase.
    #[arg(long = "dir", value_name = "DIR", required = true)]
    pub dirs: Vec<PathBuf>,
    /// The CA directory whose root key signs the list (and whose
    /// trust-list.sequence is incremented); included in the list if not
    /// given as --dir.
    #[arg(long, value_name = "DIR")]
    pub signer: PathBuf,
    /// Days until the list's (and its CRLs') nextUpdate.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=366))]
    pub days: u32,
    /// Where to write the trust list (JSON).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// The root key in a token, if not as DIR records it.
    #[command(flatten)]
    pub root_key: RootKeyArgs,
    /// The passphrase of every root.key.pem involved.
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
}

/// `ecert-pki show`.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// A certificate, CSR, CRL (PEM or DER) or trust list (JSON).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Trust lists: verify the signature and freshness against this root
    /// certificate (PEM); repeat for several.
    #[arg(long = "root", value_name = "ROOT_PEM")]
    pub roots: Vec<PathBuf>,
}

/// `ecert-pki rotate-key`.
#[derive(Debug, clap::Args)]
pub struct RotateKeyArgs {
    /// The issuer service's data directory (holds issuer-key.pem).
    #[arg(long, value_name = "DATA")]
    pub data_dir: PathBuf,
    /// The key's algorithm: `p256` (the service's `issuer-key.pem`) or `sm2`
    /// (`issuer-key-sm2.pem`, for `issuer serve --key-algorithm sm2`); the
    /// CSR is signed with that key.
    #[arg(long, default_value = "p256")]
    pub algorithm: wallet_core::trust::TrustAlgorithm,
    /// The organisation's registered Chinese name (subject O and CN).
    #[arg(long)]
    pub organization: String,
    /// The organisation's 18-character unified social credit code.
    #[arg(long)]
    pub usci: String,
    /// Write the CSR for the new key here instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Run a PKI subcommand.
///
/// # Errors
/// Any failure, with context naming the file or value at fault.
pub fn run(command: PkiCommand) -> anyhow::Result<()> {
    let result = match command {
        PkiCommand::InitRoot(args) => department::init_root(&args),
        PkiCommand::BoundRoot(args) => department::bound_root(&args),
        PkiCommand::Request(args) => clinic::request(&args),
        PkiCommand::Issue(args) => department::issue(&args),
        PkiCommand::Revoke(args) => department::revoke(&args),
        PkiCommand::Crl(args) => department::crl(&args),
        PkiCommand::TrustList(args) => department::trust_list(&args),
        PkiCommand::Show(args) => show::show(&args),
        PkiCommand::RotateKey(args) => clinic::rotate_key(&args),
        PkiCommand::IdNumberKey(args) => id_number_key(&args),
        PkiCommand::TokenKey(args) => token_key::token_key(&args),
    };
    // One line, causes joined by ": " (`main` prints an error's Debug form,
    // which would put every cause on a line of its own).
    result.map_err(|error| anyhow::anyhow!("{error:#}"))
}

/// Parse an RFC 3339 time argument, to whole seconds (X.509 precision).
fn parse_rfc3339(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|time| time.with_timezone(&Utc).trunc_subsecs(0))
        .map_err(|e| format!("{e} (expected RFC 3339, e.g. 2026-03-01T09:30:00+08:00)"))
}

/// The current time, to whole seconds (X.509 precision), so that what the
/// files record is exactly what the certificates and CRLs carry.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

/// A time for messages: RFC 3339, seconds, `Z`.
fn display_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
