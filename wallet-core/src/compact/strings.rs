//! String value codecs: compact CBOR forms for strings with a known shape
//! (term values, UUID URNs, `did:key`, multibase, XSD dates and times, decimal
//! numbers, IRIs with a known prefix, mostly-CJK text) and back-references to
//! strings earlier in the same document.
//!
//! The encoder writes each string in the shortest form whose decoding
//! reproduces the identical string; a plain text string wins every tie.
//! Every codec output is wrapped in its own CBOR tag, so a plain text string
//! always decodes as itself, whatever it looks like.

use base64::Engine as _;

use super::cbor::{self, Reader, Token, Writer};
use super::error::{CompactError, MAX_STRING_BYTES};
use super::{base58, terms};
use crate::credential_type::TypeRegistry;

/// Tag: XSD `dateTime` `YYYY-MM-DDThh:mm:ssZ` → integer seconds since
/// 1970-01-01T00:00:00Z (the RFC 8949 meaning of tag 1).
pub const TAG_DATE_TIME: u64 = 1;
/// Tag: a value of [`terms::VALUES`] → unsigned integer code.
pub const TAG_VALUE_TERM: u64 = 6;
/// Tag: `urn:uuid:` + lower-case hyphenated UUID → 16-byte byte string.
pub const TAG_UUID_URN: u64 = 7;
/// Tag: `did:key:z…` → byte string (the base58btc-decoded method-specific id).
pub const TAG_DID_KEY: u64 = 8;
/// Tag: `did:key:zX#zX` (fragment repeats the key) → byte string of `X`, or
/// the back-reference distance of the earlier string `did:key:zX`.
pub const TAG_DID_KEY_VM: u64 = 9;
/// Tag: multibase base58btc `z…` → byte string.
pub const TAG_BASE58BTC: u64 = 10;
/// Tag: multibase base64url without padding `u…` → byte string.
pub const TAG_BASE64URL: u64 = 11;
/// Tag: XSD `date` `YYYY-MM-DD` → integer days since 1970-01-01.
pub const TAG_DATE: u64 = 12;
/// Tag: decimal digits without leading zeros → unsigned integer.
pub const TAG_DECIMAL: u64 = 13;
/// Tag: IRI starting with a prefix of [`terms::PREFIXES`] → array
/// `[prefix code, text string with the rest]`.
pub const TAG_PREFIXED: u64 = 14;
/// Tag: back-reference → `[distance, drop]` or `[distance, drop, rest]`: the
/// string `distance` places back in the document's string history, without
/// its last `drop` bytes, followed by `rest`.
pub const TAG_BACK_REFERENCE: u64 = 15;
/// Tag: text as UTF-16BE code units in a byte string (shorter for CJK).
pub const TAG_UTF16: u64 = 16;
/// Tag: XSD `dateTime` at the start of a day, `YYYY-MM-DDT00:00:00Z` →
/// integer days since 1970-01-01 (a `validFrom` from a date: 2 bytes less than tag 1).
pub const TAG_DAY_START: u64 = 21;
/// Tag: XSD `dateTime` at the last second of a day, `YYYY-MM-DDT23:59:59Z` →
/// integer days since 1970-01-01 (a `validUntil` a whole number of days or months on).
pub const TAG_DAY_END: u64 = 22;
/// The time of day of [`TAG_DAY_START`] and [`TAG_DAY_END`].
const DAY_START: &str = "T00:00:00Z";
const DAY_END: &str = "T23:59:59Z";
/// Tag: a 证照标识 whose type code is a known definition's →
/// `[type value code, packed authority, serial, version]` (see [`LicenceIdForm`]).
pub const TAG_LICENCE_ID: u64 = 19;

/// Longest byte string the base58 codecs accept (they are quadratic).
pub const MAX_BASE58_BYTES: usize = 1024;

/// How far back the encoder looks for back-references (decoders accept any
/// distance within the history).
const BACK_REFERENCE_WINDOW: usize = 64;

/// Seconds of 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the range a
/// four-digit year can print.
const MIN_SECONDS: i64 = -62_167_219_200;
const MAX_SECONDS: i64 = 253_402_300_799;
const SECONDS_PER_DAY: i64 = 86_400;

const DID_KEY: &str = "did:key:";

/// One possible encoding of a string.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Form<'a> {
    Text(&'a str),
    Term(u64),
    Uuid([u8; 16]),
    DidKey(Vec<u8>),
    DidKeyVm(Vec<u8>),
    DidKeyVmRef(u64),
    Base58(Vec<u8>),
    Base64Url(Vec<u8>),
    DateTime(i64),
    DayStart(i64),
    DayEnd(i64),
    Date(i64),
    Decimal(u64),
    Prefixed(u64, &'a str),
    BackReference { distance: u64, drop: u64, rest: &'a str },
    Utf16(Vec<u8>),
    LicenceId(LicenceIdForm<'a>),
}

/// A 证照标识 (GB/T 36904, [`crate::licence_id`]) in four parts: the value
/// code of the type name of the definition with its type code (so the 21
/// characters of the type code cost one to three bytes), the issuing
/// authority's credit code as 11 bytes (its first 17 characters in base 31;
/// the check character is recomputed), the serial (an unsigned integer when
/// it is decimal without leading zeros, else text) and the version. The
/// check character is recomputed; the encoder uses this form only when the
/// identifier is valid and prints back identically.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LicenceIdForm<'a> {
    type_value_code: u64,
    authority: [u8; crate::licence_id::PACKED_USCI_LEN],
    serial: Result<u64, &'a str>,
    version: u64,
}
impl Form<'_> {
    fn tag(&self) -> Option<u64> {
        Some(match self {
            Form::Text(_) => return None,
            Form::Term(_) => TAG_VALUE_TERM,
            Form::Uuid(_) => TAG_UUID_URN,
            Form::DidKey(_) => TAG_DID_KEY,
            Form::DidKeyVm(_) | Form::DidKeyVmRef(_) => TAG_DID_KEY_VM,
            Form::Base58(_) => TAG_BASE58BTC,
            Form::Base64Url(_) => TAG_BASE64URL,
            Form::DateTime(_) => TAG_DATE_TIME,
            Form::DayStart(_) => TAG_DAY_START,
            Form::DayEnd(_) => TAG_DAY_END,
            Form::Date(_) => TAG_DATE,
            Form::Decimal(_) => TAG_DECIMAL,
            Form::Prefixed(..) => TAG_PREFIXED,
            Form::BackReference { .. } => TAG_BACK_REFERENCE,
            Form::Utf16(_) => TAG_UTF16,
            Form::LicenceId(_) => TAG_LICENCE_ID,
        })
    }

    fn encoded_len(&self) -> usize {
        let tag = self.tag().map_or(0, cbor::head_len);
        tag + match self {
            Form::Text(s) => cbor::string_len(s.len()),
            Form::Term(n) | Form::Decimal(n) | Form::DidKeyVmRef(n) => cbor::head_len(*n),
            Form::Uuid(b) => cbor::string_len(b.len()),
            Form::DidKey(b) | Form::DidKeyVm(b) | Form::Base58(b) | Form::Base64Url(b) | Form::Utf16(b) => {
                cbor::string_len(b.len())
            }
            Form::DateTime(n) | Form::DayStart(n) | Form::DayEnd(n) | Form::Date(n) => cbor::int_len(*n),
            Form::Prefixed(c, rest) => 1 + cbor::head_len(*c) + cbor::string_len(rest.len()),
            Form::BackReference { distance, drop, rest } => {
                let rest_len = if rest.is_empty() { 0 } else { cbor::string_len(rest.len()) };
                1 + cbor::head_len(*distance) + cbor::head_len(*drop) + rest_len
            }
            Form::LicenceId(l) => {
                let serial = match l.serial {
                    Ok(n) => cbor::head_len(n),
                    Err(text) => cbor::string_len(text.len()),
                };
                1 + cbor::head_len(l.type_value_code)
                    + cbor::string_len(l.authority.len())
                    + serial
                    + cbor::head_len(l.version)
            }
        }
    }

    fn write(&self, w: &mut Writer) {
        if let Some(tag) = self.tag() {
            w.tag(tag);
        }
        match self {
            Form::Text(s) => w.text(s),
            Form::Term(n) | Form::Decimal(n) | Form::DidKeyVmRef(n) => w.uint(*n),
            Form::Uuid(b) => w.bytes(b),
            Form::DidKey(b) | Form::DidKeyVm(b) | Form::Base58(b) | Form::Base64Url(b) | Form::Utf16(b) => w.bytes(b),
            Form::DateTime(n) | Form::DayStart(n) | Form::DayEnd(n) | Form::Date(n) => w.int(*n),
            Form::Prefixed(c, rest) => {
                w.array(2);
                w.uint(*c);
                w.text(rest);
            }
            Form::BackReference { distance, drop, rest } => {
                w.array(if rest.is_empty() { 2 } else { 3 });
                w.uint(*distance);
                w.uint(*drop);
                if !rest.is_empty() {
                    w.text(rest);
                }
            }
            Form::LicenceId(l) => {
                w.array(4);
                w.uint(l.type_value_code);
                w.bytes(&l.authority);
                match l.serial {
                    Ok(n) => w.uint(n),
                    Err(text) => w.text(text),
                }
                w.uint(l.version);
            }
        }
    }
}

/// Writes the string values of one document, remembering them for
/// back-references.
#[derive(Debug, Default)]
pub struct Encoder<'a> {
    history: Vec<&'a str>,
    total_bytes: usize,
    types: TypeRegistry,
}

impl<'a> Encoder<'a> {
    /// An encoder that knows the value codes of `types` besides term table 1.
    pub fn new(types: TypeRegistry) -> Self {
        Self { history: Vec::new(), total_bytes: 0, types }
    }

    /// Writes `s` in its shortest lossless form.
    pub fn write(&mut self, w: &mut Writer, s: &'a str) -> Result<(), CompactError> {
        self.total_bytes += s.len();
        if self.total_bytes > MAX_STRING_BYTES {
            return Err(CompactError::TooLarge);
        }
        let shapes = [
            uuid_urn, did_key, did_key_vm, date_time, day_start, day_end, date, decimal, base58btc, base64url,
            prefixed, utf16,
        ];
        let best = std::iter::once(Form::Text(s))
            .chain(self.types.value_code(s).map(Form::Term))
            .chain(shapes.into_iter().filter_map(|codec| codec(s)))
            .chain(self.did_key_vm_reference(s))
            .chain(self.back_reference(s))
            .chain(licence_id(&self.types, s))
            // min_by_key keeps the first of equal candidates: plain text wins ties.
            .min_by_key(Form::encoded_len)
            .unwrap_or(Form::Text(s));
        best.write(w);
        self.history.push(s);
        Ok(())
    }

    /// Distances 1, 2, … to the most recent strings.
    fn recent(&self) -> impl Iterator<Item = (u64, &'a str)> + '_ {
        self.history.iter().rev().take(BACK_REFERENCE_WINDOW).zip(1u64..).map(|(s, d)| (d, *s))
    }

    fn did_key_vm_reference(&self, s: &str) -> Option<Form<'a>> {
        let (did, fragment) = s.split_once('#')?;
        (did.strip_prefix(DID_KEY)? == fragment).then_some(())?;
        self.recent().find(|(_, earlier)| *earlier == did).map(|(d, _)| Form::DidKeyVmRef(d))
    }

    fn back_reference(&self, s: &'a str) -> Option<Form<'a>> {
        self.recent()
            .filter_map(|(distance, earlier)| {
                let mut common = earlier.bytes().zip(s.bytes()).take_while(|(a, b)| a == b).count();
                while !s.is_char_boundary(common) {
                    common -= 1;
                }
                (common > 0).then(|| Form::BackReference {
                    distance,
                    drop: (earlier.len() - common) as u64,
                    rest: &s[common..],
                })
            })
            .min_by_key(Form::encoded_len)
    }
}

/// Reads the string values of one document, remembering them for
/// back-references and enforcing [`MAX_STRING_BYTES`].
#[derive(Debug, Default)]
pub struct Decoder {
    history: Vec<String>,
    total_bytes: usize,
    types: TypeRegistry,
}

impl Decoder {
    /// A decoder that knows the value codes of `types` besides term table 1.
    pub fn new(types: TypeRegistry) -> Self {
        Self { history: Vec::new(), total_bytes: 0, types }
    }

    /// The types whose codes it knows.
    pub fn types(&self) -> &TypeRegistry {
        &self.types
    }

    /// A plain text string value.
    pub fn text(&mut self, s: &str) -> Result<String, CompactError> {
        self.record(s.to_owned())
    }

    /// The string value encoded by the item following tag `tag`.
    pub fn tagged(&mut self, r: &mut Reader<'_>, tag: u64) -> Result<String, CompactError> {
        let s = self.read_tagged(r, tag)?;
        self.record(s)
    }

    fn record(&mut self, s: String) -> Result<String, CompactError> {
        self.total_bytes += s.len();
        if self.total_bytes > MAX_STRING_BYTES {
            return Err(CompactError::TooLarge);
        }
        self.history.push(s.clone());
        Ok(s)
    }

    fn earlier(&self, distance: u64, tag: u64) -> Result<&str, CompactError> {
        usize::try_from(distance)
            .ok()
            .filter(|d| *d >= 1)
            .and_then(|d| self.history.len().checked_sub(d))
            .and_then(|i| self.history.get(i))
            .map(String::as_str)
            .ok_or_else(|| {
                CompactError::InvalidCbor(format!("tag {tag}: back-reference {distance} before the first string"))
            })
    }

    fn read_tagged(&self, r: &mut Reader<'_>, tag: u64) -> Result<String, CompactError> {
        let token = r.next()?;
        let wrong = |what: &str| CompactError::InvalidCbor(format!("tag {tag} must enclose {what}"));
        match (tag, token) {
            (TAG_VALUE_TERM, Token::Uint(code)) => {
                self.types.value(code).map(str::to_owned).ok_or(CompactError::UnknownTermCode(code))
            }
            (TAG_VALUE_TERM, _) => Err(wrong("an unsigned integer")),
            (TAG_UUID_URN, Token::Bytes(b)) => {
                let bytes: &[u8; 16] = b.try_into().map_err(|_| wrong("16 bytes"))?;
                Ok(format_uuid_urn(bytes))
            }
            (TAG_UUID_URN, _) => Err(wrong("16 bytes")),
            (TAG_DID_KEY_VM, Token::Uint(distance)) => {
                let did = self.earlier(distance, tag)?;
                let id = did.strip_prefix(DID_KEY).ok_or_else(|| wrong("a reference to a did:key"))?;
                Ok(format!("{did}#{id}"))
            }
            (TAG_DID_KEY | TAG_DID_KEY_VM | TAG_BASE58BTC, Token::Bytes(b)) => {
                if b.len() > MAX_BASE58_BYTES {
                    return Err(wrong("at most 1024 bytes"));
                }
                let id = format!("z{}", base58::encode(b));
                Ok(match tag {
                    TAG_DID_KEY => format!("{DID_KEY}{id}"),
                    TAG_DID_KEY_VM => format!("{DID_KEY}{id}#{id}"),
                    _ => id,
                })
            }
            (TAG_DID_KEY | TAG_DID_KEY_VM | TAG_BASE58BTC, _) => Err(wrong("a byte string")),
            (TAG_BASE64URL, Token::Bytes(b)) => {
                Ok(format!("u{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)))
            }
            (TAG_BASE64URL, _) => Err(wrong("a byte string")),
            (TAG_DATE_TIME, Token::Uint(_) | Token::Nint(_)) => {
                int_of(token).and_then(format_date_time).ok_or_else(|| wrong("seconds within years 0000–9999"))
            }
            (TAG_DATE_TIME, _) => Err(wrong("an integer")),
            (TAG_DAY_START | TAG_DAY_END, Token::Uint(_) | Token::Nint(_)) => {
                let time = if tag == TAG_DAY_START { DAY_START } else { DAY_END };
                int_of(token)
                    .and_then(format_date)
                    .map(|date| format!("{date}{time}"))
                    .ok_or_else(|| wrong("days within years 0000–9999"))
            }
            (TAG_DAY_START | TAG_DAY_END, _) => Err(wrong("an integer")),
            (TAG_DATE, Token::Uint(_) | Token::Nint(_)) => {
                int_of(token).and_then(format_date).ok_or_else(|| wrong("days within years 0000–9999"))
            }
            (TAG_DATE, _) => Err(wrong("an integer")),
            (TAG_DECIMAL, Token::Uint(n)) => Ok(n.to_string()),
            (TAG_DECIMAL, _) => Err(wrong("an unsigned integer")),
            (TAG_PREFIXED, Token::Array(2)) => {
                let code = match r.next()? {
                    Token::Uint(code) => code,
                    _ => return Err(wrong("[prefix code, text]")),
                };
                let prefix = terms::prefix(code).ok_or(CompactError::UnknownTermCode(code))?;
                match r.next()? {
                    Token::Text(rest) => Ok(format!("{prefix}{rest}")),
                    _ => Err(wrong("[prefix code, text]")),
                }
            }
            (TAG_PREFIXED, _) => Err(wrong("[prefix code, text]")),
            (TAG_BACK_REFERENCE, Token::Array(len @ (2 | 3))) => {
                let shape = "[distance, drop] or [distance, drop, text]";
                let (Token::Uint(distance), Token::Uint(drop)) = (r.next()?, r.next()?) else {
                    return Err(wrong(shape));
                };
                let rest = match (len, if len == 3 { Some(r.next()?) } else { None }) {
                    (3, Some(Token::Text(rest))) => rest,
                    (2, None) => "",
                    _ => return Err(wrong(shape)),
                };
                let earlier = self.earlier(distance, tag)?;
                let keep = usize::try_from(drop)
                    .ok()
                    .and_then(|drop| earlier.len().checked_sub(drop))
                    .filter(|keep| earlier.is_char_boundary(*keep))
                    .ok_or_else(|| wrong("a drop count within the string, at a character boundary"))?;
                Ok(format!("{}{rest}", &earlier[..keep]))
            }
            (TAG_BACK_REFERENCE, _) => Err(wrong("[distance, drop] or [distance, drop, text]")),
            (TAG_UTF16, Token::Bytes(b)) => {
                if b.len() % 2 != 0 {
                    return Err(wrong("an even number of bytes"));
                }
                let units: Vec<u16> = b.as_chunks::<2>().0.iter().map(|u| u16::from_be_bytes(*u)).collect();
                String::from_utf16(&units).map_err(|_| wrong("valid UTF-16"))
            }
            (TAG_UTF16, _) => Err(wrong("a byte string")),
            (TAG_LICENCE_ID, Token::Array(4)) => read_licence_id(&self.types, r)
                .ok_or_else(|| wrong("[type code, 11-byte authority, serial, version] of a valid licence identifier")),
            (TAG_LICENCE_ID, _) => Err(wrong("[type code, authority, serial, version]")),
            _ => Err(CompactError::UnknownCodec(tag)),
        }
    }
}

fn licence_id<'a>(types: &TypeRegistry, s: &'a str) -> Option<Form<'a>> {
    use crate::licence_id::LicenceId;
    if s.len() > crate::licence_id::MAX_LEN || !s.starts_with(crate::licence_id::ROOT_OID) {
        return None;
    }
    let id = LicenceId::parse(s).ok()?;
    let def = types.by_licence_type_code(id.type_code())?;
    let type_value_code = types.value_code(&def.type_name)?;
    let authority = crate::licence_id::pack_usci(id.issuer())?;
    // The serial is a slice of `s`: between the authority and the version.
    let serial_text = s.rsplitn(3, '.').nth(2)?.rsplit('.').next()?;
    let serial = match decimal(serial_text) {
        Some(Form::Decimal(n)) => Ok(n),
        _ => Err(serial_text),
    };
    let form = LicenceIdForm { type_value_code, authority, serial, version: u64::from(id.version()) };
    (id.to_string() == s && id.serial() == serial_text).then_some(Form::LicenceId(form))
}

fn read_licence_id(types: &TypeRegistry, r: &mut Reader<'_>) -> Option<String> {
    use crate::licence_id::{LicenceId, MAX_SERIAL_LEN};
    let Token::Uint(type_value_code) = r.next().ok()? else { return None };
    let Token::Bytes(authority) = r.next().ok()? else { return None };
    let authority = crate::licence_id::unpack_usci(authority)?;
    let serial = match r.next().ok()? {
        Token::Uint(n) => n.to_string(),
        Token::Text(t) if t.len() <= MAX_SERIAL_LEN => t.to_owned(),
        _ => return None,
    };
    let Token::Uint(version) = r.next().ok()? else { return None };
    let def = types.by_type(types.value(type_value_code)?)?;
    let id = LicenceId::new(def.licence_type_code.clone()?, authority, &serial, u16::try_from(version).ok()?).ok()?;
    Some(id.to_string())
}

fn uuid_urn(s: &str) -> Option<Form<'_>> {
    let id = uuid::Uuid::try_parse(s.strip_prefix("urn:uuid:")?).ok()?;
    (format_uuid_urn(id.as_bytes()) == s).then(|| Form::Uuid(*id.as_bytes()))
}

fn format_uuid_urn(bytes: &[u8; 16]) -> String {
    format!("urn:uuid:{}", uuid::Uuid::from_bytes(*bytes).hyphenated())
}

/// Base58btc bytes of `z…` text, only when re-encoding is identical and the
/// result stays within [`MAX_BASE58_BYTES`].
fn base58_bytes(multibase: &str) -> Option<Vec<u8>> {
    let text = multibase.strip_prefix('z')?;
    // Every base58 character carries less than one byte: a cheap bound first.
    if text.len() > MAX_BASE58_BYTES * 2 {
        return None;
    }
    let bytes = base58::decode(text)?;
    (bytes.len() <= MAX_BASE58_BYTES && base58::encode(&bytes) == text).then_some(bytes)
}

fn did_key(s: &str) -> Option<Form<'_>> {
    base58_bytes(s.strip_prefix(DID_KEY)?).map(Form::DidKey)
}

fn did_key_vm(s: &str) -> Option<Form<'_>> {
    let (did, fragment) = s.split_once('#')?;
    let id = did.strip_prefix(DID_KEY)?;
    (id == fragment).then(|| base58_bytes(id).map(Form::DidKeyVm))?
}

fn base58btc(s: &str) -> Option<Form<'_>> {
    base58_bytes(s).map(Form::Base58)
}

fn base64url(s: &str) -> Option<Form<'_>> {
    let text = s.strip_prefix('u')?;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let bytes = engine.decode(text).ok()?;
    (engine.encode(&bytes) == text).then_some(Form::Base64Url(bytes))
}

fn date_time(s: &str) -> Option<Form<'_>> {
    let [ref date @ .., b'T', h1, h2, b':', m1, m2, b':', s1, s2, b'Z'] = *s.as_bytes() else {
        return None;
    };
    let days = parse_date(date)?; // 10 bytes, so s has 20
    let (h, m, sec) = (digits(&[h1, h2])?, digits(&[m1, m2])?, digits(&[s1, s2])?);
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    let seconds = days * SECONDS_PER_DAY + h * 3600 + m * 60 + sec;
    (format_date_time(seconds).as_deref() == Some(s)).then_some(Form::DateTime(seconds))
}

fn day_start(s: &str) -> Option<Form<'_>> {
    match date(s.strip_suffix(DAY_START)?)? {
        Form::Date(days) => Some(Form::DayStart(days)),
        _ => None,
    }
}

fn day_end(s: &str) -> Option<Form<'_>> {
    match date(s.strip_suffix(DAY_END)?)? {
        Form::Date(days) => Some(Form::DayEnd(days)),
        _ => None,
    }
}

fn date(s: &str) -> Option<Form<'_>> {
    let days = parse_date(s.as_bytes())?;
    (format_date(days).as_deref() == Some(s)).then_some(Form::Date(days))
}

fn decimal(s: &str) -> Option<Form<'_>> {
    if !s.bytes().all(|c| c.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0')) {
        return None;
    }
    let n: u64 = s.parse().ok()?;
    (n.to_string() == s).then_some(Form::Decimal(n))
}

fn prefixed(s: &str) -> Option<Form<'_>> {
    let (code, prefix) = terms::longest_prefix(s)?;
    Some(Form::Prefixed(code, s.get(prefix.len()..)?))
}

/// UTF-16BE, worth trying only for text with characters from U+0800 up
/// (three bytes in UTF-8, two in UTF-16).
fn utf16(s: &str) -> Option<Form<'_>> {
    s.chars().any(|c| u32::from(c) >= 0x800).then(|| Form::Utf16(s.encode_utf16().flat_map(u16::to_be_bytes).collect()))
}

fn int_of(token: Token<'_>) -> Option<i64> {
    match token {
        Token::Uint(n) => i64::try_from(n).ok(),
        Token::Nint(n) => i64::try_from(n).ok().map(|n| -1 - n),
        _ => None,
    }
}

/// Value of a run of ASCII digits.
fn digits(b: &[u8]) -> Option<i64> {
    b.iter().try_fold(0i64, |acc, c| c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0')))
}

/// Days since 1970-01-01 of a valid `YYYY-MM-DD`.
fn parse_date(b: &[u8]) -> Option<i64> {
    let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = *b else {
        return None;
    };
    let (y, m, d) = (digits(&[y1, y2, y3, y4])?, digits(&[m1, m2])?, digits(&[d1, d2])?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d))
}

fn format_date(days: i64) -> Option<String> {
    if !(MIN_SECONDS / SECONDS_PER_DAY..=MAX_SECONDS / SECONDS_PER_DAY).contains(&days) {
        return None;
    }
    let (y, m, d) = civil_from_days(days);
    Some(format!("{y:04}-{m:02}-{d:02}"))
}

fn format_date_time(seconds: i64) -> Option<String> {
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&seconds) {
        return None;
    }
    let (days, secs) = (seconds.div_euclid(SECONDS_PER_DAY), seconds.rem_euclid(SECONDS_PER_DAY));
    let date = format_date(days)?;
    Some(format!("{date}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60))
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Proleptic Gregorian date → days since 1970-01-01 (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(s: &str) -> Vec<u8> {
        let mut w = Writer::default();
        Encoder::default().write(&mut w, s).expect("small");
        w.into_bytes()
    }

    fn decoded(bytes: &[u8]) -> Result<String, CompactError> {
        read_one(&mut Decoder::default(), &mut Reader::new(bytes))
    }

    fn read_one(d: &mut Decoder, r: &mut Reader<'_>) -> Result<String, CompactError> {
        match r.next()? {
            Token::Tag(tag) => d.tagged(r, tag),
            Token::Text(t) => d.text(t),
            other => panic!("unexpected {other:?}"),
        }
    }

    fn first_tag(s: &str) -> Option<u64> {
        match Reader::new(&encoded(s)).next() {
            Ok(Token::Tag(t)) => Some(t),
            _ => None,
        }
    }

    /// Encodes a sequence of strings in one document and decodes it back.
    fn sequence(strings: &[&str]) -> (Vec<u8>, Vec<String>) {
        let mut w = Writer::default();
        let mut enc = Encoder::default();
        for s in strings {
            enc.write(&mut w, s).expect("small");
        }
        let bytes = w.into_bytes();
        let mut r = Reader::new(&bytes);
        let mut dec = Decoder::default();
        let back = strings.iter().map(|_| read_one(&mut dec, &mut r).expect("decodes")).collect();
        assert_eq!(r.remaining(), 0);
        (bytes, back)
    }

    #[test]
    fn each_codec_applies_to_canonical_input_only() {
        let cases: &[(&str, Option<u64>)] = &[
            ("VerifiableCredential", Some(TAG_VALUE_TERM)),
            ("urn:uuid:3f1c2a7e-8b4d-4e2a-9c61-5d7f0b2e9a14", Some(TAG_UUID_URN)),
            ("urn:uuid:3F1C2A7E-8B4D-4E2A-9C61-5D7F0B2E9A14", Some(TAG_PREFIXED)),
            ("urn:uuid:3f1c2a7e8b4d4e2a9c615d7f0b2e9a14", Some(TAG_PREFIXED)),
            ("did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169", Some(TAG_DID_KEY)),
            (
                "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169#zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169",
                Some(TAG_DID_KEY_VM),
            ),
            ("did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169#key-1", Some(TAG_PREFIXED)),
            ("did:key:z0OIl", Some(TAG_PREFIXED)),
            ("2026-03-15T00:00:00Z", Some(TAG_DAY_START)),
            ("2027-03-14T23:59:59Z", Some(TAG_DAY_END)),
            ("2026-03-15T08:00:00Z", Some(TAG_DATE_TIME)),
            ("2026-03-15T23:59:58Z", Some(TAG_DATE_TIME)),
            ("1969-12-31T00:00:00Z", Some(TAG_DAY_START)),
            ("0000-01-01T00:00:00Z", Some(TAG_DAY_START)),
            ("9999-12-31T23:59:59Z", Some(TAG_DAY_END)),
            ("2026-02-29T23:59:59Z", None),
            ("2026-03-15t00:00:00Z", None),
            ("2026-03-15T00:00:00.000Z", None),
            ("2026-03-15T00:00:00+08:00", None),
            ("2026-02-29T00:00:00Z", None),
            ("2026-03-15T24:00:00Z", None),
            ("2026-03-15T23:59:60Z", None),
            ("1991-07-23", Some(TAG_DATE)),
            ("1991-7-23", None),
            ("1991-13-01", None),
            ("2024-02-29", Some(TAG_DATE)),
            ("+991-07-23", None),
            ("94567", None), // 6 bytes either way: plain text wins the tie
            ("1234567", Some(TAG_DECIMAL)),
            ("0012345", None),
            ("-1234567", None),
            ("99999999999999999999", None), // > u64::MAX
            ("zaHXrr7AQdydBk3ahpCDpWbxfLokDqmCToYm2dyWvpcFVyWooC2he63w1f7UNQoAMKdhaRtcnaE2KTo5o5vTCcfw", Some(TAG_BASE58BTC)),
            ("uK8XhxGmvV7pDUSXWm3HFrqS2VdLYxAX0YW8oDXa5fXo", Some(TAG_BASE64URL)),
            ("uK8XhxGmvV7pDUSXWm3HFrqS2VdLYxAX0YW8oDXa5fXp", None), // non-zero trailing bits
            ("uK8XhxGmvV7pDUSXWm3HFrqS2VdLYxAX0YW8oDXa5fX=", None),
            ("https://issuer.example.gov.cn/status/3", Some(TAG_PREFIXED)),
            ("广州市越秀区疾病预防控制中心", Some(TAG_UTF16)),
            ("F", None),
            ("", None),
        ];
        for (s, tag) in cases {
            assert_eq!(first_tag(s), *tag, "{s}");
            assert_eq!(decoded(&encoded(s)).as_deref(), Ok(*s), "{s}");
        }
    }

    #[test]
    fn codecs_shrink_the_sample_values() {
        assert_eq!(encoded("2026-03-15T00:00:00Z").len(), 4);
        assert_eq!(encoded("2027-03-14T23:59:59Z").len(), 4);
        assert_eq!(encoded("2026-03-15T08:00:00Z").len(), 6);
        assert_eq!(encoded("1991-07-23").len(), 4);
        assert_eq!(encoded("urn:uuid:3f1c2a7e-8b4d-4e2a-9c61-5d7f0b2e9a14").len(), 18);
        assert_eq!(encoded("ecdsa-rdfc-2019").len(), 2);
        assert_eq!(
            encoded("zaHXrr7AQdydBk3ahpCDpWbxfLokDqmCToYm2dyWvpcFVyWooC2he63w1f7UNQoAMKdhaRtcnaE2KTo5o5vTCcfw").len(),
            67
        );
    }

    #[test]
    fn back_references_reuse_earlier_strings() {
        let did = "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169";
        let vm = format!("{did}#zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169");
        let strings = [
            did,
            "https://issuer.example.gov.cn/status/3#94567",
            "revocation",
            "https://issuer.example.gov.cn/status/3",
            "https://issuer.example.gov.cn/status/4#23110",
            "x",
            &vm,
            "https://issuer.example.gov.cn/status/3",
        ];
        let (bytes, back) = sequence(&strings);
        assert_eq!(back, strings);
        let mut r = Reader::new(&bytes);
        let tags: Vec<u64> = std::iter::from_fn(|| loop {
            match r.next() {
                Ok(Token::Tag(t)) => return Some(t),
                Ok(_) => continue,
                Err(_) => return None,
            }
        })
        .collect();
        assert_eq!(
            tags,
            [
                TAG_DID_KEY,
                TAG_PREFIXED,
                TAG_VALUE_TERM,
                TAG_BACK_REFERENCE,
                TAG_BACK_REFERENCE,
                TAG_DID_KEY_VM,
                TAG_BACK_REFERENCE
            ]
        );
        // The verification method is a 2-byte reference to the DID 6 strings back.
        assert!(bytes.windows(2).any(|w| w == [0xc9, 0x06]));
        // The status list URL: 2 strings back, drop "#94567", no rest.
        assert!(bytes.windows(4).any(|w| w == [0xcf, 0x82, 0x02, 0x06]));
    }

    #[test]
    fn back_references_respect_character_boundaries() {
        let (_, back) = sequence(&["广州市越秀区", "广州市海珠区", "广州", "é", "e\u{301}"]);
        assert_eq!(back, ["广州市越秀区", "广州市海珠区", "广州", "é", "e\u{301}"]);
        // A reference that would cut "市" (3 bytes) in half is refused.
        let mut w = Writer::default();
        Encoder::default().write(&mut w, "广州市越秀区").expect("small");
        let mut bytes = w.into_bytes();
        bytes.extend_from_slice(&[0xcf, 0x82, 0x01, 0x01]);
        let mut r = Reader::new(&bytes);
        let mut d = Decoder::default();
        assert!(read_one(&mut d, &mut r).is_ok());
        assert_eq!(
            read_one(&mut d, &mut r),
            Err(CompactError::InvalidCbor(
                "tag 15 must enclose a drop count within the string, at a character boundary".into()
            ))
        );
    }

    #[test]
    fn utf16_shrinks_chinese_text_only() {
        assert_eq!(first_tag("广州市越秀区疾病预防控制中心"), Some(TAG_UTF16));
        assert_eq!(encoded("广州市越秀区疾病预防控制中心").len(), 1 + 2 + 28);
        assert_eq!(first_tag("OUYANG Xiaoyan"), None);
        assert_eq!(first_tag("Café"), None);
        assert_eq!(
            decoded(&[0xd0, 0x42, 0xd8, 0x00]),
            Err(CompactError::InvalidCbor("tag 16 must enclose valid UTF-16".into()))
        );
        assert_eq!(
            decoded(&[0xd0, 0x41, 0x00]),
            Err(CompactError::InvalidCbor("tag 16 must enclose an even number of bytes".into()))
        );
        assert_eq!(decoded(&[0xd0, 0x44, 0xd8, 0x3d, 0xde, 0x00]).as_deref(), Ok("😀"));
    }

    #[test]
    fn references_must_point_into_the_history() {
        assert_eq!(
            decoded(&[0xcf, 0x82, 0x01, 0x00]),
            Err(CompactError::InvalidCbor("tag 15: back-reference 1 before the first string".into()))
        );
        assert_eq!(
            decoded(&[0xc9, 0x00]),
            Err(CompactError::InvalidCbor("tag 9: back-reference 0 before the first string".into()))
        );
        let (mut bytes, _) = sequence(&["https://example.org/"]);
        bytes.extend_from_slice(&[0xc9, 0x01]);
        let mut r = Reader::new(&bytes);
        let mut d = Decoder::default();
        assert!(read_one(&mut d, &mut r).is_ok());
        assert_eq!(
            read_one(&mut d, &mut r),
            Err(CompactError::InvalidCbor("tag 9 must enclose a reference to a did:key".into()))
        );
    }

    #[test]
    fn string_expansion_is_bounded() {
        // Each 4-byte reference repeats a 1 000-byte string: stop at MAX_STRING_BYTES.
        let long = "a".repeat(1000);
        let mut w = Writer::default();
        w.text(&long);
        let mut bytes = w.into_bytes();
        for _ in 0..2000 {
            bytes.extend_from_slice(&[0xcf, 0x82, 0x01, 0x00]);
        }
        let mut r = Reader::new(&bytes);
        let mut d = Decoder::default();
        let outcome = (0..2001).try_for_each(|_| read_one(&mut d, &mut r).map(drop));
        assert_eq!(outcome, Err(CompactError::TooLarge));
        let mut enc = Encoder::default();
        let mut w = Writer::default();
        let outcome = (0..2001).try_for_each(|_| enc.write(&mut w, &long));
        assert_eq!(outcome, Err(CompactError::TooLarge));
    }

    #[test]
    fn civil_conversions_agree_over_the_whole_range() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(0, 1, 1) * SECONDS_PER_DAY, MIN_SECONDS);
        assert_eq!(days_from_civil(9999, 12, 31) * SECONDS_PER_DAY + SECONDS_PER_DAY - 1, MAX_SECONDS);
        for days in (MIN_SECONDS / SECONDS_PER_DAY..=MAX_SECONDS / SECONDS_PER_DAY).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(format_date_time(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(format_date_time(-1).as_deref(), Some("1969-12-31T23:59:59Z"));
        assert_eq!(format_date_time(MAX_SECONDS + 1), None);
        assert_eq!(format_date(MIN_SECONDS / SECONDS_PER_DAY - 1), None);
    }

    #[test]
    fn malformed_tag_contents_are_errors() {
        let cases: &[(&[u8], CompactError)] = &[
            (&[0xc6, 0x18, 0xff], CompactError::UnknownTermCode(255)),
            (&[0xc7, 0x41, 0x00], CompactError::InvalidCbor("tag 7 must enclose 16 bytes".into())),
            (
                &[0xc1, 0x1b, 0x7f, 0, 0, 0, 0, 0, 0, 0],
                CompactError::InvalidCbor("tag 1 must enclose seconds within years 0000–9999".into()),
            ),
            (&[0xcc, 0x60], CompactError::InvalidCbor("tag 12 must enclose an integer".into())),
            (&[0xd5, 0x60], CompactError::InvalidCbor("tag 21 must enclose an integer".into())),
            (
                &[0xd6, 0x1a, 0x7f, 0, 0, 0],
                CompactError::InvalidCbor("tag 22 must enclose days within years 0000–9999".into()),
            ),
            (
                &[0xd5, 0x3a, 0x7f, 0, 0, 0],
                CompactError::InvalidCbor("tag 21 must enclose days within years 0000–9999".into()),
            ),
            (&[0xce, 0x82, 0x18, 0x63, 0x60], CompactError::UnknownTermCode(99)),
            (&[0xce, 0x82, 0x00, 0x01], CompactError::InvalidCbor("tag 14 must enclose [prefix code, text]".into())),
            (&[0xd7, 0x00], CompactError::UnknownCodec(23)),
            (&[0xcd], CompactError::Truncated),
        ];
        for (bytes, err) in cases {
            assert_eq!(decoded(bytes).as_ref(), Err(err), "{bytes:02x?}");
        }
    }
}
