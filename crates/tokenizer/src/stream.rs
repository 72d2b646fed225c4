//! Incremental decoding for streaming output.
//!
//! A token may end in the middle of a multi-byte UTF-8 character (GPT-2 splits rare characters
//! into byte tokens), so printing each token's bytes as soon as it arrives would print broken
//! characters. [`StreamDecoder`] keeps the bytes of an unfinished character until the tokens that
//! complete it arrive. Invalid sequences become U+FFFD exactly as in
//! [`Tokenizer::decode`](crate::Tokenizer::decode): the concatenation of everything
//! [`StreamDecoder::push`] and [`StreamDecoder::finish`] return equals `decode` of all the ids.

use crate::{Tokenizer, TokenizerError};

/// Decodes token ids one at a time into text chunks that are always whole characters.
#[derive(Debug, Clone)]
pub struct StreamDecoder<'a> {
    tokenizer: &'a Tokenizer,
    /// Bytes of a character that is not complete yet (at most 3).
    pending: Vec<u8>,
}

impl<'a> StreamDecoder<'a> {
    /// A decoder with nothing pending.
    pub fn new(tokenizer: &'a Tokenizer) -> Self {
        Self {
            tokenizer,
            pending: Vec::new(),
        }
    }

    /// Adds token `id` and returns the text that is now complete (possibly empty). Fails, and
    /// changes nothing, on an id outside the vocabulary.
    pub fn push(&mut self, id: u32) -> Result<String, TokenizerError> {
        let bytes = self.tokenizer.token_bytes_ref(id)?;
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        let mut rest: &[u8] = &self.pending;
        loop {
            match std::str::from_utf8(rest) {
                Ok(valid) => {
                    out.push_str(valid);
                    rest = &[];
                    break;
                }
                Err(e) => {
                    let (valid, after) = rest.split_at(e.valid_up_to());
                    // `valid` is valid UTF-8 by the definition of `valid_up_to`.
                    out.push_str(&String::from_utf8_lossy(valid));
                    match e.error_len() {
                        // An invalid sequence: replace it, as `from_utf8_lossy` does.
                        Some(len) => {
                            out.push(char::REPLACEMENT_CHARACTER);
                            rest = after.get(len..).unwrap_or_default();
                        }
                        // A character cut short at the end: wait for more bytes.
                        None => {
                            rest = after;
                            break;
                        }
                    }
                }
            }
        }
        self.pending = rest.to_vec();
        Ok(out)
    }

    /// Whether bytes of an unfinished character are held back.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Ends the stream: an unfinished character becomes U+FFFD.
    pub fn finish(self) -> String {
        String::from_utf8_lossy(&self.pending).into_owned()
    }
}
