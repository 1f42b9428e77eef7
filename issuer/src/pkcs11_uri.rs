//! PKCS#11 URIs (RFC 7512) naming the issuer's signing key in a token:
//! `pkcs11:token=ecert;object=issuer-2026?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:/run/secrets/pin`.
//!
//! The PIN is never part of the URI in clear: `pin-value` is refused (a URI
//! ends up on command lines, in `ps` and in shell history). It comes from
//! `pin-source=file:<path>` (RFC 7512; the file's first line) or, without
//! one, from the `ISSUER_PKCS11_PIN` environment variable.

use std::path::PathBuf;

/// The environment variable read for the PIN when the URI has no `pin-source`.
pub const PIN_ENV: &str = "ISSUER_PKCS11_PIN";

/// Longest URI read (RFC 7512 puts no limit; ours are far under it).
const MAX_URI_CHARS: usize = 4096;

/// A parsed `pkcs11:` URI: which module, token and private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// `module-path`: the PKCS#11 library to load.
    pub module_path: PathBuf,
    /// `token`: the token label.
    pub token: Option<String>,
    /// `serial`: the token serial number.
    pub serial: Option<String>,
    /// `slot-id`: the slot number.
    pub slot_id: Option<u64>,
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

impl Pkcs11Uri {
    /// Parse `uri`.
    ///
    /// # Errors
    /// [`UriError`]: not `pkcs11:`, an unknown or repeated attribute, bad
    /// percent-encoding, `pin-value`, no `module-path`, no `object` or `id`,
    /// or `type` other than `private`.
    pub fn parse(uri: &str) -> Result<Self, UriError> {
        if uri.len() > MAX_URI_CHARS {
            return Err(err(format!("longer than {MAX_URI_CHARS} characters")));
        }
        let rest = uri.strip_prefix("pkcs11:").ok_or_else(|| err("it does not start with `pkcs11:`"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut out = Self {
            module_path: PathBuf::new(),
            token: None,
            serial: None,
            slot_id: None,
            object: None,
            id: None,
            pin_file: None,
        };
        let mut module_path = None;
        let mut seen = std::collections::BTreeSet::new();
        let pairs = path.split(';').map(|p| (p, false)).chain(query.split('&').map(|p| (p, true)));
        for (pair, in_query) in pairs.filter(|(p, _)| !p.is_empty()) {
            let (name, raw) = pair.split_once('=').ok_or_else(|| err(format!("`{pair}` is not name=value")))?;
            if !seen.insert((name.to_owned(), in_query)) {
                return Err(err(format!("`{name}` appears twice")));
            }
            let bytes = percent_decode(raw)?;
            let text = || String::from_utf8(bytes.clone()).map_err(|_| err(format!("`{name}` is not UTF-8")));
            match (name, in_query) {
                ("token", false) => out.token = Some(text()?),
                ("serial", false) => out.serial = Some(text()?),
                ("slot-id", false) => {
                    out.slot_id = Some(text()?.parse().map_err(|_| err("`slot-id` is not a number"))?);
                }
                ("object", false) => out.object = Some(text()?),
                ("id", false) => out.id = Some(bytes),
                ("type", false) if bytes == b"private" => {}
                ("type", false) => return Err(err("`type` must be `private` (the signing key)")),
                // Informational: any module/library matches.
                (
                    "manufacturer" | "model" | "library-manufacturer" | "library-description" | "library-version",
                    false,
                ) => {}
                ("module-path", true) => module_path = Some(PathBuf::from(text()?)),
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
                ("module-name", true) => return Err(err("`module-name` is not supported: give `module-path`")),
                (other, _) if other.starts_with("x-") => {}
                (other, _) => return Err(err(format!("unknown attribute `{other}`"))),
            }
        }
        out.module_path = module_path.ok_or_else(|| err("`module-path` is missing (the PKCS#11 library to load)"))?;
        if out.object.is_none() && out.id.is_none() {
            return Err(err("name the key with `object` (its label) or `id`"));
        }
        Ok(out)
    }

    /// What the URI names, for messages (no PIN, no module path).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(t) = &self.token {
            parts.push(format!("token={t}"));
        }
        if let Some(s) = &self.serial {
            parts.push(format!("serial={s}"));
        }
        if let Some(s) = self.slot_id {
            parts.push(format!("slot-id={s}"));
        }
        if let Some(o) = &self.object {
            parts.push(format!("object={o}"));
        }
        if let Some(id) = &self.id {
            parts.push(format!("id={}", hex::encode(id)));
        }
        parts.join(";")
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
            let hex = [h, l];
            let text = std::str::from_utf8(&hex).map_err(|_| err("bad percent-encoding"))?;
            out.push(u8::from_str_radix(text, 16).map_err(|_| err("bad percent-encoding"))?);
        } else {
            out.push(b);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(uri.module_path, PathBuf::from("/usr/lib/softhsm/libsofthsm2.so"));
        assert_eq!(uri.pin_file, Some(PathBuf::from("/run/pin")));
        assert_eq!(uri.describe(), "token=ecert test;object=issuer-2026;id=0102");
    }

    #[test]
    fn refuses_what_it_cannot_use_or_should_not_see() {
        let bad = [
            ("file:/x", "pkcs11:"),
            ("pkcs11:object=k", "module-path"),
            ("pkcs11:token=t?module-path=/m.so", "object"),
            ("pkcs11:object=k?module-path=/m.so&pin-value=1234", "pin-value"),
            ("pkcs11:object=k;object=j?module-path=/m.so", "twice"),
            ("pkcs11:object=k;type=public?module-path=/m.so", "private"),
            ("pkcs11:object=k;colour=red?module-path=/m.so", "unknown"),
            ("pkcs11:object=%4?module-path=/m.so", "percent"),
            ("pkcs11:object=%zz?module-path=/m.so", "percent"),
            ("pkcs11:object=k?module-path=/m.so&pin-source=https://x", "file:"),
            ("pkcs11:object=k?module-name=softhsm2", "module-path"),
        ];
        for (uri, says) in bad {
            let e = Pkcs11Uri::parse(uri).unwrap_err();
            assert!(e.to_string().contains(says), "{uri}: {e}");
        }
        assert!(Pkcs11Uri::parse(&format!("pkcs11:object={}?module-path=/m.so", "a".repeat(5000))).is_err());
        // The PIN never shows in a message about the URI.
        let e = Pkcs11Uri::parse("pkcs11:object=k?module-path=/m.so&pin-value=84731").unwrap_err();
        assert!(!e.to_string().contains("84731"));
    }
}
