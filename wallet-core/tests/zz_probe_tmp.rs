use image::{GrayImage, ImageEncoder as _, Luma};
use rand::{Rng, SeedableRng};
use std::f64::consts::PI;
include!("/tmp/probe/helpers.rs");
fn png(img: &GrayImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::L8,
        )
        .unwrap();
    out
}
fn jpg(img: &GrayImage, q: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q)
        .encode_image(img)
        .unwrap();
    out
}
#[test]
fn probe() {
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/qr/sample-health-certificate.signed.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let text = wallet_core::compact::encode_credential(&v).unwrap();
    let clean = image::load_from_memory(&wallet_core::qr::render_png(&text, 4).unwrap())
        .unwrap()
        .into_luma8();
    let scale = |img: &GrayImage, f: f64| {
        image::imageops::resize(
            img,
            (img.width() as f64 * f) as u32,
            (img.height() as f64 * f) as u32,
            image::imageops::FilterType::Triangle,
        )
    };
    let cases: Vec<(String, Vec<u8>)> = vec![
        ("rot45".into(), png(&rotate(&clean, 45.0))),
        ("rot7 at 50%".into(), png(&rotate(&scale(&clean, 0.5), 7.0))),
        ("scale 35%".into(), png(&scale(&clean, 0.35))),
        ("scale 30%".into(), png(&scale(&clean, 0.30))),
        ("scale 25%".into(), png(&scale(&clean, 0.25))),
        ("blur 1.5".into(), png(&image::imageops::blur(&clean, 1.5))),
        ("blur 2".into(), png(&image::imageops::blur(&clean, 2.0))),
        ("blur 3".into(), png(&image::imageops::blur(&clean, 3.0))),
        ("noise 10%".into(), png(&salt_and_pepper(&clean, 0.10, 9))),
        ("noise 20%".into(), png(&salt_and_pepper(&clean, 0.20, 9))),
        ("noise 30%".into(), png(&salt_and_pepper(&clean, 0.30, 9))),
        ("jpeg q30".into(), jpg(&clean, 30)),
        ("jpeg q10".into(), jpg(&clean, 10)),
        ("jpeg q5".into(), jpg(&clean, 5)),
        ("50% + jpeg q40".into(), jpg(&scale(&clean, 0.5), 40)),
        (
            "inverted".into(),
            png(&GrayImage::from_fn(
                clean.width(),
                clean.height(),
                |x, y| Luma([255 - clean.get_pixel(x, y).0[0]]),
            )),
        ),
        (
            "low contrast 100..160".into(),
            png(&GrayImage::from_fn(
                clean.width(),
                clean.height(),
                |x, y| Luma([100 + (clean.get_pixel(x, y).0[0] as u32 * 60 / 255) as u8]),
            )),
        ),
        ("upscale 3x (3000px)".into(), png(&scale(&clean, 3.0))),
    ];
    for (name, bytes) in cases {
        let t0 = std::time::Instant::now();
        let r = wallet_core::qr::decode_image(&bytes);
        println!(
            "{name:28} {:8} {:?}",
            match &r {
                Ok(t) if *t == text => "OK",
                Ok(_) => "WRONG",
                Err(_) => "fail",
            },
            t0.elapsed()
        );
    }
}
