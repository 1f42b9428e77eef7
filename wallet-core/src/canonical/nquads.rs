//! N-Quads lines of RDF quads, byte for byte as `ssi` writes them
//! (`ssi_rdf::IntoNQuads::into_nquads_lines`: `rdf_types`' display of each
//! quad followed by ` .\n`, sorted, duplicates removed), written straight
//! into one buffer per line instead of through `core::fmt` one character at
//! a time (issue #16: that was a fifth of a verification). The unit test
//! holds the two to the same bytes on every fixture's quads and on strings
//! with every character either escapes.

use ssi_json_ld::rdf_types::{Id, LiteralType, Term};
use ssi_rdf::LexicalQuad;

const XSD_STRING: &str = "http://www.w3.org/2001/XMLSchema#string";

/// The sorted, deduplicated N-Quads lines of `quads`.
pub(crate) fn lines(quads: &[LexicalQuad]) -> Vec<String> {
    let mut lines: Vec<String> = quads.iter().map(line).collect();
    lines.sort();
    lines.dedup();
    lines
}

fn line(quad: &LexicalQuad) -> String {
    let mut out = String::with_capacity(160);
    write_line(&mut out, quad, &|out: &mut String, label: &str| out.push_str(label));
    out
}

/// Appends `quad`'s N-Quads line to `out`, each blank node label written by
/// `blank` (the label as is, a canonical label, or RDFC's `_:a` / `_:z`).
pub(crate) fn write_line(out: &mut String, quad: &LexicalQuad, blank: &dyn Fn(&mut String, &str)) {
    id(out, &quad.0, blank);
    out.push(' ');
    escaped_iri(out, quad.1.as_str());
    out.push(' ');
    match &quad.2 {
        Term::Id(object) => id(out, object, blank),
        Term::Literal(literal) => {
            out.push('"');
            if literal.value.bytes().any(|b| matches!(b, b'"' | b'\\' | b'\n' | b'\r')) {
                for c in literal.value.chars() {
                    match c {
                        '"' => out.push_str("\\\""),
                        '\\' => out.push_str("\\\\"),
                        '\n' => out.push_str("\\n"),
                        '\r' => out.push_str("\\r"),
                        c => out.push(c),
                    }
                }
            } else {
                out.push_str(&literal.value);
            }
            out.push('"');
            match &literal.type_ {
                LiteralType::Any(datatype) if datatype.as_str() == XSD_STRING => {}
                LiteralType::Any(datatype) => {
                    out.push_str("^^");
                    escaped_iri(out, datatype.as_str());
                }
                LiteralType::LangString(tag) => {
                    out.push('@');
                    out.push_str(tag.as_str());
                }
            }
        }
    }
    if let Some(graph) = &quad.3 {
        out.push(' ');
        id(out, graph, blank);
    }
    out.push_str(" .\n");
}

/// A subject, object or graph name: `<iri>` as is, or `_:label`.
fn id(out: &mut String, id: &Id, blank: &dyn Fn(&mut String, &str)) {
    match id {
        Id::Iri(iri) => {
            out.push('<');
            out.push_str(iri.as_str());
            out.push('>');
        }
        Id::Blank(label) => blank(out, label.as_str()),
    }
}

/// Does `rdf_types` escape byte `b` in an IRI?
const fn escaped_in_iri(b: u8) -> bool {
    b <= 0x20 || matches!(b, b'<' | b'>' | b'"' | b'{' | b'}' | b'|' | b'^' | b'`' | b'\\')
}

/// Does `iri` hold a byte `rdf_types` escapes? Sixteen bytes at a time with no
/// early exit inside a block, which the compiler turns into vector compares
/// (the byte-by-byte scan was 3% of a verification, issue #16).
fn needs_escapes(iri: &str) -> bool {
    let mut blocks = iri.as_bytes().chunks_exact(16);
    for block in &mut blocks {
        if block.iter().fold(false, |any, &b| any | escaped_in_iri(b)) {
            return true;
        }
    }
    blocks.remainder().iter().any(|&b| escaped_in_iri(b))
}

/// A predicate or datatype IRI, with `rdf_types`' escapes (which a valid
/// IRI never needs, kept for byte equality).
fn escaped_iri(out: &mut String, iri: &str) {
    out.push('<');
    let plain = !needs_escapes(iri);
    if plain {
        out.push_str(iri);
        out.push('>');
        return;
    }
    for c in iri.chars() {
        match c {
            '\x00'..='\x20' | '<' | '>' | '"' | '{' | '}' | '|' | '^' | '`' | '\\' => {
                out.push_str(&format!("\\u{:#04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('>');
}

#[cfg(test)]
mod tests {
    use ssi_json_ld::rdf_types::{BlankIdBuf, Literal, Quad};
    use ssi_json_ld::IriBuf;
    use ssi_rdf::IntoNQuads as _;

    use super::*;

    fn iri(s: &str) -> IriBuf {
        IriBuf::new(s.to_owned()).unwrap()
    }

    #[test]
    fn the_same_bytes_as_ssi_on_every_kind_of_term() {
        let blank = |s: &str| Id::Blank(BlankIdBuf::new(s.to_owned()).unwrap());
        let p = iri("https://example.org/p");
        let mut quads = Vec::new();
        for value in ["plain", "quote \" backslash \\ newline \n return \r tab \t", "中文 é \u{7f} \u{0}", ""] {
            for ty in [
                LiteralType::Any(iri(XSD_STRING)),
                LiteralType::Any(iri("http://www.w3.org/2001/XMLSchema#dateTime")),
                LiteralType::LangString("zh-Hans-CN".parse().unwrap()),
            ] {
                let object = Term::Literal(Literal::new(value.to_owned(), ty));
                quads.push(Quad(blank("_:b0"), p.clone(), object.clone(), None));
                quads.push(Quad(Id::Iri(iri("urn:uuid:1")), p.clone(), object, Some(blank("_:g"))));
            }
        }
        quads.push(Quad(blank("_:c14n0"), p.clone(), Term::Id(Id::Iri(iri("did:key:z6Mk#z6Mk"))), None));
        quads.push(Quad(
            blank("_:c14n0"),
            p.clone(),
            Term::Id(blank("_:c14n1")),
            Some(Id::Iri(iri("https://g.example/"))),
        ));
        quads.push(quads[0].clone());
        assert_eq!(lines(&quads), quads.clone().into_nquads_lines());
    }

    #[test]
    fn the_same_bytes_as_ssi_on_every_fixture() {
        let loader = crate::credential_type::TypeRegistry::default().loader();
        let mut compared = 0;
        let mut stack = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures"))];
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
                continue;
            }
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            let Ok(doc) = serde_json::from_str::<serde_json::Value>(&text) else { continue };
            if let Ok(quads) = pollster::block_on(super::super::rdf_quads(&loader, &doc)) {
                assert_eq!(lines(&quads), quads.clone().into_nquads_lines(), "{}", path.display());
                compared += 1;
            }
        }
        assert!(compared >= 100, "compared {compared}");
    }

    #[test]
    fn the_block_scan_finds_what_the_byte_scan_finds() {
        for len in 0..50 {
            let clean = "a".repeat(len);
            assert!(!needs_escapes(&clean));
            for at in 0..len {
                for bad in [b' ', b'\n', b'<', b'>', b'"', b'{', b'}', b'|', b'^', b'`', b'\\', 0u8] {
                    let mut bytes = clean.clone().into_bytes();
                    bytes[at] = bad;
                    let text = String::from_utf8(bytes).unwrap();
                    assert!(needs_escapes(&text), "{len} {at} {bad}");
                }
            }
        }
        assert!(!needs_escapes("https://www.w3.org/ns/credentials/v2#中文"));
    }
}
