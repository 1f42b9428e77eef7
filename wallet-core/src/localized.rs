//! Human text in the two languages every page and error speaks.

use serde::{Deserialize, Serialize};

/// A message in Chinese and English. Stable machine codes travel beside it;
/// this is only what a person reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Localized {
    /// 中文
    pub zh: String,
    /// English
    pub en: String,
}

impl Localized {
    /// Both languages at once.
    pub fn new(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self { zh: zh.into(), en: en.into() }
    }
}

impl std::fmt::Display for Localized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} / {}", self.en, self.zh)
    }
}
