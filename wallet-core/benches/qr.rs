//! Compact QR form and QR images on the signed sample health certificate:
//! `cargo bench --profile dev -p wallet-core --bench qr`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)] // test code: a panic is a failure report

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use image::ImageEncoder as _;
use serde_json::Value;
use wallet_core::{compact, qr};

fn signed_sample() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/qr/sample-health-certificate.signed.json");
    let text = std::fs::read_to_string(path).expect("fixture present");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// The saved distorted fixture: rotated −12°, blurred, noisy, JPEG quality 60.
fn distorted_photo() -> Vec<u8> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/qr/images/sample-rotated-photo-q60.jpg");
    std::fs::read(path).expect("fixture present")
}

/// A synthetic 8-megapixel phone photo (3264×2448, JPEG quality 85): a
/// shaded, grainy background with the code (10 px per module) off-centre.
fn phone_photo(text: &str) -> Vec<u8> {
    let code = image::load_from_memory(&qr::render_png(text, 10).expect("renders")).expect("PNG").into_luma8();
    let mut photo = image::GrayImage::from_fn(3264, 2448, |x, y| {
        let shade = 150.0 + 50.0 * (f64::from(x) / 900.0).sin() * (f64::from(y) / 700.0).cos();
        let grain = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)) % 17;
        // shade + grain stays within 100..=217.
        image::Luma([(shade as u32 + grain) as u8])
    });
    image::imageops::overlay(&mut photo, &code, 1400, 900);
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85).encode_image(&photo).expect("in memory");
    jpeg
}

fn benches(c: &mut Criterion) {
    let vc = signed_sample();
    let text = compact::encode_credential(&vc).expect("sample encodes");
    let png = qr::render_png(&text, 4).expect("renders");
    let photo = distorted_photo();
    let phone = phone_photo(&text);
    assert_eq!(qr::decode_image(&phone).as_deref(), Ok(text.as_str()), "phone photo decodes");
    assert_eq!(qr::decode_image(&photo).as_deref(), Ok(text.as_str()), "fixture matches the encoder");

    c.bench_function("encode_credential", |b| b.iter(|| compact::encode_credential(black_box(&vc))));
    c.bench_function("decode_credential", |b| b.iter(|| compact::decode_credential(black_box(&text))));
    c.bench_function("render_png (scale 4)", |b| b.iter(|| qr::render_png(black_box(&text), 4)));
    c.bench_function("render_svg", |b| b.iter(|| qr::render_svg(black_box(&text))));

    let mut group = c.benchmark_group("decode_image");
    group.sample_size(20);
    group.bench_function("clean render", |b| b.iter(|| qr::decode_image(black_box(&png))));
    group.bench_function("distorted (−12°, blur, noise, JPEG q60)", |b| {
        b.iter(|| qr::decode_image(black_box(&photo)))
    });
    group.bench_function("8 MP phone photo (JPEG)", |b| b.iter(|| qr::decode_image(black_box(&phone))));
    // Worst case: nothing to find, so every retry runs.
    let blank = image::GrayImage::from_pixel(400, 400, image::Luma([255]));
    let mut blank_png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut blank_png)
        .write_image(blank.as_raw(), 400, 400, image::ExtendedColorType::L8)
        .expect("in memory");
    group.bench_function("no code (400×400 blank)", |b| b.iter(|| qr::decode_image(black_box(&blank_png))));
    group.finish();
}

criterion_group!(qr_benches, benches);
criterion_main!(qr_benches);
