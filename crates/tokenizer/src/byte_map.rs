//! GPT-2's reversible map between bytes and printable Unicode characters.
//!
//! GPT-2 stores its byte-level vocabulary as strings: each byte `b` is written as one character
//! `φ(b)`. The 188 "printable" bytes (`!`..=`~`, `¡`..=`¬`, `®`..=`ÿ`) map to the character with
//! the same code point; the remaining 68 bytes, in increasing order, map to U+0100, U+0101, …,
//! U+0143. So a space (0x20) is `Ġ` (U+0120) and a newline (0x0A) is `Ċ` (U+010A). `φ` is a
//! bijection between the 256 bytes and these 256 characters, and a vocabulary string
//! `φ(b₁)φ(b₂)…φ(bₖ)` stands for the byte string `b₁b₂…bₖ`.

/// Number of bytes that are not mapped to themselves (they map to U+0100 + index).
const SHIFTED_BYTES: u32 = 68;

/// Whether GPT-2 maps byte `b` to the character with the same code point.
const fn is_self_mapped(b: u8) -> bool {
    matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF)
}

/// Tables for `φ` and its inverse, computed once.
#[derive(Debug, Clone)]
pub(crate) struct ByteMap {
    /// `φ(b)` for every byte.
    byte_to_char: [char; 256],
    /// `φ⁻¹(U+0100 + i)` for the shifted characters.
    shifted_to_byte: [u8; SHIFTED_BYTES as usize],
}

impl ByteMap {
    pub(crate) fn new() -> Self {
        let mut byte_to_char = ['\0'; 256];
        let mut shifted_to_byte = [0u8; SHIFTED_BYTES as usize];
        let mut next_shifted = 0u32;
        for b in 0..=255u8 {
            if is_self_mapped(b) {
                byte_to_char[usize::from(b)] = char::from(b);
            } else {
                // 0x100 + next_shifted < 0x144 is always a valid scalar value.
                byte_to_char[usize::from(b)] =
                    char::from_u32(0x100 + next_shifted).unwrap_or(char::REPLACEMENT_CHARACTER);
                shifted_to_byte[next_shifted as usize] = b;
                next_shifted += 1;
            }
        }
        debug_assert_eq!(next_shifted, SHIFTED_BYTES);
        Self {
            byte_to_char,
            shifted_to_byte,
        }
    }

    /// `φ(b)`.
    pub(crate) fn char_of_byte(&self, b: u8) -> char {
        self.byte_to_char[usize::from(b)]
    }

    /// `φ⁻¹(c)`, or `None` when `c` is not one of the 256 byte characters.
    pub(crate) fn byte_of_char(&self, c: char) -> Option<u8> {
        let cp = u32::from(c);
        if let Ok(b) = u8::try_from(cp) {
            return is_self_mapped(b).then_some(b);
        }
        let index = cp.checked_sub(0x100)?;
        self.shifted_to_byte
            .get(usize::try_from(index).ok()?)
            .copied()
    }

    /// Decodes a vocabulary string `φ(b₁)…φ(bₖ)` into `b₁…bₖ`; `None` if some character is not
    /// a byte character.
    pub(crate) fn decode_token(&self, token: &str) -> Option<Vec<u8>> {
        token.chars().map(|c| self.byte_of_char(c)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_is_a_bijection_onto_256_characters() {
        let map = ByteMap::new();
        let mut seen = std::collections::HashSet::new();
        for b in 0..=255u8 {
            let c = map.char_of_byte(b);
            assert!(seen.insert(c), "character {c:?} used twice");
            assert_eq!(map.byte_of_char(c), Some(b));
        }
        assert_eq!(seen.len(), 256);
    }

    #[test]
    fn known_characters() {
        let map = ByteMap::new();
        assert_eq!(map.char_of_byte(b' '), 'Ġ');
        assert_eq!(map.char_of_byte(b'\n'), 'Ċ');
        assert_eq!(map.char_of_byte(b'\t'), 'ĉ');
        assert_eq!(map.char_of_byte(0), 'Ā');
        assert_eq!(map.char_of_byte(b'a'), 'a');
        assert_eq!(map.char_of_byte(0xAD), '\u{143}');
        assert_eq!(map.decode_token("Ġhello"), Some(b" hello".to_vec()));
    }

    #[test]
    fn characters_outside_the_map_are_rejected() {
        let map = ByteMap::new();
        assert_eq!(map.byte_of_char(' '), None);
        assert_eq!(map.byte_of_char('\u{AD}'), None);
        assert_eq!(map.byte_of_char('\u{144}'), None);
        assert_eq!(map.byte_of_char('😀'), None);
        assert_eq!(map.decode_token("a b"), None);
    }
}
