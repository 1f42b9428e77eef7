//! The national electronic licence identifier (证照标识, GB/T 36904-2018).
//!
//! ```text
//! 1.2.156.3005.2 . 11100000000013338W011 . 11430000006122244L . 20230000403 . 001 . U
//! root OID         licence type code       issuing authority    serial        version check
//!                  (USCI of the defining   (its USCI)
//!                  authority + 3 digits)
//! ```
//!
//! The check character is ISO/IEC 7064 MOD 37,36 (GB/T 17710), a hybrid
//! system over the 36 characters `0-9A-Z` (values 0–35), computed over the
//! type code, authority, serial and version **without** the root OID and
//! without the dots. Public samples agree with this reading (see the tests);
//! one widely copied integration library maps letters to 11–36 instead and
//! produces other check characters: we accept only the standard's, and
//! DESIGN.md says so.
//!
//! Parsing is strict for identifiers this suite issues (both codes are checked
//! unified social credit codes) and bounded (at most [`MAX_LEN`] bytes).

use std::fmt;

use crate::credential::UnifiedSocialCreditCode;

/// The root OID every 证照标识 starts with.
pub const ROOT_OID: &str = "1.2.156.3005.2";

/// The longest identifier accepted, in bytes.
pub const MAX_LEN: usize = 128;

/// The longest serial accepted, in characters.
pub const MAX_SERIAL_LEN: usize = 40;

const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/// Why a text is not a valid 证照标识. Each has a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LicenceIdError {
    /// Not `root.type.authority.serial.version.check`, or too long.
    #[error("not a licence identifier (root.type.authority.serial.version.check)")]
    Format,
    /// The first part is not the licence root OID.
    #[error("the identifier does not start with {ROOT_OID}")]
    Root,
    /// The type code is not a USCI followed by three digits.
    #[error("the licence type code must be the defining authority's credit code and three digits")]
    TypeCode,
    /// The issuing authority is not a valid unified social credit code.
    #[error("the issuing authority must be a valid unified social credit code")]
    Authority,
    /// The serial is empty, too long or not made of `0-9A-Z`.
    #[error("the serial must be 1 to {MAX_SERIAL_LEN} characters 0-9 or A-Z")]
    Serial,
    /// The version is not three digits, or is 000.
    #[error("the version must be three digits from 001")]
    Version,
    /// The check character does not match.
    #[error("the check character is wrong (expected {expected})")]
    Check {
        /// What the other parts give.
        expected: char,
    },
}

impl LicenceIdError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Format => "licence_id_format",
            Self::Root => "licence_id_root",
            Self::TypeCode => "licence_id_type_code",
            Self::Authority => "licence_id_authority",
            Self::Serial => "licence_id_serial",
            Self::Version => "licence_id_version",
            Self::Check { .. } => "licence_id_check",
        }
    }

    /// A message for people, in Chinese.
    pub fn message_zh(&self) -> String {
        match self {
            Self::Format => "证照标识格式不正确（根代码.类型代码.颁发机构代码.流水号.版本号.校验位）".to_owned(),
            Self::Root => format!("证照标识应以 {ROOT_OID} 开头"),
            Self::TypeCode => "证照类型代码应为定义机构的统一社会信用代码加3位数字".to_owned(),
            Self::Authority => "颁发机构代码应为有效的统一社会信用代码".to_owned(),
            Self::Serial => format!("流水号应为1至{MAX_SERIAL_LEN}位数字或大写字母"),
            Self::Version => "版本号应为3位数字，从001开始".to_owned(),
            Self::Check { expected } => format!("证照标识校验位不正确（应为 {expected}）"),
        }
    }
}

/// A licence type code: the defining authority's USCI and a three-digit number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceTypeCode {
    authority: UnifiedSocialCreditCode,
    number: u16,
}

impl LicenceTypeCode {
    /// A type code from its parts.
    ///
    /// # Errors
    /// [`LicenceIdError::TypeCode`] when `number` is not 1–999.
    pub fn new(authority: UnifiedSocialCreditCode, number: u16) -> Result<Self, LicenceIdError> {
        if !(1..=999).contains(&number) {
            return Err(LicenceIdError::TypeCode);
        }
        Ok(Self { authority, number })
    }

    /// Parse the 21-character code (e.g. `11100000000013338W011`).
    ///
    /// # Errors
    /// [`LicenceIdError::TypeCode`].
    pub fn parse(s: &str) -> Result<Self, LicenceIdError> {
        let (usci, number) = s.split_at_checked(18).ok_or(LicenceIdError::TypeCode)?;
        let authority =
            UnifiedSocialCreditCode::parse(usci).ok().filter(|c| c.as_str() == usci).ok_or(LicenceIdError::TypeCode)?;
        Self::new(authority, three_digits(number).ok_or(LicenceIdError::TypeCode)?)
    }

    /// The authority that defined the type.
    pub fn authority(&self) -> &UnifiedSocialCreditCode {
        &self.authority
    }

    /// The type's number under that authority.
    pub fn number(&self) -> u16 {
        self.number
    }
}

impl fmt::Display for LicenceTypeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:03}", self.authority.as_str(), self.number)
    }
}

/// A 证照标识, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceId {
    type_code: LicenceTypeCode,
    issuer: UnifiedSocialCreditCode,
    serial: String,
    version: u16,
}

impl LicenceId {
    /// An identifier from its parts; the check character is computed.
    ///
    /// # Errors
    /// [`LicenceIdError::Serial`] or [`LicenceIdError::Version`].
    pub fn new(
        type_code: LicenceTypeCode,
        issuer: UnifiedSocialCreditCode,
        serial: &str,
        version: u16,
    ) -> Result<Self, LicenceIdError> {
        if serial.is_empty() || serial.len() > MAX_SERIAL_LEN || !serial.bytes().all(|b| ALPHABET.contains(&b)) {
            return Err(LicenceIdError::Serial);
        }
        if !(1..=999).contains(&version) {
            return Err(LicenceIdError::Version);
        }
        Ok(Self { type_code, issuer, serial: serial.to_owned(), version })
    }

    /// Parse and check an identifier, check character included.
    ///
    /// # Errors
    /// The first part that is wrong, in order.
    pub fn parse(s: &str) -> Result<Self, LicenceIdError> {
        if s.len() > MAX_LEN {
            return Err(LicenceIdError::Format);
        }
        let rest = s.strip_prefix(ROOT_OID).ok_or(LicenceIdError::Root)?;
        let rest = rest.strip_prefix('.').ok_or(LicenceIdError::Format)?;
        let parts: Vec<&str> = rest.split('.').collect();
        let [type_code, issuer, serial, version, check] = parts.as_slice() else {
            return Err(LicenceIdError::Format);
        };
        let type_code = LicenceTypeCode::parse(type_code)?;
        let issuer = UnifiedSocialCreditCode::parse(issuer)
            .ok()
            .filter(|c| c.as_str() == *issuer)
            .ok_or(LicenceIdError::Authority)?;
        let version = three_digits(version).ok_or(LicenceIdError::Version)?;
        let id = Self::new(type_code, issuer, serial, version)?;
        let expected = id.check_character();
        let mut check_chars = check.chars();
        if check_chars.next() != Some(expected) || check_chars.next().is_some() {
            return Err(LicenceIdError::Check { expected });
        }
        Ok(id)
    }

    /// The licence type.
    pub fn type_code(&self) -> &LicenceTypeCode {
        &self.type_code
    }

    /// The issuing authority.
    pub fn issuer(&self) -> &UnifiedSocialCreditCode {
        &self.issuer
    }

    /// The serial, unique per issuer and type.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The version (001 first, bumped on every reissue).
    pub fn version(&self) -> u16 {
        self.version
    }

    /// The same licence, reissued: the next version.
    ///
    /// # Errors
    /// [`LicenceIdError::Version`] after 999.
    pub fn reissued(&self) -> Result<Self, LicenceIdError> {
        let version = self.version.checked_add(1).filter(|v| *v <= 999).ok_or(LicenceIdError::Version)?;
        Ok(Self { version, ..self.clone() })
    }

    /// What every version of this licence's identifier starts with:
    /// `root.type.authority.serial.` (the dot included), for finding them all.
    pub fn versions_prefix(&self) -> String {
        format!("{ROOT_OID}.{}.{}.{}.", self.type_code, self.issuer.as_str(), self.serial)
    }

    /// The check character over type code, authority, serial and version.
    pub fn check_character(&self) -> char {
        let payload = format!("{}{}{}{:03}", self.type_code, self.issuer.as_str(), self.serial, self.version);
        // Every part was checked to be 0-9A-Z, so the payload has a check character.
        mod37_36_check_character(&payload).unwrap_or('0')
    }
}

impl fmt::Display for LicenceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{ROOT_OID}.{}.{}.{}.{:03}.{}",
            self.type_code,
            self.issuer.as_str(),
            self.serial,
            self.version,
            self.check_character()
        )
    }
}

/// The credential member that carries the identifier (top level, defined in
/// `https://w3id.org/ecert/v1` and in every generated type context).
pub const CREDENTIAL_TERM: &str = "licenceId";

impl LicenceId {
    /// The identifier a credential carries: `None` when it has no
    /// [`CREDENTIAL_TERM`], else the parse result (a non-string is [`LicenceIdError::Format`]).
    pub fn of_credential(vc: &serde_json::Value) -> Option<Result<Self, LicenceIdError>> {
        let value = vc.get(CREDENTIAL_TERM)?;
        Some(value.as_str().ok_or(LicenceIdError::Format).and_then(Self::parse))
    }

    /// `vc` with this identifier as its [`CREDENTIAL_TERM`], placed right after
    /// `id` (or first) so every issuer writes the same member order.
    pub fn put_into(&self, vc: serde_json::Value) -> serde_json::Value {
        let serde_json::Value::Object(members) = vc else {
            return vc;
        };
        let value = serde_json::Value::String(self.to_string());
        let has_id = members.contains_key("id");
        let mut out = serde_json::Map::new();
        if !has_id {
            out.insert(CREDENTIAL_TERM.to_owned(), value.clone());
        }
        for (key, member) in members {
            if key == CREDENTIAL_TERM {
                continue;
            }
            let after = key == "id";
            out.insert(key, member);
            if after {
                out.insert(CREDENTIAL_TERM.to_owned(), value.clone());
            }
        }
        serde_json::Value::Object(out)
    }
}

/// The USCI alphabet (GB 32100): a code's first 17 characters are a base-31 number.
const USCI_ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Bytes of a packed credit code (31^17 < 2^88).
pub(crate) const PACKED_USCI_LEN: usize = 11;

/// A credit code's first 17 characters as a big-endian base-31 number in
/// [`PACKED_USCI_LEN`] bytes (its check character is recomputed on unpacking).
pub(crate) fn pack_usci(code: &UnifiedSocialCreditCode) -> Option<[u8; PACKED_USCI_LEN]> {
    let mut n: u128 = 0;
    for b in code.as_str().bytes().take(17) {
        let digit = USCI_ALPHABET.iter().position(|a| *a == b)?;
        n = n.checked_mul(31)?.checked_add(u128::try_from(digit).ok()?)?;
    }
    let bytes = n.to_be_bytes();
    bytes.get(16 - PACKED_USCI_LEN..)?.try_into().ok()
}

/// The credit code packed by [`pack_usci`]; `None` for bytes no code packs to.
pub(crate) fn unpack_usci(bytes: &[u8]) -> Option<UnifiedSocialCreditCode> {
    if bytes.len() != PACKED_USCI_LEN {
        return None;
    }
    let mut n = bytes.iter().fold(0u128, |n, b| (n << 8) | u128::from(*b));
    let mut chars = [0u8; 17];
    for c in chars.iter_mut().rev() {
        *c = *USCI_ALPHABET.get(usize::try_from(n % 31).ok()?)?;
        n /= 31;
    }
    if n != 0 {
        return None;
    }
    let first_17 = std::str::from_utf8(&chars).ok()?;
    let check = crate::trust::usci_check_character(first_17)?;
    UnifiedSocialCreditCode::parse(&format!("{first_17}{check}")).ok()
}

fn three_digits(s: &str) -> Option<u16> {
    (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

/// ISO/IEC 7064 MOD 37,36 (hybrid system, GB/T 17710): the check character of
/// `payload` over the alphabet `0-9A-Z`; `None` when it holds another character.
pub fn mod37_36_check_character(payload: &str) -> Option<char> {
    const M: usize = 36;
    let mut p = M;
    for b in payload.bytes() {
        let value = ALPHABET.iter().position(|a| *a == b)?;
        let s = match (p + value) % M {
            0 => M,
            s => s,
        };
        p = (s * 2) % (M + 1);
    }
    ALPHABET.get((M + 1 - p) % M).map(|b| char::from(*b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usci(s: &str) -> UnifiedSocialCreditCode {
        UnifiedSocialCreditCode::parse(s).unwrap()
    }

    /// Published identifiers, each from a different government system.
    const SAMPLES: &[&str] = &[
        // The MOHURD data-exchange standard for 安管人员 certificates (its format example).
        "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
        // A Zhejiang investment-project platform's OFD file name.
        "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
        // A Shandong (Jining) completion-filing record's `Zzcertid`.
        "1.2.156.3005.2.11100000000013338W087.11370800MB28559184.37080001202411010001.001.3",
    ];

    #[test]
    fn published_identifiers_parse_and_print_back() {
        for sample in SAMPLES {
            let id = LicenceId::parse(sample).unwrap_or_else(|e| panic!("{sample}: {e}"));
            assert_eq!(id.to_string(), *sample);
        }
    }

    #[test]
    fn the_check_character_follows_iso_7064_mod_37_36() {
        // Hefei's e-licence interface sample: the authority is an area code, not a
        // credit code, so only the check character is compared.
        assert_eq!(mod37_36_check_character("11100000MB03271699022340100000000016001"), Some('9'));
        // A Shandong sample made with the letters-from-11 variant: the standard says D.
        assert_eq!(
            mod37_36_check_character("11100000000013661B006113700000045046442209FA4E88F9E4C878F3E9BED2CE7EA49001"),
            Some('D')
        );
        assert_eq!(mod37_36_check_character("abc"), None);
        assert_eq!(mod37_36_check_character("A.B"), None);
    }

    #[test]
    fn every_single_character_change_is_caught() {
        let sample = SAMPLES.first().unwrap();
        let payload_start = ROOT_OID.len() + 1;
        for (i, original) in sample.char_indices().skip(payload_start) {
            if original == '.' {
                continue;
            }
            for replacement in ALPHABET.iter().map(|b| char::from(*b)).filter(|c| *c != original) {
                let mut changed = sample.to_string();
                changed.replace_range(i..i + 1, &replacement.to_string());
                assert!(LicenceId::parse(&changed).is_err(), "{changed} was accepted");
            }
        }
    }

    #[test]
    fn adjacent_transpositions_are_caught_by_the_check_character() {
        let payload = "11100000000013338W01111430000006122244L20230000403001";
        let check = mod37_36_check_character(payload).unwrap();
        let bytes = payload.as_bytes();
        for i in 0..bytes.len() - 1 {
            if bytes[i] == bytes[i + 1] {
                continue;
            }
            let mut swapped = bytes.to_vec();
            swapped.swap(i, i + 1);
            let swapped = String::from_utf8(swapped).unwrap();
            assert_ne!(mod37_36_check_character(&swapped), Some(check), "swap at {i}");
        }
    }

    #[test]
    fn bad_identifiers_get_their_own_codes() {
        let cases = [
            ("", "licence_id_root"),
            ("1.2.156.3005.1.11100000000013338W011.11430000006122244L.20230000403.001.U", "licence_id_root"),
            ("1.2.156.3005.2", "licence_id_format"),
            ("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001", "licence_id_format"),
            ("1.2.156.3005.2.11100000000013338X011.11430000006122244L.20230000403.001.U", "licence_id_type_code"),
            ("1.2.156.3005.2.11100000000013338W01.11430000006122244L.20230000403.001.U", "licence_id_type_code"),
            ("1.2.156.3005.2.11100000000013338W011.340100.20230000403.001.U", "licence_id_authority"),
            ("1.2.156.3005.2.11100000000013338W011.11430000006122244L.2023-0403.001.U", "licence_id_serial"),
            ("1.2.156.3005.2.11100000000013338W011.11430000006122244L..001.U", "licence_id_serial"),
            ("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.000.U", "licence_id_version"),
            ("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.01.U", "licence_id_version"),
            ("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.V", "licence_id_check"),
            ("1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.UU", "licence_id_check"),
            ("1.2.156.3005.2.11100000000013338w011.11430000006122244L.20230000403.001.U", "licence_id_type_code"),
        ];
        for (input, code) in cases {
            assert_eq!(LicenceId::parse(input).unwrap_err().code(), code, "{input}");
        }
        let long = format!("{ROOT_OID}.{}", "A".repeat(MAX_LEN));
        assert_eq!(LicenceId::parse(&long).unwrap_err().code(), "licence_id_format");
        let serial = "9".repeat(MAX_SERIAL_LEN + 1);
        let err = LicenceId::new(
            LicenceTypeCode::parse("11100000000013338W011").unwrap(),
            usci("11430000006122244L"),
            &serial,
            1,
        );
        assert_eq!(err.unwrap_err(), LicenceIdError::Serial);
    }

    #[test]
    fn credit_codes_pack_into_eleven_bytes_and_back() {
        for code in ["11430000006122244L", "11100000000013338W", "9144030071526726XG", "YYYYYYYYYYYYYYYYYY"] {
            let Ok(code) = UnifiedSocialCreditCode::parse(code) else { continue };
            let packed = pack_usci(&code).unwrap();
            assert_eq!(unpack_usci(&packed), Some(code));
        }
        assert_eq!(unpack_usci(&[0xFF; PACKED_USCI_LEN]), None, "beyond 31^17");
        assert_eq!(unpack_usci(&[0; 10]), None);
    }

    #[test]
    fn a_credential_carries_its_identifier_after_its_id() {
        let id = LicenceId::parse(SAMPLES.first().unwrap()).unwrap();
        let vc = serde_json::json!({"@context": [], "id": "urn:uuid:x", "type": ["VerifiableCredential"]});
        let vc = id.put_into(vc);
        let keys: Vec<&str> = vc.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["@context", "id", CREDENTIAL_TERM, "type"]);
        assert_eq!(LicenceId::of_credential(&vc), Some(Ok(id)));
        assert_eq!(LicenceId::of_credential(&serde_json::json!({"licenceId": 7})), Some(Err(LicenceIdError::Format)));
        assert_eq!(LicenceId::of_credential(&serde_json::json!({})), None);
    }

    #[test]
    fn a_reissue_bumps_the_version_and_the_check_character_follows() {
        let id = LicenceId::new(
            LicenceTypeCode::new(usci("11100000000013338W"), 11).unwrap(),
            usci("11430000006122244L"),
            "20230000403",
            1,
        )
        .unwrap();
        assert_eq!(id.to_string(), *SAMPLES.first().unwrap());
        let next = id.reissued().unwrap();
        assert_eq!(next.version(), 2);
        assert_eq!(LicenceId::parse(&next.to_string()).unwrap(), next);
        assert!(next.to_string().ends_with(&format!(".002.{}", next.check_character())));
        let last = LicenceId { version: 999, ..id };
        assert_eq!(last.reissued().unwrap_err(), LicenceIdError::Version);
    }
}
