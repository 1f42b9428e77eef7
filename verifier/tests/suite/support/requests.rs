//! The issuance requests the verifier tests send to a real issuer.

use chrono::Utc;
use serde_json::{json, Value};

/// A valid health-certificate request, examined today (so the certificate is current).
pub fn health_request() -> Value {
    json!({
        "fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
        "idNumber": "11010519491231002X", "examinationDate": Utc::now().date_naive().format("%Y-%m-%d").to_string(),
        "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified", "occupation": "food-service"
    })
}
