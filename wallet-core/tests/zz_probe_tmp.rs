use std::f64::consts::PI;
use image::{GrayImage, ImageEncoder as _, Luma};
use rand::{Rng, SeedableRng};
include!("/tmp/probe/helpers.rs");
fn png(img: &GrayImage) -> Vec<u8> { let mut out = Vec::new(); image::codecs::png::PngEncoder::new(&mut out).write_image(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::L8).unwrap(); out }
fn jpg(img: &GrayImage, q: u8) -> Vec<u8> { let mut out = Vec::new(); image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q).encode_image(img).unwrap(); out }
#[test]
fn probe() {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/qr/sample-health-certificate.signed.json")).unwrap()).unwrap();
    let text = wallet_core::compact::encode_credential(&v).unwrap();
    let clean = image::load_from_memory(&wallet_core::qr::render_png(&text, 4).unwrap()).unwrap().into_luma8();
    let scale = |img: &GrayImage, f: f64| image::imageops::resize(img, (img.width() as f64 * f) as u32, (img.height() as f64 * f) as u32, image::imageops::FilterType::Triangle);
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    let mut photo_big = GrayImage::from_fn(4000, 3000, |x, y| Luma([(120.0 + 60.0 * ((x as f64) / 700.0).sin() * ((y as f64) / 500.0).cos()) as u8 + rng.gen_range(0..20)]));
    let mut photo_small_code = photo_big.clone();
    let big_code = rotate(&image::load_from_memory(&wallet_core::qr::render_png(&text, 12).unwrap()).unwrap().into_luma8(), 5.0);
    image::imageops::overlay(&mut photo_big, &big_code, 1500, 800);
    let small_code = rotate(&image::load_from_memory(&wallet_core::qr::render_png(&text, 4).unwrap()).unwrap().into_luma8(), 5.0);
    image::imageops::overlay(&mut photo_small_code, &small_code, 2500, 1800);
    let noise = GrayImage::from_fn(4000, 3000, |_, _| Luma([rng.gen()]));
    let cases: Vec<(String, Vec<u8>)> = vec![
        ("12MP photo, code 1/3 of frame".into(), jpg(&photo_big, 85)),
        ("12MP photo, small code (4px/module)".into(), jpg(&photo_small_code, 85)),
        ("12MP noise".into(), jpg(&noise, 85)),
        ("rot45".into(), png(&rotate(&clean, 45.0))),
        ("rot7 at 50%".into(), png(&rotate(&scale(&clean, 0.5), 7.0))),
        ("scale 35%".into(), png(&scale(&clean, 0.35))),
        ("blur 1.5".into(), png(&image::imageops::blur(&clean, 1.5))),
        ("blur 2".into(), png(&image::imageops::blur(&clean, 2.0))),
        ("noise 10%".into(), png(&salt_and_pepper(&clean, 0.10, 9))),
        ("noise 20%".into(), png(&salt_and_pepper(&clean, 0.20, 9))),
        ("noise 30%".into(), png(&salt_and_pepper(&clean, 0.30, 9))),
        ("jpeg q30".into(), jpg(&clean, 30)),
        ("jpeg q10".into(), jpg(&clean, 10)),
        ("jpeg q5".into(), jpg(&clean, 5)),
        ("50% + jpeg q40".into(), jpg(&scale(&clean, 0.5), 40)),
        ("upscale 3x (1020px)".into(), png(&scale(&clean, 3.0))),
        ("upscale 8x (2720px)".into(), png(&scale(&clean, 8.0))),
    ];
    for (name, bytes) in cases {
        let t0 = std::time::Instant::now();
        let r = wallet_core::qr::decode_image(&bytes);
        println!("{name:38} {:6} {:?}", match &r { Ok(t) if *t == text => "OK", Ok(_) => "WRONG", Err(_) => "fail" }, t0.elapsed());
    }
}
