//! The issuance requests the service tests send.

use serde_json::{json, Value};

/// A valid health-certificate request (the domain API's `POST /api/v1/health-certificates`).
pub fn health_request() -> Value {
    json!({
        "fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan", "sex": "F", "birthDate": "1991-07-23",
        "idNumber": "11010519491231002X", "examinationDate": "2026-03-12",
        "examiningInstitution": "广州市越秀区疾病预防控制中心", "examinationResult": "qualified"
    })
}
