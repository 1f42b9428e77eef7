//! What text may be signed into a credential or a certificate and shown to a
//! person (an inspector, a department operator): no control characters and
//! no invisible Unicode format characters. A right-to-left override
//! (U+202E) shows `司公限有饮餐` as another name; a zero-width space inside
//! `张三` looks the same on the card and at the inspector but matches no
//! lookup; ESC sequences rewrite what a terminal shows an operator.

/// Whether `c` is a control character (Cc) or an invisible format character
/// (Unicode category Cf: bidirectional controls, zero-width characters, the
/// byte-order mark, soft hyphen, tags, interlinear annotation).
pub fn is_hidden_or_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{180E}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
        )
}

/// Whether `text` holds any character [`is_hidden_or_control`] refuses.
pub fn has_hidden_or_control(text: &str) -> bool {
    text.chars().any(is_hidden_or_control)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_zero_width_and_control_characters_are_refused_and_chinese_names_are_not() {
        for hidden in [
            "张\u{200B}三",
            "\u{202E}司公限有饮餐",
            "a\u{2066}b",
            "\u{FEFF}x",
            "x\u{1b}[2K",
            "a\u{00AD}b",
            "t\u{E0041}",
        ] {
            assert!(has_hidden_or_control(hidden), "{hidden:?}");
        }
        for shown in
            ["张三", "欧阳晓燕", "OUYANG Xiaoyan", "Zoë O'Brien-Łukasz", "示例市第一人民医院（体检中心）", "١٢٣"]
        {
            assert!(!has_hidden_or_control(shown), "{shown:?}");
        }
    }
}
