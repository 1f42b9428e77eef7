//! The 证照标识 check of a verification report: the identifier a credential
//! carries ([`crate::licence_id`]) is well formed with the right check
//! character, its type code is the one the credential type's definition
//! gives, and its issuing authority is the credit code of the issuer
//! certificate the trust list names (when one is known).

use serde_json::Value;

use crate::credential_type::TypeRegistry;
use crate::licence_id::LicenceId;
use crate::report::CheckResult;

/// The outcome for `vc`, read with `types`; `authority` is the credit code
/// of the issuer certificate that vouched for the signing key, if any.
pub fn check_licence_id(vc: &Value, types: &TypeRegistry, authority: Option<&str>) -> CheckResult {
    let definition = types.for_credential(vc);
    let id = match LicenceId::of_credential(vc) {
        None => {
            return CheckResult::unchecked(
                "no_licence_id",
                "凭证未携带证照标识（签发时未配置，或签发于启用证照标识之前）",
                "the credential carries no licence identifier (none was configured, or it predates them)",
            )
        }
        Some(Err(e)) => {
            return CheckResult::invalid(
                e.code(),
                format!("证照标识无效：{}", e.message_zh()),
                format!("the licence identifier is invalid: {e}"),
            )
        }
        Some(Ok(id)) => id,
    };
    if let Some(def) = &definition {
        if def.licence_type_code.as_ref() != Some(id.type_code()) {
            let expected = def.licence_type_code.as_ref().map_or_else(|| "（无）".to_owned(), ToString::to_string);
            return CheckResult::invalid(
                "licence_id_type_mismatch",
                format!("证照标识的类型代码 {} 与“{}”的类型代码 {expected} 不符", id.type_code(), def.name.zh),
                format!(
                    "the identifier's type code {} is not the type code of “{}” ({})",
                    id.type_code(),
                    def.name.en,
                    def.licence_type_code.as_ref().map_or_else(|| "none".to_owned(), ToString::to_string)
                ),
            );
        }
    }
    if let Some(authority) = authority {
        if id.issuer().as_str() != authority {
            return CheckResult::invalid(
                "licence_id_authority_mismatch",
                format!("证照标识的颁发机构代码 {} 与签发机构证书中的统一社会信用代码 {authority} 不符", id.issuer().as_str()),
                format!(
                    "the identifier's issuing authority {} is not the credit code in the issuer's certificate ({authority})",
                    id.issuer().as_str()
                ),
            );
        }
    }
    CheckResult::Valid
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AUTHORITY: &str = "11430000006122244L";

    fn health_certificate(licence_id: &str) -> Value {
        json!({"type": ["VerifiableCredential", "HealthCertificate"], "licenceId": licence_id})
    }

    fn valid_id() -> String {
        let types = TypeRegistry::shipped().unwrap();
        let code = types.by_type("HealthCertificate").unwrap().licence_type_code.clone().unwrap();
        let authority = crate::credential::UnifiedSocialCreditCode::parse(AUTHORITY).unwrap();
        LicenceId::new(code, authority, "17", 1).unwrap().to_string()
    }

    #[test]
    fn a_matching_identifier_is_valid() {
        let types = TypeRegistry::shipped().unwrap();
        let vc = health_certificate(&valid_id());
        assert_eq!(check_licence_id(&vc, &types, Some(AUTHORITY)), CheckResult::Valid);
        assert_eq!(check_licence_id(&vc, &types, None), CheckResult::Valid, "no certificate: authority unknown");
    }

    #[test]
    fn a_wrong_check_character_authority_or_type_code_fails() {
        let types = TypeRegistry::shipped().unwrap();
        let good = valid_id();
        let (body, check) = good.split_at(good.len() - 1);
        let other = if check == "0" { "1" } else { "0" };
        let vc = health_certificate(&format!("{body}{other}"));
        assert_eq!(check_licence_id(&vc, &types, Some(AUTHORITY)).invalid_code(), Some("licence_id_check"));

        let vc = health_certificate(&good);
        let result = check_licence_id(&vc, &types, Some("9144030071526726XG"));
        assert_eq!(result.invalid_code(), Some("licence_id_authority_mismatch"));

        // The food business licence's type code on a health certificate.
        let food = types.by_type("FoodBusinessLicence").unwrap().licence_type_code.clone().unwrap();
        let authority = crate::credential::UnifiedSocialCreditCode::parse(AUTHORITY).unwrap();
        let wrong_type = LicenceId::new(food, authority, "17", 1).unwrap().to_string();
        let result = check_licence_id(&health_certificate(&wrong_type), &types, Some(AUTHORITY));
        assert_eq!(result.invalid_code(), Some("licence_id_type_mismatch"));

        let vc = json!({"type": ["VerifiableCredential", "HealthCertificate"], "licenceId": ["x"]});
        assert_eq!(check_licence_id(&vc, &types, None).invalid_code(), Some("licence_id_format"));
    }

    #[test]
    fn a_credential_without_one_is_unchecked() {
        let types = TypeRegistry::shipped().unwrap();
        let vc = json!({"type": ["VerifiableCredential", "HealthCertificate"]});
        assert!(
            matches!(check_licence_id(&vc, &types, None), CheckResult::Unchecked { code, .. } if code == "no_licence_id")
        );
    }
}
