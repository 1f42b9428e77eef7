//! The words of the account page (and its navigation entry), zh and en.

use wallet_core::ui_text::Lang;

/// The page's words in one language. (They belong with the others in
/// `wallet_core::ui_text` once that catalogue is opened for edits again.)
pub struct AccountTexts {
    /// Navigation link.
    pub nav_password: &'static str,
    /// Page heading.
    pub title: &'static str,
    /// What a change does.
    pub explain: &'static str,
    /// Field labels and button.
    pub current: &'static str,
    /// New password label.
    pub new: &'static str,
    /// Minimum length hint.
    pub new_hint: &'static str,
    /// Repeat label.
    pub repeat: &'static str,
    /// Button.
    pub submit: &'static str,
    /// Wrong current password.
    pub wrong_current: &'static str,
    /// New password too short.
    pub too_short: &'static str,
    /// The two new passwords differ.
    pub mismatch: &'static str,
    /// New equals current.
    pub unchanged: &'static str,
    /// Success.
    pub changed: &'static str,
}

const ZH: AccountTexts = AccountTexts {
    nav_password: "修改密码",
    title: "修改密码",
    explain: "修改后，本账户在其他电脑上的登录会立即失效。",
    current: "当前密码",
    new: "新密码",
    new_hint: "至少 10 个字符",
    repeat: "再次输入新密码",
    submit: "修改密码",
    wrong_current: "当前密码不正确",
    too_short: "新密码至少需要 10 个字符",
    mismatch: "两次输入的新密码不一致",
    unchanged: "新密码不能与当前密码相同",
    changed: "密码已修改，其他登录已全部退出",
};

const EN: AccountTexts = AccountTexts {
    nav_password: "Change password",
    title: "Change password",
    explain: "After a change, this account's sign-ins on other computers end at once.",
    current: "Current password",
    new: "New password",
    new_hint: "At least 10 characters",
    repeat: "New password again",
    submit: "Change password",
    wrong_current: "The current password is not correct",
    too_short: "The new password needs at least 10 characters",
    mismatch: "The two new passwords differ",
    unchanged: "The new password must differ from the current one",
    changed: "Password changed; every other sign-in has ended",
};

impl AccountTexts {
    /// The texts in `lang`.
    pub fn of(lang: Lang) -> &'static AccountTexts {
        match lang {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }
}
