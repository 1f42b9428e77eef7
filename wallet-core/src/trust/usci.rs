//! 统一社会信用代码 (unified social credit code, GB 32100-2015): 18 characters
//! from a 31-character alphabet, the last one a check character.

/// The GB 32100 alphabet: digits and capitals without I, O, Z, S, V.
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights 3^i mod 31 for positions 1..=17.
const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

fn alphabet_index(character: u8) -> Option<u32> {
    ALPHABET.iter().position(|&c| c == character).and_then(|i| u32::try_from(i).ok())
}

/// The check character for the first 17 characters of a code, or `None` if
/// they are not 17 characters of the alphabet.
pub fn usci_check_character(first_17: &str) -> Option<char> {
    let bytes = first_17.as_bytes();
    if bytes.len() != 17 {
        return None;
    }
    let mut sum = 0u32;
    for (&character, weight) in bytes.iter().zip(WEIGHTS) {
        sum += alphabet_index(character)? * weight;
    }
    let check = (31 - sum % 31) % 31;
    ALPHABET.get(usize::try_from(check).ok()?).map(|&c| char::from(c))
}

/// Is this a well-formed unified social credit code with a correct check character?
pub fn is_valid_usci(code: &str) -> bool {
    let Some(first_17) = code.get(..17) else {
        return false;
    };
    code.len() == 18
        && usci_check_character(first_17)
            .is_some_and(|check| code.get(17..).is_some_and(|last| last.starts_with(check)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_published_codes_and_rejects_typos() {
        // Codes printed on public business licences.
        for code in ["9144030071526726XG", "91330100799655058B", "91110000802100433B"] {
            assert!(is_valid_usci(code), "{code}");
        }
        assert!(!is_valid_usci("9144030071526726XH"));
        assert!(!is_valid_usci("9144030071526726X"));
        assert!(!is_valid_usci("9144030071526726XGG"));
        assert!(!is_valid_usci("9144030071526726IG"));
        assert!(!is_valid_usci("91440300715267２6XG"));
        assert!(!is_valid_usci(""));
    }
}
