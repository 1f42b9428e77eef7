//! PKCS#11 URIs (RFC 7512) naming a signing key in a token — the issuer's
//! (`--signing-key`) or a department's (`ecert-pki … --root-key`):
//! `pkcs11:token=ecert;object=issuer-2026?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin`.
//!
//! The module is `module-path` (a file) or `module-name` (a name looked up in
//! the standard module directory, [`crate::pkcs11_module`]); `module-path`
//! wins when both are given (RFC 7512 §2.3). Every token and slot attribute
//! given (`token`, `serial`, `manufacturer`, `model`, `slot-id`,
//! `slot-description`, `slot-manufacturer`) must match the token used; the
//! `library-*` attributes are informational. An attribute this parser does not
//! know is an error naming it (a typo must not widen the match), except
//! vendor attributes `x-…`, which are ignored.
//!
//! The PIN is never part of the URI in clear: `pin-value` is refused (a URI
//! ends up on command lines, in `ps` and in shell history). It comes from
//! `pin-source=file:<path>` (RFC 7512; the file's first line) or, without
//! one, from the `ISSUER_PKCS11_PIN` environment variable.
//!
//! Hostile input: the URI is refused above [`MAX_URI_CHARS`] before anything
//! is decoded, every attribute may appear once, percent-encoding must be two
//! hex digits, and text attributes must decode to UTF-8.

use std::collections::BTreeSet;
use std::path::PathBuf;

/// The environment variable read for the PIN when the URI has no `pin-source`.
pub const PIN_ENV: &str = "ISSUER_PKCS11_PIN";

/// Longest URI read (RFC 7512 puts no limit; ours are far under it).
pub const MAX_URI_CHARS: usize = 4096;

/// Longest `module-name` (a file name without prefix and suffix).
const MAX_MODULE_NAME_CHARS: usize = 128;

/// The path attributes of RFC 7512 this parser reads (for messages).
const PATH_ATTRIBUTES: &str = "id, library-description, library-manufacturer, library-version, manufacturer, \
                               model, object, serial, slot-description, slot-id, slot-manufacturer, token, type";
/// The query attributes of RFC 7512 this parser reads (for messages).
const QUERY_ATTRIBUTES: &str = "module-name, module-path, pin-source (pin-value is refused)";

/// Which PKCS#11 library to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModuleRef {
    /// `module-path`: the library file.
    Path(PathBuf),
    /// `module-name` (and no `module-path`): a library name such as `softhsm2`,
    /// looked up in the standard module directory.
    Name(String),
}

/// A parsed `pkcs11:` URI: which module, token and private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// The PKCS#11 library to load.
    pub module: ModuleRef,
    /// `token`: the token label.
    pub token: Option<String>,
    /// `serial`: the token serial number.
    pub serial: Option<String>,
    /// `manufacturer`: the token manufacturer.
    pub manufacturer: Option<String>,
    /// `model`: the token model.
    pub model: Option<String>,
    /// `slot-id`: the slot number.
    pub slot_id: Option<u64>,
    /// `slot-description`: the slot's description.
    pub slot_description: Option<String>,
    /// `slot-manufacturer`: the slot's manufacturer.
    pub slot_manufacturer: Option<String>,
    /// `object`: the key's `CKA_LABEL`.
    pub object: Option<String>,
    /// `id`: the key's `CKA_ID` (bytes).
    pub id: Option<Vec<u8>>,
    /// `pin-source=file:…`: where the PIN is read.
    pub pin_file: Option<PathBuf>,
}

/// Why a URI was refused (the issuer does not start).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("bad PKCS#11 URI: {0}")]
pub struct UriError(pub String);

fn err(what: impl Into<String>) -> UriError {
    UriError(what.into())
}

/// A `module-name` is a bare library name: letters, digits, `.`, `_`, `+`,
/// `-`, not starting with `.` (no directory, no `..`).
fn check_module_name(name: &str) -> Result<(), UriError> {
    let well_formed = !name.is_empty()
        && name.len() <= MAX_MODULE_NAME_CHARS
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'));
    if well_formed {
        Ok(())
    } else {
        Err(err(format!(
            "`module-name` must be a library name such as `softhsm2` (at most {MAX_MODULE_NAME_CHARS} letters, \
             digits, `.`, `_`, `+`, `-`; no directory): give a file with `module-path`"
        )))
    }
}

impl Pkcs11Uri {
    /// Parse `uri`.
    ///
    /// # Errors
    /// [`UriError`]: too long, not `pkcs11:`, an unknown or repeated
    /// attribute, bad percent-encoding, `pin-value`, neither `module-path` nor
    /// a well-formed `module-name`, a `slot-id` that is not a number, no
    /// `object` or `id`, or `type` other than `private`.
    pub fn parse(uri: &str) -> Result<Self, UriError> {
        if uri.len() > MAX_URI_CHARS {
            return Err(err(format!("longer than {MAX_URI_CHARS} characters")));
        }
        let rest = uri.strip_prefix("pkcs11:").ok_or_else(|| err("it does not start with `pkcs11:`"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if rest.contains('#') {
            return Err(err("a `#` fragment (percent-encode `#` in values as %23)"));
        }
        let mut out = Self {
            module: ModuleRef::Path(PathBuf::new()),
            token: None,
            serial: None,
            manufacturer: None,
            model: None,
            slot_id: None,
            slot_description: None,
            slot_manufacturer: None,
            object: None,
            id: None,
            pin_file: None,
        };
        let (mut module_path, mut module_name) = (None, None);
        let mut seen = BTreeSet::new();
        let pairs = path.split(';').map(|p| (p, false)).chain(query.split('&').map(|p| (p, true)));
        for (pair, in_query) in pairs.filter(|(p, _)| !p.is_empty()) {
            let (name, raw) = pair.split_once('=').ok_or_else(|| err(format!("`{pair}` is not name=value")))?;
            if !seen.insert(name) {
                return Err(err(format!("`{name}` appears twice")));
            }
            let bytes = percent_decode(raw)?;
            let text = || String::from_utf8(bytes.clone()).map_err(|_| err(format!("`{name}` is not UTF-8")));
            match (name, in_query) {
                ("token", false) => out.token = Some(text()?),
                ("serial", false) => out.serial = Some(text()?),
                ("manufacturer", false) => out.manufacturer = Some(text()?),
                ("model", false) => out.model = Some(text()?),
                ("slot-id", false) => out.slot_id = Some(parse_slot_id(&text()?)?),
                ("slot-description", false) => out.slot_description = Some(text()?),
                ("slot-manufacturer", false) => out.slot_manufacturer = Some(text()?),
                ("object", false) => out.object = Some(text()?),
                ("id", false) => out.id = Some(bytes),
                ("type", false) if bytes == b"private" => {}
                ("type", false) => return Err(err("`type` must be `private` (the signing key)")),
                // Informational: one module is loaded, whatever it says of itself.
                ("library-manufacturer" | "library-description" | "library-version", false) => {}
                ("module-path", true) => module_path = Some(PathBuf::from(text()?)),
                ("module-name", true) => {
                    let name = text()?;
                    check_module_name(&name)?;
                    module_name = Some(name);
                }
                ("pin-source", true) => {
                    let source = text()?;
                    let file =
                        source.strip_prefix("file:").ok_or_else(|| err("`pin-source` must be a `file:` path"))?;
                    out.pin_file = Some(PathBuf::from(file.strip_prefix("//").unwrap_or(file)));
                }
                ("pin-value", true) => {
                    return Err(err(format!(
                        "`pin-value` puts the PIN in clear where the URI is seen (command line, logs): use \
                         `pin-source=file:<path>` or the {PIN_ENV} environment variable"
                    )))
                }
                (other, _) if other.starts_with("x-") => {}
                (other, in_query) => return Err(unknown_attribute(other, in_query)),
            }
        }
        out.module = match (module_path, module_name) {
            (Some(path), _) => ModuleRef::Path(path),
            (None, Some(name)) => ModuleRef::Name(name),
            (None, None) => {
                return Err(err(
                    "no module: give `module-path` (the PKCS#11 library file) or `module-name` (e.g. softhsm2)",
                ))
            }
        };
        if out.object.is_none() && out.id.is_none() {
            return Err(err("name the key with `object` (its label) or `id`"));
        }
        Ok(out)
    }

    /// The module's file: `module-path`, or `module-name` looked up in the
    /// standard module directory.
    ///
    /// # Errors
    /// No module of that name is installed.
    pub fn module_path(&self) -> Result<PathBuf, UriError> {
        match &self.module {
            ModuleRef::Path(path) => Ok(path.clone()),
            ModuleRef::Name(name) => crate::pkcs11_module::find_module(name).map_err(UriError),
        }
    }

    /// What the URI names, for messages (no PIN, no module path).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        let mut push = |name: &str, value: &Option<String>| {
            if let Some(v) = value {
                parts.push(format!("{name}={v}"));
            }
        };
        push("token", &self.token);
        push("serial", &self.serial);
        push("manufacturer", &self.manufacturer);
        push("model", &self.model);
        push("slot-id", &self.slot_id.map(|s| s.to_string()));
        push("slot-description", &self.slot_description);
        push("slot-manufacturer", &self.slot_manufacturer);
        push("object", &self.object);
        push("id", &self.id.as_ref().map(hex::encode));
        parts.join(";")
    }
}

/// `slot-id`: a decimal `CK_SLOT_ID` (RFC 7512: "a decimal number").
fn parse_slot_id(text: &str) -> Result<u64, UriError> {
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err("`slot-id` must be a decimal number"));
    }
    text.parse().map_err(|_| err("`slot-id` is larger than a slot number can be"))
}

/// The message for an attribute this parser does not read: where it belongs
/// if it is one of RFC 7512's, else the list of known ones.
fn unknown_attribute(name: &str, in_query: bool) -> UriError {
    let known_in_path = PATH_ATTRIBUTES.split(", ").any(|a| a == name);
    let known_in_query = ["module-name", "module-path", "pin-source", "pin-value"].contains(&name);
    match (known_in_path, known_in_query, in_query) {
        (true, _, true) => err(format!("`{name}` belongs in the path part (before `?`, separated by `;`)")),
        (_, true, false) => err(format!("`{name}` belongs in the query part (after `?`, separated by `&`)")),
        _ => err(format!(
            "unknown attribute `{name}` (path: {PATH_ATTRIBUTES}; query: {QUERY_ATTRIBUTES}; vendor attributes start \
             with `x-`)"
        )),
    }
}

/// RFC 3986 percent-decoding (RFC 7512 values are percent-encoded bytes).
fn percent_decode(raw: &str) -> Result<Vec<u8>, UriError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let (Some(h), Some(l)) = (bytes.next(), bytes.next()) else {
                return Err(err("bad percent-encoding: a `%` without two hex digits"));
            };
            let digit = |c: u8| char::from(c).to_digit(16);
            let (Some(h), Some(l)) = (digit(h), digit(l)) else {
                return Err(err("bad percent-encoding: a `%` without two hex digits"));
            };
            out.push(u8::try_from(h * 16 + l).map_err(|_| err("bad percent-encoding"))?);
        } else {
            out.push(b);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(uri: &str) -> String {
        match Pkcs11Uri::parse(uri) {
            Ok(parsed) => panic!("{uri} was accepted: {parsed:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn reads_the_rfc_7512_attributes() {
        let uri = Pkcs11Uri::parse(
            "pkcs11:token=ecert%20test;object=issuer-2026;id=%01%02;type=private;manufacturer=SoftHSM\
             ?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/pin",
        )
        .unwrap();
        assert_eq!(uri.token.as_deref(), Some("ecert test"));
        assert_eq!(uri.object.as_deref(), Some("issuer-2026"));
        assert_eq!(uri.id, Some(vec![1, 2]));
        assert_eq!(uri.manufacturer.as_deref(), Some("SoftHSM"));
        assert_eq!(uri.module, ModuleRef::Path(PathBuf::from("/usr/lib/softhsm/libsofthsm2.so")));
        assert_eq!(uri.module_path().unwrap(), PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"));
        assert_eq!(uri.pin_file, Some(PathBuf::from("/run/pin")));
        assert_eq!(uri.describe(), "token=ecert test;manufacturer=SoftHSM;object=issuer-2026;id=0102");
        // A `;` or `&` inside a value is percent-encoded; vendor attributes are ignored.
        let uri = Pkcs11Uri::parse("pkcs11:object=a%3Bb%26c;x-vendor=1?module-path=/m.so&x-hint=2").unwrap();
        assert_eq!(uri.object.as_deref(), Some("a;b&c"));
    }

    #[test]
    fn module_name_is_used_when_module_path_is_absent() {
        let uri = Pkcs11Uri::parse("pkcs11:object=k?module-name=softhsm2").unwrap();
        assert_eq!(uri.module, ModuleRef::Name("softhsm2".into()));
        // Both: module-path wins (RFC 7512 §2.3), whatever the order.
        for query in ["module-name=softhsm2&module-path=/opt/m.so", "module-path=/opt/m.so&module-name=softhsm2"] {
            let uri = Pkcs11Uri::parse(&format!("pkcs11:object=k?{query}")).unwrap();
            assert_eq!(uri.module, ModuleRef::Path(PathBuf::from("/opt/m.so")));
        }
        // A name is a name: no directory, no `..`, no hidden file, bounded.
        let long = "m".repeat(MAX_MODULE_NAME_CHARS + 1);
        for bad in ["", "../../tmp/evil", "%2Ftmp%2Fevil", "lib/x", ".hidden", "soft hsm", "soft%00hsm", &long] {
            let message = refused(&format!("pkcs11:object=k?module-name={bad}"));
            assert!(message.contains("`module-name` must be a library name"), "{bad}: {message}");
        }
        assert!(Pkcs11Uri::parse(&format!("pkcs11:object=k?module-name={}", "m".repeat(MAX_MODULE_NAME_CHARS))).is_ok());
        assert!(refused("pkcs11:object=k").contains("no module: give `module-path`"));
    }

    #[test]
    fn slot_attributes_narrow_the_match() {
        let uri = Pkcs11Uri::parse(
            "pkcs11:slot-id=7;slot-description=SoftHSM%20slot;slot-manufacturer=SoftHSM%20project;model=SoftHSM%20v2;\
             object=k?module-path=/m.so",
        )
        .unwrap();
        assert_eq!(uri.slot_id, Some(7));
        assert_eq!(uri.slot_description.as_deref(), Some("SoftHSM slot"));
        assert_eq!(uri.slot_manufacturer.as_deref(), Some("SoftHSM project"));
        assert_eq!(uri.model.as_deref(), Some("SoftHSM v2"));
        assert_eq!(
            uri.describe(),
            "model=SoftHSM v2;slot-id=7;slot-description=SoftHSM slot;slot-manufacturer=SoftHSM project;object=k"
        );
        let max = Pkcs11Uri::parse("pkcs11:slot-id=18446744073709551615;object=k?module-path=/m.so").unwrap();
        assert_eq!(max.slot_id, Some(u64::MAX));
        assert_eq!(Pkcs11Uri::parse("pkcs11:slot-id=0;object=k?module-path=/m.so").unwrap().slot_id, Some(0));
        for bad in ["", "-1", "+1", "1.5", "0x10", "%201", "18446744073709551616", "99999999999999999999999"] {
            let message = refused(&format!("pkcs11:slot-id={bad};object=k?module-path=/m.so"));
            assert!(message.contains("`slot-id`"), "{bad}: {message}");
        }
    }

    #[test]
    fn unknown_or_misplaced_attributes_are_named() {
        let message = refused("pkcs11:object=k;colour=red?module-path=/m.so");
        assert!(message.contains("unknown attribute `colour`"), "{message}");
        assert!(message.contains("slot-id") && message.contains("module-name"), "lists the known ones: {message}");
        // Names are case-sensitive: `Object` is not `object`.
        assert!(refused("pkcs11:Object=k?module-path=/m.so").contains("unknown attribute `Object`"));
        assert!(refused("pkcs11:object=k;module-path=/m.so").contains("`module-path` belongs in the query part"));
        assert!(refused("pkcs11:object=k?module-path=/m.so&token=t").contains("`token` belongs in the path part"));
        assert!(refused("pkcs11:object=k?module-path=/m.so&pin=1234").contains("unknown attribute `pin`"));
        assert!(refused("pkcs11:object?module-path=/m.so").contains("`object` is not name=value"));
        assert!(refused("pkcs11:=k?module-path=/m.so").contains("unknown attribute ``"));
    }

    #[test]
    fn hostile_uris_are_refused_before_work() {
        // Length: bounded before anything is decoded.
        let at_limit = format!("pkcs11:object={}?module-path=/m.so", "a".repeat(MAX_URI_CHARS - 32));
        assert_eq!(at_limit.len(), MAX_URI_CHARS);
        assert!(Pkcs11Uri::parse(&at_limit).is_ok());
        assert!(refused(&format!("{at_limit}a")).contains("longer than 4096"));
        assert!(refused(&"%".repeat(1 << 20)).contains("longer than"));
        assert!(refused(&format!("pkcs11:{}", ";".repeat(5000))).contains("longer than"));
        // Percent-encoding: two hex digits, and text must decode to UTF-8.
        for bad in ["%", "%4", "a%zz", "%+1", "%-1", "%%41", "%4g", "%\u{e9}a"] {
            let message = refused(&format!("pkcs11:object={bad}?module-path=/m.so"));
            assert!(message.contains("percent-encoding"), "{bad}: {message}");
        }
        assert!(refused("pkcs11:token=%ff%fe;object=k?module-path=/m.so").contains("`token` is not UTF-8"));
        // `id` is bytes: any octet is fine there.
        assert_eq!(Pkcs11Uri::parse("pkcs11:id=%ff%00?module-path=/m.so").unwrap().id, Some(vec![0xff, 0]));
        // Every attribute once, in the path or the query.
        for uri in [
            "pkcs11:object=k;object=j?module-path=/m.so",
            "pkcs11:object=k;token=a;token=a?module-path=/m.so",
            "pkcs11:id=%01;id=%01?module-path=/m.so",
            "pkcs11:object=k?module-path=/m.so&module-path=/evil.so",
            "pkcs11:object=k?module-name=a&module-name=b",
            "pkcs11:object=k?module-path=/m.so&pin-source=file:/a&pin-source=file:/b",
            "pkcs11:object=k;slot-id=1;slot-id=2?module-path=/m.so",
        ] {
            assert!(refused(uri).contains("appears twice"), "{uri}");
        }
        assert!(refused("pkcs11:object=k?module-path=/m.so#frag").contains("fragment"));
        assert!(refused("file:/x").contains("pkcs11:"));
        assert!(refused("PKCS11:object=k?module-path=/m.so").contains("pkcs11:"));
        assert!(refused("pkcs11:token=t?module-path=/m.so").contains("object"));
        assert!(refused("pkcs11:object=k;type=public?module-path=/m.so").contains("private"));
        assert!(refused("pkcs11:object=k?module-path=/m.so&pin-source=https://x").contains("file:"));
    }

    #[test]
    fn the_pin_never_shows_in_a_message() {
        let message = refused("pkcs11:object=k?module-path=/m.so&pin-value=84731");
        assert!(message.contains("pin-value") && !message.contains("84731"), "{message}");
        let message = refused("pkcs11:object=k?module-path=/m.so&pin-value=84731&pin-value=84731");
        assert!(!message.contains("84731"), "{message}");
    }
}
