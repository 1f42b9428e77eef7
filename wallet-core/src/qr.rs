//! QR rendering (PNG, SVG) and decoding of photographed or scanned QR codes.
//!
//! Rendering uses error-correction level M (15 % of the code words may be
//! lost), the smallest version that fits, a 4-module quiet zone, black on
//! white, and refuses anything above [`MAX_QR_VERSION`] — beyond that the
//! modules get too small to scan reliably from a phone screen or a printed
//! A6 card.
//!
//! Decoding uses `rxing` (a port of ZXing), restricted to QR codes, with
//! `TRY_HARDER` (and inverted codes), on the greyscale image: first a quick
//! pass over an overview of at most 1000 pixels (large photos only), then the
//! image at up to 2500 pixels, then a smoothed and a globally-thresholded
//! overview (these recover sensor noise, JPEG artefacts, blur and low
//! contrast).
//! A QR code's Reed–Solomon check decides what is accepted, so a damaged code
//! is reported as [`QrError::NoQrCode`], never as a wrong text.

use std::collections::HashSet;
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use image::{GrayImage, ImageEncoder as _, ImageReader, Limits, Luma};
use qrcode::{QrCode, Version};
use rxing::common::{GlobalHistogramBinarizer, HybridBinarizer};
use rxing::{
    BarcodeFormat, Binarizer, BinaryBitmap, DecodeHints, Luma8LuminanceSource, MultiFormatReader, Reader as _,
};

/// QR error-correction levels (re-exported from `qrcode`) for [`qr_version_at`].
pub use qrcode::EcLevel;

/// Largest QR version [`render_png`] and [`render_svg`] produce.
pub const MAX_QR_VERSION: u8 = 22;

/// Largest module size (pixels per module) [`render_png`] accepts.
pub const MAX_SCALE: u32 = 32;

/// Largest encoded image [`decode_image`] accepts (20 MiB).
pub const MAX_IMAGE_BYTES: usize = 20 * 1024 * 1024;

/// Largest image [`decode_image`] accepts, in pixels (25 megapixels: a phone
/// camera's 12–24 MP photo fits, the 50 MP mode of some phones does not).
pub const MAX_IMAGE_PIXELS: u64 = 25_000_000;

/// Longest side [`decode_image`] accepts, in pixels (a 25 MP 4:3 photo is 5,774 wide).
pub const MAX_IMAGE_SIDE: u32 = 10_000;

/// Most memory the image decoder may allocate for one image (128 MiB): a
/// 25 MP photo decodes to 75 MiB as 8-bit RGB; a 16-bit RGBA image of the
/// same size (200 MiB) is refused before its buffer is allocated.
pub const MAX_DECODE_ALLOC_BYTES: u64 = 128 * 1024 * 1024;

/// Quiet zone around the code, in modules (the QR specification's minimum).
pub const QUIET_ZONE_MODULES: u32 = 4;

/// Longest side of the quick overview pass: a code that fills a fair part of
/// a phone photo still has about 3 pixels per module at this size.
const OVERVIEW_MAX_SIDE: u32 = 1000;

/// Longest side of the detailed pass: enough for a small code in a large
/// frame, while bounding the time spent on a 40-megapixel image with no code.
const DETAIL_MAX_SIDE: u32 = 2500;

/// Why a QR code could not be rendered or read.
#[non_exhaustive]
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum QrError {
    /// The bytes are not a PNG or JPEG image this build can decode.
    #[error("unreadable image: {0}")]
    UnreadableImage(String),
    /// The image is larger than [`MAX_IMAGE_BYTES`], [`MAX_IMAGE_PIXELS`] or
    /// [`MAX_IMAGE_SIDE`], or would need more than [`MAX_DECODE_ALLOC_BYTES`] to decode.
    #[error("image too large ({width}×{height} pixels, {bytes} bytes)")]
    ImageTooLarge {
        /// Width in pixels (0 if not read).
        width: u32,
        /// Height in pixels (0 if not read).
        height: u32,
        /// Size of the encoded image.
        bytes: usize,
    },
    /// No QR code could be found and decoded in the image.
    #[error("no readable QR code in the image")]
    NoQrCode,
    /// The text needs a QR version above [`MAX_QR_VERSION`] at level M.
    #[error("the text needs QR version {version}, more than the maximum {MAX_QR_VERSION}")]
    TooLarge {
        /// The version that would be needed.
        version: u8,
    },
    /// The text does not fit even a version 40 QR code at level M.
    #[error("the text does not fit in any QR code at error-correction level M")]
    DataTooLong,
    /// `scale` is outside 1..=[`MAX_SCALE`].
    #[error("scale {0} is outside 1..={MAX_SCALE}")]
    InvalidScale(u32),
    /// The QR or image encoder failed.
    #[error("QR encoding failed: {0}")]
    Encode(String),
}

impl QrError {
    /// Stable snake_case code for APIs and logs.
    pub fn code(&self) -> &'static str {
        match self {
            QrError::UnreadableImage(_) => "unreadable_image",
            QrError::ImageTooLarge { .. } => "image_too_large",
            QrError::NoQrCode => "no_qr_code",
            QrError::TooLarge { .. } => "too_large",
            QrError::DataTooLong => "data_too_long",
            QrError::InvalidScale(_) => "invalid_scale",
            QrError::Encode(_) => "encode",
        }
    }
}

/// The QR version [`render_png`] / [`render_svg`] would use for `qr_text`
/// (EC level M, smallest version that fits). Also reports versions above
/// [`MAX_QR_VERSION`], which rendering refuses.
pub fn qr_version(qr_text: &str) -> Result<u8, QrError> {
    qr_version_at(qr_text, EcLevel::M)
}

/// Like [`qr_version`] at another error-correction level (for sizing reports).
pub fn qr_version_at(qr_text: &str, level: EcLevel) -> Result<u8, QrError> {
    encode(qr_text, level).and_then(|code| version_number(&code))
}

/// Renders `qr_text` as a black-on-white greyscale PNG, `scale` pixels per
/// module, with a 4-module quiet zone.
pub fn render_png(qr_text: &str, scale: u32) -> Result<Vec<u8>, QrError> {
    if !(1..=MAX_SCALE).contains(&scale) {
        return Err(QrError::InvalidScale(scale));
    }
    let code = encode_for_render(qr_text)?;
    let img = code.render::<Luma<u8>>().quiet_zone(true).module_dimensions(scale, scale).build();
    let mut png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut png)
        .write_image(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::L8)
        .map_err(|e| QrError::Encode(e.to_string()))?;
    Ok(png)
}

/// Renders `qr_text` as an SVG document (8 user units per module, 4-module
/// quiet zone, `shape-rendering="crispEdges"`).
pub fn render_svg(qr_text: &str) -> Result<String, QrError> {
    let code = encode_for_render(qr_text)?;
    Ok(code.render::<qrcode::render::svg::Color<'_>>().quiet_zone(true).module_dimensions(8, 8).build())
}

fn encode(qr_text: &str, level: EcLevel) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(qr_text, level).map_err(|e| match e {
        qrcode::types::QrError::DataTooLong => QrError::DataTooLong,
        other => QrError::Encode(other.to_string()),
    })
}

fn encode_for_render(qr_text: &str) -> Result<QrCode, QrError> {
    let code = encode(qr_text, EcLevel::M)?;
    let version = version_number(&code)?;
    if version > MAX_QR_VERSION {
        return Err(QrError::TooLarge { version });
    }
    Ok(code)
}

fn version_number(code: &QrCode) -> Result<u8, QrError> {
    match code.version() {
        Version::Normal(v) => u8::try_from(v).map_err(|_| QrError::Encode(format!("version {v}"))),
        Version::Micro(v) => Err(QrError::Encode(format!("unexpected Micro QR version {v}"))),
    }
}

/// Finds and decodes the QR code in a PNG or JPEG image (a photo or a
/// screenshot) and returns its text.
pub fn decode_image(image_bytes: &[u8]) -> Result<String, QrError> {
    let luma = load_greyscale(image_bytes)?;
    let hints = DecodeHints {
        PossibleFormats: Some(HashSet::from([BarcodeFormat::QR_CODE])),
        TryHarder: Some(true),
        // Byte-mode segments without an ECI header: our texts are UTF-8.
        CharacterSet: Some("UTF-8".to_owned()),
        AlsoInverted: Some(true),
        ..DecodeHints::default()
    };
    let detail_img = fit_within(&luma, DETAIL_MAX_SIDE);
    let detail = detail_img.as_ref().unwrap_or(&luma);
    let overview_img = fit_within(detail, OVERVIEW_MAX_SIDE);
    let overview = overview_img.as_ref().unwrap_or(detail);
    // 1. A large photo: the overview is quick and usually enough.
    if overview_img.is_some() {
        if let Some(text) = scan(overview, Thresholding::Local, &hints) {
            return Ok(text);
        }
    }
    // 2. Full detail (a small code in a large frame, or an image that was small already).
    if let Some(text) = scan(detail, Thresholding::Local, &hints) {
        return Ok(text);
    }
    // 3. Smoothed (sensor noise, JPEG blocks), then 4. one global threshold
    //    (blur, low contrast), both on the overview.
    scan(&image::imageops::blur(overview, 1.0), Thresholding::Local, &hints)
        .or_else(|| scan(overview, Thresholding::Global, &hints))
        .ok_or(QrError::NoQrCode)
}

/// `img` scaled down to fit `max_side`, or `None` if it already fits.
fn fit_within(img: &GrayImage, max_side: u32) -> Option<GrayImage> {
    let longest = img.width().max(img.height());
    (longest > max_side).then(|| {
        let ratio = f64::from(max_side) / f64::from(longest);
        // Both results are at most max_side, so the casts are exact.
        let scaled = |side: u32| ((f64::from(side) * ratio).round() as u32).max(1);
        image::imageops::thumbnail(img, scaled(img.width()), scaled(img.height()))
    })
}

/// Decodes PNG/JPEG bytes to 8-bit greyscale, refusing oversized input
/// before any large allocation.
fn load_greyscale(image_bytes: &[u8]) -> Result<GrayImage, QrError> {
    let too_large = |width, height| QrError::ImageTooLarge { width, height, bytes: image_bytes.len() };
    if image_bytes.len() > MAX_IMAGE_BYTES {
        return Err(too_large(0, 0));
    }
    let reader = || {
        let reader = ImageReader::new(Cursor::new(image_bytes))
            .with_guessed_format()
            .map_err(|e| QrError::UnreadableImage(e.to_string()))?;
        match reader.format() {
            Some(_) => Ok(reader),
            None => Err(QrError::UnreadableImage("not a PNG or JPEG image".to_owned())),
        }
    };
    let (width, height) = reader()?.into_dimensions().map_err(|e| QrError::UnreadableImage(e.to_string()))?;
    if u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS || width.max(height) > MAX_IMAGE_SIDE {
        return Err(too_large(width, height));
    }
    let mut reader = reader()?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    limits.max_alloc = Some(MAX_DECODE_ALLOC_BYTES);
    reader.limits(limits);
    let img = reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => too_large(width, height),
        other => QrError::UnreadableImage(other.to_string()),
    })?;
    Ok(img.into_luma8())
}

/// How the greyscale image is turned black and white.
#[derive(Debug, Clone, Copy)]
enum Thresholding {
    /// ZXing's hybrid binarizer: local thresholds per block (uneven light).
    Local,
    /// One histogram-based threshold (blurry or low-contrast images).
    Global,
}

/// One decoding attempt. `None` when no QR code decodes.
fn scan(img: &GrayImage, thresholding: Thresholding, hints: &DecodeHints) -> Option<String> {
    let source = Luma8LuminanceSource::new(img.as_raw().clone(), img.width(), img.height());
    // rxing is a large port with index arithmetic on untrusted pixels: a panic
    // inside it must become "not decoded", not a crash of the caller.
    let outcome = catch_unwind(AssertUnwindSafe(|| match thresholding {
        Thresholding::Local => read(BinaryBitmap::new(HybridBinarizer::new(source)), hints),
        Thresholding::Global => read(BinaryBitmap::new(GlobalHistogramBinarizer::new(source)), hints),
    }));
    outcome.ok().flatten()
}

fn read<B: Binarizer>(mut bitmap: BinaryBitmap<B>, hints: &DecodeHints) -> Option<String> {
    let result = MultiFormatReader::default().decode_with_hints(&mut bitmap, hints).ok()?;
    (*result.getBarcodeFormat() == BarcodeFormat::QR_CODE).then(|| result.getText().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_grows_with_the_text_and_is_capped() {
        assert_eq!(qr_version("EC1:ABC"), Ok(1));
        // ISO/IEC 18004 capacities (alphanumeric): 15-M 600, 22-M 1 134, 22-L 1 460.
        assert_eq!(qr_version(&"A".repeat(600)), Ok(15));
        assert_eq!(qr_version(&"A".repeat(601)), Ok(16));
        assert_eq!(qr_version(&"A".repeat(1134)), Ok(22));
        assert_eq!(qr_version(&"A".repeat(1135)), Ok(23));
        assert!(render_png(&"A".repeat(1134), 1).is_ok());
        assert_eq!(render_png(&"A".repeat(1135), 1), Err(QrError::TooLarge { version: 23 }));
        assert_eq!(render_svg(&"A".repeat(1135)), Err(QrError::TooLarge { version: 23 }));
        assert_eq!(qr_version(&"A".repeat(5000)), Err(QrError::DataTooLong));
        assert_eq!(qr_version_at(&"A".repeat(1460), EcLevel::L), Ok(22));
        assert_eq!(qr_version_at(&"A".repeat(1461), EcLevel::L), Ok(23));
    }

    #[test]
    fn png_geometry_is_modules_plus_quiet_zone_times_scale() {
        let png = render_png("EC1:ABC", 3).expect("renders");
        let img = image::load_from_memory(&png).expect("valid PNG").into_luma8();
        // Version 1 is 21 modules wide.
        assert_eq!(img.dimensions(), ((21 + 2 * QUIET_ZONE_MODULES) * 3, (21 + 2 * QUIET_ZONE_MODULES) * 3));
        assert!(img.pixels().all(|p| p.0[0] == 0 || p.0[0] == 255));
        // Quiet zone is white, the top-left finder pattern black.
        assert_eq!(img.get_pixel(11, 11).0[0], 255);
        assert_eq!(img.get_pixel(12, 12).0[0], 0);
        assert_eq!(render_png("x", 0), Err(QrError::InvalidScale(0)));
        assert_eq!(render_png("x", MAX_SCALE + 1), Err(QrError::InvalidScale(MAX_SCALE + 1)));
    }

    #[test]
    fn svg_is_a_black_on_white_document() {
        let svg = render_svg("EC1:ABC").expect("renders");
        assert!(svg.contains("<svg") && svg.contains(r##"fill="#000""##) && svg.contains(r##"fill="#fff""##));
        assert!(svg.contains(r#"width="232""#), "(21 + 8) modules × 8");
    }

    #[test]
    fn oversized_input_is_refused_before_decoding() {
        let big = vec![0u8; MAX_IMAGE_BYTES + 1];
        assert_eq!(decode_image(&big).map_err(|e| e.code()), Err("image_too_large"));
        // A valid PNG header claiming 10 000 × 10 000 pixels (100 MP).
        let mut png = Vec::new();
        let img = GrayImage::new(1, 1);
        image::codecs::png::PngEncoder::new(&mut png)
            .write_image(img.as_raw(), 1, 1, image::ExtendedColorType::L8)
            .expect("encodes");
        // IHDR: length 8..12, type 12..16, width 16..20, height 20..24, CRC 29..33.
        png[16..20].copy_from_slice(&10_000u32.to_be_bytes());
        png[20..24].copy_from_slice(&10_000u32.to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(&png[12..29]);
        png[29..33].copy_from_slice(&crc.sum().to_be_bytes());
        assert_eq!(decode_image(&png), Err(QrError::ImageTooLarge { width: 10_000, height: 10_000, bytes: png.len() }));
    }

    /// A real PNG, all black, written row by row so the test never holds the
    /// decoded image: `color` 6 = RGBA, `depth` 8 or 16 bits per channel.
    fn black_png(width: u32, height: u32, color: u8, depth: u8) -> Vec<u8> {
        use std::io::Write as _;
        fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
            out.extend_from_slice(&u32::try_from(data.len()).expect("small chunk").to_be_bytes());
            let start = out.len();
            out.extend_from_slice(kind);
            out.extend_from_slice(data);
            let mut crc = flate2::Crc::new();
            crc.update(&out[start..]);
            out.extend_from_slice(&crc.sum().to_be_bytes());
        }
        let channels: usize = if color == 6 { 4 } else { 1 };
        let row_bytes = 1 + width as usize * channels * usize::from(depth / 8);
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        let row = vec![0u8; row_bytes];
        for _ in 0..height {
            zlib.write_all(&row).expect("in memory");
        }
        let idat = zlib.finish().expect("in memory");
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[depth, color, 0, 0, 0]);
        chunk(&mut png, b"IHDR", &ihdr);
        for part in idat.chunks(1 << 20) {
            chunk(&mut png, b"IDAT", part);
        }
        chunk(&mut png, b"IEND", &[]);
        png
    }

    #[test]
    fn a_small_png_that_decodes_to_hundreds_of_megabytes_is_refused_unallocated() {
        // 9,600 × 9,600 RGBA: 369 MB decoded, a few hundred KB as a file.
        let png = black_png(9_600, 9_600, 6, 8);
        assert!(png.len() < 1024 * 1024, "the bomb is small: {} bytes", png.len());
        assert_eq!(decode_image(&png), Err(QrError::ImageTooLarge { width: 9_600, height: 9_600, bytes: png.len() }));
        // Within the pixel limit but 16-bit RGBA: 5,000 × 5,000 × 8 bytes = 200 MB,
        // over the decoder's allocation limit (refused before the buffer exists).
        let deep = black_png(5_000, 5_000, 6, 16);
        assert_eq!(decode_image(&deep).map_err(|e| e.code()), Err("image_too_large"));
        // A long thin strip: few pixels, one side over the limit.
        let strip = black_png(MAX_IMAGE_SIDE + 1, 1, 0, 8);
        assert_eq!(decode_image(&strip).map_err(|e| e.code()), Err("image_too_large"));
        // A phone-sized black photo is decoded (and has no QR code in it).
        let photo = black_png(4_000, 3_000, 6, 8);
        assert_eq!(decode_image(&photo), Err(QrError::NoQrCode));
    }
}
