//! Tag 20, the record of a credential that carries a 证照标识: the credential
//! object written as a record (tag 17's `[mask, values…]`) with the
//! identifier's parts appended, `[mask, v₁, …, vₙ, authority, serial]` or
//! `[mask, v₁, …, vₙ, authority, serial, version]`:
//!
//! * `authority`: 11-byte bstr, the issuing authority's credit code packed as
//!   in tag 19 (first 17 characters base 31, check character recomputed);
//! * `serial`: uint (decimal, no leading zeros) or tstr (≤ 40 characters);
//! * `version`: uint 2–999, absent for version 001.
//!
//! The type code is not written: it is the `licenceTypeCode` of the definition
//! the record's own `type` names (the first loaded definition among its
//! types, as [`TypeRegistry::for_credential`] finds it), and the check
//! character is recomputed. The decoded object has `licenceId` right after
//! `id` (first when there is no `id`), where issuers put it
//! ([`crate::licence_id::LicenceId::put_into`]); the encoder uses tag 20 only
//! for an object with exactly that shape, a valid identifier that prints back
//! identically, and keys that qualify for a record. The identifier is not a
//! string of the back-reference history. Anything else (a foreign type code,
//! another position) stays a map with a tag 19 or text value.

use serde_json::{Map, Value};

use super::cbor::{Reader, Token, Writer};
use crate::credential::UnifiedSocialCreditCode;
use crate::credential_type::TypeRegistry;
use crate::licence_id::{pack_usci, unpack_usci, LicenceId, CREDENTIAL_TERM, MAX_SERIAL_LEN, PACKED_USCI_LEN};

/// The tag of the record with a 证照标识.
pub const TAG_LICENCE_RECORD: u64 = 20;

/// The identifier's parts as written after the record's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceParts {
    authority: [u8; PACKED_USCI_LEN],
    serial: Result<u64, String>,
    version: u16,
}

impl LicenceParts {
    /// How many array items the parts take (2, or 3 with a version after 001).
    pub fn items(&self) -> usize {
        if self.version == 1 {
            2
        } else {
            3
        }
    }

    /// Writes the parts.
    pub fn write(&self, w: &mut Writer) {
        w.bytes(&self.authority);
        match &self.serial {
            Ok(n) => w.uint(*n),
            Err(text) => w.text(text),
        }
        if self.version != 1 {
            w.uint(u64::from(self.version));
        }
    }

    /// Reads the `items` (2 or 3) parts; `None` when they are malformed.
    pub fn read(r: &mut Reader<'_>, items: u64) -> Option<(UnifiedSocialCreditCode, String, u16)> {
        let Token::Bytes(authority) = r.next().ok()? else { return None };
        let authority = unpack_usci(authority)?;
        let serial = match r.next().ok()? {
            Token::Uint(n) => n.to_string(),
            Token::Text(t) if t.len() <= MAX_SERIAL_LEN => t.to_owned(),
            _ => return None,
        };
        let version = match items {
            2 => 1,
            3 => match r.next().ok()? {
                // 001 is written by leaving the version out, so only one form decodes.
                Token::Uint(v) if (2..=999).contains(&v) => u16::try_from(v).ok()?,
                _ => return None,
            },
            _ => return None,
        };
        Some((authority, serial, version))
    }
}

/// The licence type code the object's `type` gives (its first loaded definition's).
fn type_code_of(types: &TypeRegistry, type_value: Option<&Value>) -> Option<crate::licence_id::LicenceTypeCode> {
    let probe = serde_json::json!({ "type": type_value? });
    types.for_credential(&probe)?.licence_type_code.clone()
}

/// Whether `map` has its `licenceId` where issuers put it: right after `id`,
/// or first without one.
fn in_place(map: &Map<String, Value>) -> bool {
    let mut previous: Option<&str> = None;
    for key in map.keys() {
        if key == CREDENTIAL_TERM {
            return if map.contains_key("id") { previous == Some("id") } else { previous.is_none() };
        }
        previous = Some(key);
    }
    false
}

/// The parts of `map`'s 证照标识 for tag 20, when `map` qualifies (see the module documentation).
pub fn parts(types: &TypeRegistry, map: &Map<String, Value>) -> Option<LicenceParts> {
    let text = map.get(CREDENTIAL_TERM)?.as_str()?;
    if text.len() > crate::licence_id::MAX_LEN || !in_place(map) {
        return None;
    }
    let id = LicenceId::parse(text).ok().filter(|id| id.to_string() == text)?;
    if type_code_of(types, map.get("type")).as_ref() != Some(id.type_code()) {
        return None;
    }
    let serial = match id.serial() {
        s if !s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit()) => s.parse().map_err(|_| s.to_owned()),
        s => Err(s.to_owned()),
    };
    Some(LicenceParts { authority: pack_usci(id.issuer())?, serial, version: id.version() })
}

/// `map` (the record's decoded members) with its 证照标识 put in place;
/// `None` when the type gives no type code or the parts make no identifier.
pub fn assemble(
    types: &TypeRegistry,
    map: Map<String, Value>,
    (authority, serial, version): (UnifiedSocialCreditCode, String, u16),
) -> Option<Map<String, Value>> {
    if map.contains_key(CREDENTIAL_TERM) {
        return None;
    }
    let type_code = type_code_of(types, map.get("type"))?;
    let id = LicenceId::new(type_code, authority, &serial, version).ok()?;
    match id.put_into(Value::Object(map)) {
        Value::Object(map) => Some(map),
        _ => None,
    }
}
