use serde_json::{Map, Value};
use wallet_core::compact;
fn size(v: &Value) -> usize {
    compact::encode_cbor(v).unwrap().len()
}
fn walk(prefix: &str, v: &Value) {
    if let Value::Object(m) = v {
        for (k, x) in m {
            let mut one = Map::new();
            one.insert(k.clone(), x.clone());
            println!("{prefix}{k}: {}", size(&Value::Object(one)) - 1);
            if x.is_object() {
                walk(&format!("{prefix}  "), x)
            }
            if let Value::Array(a) = x {
                for i in a {
                    walk(&format!("{prefix}  - "), i)
                }
            }
        }
    }
}
#[test]
fn probe() {
    let v: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/qr/sample-health-certificate.signed.json"
        ))
        .unwrap(),
    )
    .unwrap();
    walk("", &v);
    let c = compact::encode_cbor(&v).unwrap();
    std::fs::write("/tmp/probe/sample.cbor", &c).unwrap();
}
