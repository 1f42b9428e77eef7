//! Where a page may send the browser back to after a form or a language
//! switch (`?next=`): a path on this site, never another host.

/// `next` when it is a local path (`/…`, not `//…`), else `fallback`.
/// Browsers drop tabs and newlines from URLs and read `\` as `/`, so
/// `/\t/evil.example` or `/\evil.example` would leave the site: any control
/// character, space or backslash refuses the path, as does one longer than
/// 511 bytes.
pub fn local_path(next: Option<&str>, fallback: &str) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.len() < 512
                && !n.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\') =>
        {
            n.to_owned()
        }
        _ => fallback.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_local() {
        assert_eq!(local_path(Some("/certificates?page=2"), "/"), "/certificates?page=2");
        assert_eq!(local_path(Some("//evil.example"), "/"), "/");
        assert_eq!(local_path(Some("https://evil.example"), "/inspect"), "/inspect");
        assert_eq!(local_path(None, "/"), "/");
        assert_eq!(local_path(Some(&format!("/{}", "a".repeat(600))), "/"), "/");
        for bad in [
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            "/\\evil.example",
            "/\\/evil.example",
            "\\\\evil.example",
            "/ /evil.example",
            "/\u{7f}/evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
        ] {
            assert_eq!(local_path(Some(bad), "/"), "/", "{bad:?}");
        }
    }
}
