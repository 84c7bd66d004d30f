//! ISO 7064 MOD 37,36 (hybrid system, M = 36) check character over digits and upper-case
//! letters, as used for the check character of 电子证照 identifiers.
//!
//! A hybrid system detects every single substitution and every adjacent transposition.

/// The 36 characters in value order: `0`–`9` are 0–9, `A`–`Z` are 10–35.
const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// The modulus M of the hybrid system.
const M: u32 = 36;

/// The value of an ASCII digit or upper-case letter, `None` for anything else.
fn value(byte: u8) -> Option<u32> {
    match byte {
        b'0'..=b'9' => Some(u32::from(byte - b'0')),
        b'A'..=b'Z' => Some(u32::from(byte - b'A') + 10),
        _ => None,
    }
}

/// The check character of `chars` (digits and upper-case letters; other characters such as
/// the dots of an identifier are skipped), `None` if a character is neither skipped nor valid.
///
/// Skipped characters are only `.`; anything else outside the alphabet makes the input invalid.
pub fn mod37_36(chars: &str) -> Option<char> {
    let mut p = M;
    for byte in chars.bytes() {
        if byte == b'.' {
            continue;
        }
        let a = value(byte)?;
        let mut s = (p + a) % M;
        if s == 0 {
            s = M;
        }
        p = (s * 2) % (M + 1);
    }
    let check = (M + 1 - p) % M;
    // `check` is below 36, so the index is in range.
    Some(char::from(ALPHABET[check as usize]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_single_substitution_changes_the_check() {
        let body = "1.2.156.3005.2.112.11640100MA0000001K.000000000001.001";
        let check = mod37_36(body).unwrap();
        let bytes = body.as_bytes();
        for (i, original) in bytes.iter().enumerate() {
            if *original == b'.' {
                continue;
            }
            for replacement in ALPHABET.iter().filter(|c| *c != original) {
                let mut changed = bytes.to_vec();
                changed[i] = *replacement;
                let changed = String::from_utf8(changed).unwrap();
                assert_ne!(mod37_36(&changed), Some(check), "{changed}");
            }
        }
    }

    #[test]
    fn adjacent_transpositions_change_the_check() {
        let body = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let check = mod37_36(body).unwrap();
        let bytes = body.as_bytes();
        for i in 0..bytes.len() - 1 {
            let mut swapped = bytes.to_vec();
            swapped.swap(i, i + 1);
            let swapped = String::from_utf8(swapped).unwrap();
            assert_ne!(mod37_36(&swapped), Some(check), "{swapped}");
        }
    }

    #[test]
    fn rejects_foreign_characters() {
        assert_eq!(mod37_36("12a"), None);
        assert_eq!(mod37_36("12-3"), None);
        assert!(mod37_36("").is_some());
    }
}
