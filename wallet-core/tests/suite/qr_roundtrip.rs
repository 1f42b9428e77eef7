//! The compact QR form end to end: lossless JSON round trips (sample
//! certificate, W3C vectors, arbitrary JSON), error values for malformed
//! input, and QR images — rendered, distorted, photographed-like, and
//! third-party fixtures — decoding to the exact text.

use std::f64::consts::PI;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use image::{GrayImage, ImageEncoder as _, Luma};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use wallet_core::compact::{self, terms, CompactError, QR_PREFIX};
use wallet_core::qr::{self, EcLevel, QrError};

fn fixture_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures").join(relative)
}

fn read_fixture(relative: &str) -> Vec<u8> {
    let path = fixture_path(relative);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_text_fixture(relative: &str) -> String {
    String::from_utf8(read_fixture(relative)).expect("UTF-8 fixture")
}

/// The signed sample: pretty JSON text and its value.
fn signed_sample() -> (String, Value) {
    let text = read_text_fixture("qr/sample-health-certificate.signed.json");
    let value = serde_json::from_str(&text).expect("fixture is JSON");
    (text, value)
}

fn sample_qr_text() -> String {
    compact::encode_credential(&signed_sample().1).expect("sample encodes")
}

fn assert_lossless(vc: &Value) -> String {
    let text = compact::encode_credential(vc).unwrap_or_else(|e| panic!("encode failed ({e}) for {vc}"));
    let back = compact::decode_credential(&text).unwrap_or_else(|e| panic!("decode failed ({e}) for {vc}"));
    assert_eq!(&back, vc);
    assert_eq!(serde_json::to_string(&back).expect("serializes"), serde_json::to_string(vc).expect("serializes"));
    text
}

// ---------------------------------------------------------------------------
// Lossless round trips
// ---------------------------------------------------------------------------

#[test]
fn signed_sample_round_trips_byte_identically_and_fits_version_15() {
    let (file_text, vc) = signed_sample();
    // The fixture is the unsigned sample plus a proof block, nothing else.
    let mut unsigned = vc.clone();
    let proof = unsigned.as_object_mut().and_then(|m| m.shift_remove("proof")).expect("has a proof");
    let unsigned_fixture: Value =
        serde_json::from_slice(&read_fixture("credentials/sample-health-certificate.unsigned.json")).expect("JSON");
    assert_eq!(unsigned, unsigned_fixture);
    assert_eq!(proof["proofValue"].as_str().map(str::len), Some(88));

    let qr_text = assert_lossless(&vc);
    let back = compact::decode_credential(&qr_text).expect("decodes");
    assert_eq!(format!("{}\n", serde_json::to_string_pretty(&back).expect("serializes")), file_text);
    assert!(qr_text.starts_with("EC1:"));
    let version = qr::qr_version(&qr_text).expect("fits a QR code");
    assert!(version <= 15, "sample needs version {version} at level M");
}

/// Prints the size table of the module documentation (run with
/// `--nocapture`) and checks the claims made there.
#[test]
fn compact_sizes() {
    let (file_text, vc) = signed_sample();
    let minified = serde_json::to_string(&vc).expect("serializes");
    let cbor = compact::encode_cbor(&vc).expect("encodes");
    let mut deflater = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    deflater.write_all(&cbor).expect("in memory");
    let deflated = deflater.finish().expect("in memory");
    let qr_text = sample_qr_text();
    let payload_len = if deflated.len() < cbor.len() { deflated.len() } else { cbor.len() } + 1;
    // Base45: 3 characters per 2 bytes, 2 for a final single byte.
    assert_eq!(qr_text.len() - QR_PREFIX.len(), payload_len / 2 * 3 + payload_len % 2 * 2);

    let payload: Vec<u8> =
        if deflated.len() < cbor.len() { [&[0x02u8][..], &deflated].concat() } else { [&[0x01u8][..], &cbor].concat() };
    let base64_text = format!("{QR_PREFIX}{}", base64_url(&payload));
    // What DEFLATE alone does (no semantic compression), as Base45.
    let mut json_deflater = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    json_deflater.write_all(minified.as_bytes()).expect("in memory");
    let deflated_json = json_deflater.finish().expect("in memory");
    let deflated_json_text = format!("{QR_PREFIX}{}", base45(&deflated_json));
    let version_of = |data: &[u8], level| qrcode::QrCode::with_error_correction_level(data, level).map(|c| c.version());
    let versions: Vec<_> = [EcLevel::L, EcLevel::M, EcLevel::Q, EcLevel::H]
        .into_iter()
        .map(|level| qr::qr_version_at(&qr_text, level).expect("fits"))
        .collect();
    let byte_mode_base64 = qr::qr_version_at(&base64_text, EcLevel::M).expect("fits");
    let byte_mode_raw = version_of(&payload, EcLevel::M).expect("fits");
    let json_byte_mode = qr::qr_version_at(&minified, EcLevel::M).expect("fits");
    let deflated_json_version = qr::qr_version_at(&deflated_json_text, EcLevel::M).expect("fits");
    // Numeric mode with 7 bytes → 17 digits (for comparison only).
    let numeric = "7".repeat(payload.len().div_ceil(7) * 17);
    let numeric_mode = qr::qr_version_at(&numeric, EcLevel::M).expect("fits");

    println!("pretty JSON              {:5} bytes", file_text.len());
    println!("minified JSON            {:5} bytes  (byte mode, M: version {json_byte_mode})", minified.len());
    println!(
        "DEFLATE(JSON) + Base45   {:5} chars  (alphanumeric, M: version {deflated_json_version})",
        deflated_json_text.len()
    );
    println!("CBOR document            {:5} bytes", cbor.len());
    println!("DEFLATE(CBOR)            {:5} bytes  (used only when shorter)", deflated.len());
    println!(
        "EC1: + Base45            {:5} chars  (alphanumeric: L {} / M {} / Q {} / H {})",
        qr_text.len(),
        versions[0],
        versions[1],
        versions[2],
        versions[3]
    );
    println!("EC1: + base64url         {:5} chars  (byte mode, M: version {byte_mode_base64})", base64_text.len());
    println!("raw header + CBOR        {:5} bytes  (byte mode, M: {byte_mode_raw:?})", payload.len());
    println!("7 bytes → 17 digits      {:5} chars  (numeric mode, M: version {numeric_mode})", numeric.len());

    assert!(cbor.len() * 3 < minified.len(), "semantic compression to under a third");
    assert!(versions[1] <= 15);
    assert!(versions[1] < byte_mode_base64, "Base45 beats base64 text in byte mode");
    assert!(versions[1] < json_byte_mode);
    assert!(versions[1] < deflated_json_version, "semantic compression beats DEFLATE alone");
}

fn base64_url(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

fn vector_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in ["qr/vectors/vcdm2", "qr/vectors/di-ecdsa"] {
        for entry in std::fs::read_dir(fixture_path(dir)).expect("fixture dir") {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "json") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_w3c_vector_round_trips_losslessly() {
    let files = vector_files();
    assert_eq!(files.len(), 96 + 4, "96 VCDM 2.0 inputs + 4 ecdsa-rdfc-2019 vectors");
    for path in files {
        let vc: Value = serde_json::from_slice(&std::fs::read(&path).expect("readable")).expect("JSON");
        let text = assert_lossless(&vc);
        assert!(qr::qr_version(&text).is_ok(), "{}", path.display());
    }
}

#[test]
fn w3c_signed_vector_shrinks_to_a_small_code() {
    let vc: Value = serde_json::from_slice(&read_fixture("qr/vectors/di-ecdsa/signedECDSAP256.json")).expect("JSON");
    let text = assert_lossless(&vc);
    let minified = serde_json::to_string(&vc).expect("serializes");
    let cbor = compact::encode_cbor(&vc).expect("encodes");
    // English prose and a foreign issuer URL: less to gain than on our own credential.
    assert!(cbor.len() * 2 < minified.len(), "{} of {} bytes", cbor.len(), minified.len());
    assert_eq!(qr::qr_version(&text), Ok(14), "{} chars", text.len());
}

#[test]
fn look_alike_strings_keep_their_exact_form() {
    let vc = json!({
        "id": "urn:uuid:3F1C2A7E-8B4D-4E2A-9C61-5D7F0B2E9A14",
        "validFrom": "2026-03-15T00:00:00.000Z",
        "validUntil": "2026-03-15T08:00:00+08:00",
        "birthDate": "1991-7-23",
        "statusListIndex": "007",
        "n": ["0", "-1", "+1", "1e3", "18446744073709551616", "1.0"],
        "proofValue": "z0OIl",
        "idNumberSalt": "uyTJ4u0xvd9NpRCWnlkVDkR",
        "issuer": "did:key:zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169#key-1",
        "type": ["verifiablecredential", "VerifiableCredential "],
        "numbers": [0, -0.0, 1.0, 1.5e300, -9223372036854775808i64, 18446744073709551615u64, 0.1],
        "": {"@context": {"@vocab": "https://example.org/#"}}
    });
    assert_lossless(&vc);
}

#[test]
fn number_literals_keep_their_exact_text() {
    // serde_json (with arbitrary_precision, enabled in this workspace) keeps
    // number text as written, apart from normalising exponents (`1e5` →
    // `1e+5`): the value, and so its text, must come back unchanged.
    let text = r#"{"credentialSubject":{"n":[1.50,1e5,1E+5,-0,0.10,-0.0,100000.0,2.5,
        123456789012345678901234567890,1e400,18446744073709551615,-9223372036854775808]}}"#;
    let vc: Value = serde_json::from_str(text).expect("JSON");
    assert_lossless(&vc);
    let back = serde_json::to_string(
        &compact::decode_credential(&compact::encode_credential(&vc).expect("encodes")).expect("decodes"),
    )
    .expect("serializes");
    for literal in ["[1.50,", ",-0,", ",0.10,", ",-0.0,", ",100000.0,", ",123456789012345678901234567890,"] {
        assert!(back.contains(literal), "{literal} lost in {back}");
    }
}

// ---------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------

/// Regex character class of the base58btc alphabet.
macro_rules! b58 {
    () => {
        "[1-9A-HJ-NP-Za-km-z]"
    };
}

fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9 .:/#-]{0,16}",
        prop::sample::select(terms::VALUES).prop_map(str::to_owned),
        prop::sample::select(terms::KEYS).prop_map(str::to_owned),
        "[0-9]{4}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-6][0-9]:[0-6][0-9](Z|\\.000Z|\\+08:00|z)",
        "[0-9]{4}-[01][0-9]-[0-3][0-9]",
        "0[0-9]{0,6}|[1-9][0-9]{0,24}|-[0-9]{1,5}",
        "urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
        concat!("z", b58!(), "{0,90}"),
        "z[0-9a-zA-Z]{0,20}",
        "u[A-Za-z0-9_=+/-]{0,50}",
        concat!("did:key:z", b58!(), "{1,50}"),
        concat!(b58!(), "{1,50}").prop_map(|x| format!("did:key:z{x}#z{x}")),
        concat!("did:key:z", b58!(), "{1,20}#z", b58!(), "{1,20}"),
        "(https?://|did:web:|did:example:|urn:uuid:|mailto:)[a-z0-9./#?=-]{0,30}",
    ]
}

fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![prop::sample::select(terms::KEYS).prop_map(str::to_owned), any::<String>(), "[a-z@]{0,8}"]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        tricky_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::vec((json_key(), inner), 0..8)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Value> {
    prop::collection::vec((json_key(), json_value()), 0..10)
        .prop_map(|pairs| Value::Object(pairs.into_iter().collect()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_json_round_trips_exactly(vc in json_object()) {
        let text = compact::encode_credential(&vc);
        // Only a document too big for any QR code may be refused.
        prop_assume!(text != Err(CompactError::TooLarge));
        let text = text.expect("encodes");
        let back = compact::decode_credential(&text).expect("decodes");
        prop_assert_eq!(&back, &vc);
        prop_assert_eq!(serde_json::to_string(&back).expect("serializes"), serde_json::to_string(&vc).expect("serializes"));
    }

    #[test]
    fn arbitrary_strings_round_trip_exactly(s in tricky_string()) {
        let vc = json!({"credentialSubject": {"value": s, "list": [s]}});
        let back = compact::decode_credential(&compact::encode_credential(&vc).expect("encodes")).expect("decodes");
        prop_assert_eq!(back, vc);
    }

    #[test]
    fn arbitrary_number_literals_round_trip(literal in "-?(0|[1-9][0-9]{0,30})(\\.[0-9]{1,12})?([eE][+-]?[0-9]{1,3})?") {
        let vc: Value = serde_json::from_str(&format!(r#"{{"n":{literal}}}"#)).expect("valid JSON number");
        let back = compact::decode_credential(&compact::encode_credential(&vc).expect("encodes")).expect("decodes");
        prop_assert_eq!(serde_json::to_string(&back).expect("serializes"), serde_json::to_string(&vc).expect("serializes"));
        prop_assert_eq!(back, vc);
    }

    #[test]
    fn decoding_garbage_never_panics(s in any::<String>(), bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        let _ = compact::decode_credential(&s);
        let _ = compact::decode_credential(&format!("{QR_PREFIX}{s}"));
        // Well-formed Base45 around random bytes reaches the CBOR decoder.
        if let Ok(vc) = compact::decode_credential(&format!("{QR_PREFIX}{}", base45(&bytes))) {
            // Anything accepted must be a valid document that re-encodes.
            let again = compact::encode_credential(&vc).expect("re-encodes");
            prop_assert_eq!(compact::decode_credential(&again).expect("decodes"), vc);
        }
    }
}

/// Base45 for building test payloads (independent of the crate's encoder).
fn base45(data: &[u8]) -> String {
    const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
    let mut out = String::new();
    for chunk in data.chunks(2) {
        let (mut n, digits) = match chunk {
            [a, b] => (usize::from(*a) * 256 + usize::from(*b), 3),
            [a] => (usize::from(*a), 2),
            _ => unreachable!(),
        };
        for _ in 0..digits {
            out.push(char::from(ALPHABET[n % 45]));
            n /= 45;
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Malformed QR text
// ---------------------------------------------------------------------------

#[test]
fn wrong_prefix_and_empty_text() {
    let eu_dcc = read_text_fixture("qr/images/qrcode-hc1.txt");
    assert!(eu_dcc.starts_with("HC1:"));
    assert_eq!(compact::decode_credential(&eu_dcc), Err(CompactError::WrongPrefix));
    assert_eq!(compact::decode_credential(""), Err(CompactError::WrongPrefix));
    assert_eq!(compact::decode_credential("ec1:ABC"), Err(CompactError::WrongPrefix));
    assert_eq!(compact::decode_credential(&sample_qr_text().replacen("EC1", "EC2", 1)), Err(CompactError::WrongPrefix));
    assert_eq!(compact::decode_credential("EC1:"), Err(CompactError::Truncated));
    assert_eq!(CompactError::WrongPrefix.code(), "wrong_prefix");
}

#[test]
fn invalid_base45_reports_the_position() {
    let text = sample_qr_text();
    let lower = format!("{}{}", &text[..10], text[10..].to_lowercase());
    let first_letter = lower[10..].find(|c: char| c.is_ascii_lowercase()).expect("has letters") + 10;
    assert_eq!(compact::decode_credential(&lower), Err(CompactError::InvalidBase45 { position: first_letter }));
    let mut bad = text.clone();
    bad.replace_range(20..21, "=");
    assert_eq!(compact::decode_credential(&bad), Err(CompactError::InvalidBase45 { position: 20 }));
    // ":::" is 44 + 44·45 + 44·45² = 91 124 > 65 535.
    let mut overflow = text.clone();
    overflow.replace_range(7..10, ":::");
    assert_eq!(compact::decode_credential(&overflow), Err(CompactError::InvalidBase45 { position: 7 }));
    assert_eq!(compact::decode_credential(&bad).map_err(|e| e.code()), Err("invalid_base45"));
}

#[test]
fn truncated_text_is_reported_as_truncated() {
    let text = sample_qr_text();
    let len = text.len();
    for cut in [5, 6, 7, 30, len / 2, len / 2 + 1, len - 3, len - 2, len - 1] {
        assert_eq!(compact::decode_credential(&text[..cut]), Err(CompactError::Truncated), "cut at {cut} of {len}");
    }
    // Also the uncompressed form (header 0x01), cut inside the CBOR.
    let small = json!({"id": "x", "name": "abc"});
    let small_text = compact::encode_credential(&small).expect("encodes");
    for cut in 5..small_text.len() {
        assert_eq!(compact::decode_credential(&small_text[..cut]), Err(CompactError::Truncated), "cut at {cut}");
    }
}

#[test]
fn random_bytes_and_bad_headers_are_errors() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut kinds = std::collections::BTreeSet::new();
    for round in 0..2000 {
        let len = rng.gen_range(1..400);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
        // Make half of them reach the CBOR / DEFLATE decoders.
        if round % 2 == 0 {
            bytes[0] = 1 + (round / 2 % 2) as u8;
        }
        match compact::decode_credential(&format!("{QR_PREFIX}{}", base45(&bytes))) {
            Err(e) => {
                kinds.insert(e.code());
            }
            Ok(vc) => assert!(vc.is_object()),
        }
    }
    for expected in ["unsupported_header", "invalid_cbor", "truncated", "decompression", "not_an_object"] {
        assert!(kinds.contains(expected), "{expected} not seen in {kinds:?}");
    }
    assert_eq!(
        compact::decode_credential(&format!("{QR_PREFIX}{}", base45(&[0x03, 0xa0]))),
        Err(CompactError::UnsupportedHeader(3))
    );
    assert_eq!(
        compact::decode_credential(&format!("{QR_PREFIX}{}", base45(&[0x01, 0xa1, 0x18, 0xc8, 0x00]))),
        Err(CompactError::UnknownTermCode(400))
    );
    assert_eq!(
        compact::decode_credential(&format!("{QR_PREFIX}{}", base45(&[0x01, 0xa1, 0x00, 0xd8, 0x40, 0x00]))),
        Err(CompactError::UnknownCodec(64))
    );
    assert_eq!(
        compact::decode_credential(&format!("{QR_PREFIX}{}", base45(&[0x01, 0xa0, 0x00]))).map_err(|e| e.code()),
        Err("invalid_cbor")
    );
}

#[test]
fn decompression_bomb_stops_at_the_limit() {
    // A map with one key whose value is a 1 MiB text string of zeros:
    // about 1 KiB of DEFLATE, far beyond MAX_CBOR_LEN when inflated.
    let mut cbor = vec![0xa1, 0x00, 0x7a];
    cbor.extend_from_slice(&(1u32 << 20).to_be_bytes());
    cbor.resize(cbor.len() + (1 << 20), b'0');
    let mut deflater = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    deflater.write_all(&cbor).expect("in memory");
    let mut payload = vec![0x02];
    payload.extend_from_slice(&deflater.finish().expect("in memory"));
    let text = format!("{QR_PREFIX}{}", base45(&payload));
    assert!(text.len() < compact::MAX_QR_TEXT_LEN, "the bomb fits in a QR code ({} chars)", text.len());
    assert_eq!(compact::decode_credential(&text), Err(CompactError::TooLarge));
    // And a QR text longer than any QR code is refused outright.
    let long = format!("{QR_PREFIX}{}", "0".repeat(compact::MAX_QR_TEXT_LEN));
    assert_eq!(compact::decode_credential(&long), Err(CompactError::TooLarge));
}

#[test]
fn nesting_bomb_is_refused() {
    // 2 000 nested one-element arrays inside the credential map.
    let mut cbor = vec![0xa1, 0x00];
    cbor.extend(std::iter::repeat_n(0x81, 2000));
    cbor.push(0xf6);
    let text = format!("{QR_PREFIX}{}", base45(&[&[0x01][..], &cbor].concat()));
    assert_eq!(compact::decode_credential(&text), Err(CompactError::TooDeep));
    let mut deep = json!(null);
    for _ in 0..100 {
        deep = json!([deep]);
    }
    assert_eq!(compact::encode_credential(&json!({ "x": deep })), Err(CompactError::TooDeep));
}

// ---------------------------------------------------------------------------
// QR images
// ---------------------------------------------------------------------------

const RENDER_SCALE: u32 = 4;

fn render_sample() -> (String, GrayImage) {
    let text = sample_qr_text();
    let png = qr::render_png(&text, RENDER_SCALE).expect("renders");
    (text, image::load_from_memory(&png).expect("PNG").into_luma8())
}

fn png_bytes(img: &GrayImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::L8)
        .expect("in memory");
    out
}

fn jpeg_bytes(img: &GrayImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality).encode_image(img).expect("in memory");
    out
}

/// Rotates by `degrees` about the centre with bilinear sampling onto a white
/// canvas large enough to hold the whole result.
fn rotate(img: &GrayImage, degrees: f64) -> GrayImage {
    let (sin, cos) = (degrees * PI / 180.0).sin_cos();
    let (w, h) = (f64::from(img.width()), f64::from(img.height()));
    let (out_w, out_h) = ((w * cos.abs() + h * sin.abs()).ceil(), (w * sin.abs() + h * cos.abs()).ceil());
    let mut out = GrayImage::from_pixel(out_w as u32, out_h as u32, Luma([255]));
    let sample = |x: i64, y: i64| -> f64 {
        if x < 0 || y < 0 || x >= i64::from(img.width()) || y >= i64::from(img.height()) {
            255.0
        } else {
            f64::from(img.get_pixel(x as u32, y as u32).0[0])
        }
    };
    for (ox, oy, px) in out.enumerate_pixels_mut() {
        let (dx, dy) = (f64::from(ox) + 0.5 - out_w / 2.0, f64::from(oy) + 0.5 - out_h / 2.0);
        // Inverse rotation back into the source.
        let (sx, sy) = (cos * dx + sin * dy + w / 2.0 - 0.5, -sin * dx + cos * dy + h / 2.0 - 0.5);
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let top = sample(x0, y0) * (1.0 - fx) + sample(x0 + 1, y0) * fx;
        let bottom = sample(x0, y0 + 1) * (1.0 - fx) + sample(x0 + 1, y0 + 1) * fx;
        px.0[0] = (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8;
    }
    out
}

fn salt_and_pepper(img: &GrayImage, fraction: f64, seed: u64) -> GrayImage {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut out = img.clone();
    for px in out.pixels_mut() {
        if rng.gen_bool(fraction) {
            px.0[0] = if rng.gen_bool(0.5) { 0 } else { 255 };
        }
    }
    out
}

fn half_size(img: &GrayImage) -> GrayImage {
    image::imageops::resize(img, img.width() / 2, img.height() / 2, image::imageops::FilterType::Triangle)
}

fn inverted(img: &GrayImage) -> GrayImage {
    GrayImage::from_fn(img.width(), img.height(), |x, y| Luma([255 - img.get_pixel(x, y).0[0]]))
}

fn low_contrast(img: &GrayImage) -> GrayImage {
    GrayImage::from_fn(img.width(), img.height(), |x, y| {
        Luma([100 + (u16::from(img.get_pixel(x, y).0[0]) * 60 / 255) as u8])
    })
}

/// Camera-like distortions of the rendered sample, each of which must decode.
fn distortions(clean: &GrayImage) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("rotated 90°", png_bytes(&image::imageops::rotate90(clean))),
        ("rotated 7°", png_bytes(&rotate(clean, 7.0))),
        ("rotated -33°", png_bytes(&rotate(clean, -33.0))),
        ("scaled to 50 %", png_bytes(&half_size(clean))),
        ("blurred σ=1", png_bytes(&image::imageops::blur(clean, 1.0))),
        ("salt and pepper 5 %", png_bytes(&salt_and_pepper(clean, 0.05, 1))),
        ("JPEG q60", jpeg_bytes(clean, 60)),
        ("inverted (light on dark)", png_bytes(&inverted(clean))),
        ("low contrast (grey 100–160)", png_bytes(&low_contrast(clean))),
        (
            "rotated 7°, blurred, noisy, JPEG q60",
            jpeg_bytes(&salt_and_pepper(&image::imageops::blur(&rotate(clean, 7.0), 1.0), 0.02, 2), 60),
        ),
    ]
}

#[test]
fn clean_render_decodes_to_the_same_text() {
    let (text, clean) = render_sample();
    assert_eq!(qr::decode_image(&png_bytes(&clean)), Ok(text.clone()));
    let back =
        compact::decode_credential(&qr::decode_image(&qr::render_png(&text, 2).expect("renders")).expect("decodes"));
    assert_eq!(back, Ok(signed_sample().1));
}

#[test]
fn distorted_images_decode_to_the_exact_text() {
    let (text, clean) = render_sample();
    let mut failures = Vec::new();
    for (name, bytes) in distortions(&clean) {
        match qr::decode_image(&bytes) {
            Ok(decoded) => assert_eq!(decoded, text, "{name}: wrong text"),
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    assert!(failures.is_empty(), "not decoded: {failures:?}");
}

#[test]
fn images_without_a_qr_code() {
    let blank = GrayImage::from_pixel(400, 400, Luma([255]));
    assert_eq!(qr::decode_image(&png_bytes(&blank)), Err(QrError::NoQrCode));
    let mut rng = rand::rngs::StdRng::seed_from_u64(3);
    let noise = GrayImage::from_fn(300, 300, |_, _| Luma([rng.gen()]));
    assert_eq!(qr::decode_image(&png_bytes(&noise)), Err(QrError::NoQrCode));
    assert_eq!(qr::decode_image(&jpeg_bytes(&noise, 80)), Err(QrError::NoQrCode));
    // Half of the code torn away: finder patterns remain, the data does not.
    let (_, clean) = render_sample();
    let mut torn = clean.clone();
    for (x, _, px) in torn.enumerate_pixels_mut() {
        if x > clean.width() / 2 {
            px.0[0] = 255;
        }
    }
    assert_eq!(qr::decode_image(&png_bytes(&torn)), Err(QrError::NoQrCode));
    assert_eq!(QrError::NoQrCode.code(), "no_qr_code");
}

#[test]
fn non_images_are_unreadable() {
    for bytes in [&b""[..], b"not an image at all", b"\x89PNG\r\n\x1a\n truncated", b"\xff\xd8\xff\xe0 truncated jpeg"]
    {
        let err = qr::decode_image(bytes).expect_err("not an image");
        assert!(matches!(err, QrError::UnreadableImage(_)), "{bytes:?} gave {err:?}");
        assert_eq!(err.code(), "unreadable_image");
    }
    let (_, clean) = render_sample();
    let png = png_bytes(&clean);
    assert!(matches!(qr::decode_image(&png[..png.len() / 2]), Err(QrError::UnreadableImage(_))));
}

/// Saved distorted renders of the signed sample, and the QR text they hold.
/// The text is also decoded as a credential, so this doubles as a
/// wire-format regression test: a change that breaks old codes fails here.
const DISTORTED_FIXTURES: &[&str] =
    &["sample-rotated-7deg.png", "sample-noise-blur.png", "sample-rotated-photo-q60.jpg"];

#[test]
fn saved_distorted_fixtures_decode() {
    let text = read_text_fixture("qr/images/sample-qr-text.txt");
    assert_eq!(compact::decode_credential(&text), Ok(signed_sample().1));
    // Codes printed before the day-start / day-end date tags (21, 22) still decode to the same credential.
    let before = read_text_fixture("qr/images/sample-qr-text-before-day-tags.txt");
    assert_ne!(before, text);
    assert_eq!(compact::decode_credential(&before), Ok(signed_sample().1));
    assert_eq!(text, sample_qr_text(), "encoder output changed: regenerate the fixtures if intended");
    for name in DISTORTED_FIXTURES {
        assert_eq!(qr::decode_image(&read_fixture(&format!("qr/images/{name}"))).as_ref(), Ok(&text), "{name}");
    }
}

/// Regenerates the files checked by [`saved_distorted_fixtures_decode`].
#[test]
#[ignore = "writes fixtures/qr/images; run by hand after an intended format change"]
fn regenerate_distorted_fixtures() {
    let (text, clean) = render_sample();
    let dir = fixture_path("qr/images");
    std::fs::write(dir.join("sample-qr-text.txt"), &text).expect("writable");
    let small = half_size(&clean);
    let images = [
        png_bytes(&rotate(&small, 7.0)),
        png_bytes(&image::imageops::blur(&salt_and_pepper(&clean, 0.05, 4), 1.0)),
        jpeg_bytes(&salt_and_pepper(&image::imageops::blur(&rotate(&clean, -12.0), 1.0), 0.02, 5), 60),
    ];
    for (name, bytes) in DISTORTED_FIXTURES.iter().zip(images) {
        std::fs::write(dir.join(name), bytes).expect("writable");
    }
}

#[test]
fn third_party_qr_images_decode() {
    // EU DCC test vector DE-1 rendered with python-qrcode at level Q.
    assert_eq!(
        qr::decode_image(&read_fixture("qr/images/qrcode-hc1.png")),
        Ok(read_text_fixture("qr/images/qrcode-hc1.txt"))
    );
    // A URL rendered with segno.
    assert_eq!(
        qr::decode_image(&read_fixture("qr/images/segno-url.png")),
        Ok(read_text_fixture("qr/images/segno-url.txt"))
    );
    // A whole signed VC as minified JSON in byte mode (1 067 bytes, level L).
    let json_text = qr::decode_image(&read_fixture("qr/images/segno-vc-json.png")).expect("decodes");
    assert_eq!(json_text.len(), 1067);
    let vc: Value = serde_json::from_str(&json_text).expect("the QR holds JSON");
    assert_eq!(serde_json::to_string(&vc).expect("serializes"), json_text, "minified, key order kept");
    assert!(vc["proof"]["proofValue"].is_string());
}

#[test]
fn smart_health_card_qr_images_decode() {
    for n in ["00", "01", "03"] {
        let expected = read_text_fixture(&format!("qr/images/shc-example-{n}-qr-code-0.txt"));
        assert!(expected.starts_with("shc:/"));
        assert_eq!(
            qr::decode_image(&read_fixture(&format!("qr/images/shc-example-{n}-qr-code-0.png"))),
            Ok(expected),
            "example {n}"
        );
    }
}
