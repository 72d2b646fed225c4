//! Fiat–Shamir transcripts with domain separation.
//!
//! A proof is the byte string the prover writes. Prover and verifier each run a hash-based sponge
//! ([`Challenger`]: p3's `SerializingChallenger64` over a Blake3 `HashChallenger`) and absorb the
//! *same* sequence of values: the prover absorbs what it writes, the verifier absorbs what it
//! reads. A challenge is a deterministic function of everything absorbed before it, so a prover
//! cannot choose a message after seeing the challenge that depends on it.
//!
//! **Domain separation.** The sponge's initial state is the encoding of a [`DomainSeparator`]:
//!
//! ```text
//! "zkinfer/transcript/v1" ‖ len(protocol) ‖ protocol ‖ version ‖ #public
//!     ‖ for each public input: len(label) ‖ label ‖ len(bytes) ‖ bytes
//! ```
//!
//! with every length a `u64` little-endian, so distinct separators give distinct byte strings
//! (the encoding is prefix-free and injective) and hence independent challenge streams.
//!
//! **Encoding of proof messages.** A base-field element is 8 bytes little-endian and must be
//! canonical (`< p`): the verifier rejects any other value, so every field element has exactly one
//! encoding. An extension element is its 3 base coefficients. A `u32` (e.g. a count the verifier
//! checks) is 4 bytes little-endian, absorbed as a field element. A byte string is a `u32`
//! little-endian length followed by the bytes; the verifier checks the length against the bytes
//! remaining before it allocates anything. [`VerifierTranscript::finish`] rejects a proof with
//! bytes left over, and every read past the end is an error, so a proof is accepted only if it is
//! consumed exactly.
//!
//! **Absorption.** Field elements are absorbed as field elements (p3 serialises each to its 8
//! canonical bytes). Byte strings are absorbed as their length followed by 7-byte little-endian
//! limbs packed into field elements (each `< 2^56 < p`, so packing is injective given the length).
//! Public values that are not part of the proof ([`Transcript::absorb_public_fields`] and
//! friends) are absorbed behind a kind tag, their label and their count.

mod grinding;

pub use grinding::OrderedGrinding;
use p3_challenger::{CanObserve, CanSample, FieldChallenger, HashChallenger};
use p3_field::{BasedVectorSpace, PrimeField64};
use zkinfer_field::{EF, F, P, PrimeCharacteristicRing};

/// The Fiat–Shamir sponge: Blake3 over bytes, sampling Goldilocks elements without modulo bias.
/// Proof-of-work grinding finds the *smallest* valid nonce ([`OrderedGrinding`]), so a proof is
/// a deterministic function of the statement and the key.
pub type Challenger = p3_challenger::SerializingChallenger64<
    F,
    OrderedGrinding<HashChallenger<u8, p3_blake3::Blake3, 32>>,
>;

/// A [`Challenger`] whose sponge starts from `initial_state`.
pub fn new_challenger(initial_state: Vec<u8>) -> Challenger {
    p3_challenger::SerializingChallenger64::new(OrderedGrinding::new(HashChallenger::new(
        initial_state,
        p3_blake3::Blake3,
    )))
}

/// Bytes of one encoded base-field element.
pub const FIELD_BYTES: usize = 8;
/// Bytes of one encoded extension-field element.
pub const EXT_BYTES: usize = FIELD_BYTES * EXT_DEGREE;
/// Degree of [`EF`] over [`F`].
pub const EXT_DEGREE: usize = <EF as BasedVectorSpace<F>>::DIMENSION;

/// Tag that starts every domain-separator encoding.
const TRANSCRIPT_TAG: &[u8] = b"zkinfer/transcript/v1";

/// Errors reading a proof.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranscriptError {
    /// The proof ended before the value being read.
    #[error("proof truncated: needed {needed} more bytes, {remaining} remain")]
    UnexpectedEnd {
        /// Bytes the read needed (saturating at `usize::MAX`).
        needed: usize,
        /// Bytes left in the proof.
        remaining: usize,
    },
    /// A field element was encoded by an integer `>= p`.
    #[error("non-canonical field element encoding {0:#x}")]
    NonCanonical(u64),
    /// The proof has bytes after the last value the verifier read.
    #[error("{0} trailing bytes after the end of the proof")]
    TrailingBytes(usize),
}

/// Identifies the protocol, its version and the public inputs a proof is about.
///
/// Prover and verifier must build equal separators; any difference makes every challenge differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainSeparator {
    protocol: &'static str,
    version: u32,
    public: Vec<(String, Vec<u8>)>,
}

impl DomainSeparator {
    /// A separator for `protocol` at `version` with no public inputs yet.
    pub fn new(protocol: &'static str, version: u32) -> Self {
        Self {
            protocol,
            version,
            public: Vec::new(),
        }
    }

    /// Appends a labelled public input given as bytes.
    pub fn with_public(mut self, label: &str, bytes: &[u8]) -> Self {
        self.public.push((label.to_owned(), bytes.to_vec()));
        self
    }

    /// Appends a labelled public input given as base-field elements (8 canonical bytes each).
    pub fn with_public_fields(self, label: &str, xs: &[F]) -> Self {
        let mut bytes = Vec::with_capacity(xs.len() * FIELD_BYTES);
        for x in xs {
            bytes.extend_from_slice(&x.as_canonical_u64().to_le_bytes());
        }
        self.with_public(label, &bytes)
    }

    /// The injective byte encoding that seeds the sponge.
    pub fn encode(&self) -> Vec<u8> {
        fn put(out: &mut Vec<u8>, bytes: &[u8]) {
            out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            out.extend_from_slice(bytes);
        }
        let mut out = Vec::new();
        put(&mut out, TRANSCRIPT_TAG);
        put(&mut out, self.protocol.as_bytes());
        out.extend_from_slice(&u64::from(self.version).to_le_bytes());
        out.extend_from_slice(&(self.public.len() as u64).to_le_bytes());
        for (label, bytes) in &self.public {
            put(&mut out, label.as_bytes());
            put(&mut out, bytes);
        }
        out
    }

    fn challenger(&self) -> Challenger {
        new_challenger(self.encode())
    }
}

/// Kind tags for values absorbed outside the proof.
#[repr(u32)]
#[derive(Clone, Copy)]
enum PublicKind {
    Fields = 1,
    Exts = 2,
    Bytes = 3,
}

/// Absorbs a byte string: its length, then 7-byte limbs as field elements.
fn observe_bytes(ch: &mut Challenger, bytes: &[u8]) {
    ch.observe(F::from_u64(bytes.len() as u64));
    for limb in bytes.chunks(7) {
        let mut word = [0u8; 8];
        word[..limb.len()].copy_from_slice(limb);
        ch.observe(F::from_u64(u64::from_le_bytes(word)));
    }
}

fn observe_public_header(ch: &mut Challenger, kind: PublicKind, label: &str, count: usize) {
    ch.observe(F::from_u32(kind as u32));
    observe_bytes(ch, label.as_bytes());
    ch.observe(F::from_u64(count as u64));
}

/// Operations shared by prover and verifier transcripts: everything that neither writes nor reads
/// the proof.
pub trait Transcript {
    /// The sponge, for protocols (p3-whir) that drive it directly. Whatever they absorb or sample
    /// must be mirrored on the other side.
    fn challenger_mut(&mut self) -> &mut Challenger;

    /// Absorbs labelled public base-field values that both sides know (they are not in the proof).
    fn absorb_public_fields(&mut self, label: &'static str, xs: &[F]) {
        let ch = self.challenger_mut();
        observe_public_header(ch, PublicKind::Fields, label, xs.len());
        ch.observe_slice(xs);
    }

    /// Absorbs labelled public extension-field values that both sides know.
    fn absorb_public_exts(&mut self, label: &'static str, xs: &[EF]) {
        let ch = self.challenger_mut();
        observe_public_header(ch, PublicKind::Exts, label, xs.len());
        for x in xs {
            ch.observe_algebra_element(*x);
        }
    }

    /// Absorbs labelled public bytes that both sides know.
    fn absorb_public_bytes(&mut self, label: &'static str, b: &[u8]) {
        let ch = self.challenger_mut();
        observe_public_header(ch, PublicKind::Bytes, label, 1);
        observe_bytes(ch, b);
    }

    /// Samples a uniformly random challenge in the extension field.
    fn challenge_ext(&mut self) -> EF {
        self.challenger_mut().sample_algebra_element::<EF>()
    }

    /// Samples `n` extension-field challenges.
    fn challenge_exts(&mut self, n: usize) -> Vec<EF> {
        (0..n).map(|_| self.challenge_ext()).collect()
    }

    /// Samples a uniformly random base-field challenge.
    fn challenge_field(&mut self) -> F {
        CanSample::<F>::sample(self.challenger_mut())
    }
}

/// The prover's transcript: writes the proof and absorbs everything it writes.
#[derive(Clone)]
pub struct ProverTranscript {
    challenger: Challenger,
    proof: Vec<u8>,
}

impl std::fmt::Debug for ProverTranscript {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProverTranscript")
            .field("proof_len", &self.proof.len())
            .finish()
    }
}

impl ProverTranscript {
    /// Starts a transcript for the protocol and public inputs in `ds`.
    pub fn new(ds: &DomainSeparator) -> Self {
        Self {
            challenger: ds.challenger(),
            proof: Vec::new(),
        }
    }

    /// Writes and absorbs one base-field element.
    pub fn send_field(&mut self, x: F) {
        self.proof
            .extend_from_slice(&x.as_canonical_u64().to_le_bytes());
        self.challenger.observe(x);
    }

    /// Writes and absorbs base-field elements (no length is written: the reader knows it).
    pub fn send_fields(&mut self, xs: &[F]) {
        for &x in xs {
            self.send_field(x);
        }
    }

    /// Writes and absorbs one extension-field element (its base coefficients in order).
    pub fn send_ext(&mut self, x: EF) {
        for &c in x.as_basis_coefficients_slice() {
            self.send_field(c);
        }
    }

    /// Writes and absorbs extension-field elements (no length is written).
    pub fn send_exts(&mut self, xs: &[EF]) {
        for &x in xs {
            self.send_ext(x);
        }
    }

    /// Writes and absorbs a `u32` (4 bytes little-endian), e.g. a count the verifier checks.
    pub fn send_u32(&mut self, x: u32) {
        self.proof.extend_from_slice(&x.to_le_bytes());
        self.challenger.observe(F::from_u32(x));
    }

    /// Writes a `u32` length prefix and the bytes; absorbs both.
    ///
    /// # Panics
    /// If `b` is longer than `u32::MAX` bytes (a programming error).
    pub fn send_bytes(&mut self, b: &[u8]) {
        let len = u32::try_from(b.len()).expect("byte message longer than u32::MAX");
        self.proof.extend_from_slice(&len.to_le_bytes());
        self.proof.extend_from_slice(b);
        observe_bytes(&mut self.challenger, b);
    }

    /// Bytes written so far.
    pub fn proof_len(&self) -> usize {
        self.proof.len()
    }

    /// The finished proof.
    pub fn into_proof(self) -> Vec<u8> {
        self.proof
    }

    /// Takes the bytes written since the last call (or the start) and keeps the sponge: the
    /// transcript goes on, and its next bytes form the next *segment* (a record of a proof
    /// stream, read back with [`VerifierTranscript::suspend`] and [`VerifierTranscript::resume`]).
    pub fn take_segment(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.proof)
    }
}

impl Transcript for ProverTranscript {
    fn challenger_mut(&mut self) -> &mut Challenger {
        &mut self.challenger
    }
}

/// A verifier transcript between two segments of a proof ([`VerifierTranscript::suspend`]): the
/// sponge, without the bytes.
#[derive(Clone)]
pub struct TranscriptState(Challenger);

impl std::fmt::Debug for TranscriptState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TranscriptState")
    }
}

/// The verifier's transcript: reads the proof and absorbs exactly what it reads.
#[derive(Clone)]
pub struct VerifierTranscript<'a> {
    challenger: Challenger,
    proof: &'a [u8],
    position: usize,
}

impl std::fmt::Debug for VerifierTranscript<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifierTranscript")
            .field("proof_len", &self.proof.len())
            .field("position", &self.position)
            .finish()
    }
}

impl<'a> VerifierTranscript<'a> {
    /// Starts reading `proof` for the protocol and public inputs in `ds`.
    pub fn new(ds: &DomainSeparator, proof: &'a [u8]) -> Self {
        Self {
            challenger: ds.challenger(),
            proof,
            position: 0,
        }
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.proof.len() - self.position
    }

    /// Takes the next `n` bytes, or fails without consuming anything.
    fn take(&mut self, n: usize) -> Result<&'a [u8], TranscriptError> {
        let remaining = self.remaining();
        if n > remaining {
            return Err(TranscriptError::UnexpectedEnd {
                needed: n,
                remaining,
            });
        }
        let out = &self.proof[self.position..self.position + n];
        self.position += n;
        Ok(out)
    }

    /// Fails unless `count` items of `size` bytes fit in what remains.
    fn ensure_available(&self, count: usize, size: usize) -> Result<(), TranscriptError> {
        let remaining = self.remaining();
        match count.checked_mul(size) {
            Some(needed) if needed <= remaining => Ok(()),
            Some(needed) => Err(TranscriptError::UnexpectedEnd { needed, remaining }),
            None => Err(TranscriptError::UnexpectedEnd {
                needed: usize::MAX,
                remaining,
            }),
        }
    }

    fn read_field_unabsorbed(&mut self) -> Result<F, TranscriptError> {
        let bytes = self.take(FIELD_BYTES)?;
        let mut word = [0u8; FIELD_BYTES];
        word.copy_from_slice(bytes);
        let v = u64::from_le_bytes(word);
        if v >= P {
            return Err(TranscriptError::NonCanonical(v));
        }
        Ok(F::from_u64(v))
    }

    /// Reads and absorbs one base-field element.
    pub fn receive_field(&mut self) -> Result<F, TranscriptError> {
        let x = self.read_field_unabsorbed()?;
        self.challenger.observe(x);
        Ok(x)
    }

    /// Reads and absorbs `n` base-field elements (`n` is checked against the remaining bytes
    /// before anything is allocated).
    pub fn receive_fields(&mut self, n: usize) -> Result<Vec<F>, TranscriptError> {
        self.ensure_available(n, FIELD_BYTES)?;
        (0..n).map(|_| self.receive_field()).collect()
    }

    /// Reads and absorbs one extension-field element.
    pub fn receive_ext(&mut self) -> Result<EF, TranscriptError> {
        self.ensure_available(1, EXT_BYTES)?;
        let mut coeffs = [F::ZERO; EXT_DEGREE];
        for c in &mut coeffs {
            *c = self.receive_field()?;
        }
        Ok(EF::from_basis_coefficients_fn(|i| coeffs[i]))
    }

    /// Reads and absorbs `n` extension-field elements.
    pub fn receive_exts(&mut self, n: usize) -> Result<Vec<EF>, TranscriptError> {
        self.ensure_available(n, EXT_BYTES)?;
        (0..n).map(|_| self.receive_ext()).collect()
    }

    /// Reads and absorbs a `u32` written by [`ProverTranscript::send_u32`].
    pub fn receive_u32(&mut self) -> Result<u32, TranscriptError> {
        let bytes = self.take(4)?;
        let x = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        self.challenger.observe(F::from_u32(x));
        Ok(x)
    }

    /// Reads a length-prefixed byte string and absorbs it. The length is checked against the
    /// remaining bytes; nothing is allocated.
    pub fn receive_bytes(&mut self) -> Result<&'a [u8], TranscriptError> {
        let start = self.position;
        let len_bytes = self.take(4)?;
        let len = u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
        let bytes = match self.take(len as usize) {
            Ok(b) => b,
            Err(e) => {
                self.position = start;
                return Err(e);
            }
        };
        observe_bytes(&mut self.challenger, bytes);
        Ok(bytes)
    }

    /// Ends this segment of the proof (written before a [`ProverTranscript::take_segment`]) and
    /// keeps the sponge, to go on with [`VerifierTranscript::resume`] on the next segment; fails if
    /// a byte of this segment was not read, so a segment's boundary is part of what is checked.
    pub fn suspend(self) -> Result<TranscriptState, TranscriptError> {
        match self.remaining() {
            0 => Ok(TranscriptState(self.challenger)),
            n => Err(TranscriptError::TrailingBytes(n)),
        }
    }

    /// Continues a suspended transcript (the sponge and everything it absorbed) on the next
    /// segment of the proof.
    pub fn resume(state: TranscriptState, proof: &'a [u8]) -> Self {
        Self { challenger: state.0, proof, position: 0 }
    }

    /// Ends verification of this proof: fails if any byte was not read.
    pub fn finish(self) -> Result<(), TranscriptError> {
        match self.remaining() {
            0 => Ok(()),
            n => Err(TranscriptError::TrailingBytes(n)),
        }
    }
}

impl Transcript for VerifierTranscript<'_> {
    fn challenger_mut(&mut self) -> &mut Challenger {
        &mut self.challenger
    }
}

#[cfg(test)]
mod tests;
