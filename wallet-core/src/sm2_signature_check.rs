//! The signature check of [`crate::verification::verify_credential`] for an
//! `sm2-rdfc-2026` proof ([`crate::sm2_rdfc_2026`]), as a report entry with the
//! codes a P-256 proof gets: `bad_signature` (no match, or an unreadable
//! `proofValue`), `unsupported_key` (the verification method is not an SM2
//! `did:key`), the budget's codes. The issuer-trust check that follows is the
//! same for both suites: it binds the proof's `did:key` to the certificate
//! whose key it is, so an SM2 certificate never vouches for a P-256 proof (the
//! `did:key`s differ) and an SM2 proof names only an SM2 key (else
//! `unsupported_key` here).

use serde_json::Value;

use crate::contexts::BundledLoader;
use crate::report::CheckResult;
use crate::sm2_rdfc_2026::{self, Sm2Error, Verdict, CRYPTOSUITE};

/// The members an `sm2-rdfc-2026` proof may have. Others (`expires`,
/// `challenge`, `domain`, `nonce`, `previousProof`, an own `@context`) would be
/// signed but not checked, so a proof carrying them is refused.
const PROOF_MEMBERS: [&str; 7] =
    ["type", "cryptosuite", "created", "verificationMethod", "proofPurpose", "proofValue", "id"];

/// `None` when no proof of `proof` (one object or a set) is an
/// `sm2-rdfc-2026` proof: another suite's check decides. Otherwise the
/// signature check's result. An SM2 proof is accepted only as the credential's
/// one proof. `unsecured` is the canonical unsecured document when the caller
/// has it already.
pub(crate) async fn check(
    loader: &BundledLoader,
    vc: &Value,
    proof: &Value,
    unsecured: Option<&str>,
) -> Option<CheckResult> {
    let is_sm2 = |p: &Value| p.get("cryptosuite").and_then(Value::as_str) == Some(CRYPTOSUITE);
    match proof {
        Value::Array(set) if set.iter().any(is_sm2) => {
            return Some(CheckResult::invalid(
                "unsupported_cryptosuite",
                "sm2-rdfc-2026 签名只能作为凭证唯一的签名，不能放在签名集合中",
                "an sm2-rdfc-2026 proof is accepted only as the credential's one proof, not in a proof set",
            ))
        }
        p if !is_sm2(p) => return None,
        _ => {}
    }
    if let Some(extra) = proof.as_object().and_then(|p| p.keys().find(|k| !PROOF_MEMBERS.contains(&k.as_str()))) {
        let extra: String = extra.chars().take(40).collect();
        return Some(CheckResult::invalid(
            "unsupported_proof_member",
            format!("sm2-rdfc-2026 签名含有不支持的成员 {extra}"),
            format!("the sm2-rdfc-2026 proof has a member this verifier does not check: {extra}"),
        ));
    }
    Some(match sm2_rdfc_2026::verify_proof(loader, vc, proof, unsecured).await {
        Ok(Verdict::Valid) => CheckResult::Valid,
        Ok(Verdict::Mismatch) => CheckResult::invalid(
            "bad_signature",
            "签名无效：凭证内容被改动或不是由该密钥签发",
            "the signature does not match: the content was altered or not signed by this key",
        ),
        Err(Sm2Error::NotSm2DidKey(method)) => CheckResult::invalid(
            "unsupported_key",
            format!("无法使用签名密钥：sm2-rdfc-2026 签名的验证方法不是 SM2 did:key（{method}）"),
            format!("the signing key cannot be used: an sm2-rdfc-2026 proof must name an SM2 did:key ({method})"),
        ),
        Err(Sm2Error::ProofValue) => CheckResult::invalid(
            "bad_signature",
            "签名无法解析：proofValue 不是 base58btc 编码的 64 字节 SM2 签名",
            "the signature cannot be read: proofValue is not a base58btc 64-byte SM2 signature",
        ),
        Err(Sm2Error::ProofPurpose) => CheckResult::invalid(
            "wrong_proof_purpose",
            "签名用途不符：应为 assertionMethod",
            "the proof's purpose is not assertionMethod",
        ),
        Err(Sm2Error::Canonicalization(e)) if e.is_limit() => {
            CheckResult::Invalid { code: e.code().to_owned(), reason: e.message() }
        }
        Err(e) => CheckResult::invalid(
            "bad_signature",
            format!("签名无法验证：{e}"),
            format!("the signature cannot be verified: {e}"),
        ),
    })
}

/// A presentation's proofs are the holder's, and holders sign with P-256:
/// an `sm2-rdfc-2026` proof on a presentation is refused
/// (`unsupported_cryptosuite`) rather than handed to a verifier that does not
/// know the suite.
pub(crate) fn refuse_on_presentation(proof: &Value) -> Option<CheckResult> {
    let entries: Vec<&Value> = match proof {
        Value::Array(set) => set.iter().collect(),
        one => vec![one],
    };
    entries.iter().any(|p| p.get("cryptosuite").and_then(Value::as_str) == Some(CRYPTOSUITE)).then(|| {
        CheckResult::invalid(
            "unsupported_cryptosuite",
            "出示凭证不接受 sm2-rdfc-2026 签名（持有人密钥为 P-256）",
            "an sm2-rdfc-2026 proof is not accepted on a presentation (holder keys are P-256)",
        )
    })
}
