//! The proof file (`docs/PROOF_FORMAT.md`).
//!
//! ```text
//! magic "ZKINFPRF" | version u32 | model commitment [32] | max new tokens u32 |
//! prompt ids (u32 count, u32 each) | completion ids (u32 count, u32 each) |
//! transcript (u64 length, bytes)
//! ```
//! All integers little-endian. Nothing may follow the transcript.

use crate::codec::{DecodeError, Reader, Writer};

/// Magic bytes of a proof file.
pub const PROOF_MAGIC: &[u8; 8] = b"ZKINFPRF";
/// Format version of proof files this build reads and writes (2: `max_new_tokens`; 3: no prompt
/// predictions, the statement is the completion; 4: the witness commitment holds the blocks of
/// the witness columns' extents; 5: the witness commitment is sent as its Merkle roots alone,
/// the verifier derives the sizes; 6: the limbs of signed range checks and most softmax columns
/// are committed as blocks of their extents, the softmax slack is zero off its extent).
/// 8: protocol version 8, the symmetric clamps' magnitude form, `zkinfer_ops::ops::clamp`.
/// 9: protocol version 9, the weight opening proves the key's out-of-domain answers (key version 9)
/// and one set of layer proofs serves all trees of a lookup GKR (`zkinfer_lookup::fracaddcheck`).
pub const PROOF_VERSION: u32 = 9;

/// A proof of one generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofFile {
    /// The model commitment (digest of the verifying key) the proof is for.
    pub model_commitment: [u8; 32],
    /// The requested maximum of new tokens (`-n`): generation stopped after this many or at an
    /// end-of-generation token (the verifier checks which).
    pub max_new_tokens: u32,
    /// Prompt token ids.
    pub prompt_ids: Vec<u32>,
    /// Generated token ids.
    pub completion_ids: Vec<u32>,
    /// The Fiat–Shamir transcript: every prover message.
    pub transcript: Vec<u8>,
}

impl ProofFile {
    /// Encodes the file.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(PROOF_MAGIC);
        w.u32(PROOF_VERSION);
        w.raw(&self.model_commitment);
        w.u32(self.max_new_tokens);
        w.u32s(&self.prompt_ids);
        w.u32s(&self.completion_ids);
        w.bytes(&self.transcript);
        w.into_bytes()
    }

    /// Decodes a file, rejecting truncation, trailing bytes, and bad headers.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.header(PROOF_MAGIC, PROOF_VERSION, "zkinfer proof")?;
        let model_commitment = r.array::<32>("model commitment")?;
        let max_new_tokens = r.u32("max new tokens")?;
        let prompt_ids = r.u32s("prompt ids")?;
        let completion_ids = r.u32s("completion ids")?;
        let transcript = r.bytes("transcript")?.to_vec();
        r.finish()?;
        Ok(Self { model_commitment, max_new_tokens, prompt_ids, completion_ids, transcript })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is a failure report
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_truncations() {
        let p = ProofFile {
            model_commitment: [7; 32],
            max_new_tokens: 2,
            prompt_ids: vec![1, 2, 3],
            completion_ids: vec![4, 5],
            transcript: vec![0xab; 100],
        };
        let b = p.to_bytes();
        assert_eq!(ProofFile::from_bytes(&b).unwrap(), p);
        for n in 0..b.len() {
            assert!(ProofFile::from_bytes(&b[..n]).is_err());
        }
    }

    /// A version-7 file (clamps through their two gaps) or version-8 file (weight opening without
    /// the key's out-of-domain answers, a tree's children at every layer of a lookup GKR) is refused
    /// by its header, with both versions named.
    #[test]
    fn version_7_is_refused_clearly() {
        let p = ProofFile { model_commitment: [1; 32], max_new_tokens: 1, prompt_ids: vec![1], completion_ids: vec![2], transcript: vec![3; 8] };
        for old in [7u32, 8] {
            let mut b = p.to_bytes();
            b[8..12].copy_from_slice(&old.to_le_bytes());
            let err = ProofFile::from_bytes(&b).unwrap_err().to_string();
            assert!(err.contains(&old.to_string()) && err.contains(&PROOF_VERSION.to_string()), "{err}");
        }
    }
}
