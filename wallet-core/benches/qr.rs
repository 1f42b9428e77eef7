//! Compact QR form and QR images on the signed sample health certificate:
//! `cargo bench -p wallet-core --bench qr`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use image::ImageEncoder as _;
use serde_json::Value;
use wallet_core::{compact, qr};

fn signed_sample() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/qr/sample-health-certificate.signed.json"
    );
    let text = std::fs::read_to_string(path).expect("fixture present");
    serde_json::from_str(&text).expect("fixture is JSON")
}

/// The saved distorted fixture: rotated 7°, blurred, noisy, JPEG quality 60.
fn distorted_photo() -> Vec<u8> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/qr/images/sample-rotated-photo-q60.jpg"
    );
    std::fs::read(path).expect("fixture present")
}

fn benches(c: &mut Criterion) {
    let vc = signed_sample();
    let text = compact::encode_credential(&vc).expect("sample encodes");
    let png = qr::render_png(&text, 4).expect("renders");
    let photo = distorted_photo();
    assert_eq!(
        qr::decode_image(&photo).as_deref(),
        Ok(text.as_str()),
        "fixture matches the encoder"
    );

    c.bench_function("encode_credential", |b| {
        b.iter(|| compact::encode_credential(black_box(&vc)))
    });
    c.bench_function("decode_credential", |b| {
        b.iter(|| compact::decode_credential(black_box(&text)))
    });
    c.bench_function("render_png (scale 4)", |b| {
        b.iter(|| qr::render_png(black_box(&text), 4))
    });
    c.bench_function("render_svg", |b| {
        b.iter(|| qr::render_svg(black_box(&text)))
    });

    let mut group = c.benchmark_group("decode_image");
    group.sample_size(20);
    group.bench_function("clean render", |b| {
        b.iter(|| qr::decode_image(black_box(&png)))
    });
    group.bench_function("distorted photo (7°, blur, noise, JPEG q60)", |b| {
        b.iter(|| qr::decode_image(black_box(&photo)))
    });
    // Worst case: nothing to find, so every retry runs.
    let blank = image::GrayImage::from_pixel(400, 400, image::Luma([255]));
    let mut blank_png = Vec::new();
    image::codecs::png::PngEncoder::new(&mut blank_png)
        .write_image(blank.as_raw(), 400, 400, image::ExtendedColorType::L8)
        .expect("in memory");
    group.bench_function("no code (400×400 blank)", |b| {
        b.iter(|| qr::decode_image(black_box(&blank_png)))
    });
    group.finish();
}

criterion_group!(qr_benches, benches);
criterion_main!(qr_benches);
