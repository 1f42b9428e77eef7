//! Every string the web pages show, in one catalogue: each entry has its
//! Chinese and its English text side by side, so a missing translation is a
//! compile error (and an empty one fails `every_entry_has_both_languages`).
//!
//! The services pick [`Texts`] for the reader's [`Lang`] and templates use the
//! fields (`{{ t.sign_in }}`). No web framework here: only the text.

use crate::credential_type::TypeRegistry;
use crate::report::{CheckResult, VerificationReport};

/// A page language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// 中文 (the default).
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// `zh` or `en`; anything else (or nothing) is `None`.
    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "zh" | "zh-cn" | "zh-hans" => Some(Lang::Zh),
            "en" | "en-us" | "en-gb" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language asked for in the query string, else the cookie, else the
    /// first of `Accept-Language` we speak, else Chinese.
    pub fn choose(query: Option<&str>, cookie: Option<&str>, accept_language: Option<&str>) -> Lang {
        query
            .and_then(Lang::parse)
            .or_else(|| cookie.and_then(Lang::parse))
            .or_else(|| {
                accept_language?.split(',').find_map(|part| {
                    let tag = part.split(';').next().unwrap_or("").trim();
                    Lang::parse(tag).or_else(|| Lang::parse(tag.split('-').next().unwrap_or("")))
                })
            })
            .unwrap_or_default()
    }

    /// The short code used in URLs and cookies.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }

    /// The `lang` attribute of the page.
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// The other language (for the switch link).
    pub fn other(self) -> Lang {
        match self {
            Lang::Zh => Lang::En,
            Lang::En => Lang::Zh,
        }
    }

    /// The catalogue in this language.
    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    /// Pick one side of a [`crate::localized::Localized`].
    pub fn pick(self, text: &crate::localized::Localized) -> &str {
        match self {
            Lang::Zh => &text.zh,
            Lang::En => &text.en,
        }
    }
}

macro_rules! catalogue {
    ($( $key:ident => $zh:literal, $en:literal; )*) => {
        /// The page strings in one language.
        #[derive(Debug)]
        #[allow(missing_docs)]
        pub struct Texts {
            $( pub $key: &'static str, )*
        }

        /// 中文
        pub const ZH: Texts = Texts { $( $key: $zh, )* };
        /// English
        pub const EN: Texts = Texts { $( $key: $en, )* };

        /// Every entry as `(key, zh, en)`, for tests and translators.
        pub fn entries() -> Vec<(&'static str, &'static str, &'static str)> {
            vec![ $( (stringify!($key), $zh, $en), )* ]
        }
    };
}

catalogue! {
    language_name => "中文", "English";
    switch_language => "English", "中文";
    switch_language_label => "切换语言 / Switch language", "Switch language / 切换语言";
    skip_to_content => "跳到正文", "Skip to content";
    issuer_title => "电子健康证明签发系统", "e-Certificate issuing service";
    verifier_title => "电子证照核验", "e-Certificate inspection";
    // sign-in
    sign_in => "登录", "Sign in";
    sign_out => "退出登录", "Sign out";
    username => "用户名", "Username";
    password => "密码", "Password";
    signed_in_as => "当前用户", "Signed in as";
    bad_credentials => "用户名或密码错误", "Wrong username or password";
    account_locked => "连续输错密码次数过多，账户已锁定，请联系管理员解锁", "Too many wrong passwords: the account is locked; ask an administrator to unlock it";
    csrf_failed => "表单已过期或来源不明，请刷新页面后重新提交", "The form has expired or did not come from this site; reload the page and submit again";
    sign_in_required => "请先登录", "Please sign in first";
    // navigation
    nav_certificates => "已签发凭证", "Issued credentials";
    nav_new_certificate => "签发健康证明", "Issue a health certificate";
    nav_new_licence => "签发食品经营许可证", "Issue a food business licence";
    nav_other_types => "签发其他证照", "Issue other credentials";
    list_hint => "每行一项", "One item per line";
    nav_audit => "审计", "Audit";
    nav_lookup => "按身份证号查询", "Look up by ID number";
    lookup_help => "输入持证人姓名和身份证号码，在本机构签发的凭证中比对加盐摘要；号码不会被保存或记录（只查找最近签发的 1000 份）", "Type the holder's name and ID number: they are matched against the salted digests of this issuer's credentials and never stored or logged (searches the newest 1000)";
    lookup_button => "查询", "Look up";
    lookup_found => "找到该持证人的凭证", "Credentials found for this holder";
    lookup_not_found => "未找到与该姓名和身份证号码相符的凭证", "No credential matches this name and ID number";
    // issuance form
    health_certificate => "健康证明", "Health certificate";
    food_business_licence => "食品经营许可证", "Food business licence";
    full_name => "姓名", "Name";
    full_name_pinyin => "姓名拼音", "Name in pinyin";
    full_name_pinyin_hint => "大写姓 + 名，如 OUYANG Xiaoyan", "Surname in capitals, then given name, e.g. OUYANG Xiaoyan";
    sex => "性别", "Sex";
    sex_m => "男", "Male";
    sex_f => "女", "Female";
    birth_date => "出生日期", "Date of birth";
    id_number => "身份证号码", "ID card number";
    id_number_hint => "只保存以部门密钥计算的摘要，不保存号码本身", "Only a digest under the department key is kept, never the number";
    examination_date => "体检日期", "Examination date";
    examining_institution => "体检机构", "Examining institution";
    examination_result => "体检结论", "Examination result";
    result_qualified => "合格", "Qualified";
    occupation => "从业类别", "Occupation";
    optional => "（选填）", "(optional)";
    date_hint => "格式 YYYY-MM-DD（或用日期选择器）", "YYYY-MM-DD (or use the date picker)";
    licence_number => "许可证编号", "Licence number";
    licensee => "经营者名称", "Licensee";
    uscc => "统一社会信用代码", "Unified social credit code";
    legal_representative => "法定代表人（负责人）", "Legal representative";
    business_address => "经营场所", "Business address";
    business_scope => "经营项目", "Business scope";
    business_scope_hint => "每行一项", "One item per line";
    valid_from => "有效期自", "Valid from";
    valid_until => "有效期至", "Valid until";
    issue_button => "签发", "Issue";
    offer_button => "发送到持证人手机钱包", "Send to the holder's phone wallet";
    offer_title => "扫码领取到手机钱包", "Scan to receive it in the phone wallet";
    offer_hint => "请持证人用手机钱包扫描此二维码，并输入另行告知的取证码。二维码 10 分钟内有效，只能领取一次；取证码输错 5 次即作废。", "Ask the holder to scan this code with their phone wallet and enter the PIN you tell them separately. The code works once, for 10 minutes; 5 wrong PINs void it.";
    offer_pin => "取证码（请当面或短信另行告知，勿与二维码一同发送）", "PIN (tell it in person or by SMS; never send it with the QR code)";
    offer_expires => "有效期至", "Valid until";
    offer_open_link => "在本机的手机钱包中打开", "Open in a wallet on this device";
    form_has_errors => "提交的内容有误，请按提示修改", "Some fields need correcting; see the messages below";
    issued_ok => "签发成功", "Issued";
    // certificate / print page
    print_button => "打印", "Print";
    print_hint => "打印时请选择实际尺寸（100%），二维码边长不小于 35 毫米", "Print at actual size (100%): the QR code must be at least 35 mm wide";
    certificate_number => "证书编号", "Certificate number";
    licence_id => "证照标识", "Licence ID";
    issuer_label => "签发机构", "Issuer";
    validity => "有效期", "Validity";
    qr_alt => "可核验的二维码，内含完整的签名凭证；编号", "Verifiable QR code holding the whole signed credential; number";
    scan_instruction => "请用核验终端扫描二维码核验真伪", "Scan the QR code with an inspection device to check it";
    status_label => "状态", "Status";
    status_active => "有效", "Active";
    status_revoked => "已吊销", "Revoked";
    status_used => "已使用", "Used";
    status_suspended => "已暂停", "Suspended";
    // list
    search => "搜索", "Search";
    search_query => "编号、证照标识或姓名", "Number, licence ID or name";
    issued_from => "签发日期自", "Issued from";
    issued_until => "签发日期至", "Issued until";
    kind => "类别", "Type";
    issued_at => "签发时间", "Issued at";
    holder => "持证人", "Holder";
    actions => "操作", "Actions";
    open => "查看 / 打印", "View / print";
    no_results => "没有符合条件的凭证", "No credentials match";
    previous_page => "上一页", "Previous page";
    next_page => "下一页", "Next page";
    page => "页", "Page";
    // status change
    change_status => "变更状态", "Change status";
    action_revoke => "吊销（不可恢复）", "Revoke (final)";
    action_suspend => "暂停", "Suspend";
    action_reinstate => "恢复", "Reinstate";
    action_use => "标记为已使用", "Marked used";
    reason => "原因", "Reason";
    reason_required => "请填写原因", "Please give a reason";
    apply => "确认", "Apply";
    status_changed => "状态已更新", "Status updated";
    history => "变更记录", "History";
    // reissue (换发)
    reissue_title => "换发", "Reissue";
    reissue_hint => "换发签发一份内容相同的新凭证：证照标识流水号不变，版本号加一；本版本同时吊销（原因：换发），不可恢复。更正内容请通过接口换发。", "Reissuing issues a new credential with the same content: same licence ID serial, version plus one; this version is revoked at the same time (reason: reissue), for good. To correct fields, reissue through the API.";
    reissue_confirm => "我已核对，确认换发并吊销本版本", "I have checked: reissue, and revoke this version";
    reissue_button => "换发此证照", "Reissue this licence";
    reissued_ok => "已换发，这是新版本", "Reissued: this is the new version";
    licence_versions => "证照各版本", "Versions of this licence";
    this_version => "（本页）", "(this page)";
    // errors
    error_title => "出错了", "Something went wrong";
    not_found => "页面或凭证不存在", "No such page or credential";
    internal_error => "服务器内部错误，请稍后重试", "Internal error; please try again later";
    back => "返回", "Back";
    too_many_requests => "请求过于频繁，请稍后再试", "Too many requests; please wait a moment";
    // audit
    audit_title => "签发机构审计", "Issuer audit";
    issuer_did => "签发机构标识（DID）", "Issuer identifier (DID)";
    totals => "累计", "Totals";
    issued_count => "签发数", "Issued";
    revoked_count => "吊销数", "Revoked";
    suspended_count => "暂停数", "Suspended";
    by_month => "按月统计", "By month";
    month => "月份", "Month";
    by_day => "按日统计（最近有记录的 31 天）", "By day (latest 31 days with activity)";
    day => "日期", "Day";
    latest_checkpoint => "最新日志检查点", "Latest log checkpoint";
    log_size => "日志条目数", "Log entries";
    root_hash => "根哈希", "Root hash";
    no_checkpoint => "尚无检查点", "No checkpoint yet";
    anchors => "区块链锚定", "Chain anchors";
    anchor_block => "区块", "Block";
    anchor_tx => "交易", "Transaction";
    anchor_time => "时间", "Time";
    anchor_state => "状态", "State";
    no_anchors => "尚无锚定记录（未配置区块链节点或尚未确认）", "No anchors yet (no chain node configured, or not yet confirmed)";
    witnesses_note => "见证人联署由核验端的见证模式提供（/witness/checkpoint），本页不汇总", "Witness cosignatures are served by verifiers in witness mode (/witness/checkpoint); this page does not collect them";
    // inspector
    inspect_title => "扫码核验", "Scan to inspect";
    camera_scan => "用摄像头扫描", "Scan with the camera";
    start_camera => "打开摄像头", "Start camera";
    camera_unavailable => "无法使用摄像头，请改用下方的拍照上传", "The camera is not available; use the photo upload below";
    camera_help => "将二维码放入取景框内，识别后自动核验", "Hold the QR code in the frame; it is checked as soon as it is read";
    upload_photo => "上传二维码照片", "Upload a photo of the QR code";
    photo_file => "照片文件", "Photo file";
    verify_button => "核验", "Verify";
    qr_text => "二维码文本", "QR code text";
    paste_qr_text => "或粘贴二维码文本（以 EC1: 开头）", "Or paste the QR code text (starts with EC1:)";
    scan_again => "再扫一张", "Scan another";
    verdict_valid => "有效", "VALID";
    verdict_invalid => "无效", "INVALID";
    verdict_revoked => "已吊销", "REVOKED";
    verdict_suspended => "已暂停", "SUSPENDED";
    verdict_used => "已使用（不可再次报销）", "ALREADY USED";
    verdict_expired => "已过期", "EXPIRED";
    verdict_not_yet_valid => "尚未生效", "NOT YET VALID";
    verdict_untrusted => "签发机构不受信任", "UNTRUSTED ISSUER";
    verdict_not_anchored => "尚未锚定", "NOT YET ANCHORED";
    compare_with_id => "请与持证人身份证核对以下信息", "Compare these details with the holder's ID card";
    checks => "各项检查", "Checks";
    check_signature => "签名", "Signature";
    check_validity => "有效期", "Validity period";
    check_issuer_trust => "签发机构", "Issuer trust";
    kind_unconfirmed => "类型未经确认的凭证", "Credential of unconfirmed type";
    check_status => "吊销/暂停状态", "Revocation / suspension";
    check_anchoring => "区块链锚定", "Anchoring";
    check_holder_binding => "持有人出示码", "Holder presentation";
    check_licence_id => "证照标识", "Licence ID";
    result_valid => "通过", "passed";
    result_invalid => "未通过", "failed";
    result_unchecked => "未能确认", "not established";
    warnings => "提示", "Notes";
    credential_type => "凭证类型", "Credential type";
    trusted_issuer => "签发机构（经信任列表确认）", "Issuer (per the trust list)";
    id_check_title => "核对身份证号码", "Check the ID card number";
    id_check_help => "输入持证人身份证号码，用签发部门的密钥与凭证中的摘要比对，号码不会被保存或记录", "Type the holder's ID number: it is compared with the credential's digest under the issuing department's key and never stored or logged";
    id_check_button => "比对", "Compare";
    id_matches => "身份证号码与凭证一致", "The ID number matches the credential";
    id_differs => "身份证号码与凭证不一致", "The ID number does NOT match the credential";
    id_invalid => "身份证号码格式不正确", "That is not a valid ID card number";
    id_no_digest => "该凭证不含身份证号码摘要", "This credential holds no ID number digest";
    id_not_checked => "凭证未通过签名或签发机构核验，不比对身份证号码", "The credential's signature or issuer did not verify: the ID number is not compared";
    id_key_unavailable => "无法核对：本核验端未配置签发部门的身份证号码密钥", "Cannot check: this verifier does not hold the ID number key of the issuing department";
    id_matches_legacy => "身份证号码与凭证一致（旧格式摘要，任何持有二维码者均可推算号码，请持证人申请重新签发）", "The ID number matches the credential (old digest format: anyone holding the QR code can work the number out; the holder should have it reissued)";
    no_qr_found => "图片中没有找到可识别的二维码，请对准二维码重新拍摄", "No readable QR code in the photo; retake it with the code in view";
    not_a_credential => "二维码内容无法识别为凭证", "The QR code does not hold a credential we can read";
}

/// What the shared page layout (`templates/base.html`) needs.
#[derive(Debug, Clone)]
pub struct PageContext {
    /// The strings in the reader's language.
    pub t: &'static Texts,
    /// The reader's language.
    pub lang: Lang,
    /// The service's name, shown in the header.
    pub site: &'static str,
    /// Navigation links `(href, label)`.
    pub nav: Vec<(String, &'static str)>,
    /// The signed-in user's display name, if any.
    pub user: Option<String>,
    /// The anti-CSRF token to put in every form (empty where there are no forms to protect).
    pub csrf: String,
    /// Link that switches the language and comes back here.
    pub switch_href: String,
}

/// Where credential fields are shown (each definition flags its fields for each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    /// The printed card (definition flag `print`).
    OnCard,
    /// The inspector's result after a scan (definition flag `qr`).
    ToInspector,
}

/// The holder's (or licensee's) details of a credential as `(label, value)` rows
/// in `lang`, in definition order, from the credential type definition in `types`
/// ([`crate::credential_type`]). A credential of no known type has no rows;
/// nothing here panics on odd input.
pub fn subject_rows(types: &TypeRegistry, vc: &serde_json::Value, lang: Lang, shown: Shown) -> Vec<(String, String)> {
    let Some(def) = types.for_credential(vc) else {
        return Vec::new();
    };
    let pick = |l: &crate::localized::Localized| match lang {
        Lang::Zh => l.zh.clone(),
        Lang::En => l.en.clone(),
    };
    def.display_fields(vc)
        .into_iter()
        .filter(|f| match shown {
            Shown::OnCard => f.print,
            Shown::ToInspector => f.qr,
        })
        .map(|f| {
            let value = match lang {
                Lang::Zh => f.value.zh,
                Lang::En => f.value.en.replace("; ", lang_separator(lang)),
            };
            (pick(&f.label), value)
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

fn lang_separator(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "、",
        Lang::En => ", ",
    }
}

/// The credential type's name in `lang` (from its definition).
pub fn kind_name(types: &TypeRegistry, vc: &serde_json::Value, lang: Lang) -> String {
    match types.for_credential(vc) {
        Some(def) => match lang {
            Lang::Zh => def.name.zh.clone(),
            Lang::En => def.name.en.clone(),
        },
        None => "Verifiable Credential".to_owned(),
    }
}

/// What an inspector is told the credential is: the name of a type the
/// trusted issuer's certificate authorises (`report.trusted_issuer`, present
/// only when issuer trust is valid), never a type a failed trust check did
/// not confirm: then "credential of unconfirmed type". With no trust data at
/// all (issuer trust `unchecked`, shown as "not established" on the page),
/// the type the credential states.
pub fn authorised_kind_name(types: &TypeRegistry, report: &VerificationReport, lang: Lang) -> String {
    let Some(trusted) = &report.trusted_issuer else {
        return match &report.checks.issuer_trust {
            CheckResult::Unchecked { .. } => report
                .types
                .iter()
                .rev()
                .find_map(|t| types.by_type(t))
                .map_or_else(|| "Verifiable Credential".to_owned(), |def| lang.pick(&def.name).to_owned()),
            _ => lang.texts().kind_unconfirmed.to_owned(),
        };
    };
    trusted.authorised_types.iter().rev().find_map(|t| types.by_type(t)).map_or_else(
        || "Verifiable Credential".to_owned(),
        |def| match lang {
            Lang::Zh => def.name.zh.clone(),
            Lang::En => def.name.en.clone(),
        },
    )
}

/// `YYYY-MM-DD` of an RFC 3339 field of the credential (`validFrom`, …).
pub fn date_of(vc: &serde_json::Value, field: &str) -> String {
    vc.get(field).and_then(serde_json::Value::as_str).map(|s| s.chars().take(10).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_has_both_languages() {
        let entries = entries();
        assert!(entries.len() > 100);
        for (key, zh, en) in entries {
            assert!(!zh.trim().is_empty(), "{key}: zh is empty");
            assert!(!en.trim().is_empty(), "{key}: en is empty");
        }
    }

    #[test]
    fn keys_are_unique_and_chinese_side_is_chinese() {
        let entries = entries();
        let mut keys: Vec<_> = entries.iter().map(|e| e.0).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), entries.len());
        // Each Chinese entry has at least one CJK character, except the few that name the other language.
        for (key, zh, _) in entries {
            let cjk = zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
            assert!(cjk || key == "switch_language", "{key}: zh text {zh:?} has no Chinese");
        }
    }

    #[test]
    fn language_choice() {
        assert_eq!(Lang::choose(Some("en"), Some("zh"), None), Lang::En);
        assert_eq!(Lang::choose(None, Some("en"), None), Lang::En);
        assert_eq!(Lang::choose(None, None, Some("fr, en-US;q=0.8")), Lang::En);
        assert_eq!(Lang::choose(Some("xx"), None, None), Lang::Zh);
        assert_eq!(Lang::En.texts().sign_in, "Sign in");
        assert_eq!(Lang::Zh.other(), Lang::En);
    }

    #[test]
    fn subject_rows_in_both_languages() {
        let vc = serde_json::json!({"type": ["VerifiableCredential", "HealthCertificate"],
            "credentialSubject": {"fullName": "欧阳晓燕", "fullNamePinyin": "OUYANG Xiaoyan",
            "sex": "F", "birthDate": "1991-07-23", "examinationResult": "qualified", "idNumberDigest": "uAAAA"}});
        let types = TypeRegistry::default();
        let row = |l: &str, v: &str| (l.to_owned(), v.to_owned());
        let zh = subject_rows(&types, &vc, Lang::Zh, Shown::OnCard);
        assert_eq!(zh[0], row("姓名", "欧阳晓燕"));
        assert!(zh.contains(&row("性别", "女")));
        assert!(zh.contains(&row("体检结论", "合格")));
        assert!(!zh.iter().any(|(_, v)| v.contains("uAAAA")), "digests are never shown");
        let en = subject_rows(&types, &vc, Lang::En, Shown::ToInspector);
        assert!(en.contains(&row("Sex", "Female")));
        assert_eq!(kind_name(&types, &vc, Lang::En), "Health certificate");
        let licence = serde_json::json!({"type": ["VerifiableCredential", "FoodBusinessLicence"],
            "credentialSubject": {"businessScope": ["a", "b"]}});
        assert!(subject_rows(&types, &licence, Lang::En, Shown::OnCard).contains(&row("Business scope", "a, b")));
        assert!(subject_rows(&types, &licence, Lang::Zh, Shown::OnCard).contains(&row("经营项目", "a、b")));
        assert!(subject_rows(&types, &serde_json::json!(42), Lang::En, Shown::OnCard).is_empty());
    }
}
