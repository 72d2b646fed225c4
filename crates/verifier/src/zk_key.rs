//! The zero-knowledge verifying key (`setup --zk`, issue 13).
//!
//! It carries everything a public key carries except anything derived from weight values: the
//! graph, the weights' names, shapes and bounds, the vocabulary, the end-of-generation set — and
//! instead of the deterministic weight commitment, a hiding weight key
//! ([`zkinfer_pcs::hiding_key::HidingKey`]: `K` ticket roots, one per proof it can hide, and one
//! link value per weight, a value of its randomised extension, uniformly random; one committed
//! polynomial per weight tensor, zero-padded per dimension: the zk graph driver's own weight
//! polynomial, so its claims open on the key directly).
//! The key is random (a fresh secret per setup), so it is not recomputable from the GGUF:
//! `vk-check` applies to public keys only. Its secret (`pk.bin`, `zkinfer_proof::zk`) is the
//! prover's.
//!
//! ```text
//! magic "ZKINFZK\0" | version u32 | hiding weight key (u64 length, bincode) |
//! public part (u64 length, a public key's encoding whose weight commitment is the
//! no-commitment marker: one all-zero Merkle root) |
//! setup proof (u64 length, the transcript of the hiding setup proof on ticket 0,
//! `crate::zk_setup_proof`; bound to the bytes before it, [`ZkVerifyingKey::setup_binding`])
//! ```
//!
//! A key is accepted by [`crate::zk_proof::verify_zk`] only with a valid setup proof
//! ([`crate::zk_setup_proof::verify_zk_setup`]); the decoder reads any, even an empty one, so
//! the refusal names what failed.
//!
//! The public part reuses the public key's encoding and checks (shapes, graph, vocabulary); its
//! commitment root is all zero, which no codeword hashes to, so no public proof verifies against
//! it even if it were cut out. A public key does not decode as a zk key and vice versa (magic).

use crate::ProofSystemError;
use crate::codec::{DecodeError, Reader, Writer};
use crate::key::VerifyingKey;
use crate::key::WeightMeta;
use crate::weight_blocks::WeightBlockPlan;
use zkinfer_pcs::WhirCommitment;
use zkinfer_pcs::hiding_key::HidingKey;
use zkinfer_pcs::whir::MerkleRoot;

/// Magic bytes of a zero-knowledge verifying-key file.
pub const ZK_VK_MAGIC: &[u8; 8] = b"ZKINFZK\0";
/// Format version of zk verifying-key files (2: ticket 0 is reserved for the setup proof; 3: the
/// weight masks have extension-field coefficients, `zkinfer_pcs::hiding::MASK_COMPONENT_VARS`;
/// 4: the hiding key commits one polynomial per weight tensor — the zk graph driver's weight
/// polynomial, [`weight_num_vars`] — instead of the public key's blocks; 5: the key carries its
/// hiding setup proof, `crate::zk_setup_proof`, and keys without one are refused; 6: the setup
/// proof also shows every weight in its declared range, setup protocol version 2).
pub const ZK_VK_VERSION: u32 = 6;
/// Largest encoded hiding weight key accepted (`MAX_TICKETS` roots and a link value per block).
const MAX_HIDING_KEY_BYTES: u64 = 1 << 24;

/// A zero-knowledge verifying key.
#[derive(Debug, Clone, PartialEq)]
pub struct ZkVerifyingKey {
    /// The public part: graph, weight shapes, vocabulary. Its `commitment` is
    /// [`no_commitment`] (shapes only).
    pub public: VerifyingKey,
    /// The hiding weight key over the same blocks.
    pub weights: HidingKey,
    /// The hiding setup proof on ticket 0 (`crate::zk_setup_proof`; empty until `setup_zk`
    /// proves it: such a key is refused by every verifier).
    pub setup_proof: Vec<u8>,
}

/// The no-commitment marker of a zk key's public part: the weight blocks' shapes under an
/// all-zero root (no codeword's Merkle tree has it).
pub fn no_commitment(poly_num_vars: Vec<usize>) -> WhirCommitment {
    WhirCommitment { root: MerkleRoot::new(vec![[0u8; 32]]), poly_num_vars }
}

/// Whether `bytes` start like a zk verifying key (to tell the user which kind of key a file is).
pub fn is_zk_key(bytes: &[u8]) -> bool {
    bytes.starts_with(ZK_VK_MAGIC)
}

/// Why a zk key cannot serve where a public key is expected (`verify`, `prove`, `vk-check`,
/// the server), for the file at `path`.
pub fn refusal(path: &std::path::Path) -> String {
    format!(
        "{} is a zero-knowledge key (setup --zk): it cannot check or make public proofs \
         (prove with --zk; verify checks zero-knowledge proofs with it)",
        path.display()
    )
}

fn bincode_options() -> impl bincode::Options {
    use bincode::Options;
    bincode::DefaultOptions::new().with_limit(MAX_HIDING_KEY_BYTES).with_fixint_encoding().with_little_endian().reject_trailing_bytes()
}

/// A zk key holds the setup ticket and at least one proof ticket
/// ([`crate::zk_proof::FIRST_PROOF_TICKET`]).
fn check_ticket_count(weights: &HidingKey) -> Result<(), String> {
    if weights.tickets.len() <= crate::zk_proof::FIRST_PROOF_TICKET as usize {
        return Err(format!("{} tickets: a zk key holds the setup ticket and at least one proof ticket", weights.tickets.len()));
    }
    Ok(())
}

fn invalid(what: &'static str, why: String) -> DecodeError {
    DecodeError::Invalid { what, why }
}

/// The variables of each weight's polynomial in a zk key: the weight's values zero-padded per
/// dimension to powers of two, row-major (`zkinfer_ops::zk_graph::padded_table`, the zk graph
/// driver's weight polynomial), so `Σ_j ⌈log2 d_j⌉` (a scalar counts as `[1]`: none, refused by
/// the hiding key, which commits no constant).
pub fn weight_num_vars(weights: &[WeightMeta]) -> Vec<usize> {
    weights.iter().map(|w| w.shape.iter().map(|&d| d.next_power_of_two().trailing_zeros() as usize).sum()).collect()
}

impl ZkVerifyingKey {
    /// Assembles a key, checking that the hiding key commits one polynomial per weight of its
    /// padded size ([`weight_num_vars`]).
    pub fn new(mut public: VerifyingKey, weights: HidingKey) -> Result<Self, ProofSystemError> {
        if weight_num_vars(&public.weights) != weights.poly_num_vars {
            return Err(ProofSystemError::Request("the hiding weight key does not commit one padded polynomial per weight".into()));
        }
        let shapes = WeightBlockPlan::for_weights(&public.weights).slice_num_vars();
        if public.model_sha256 != [0; 32] {
            return Err(ProofSystemError::Request("a zero-knowledge key carries no model file hash (it would identify the hidden model)".into()));
        }
        weights.validate()?;
        check_ticket_count(&weights).map_err(ProofSystemError::Request)?;
        public.commitment = no_commitment(shapes);
        // A value of the weights at a public point would leak: a zk key has no answers (its
        // proofs open the hiding key, not the public commitment).
        public.weight_ood = Vec::new();
        let key = Self { public, weights, setup_proof: Vec::new() };
        // Surface an encoding failure here, not when the key is written.
        key.to_bytes()?;
        Ok(key)
    }

    /// Canonical bytes. An error (never an empty or partial encoding) if the hiding weight key
    /// does not serialise within the decoder's limit, so no key is written that would not read
    /// back and no digest is taken of a truncated encoding.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ProofSystemError> {
        self.encode(&self.setup_proof)
    }

    /// What the setup proof is bound to: BLAKE3 of the key's bytes with an empty setup proof
    /// (`crate::zk_setup_proof::setup_domain`).
    pub fn setup_binding(&self) -> Result<[u8; 32], ProofSystemError> {
        Ok(*blake3::hash(&self.encode(&[])?).as_bytes())
    }

    fn encode(&self, setup_proof: &[u8]) -> Result<Vec<u8>, ProofSystemError> {
        use bincode::Options;
        let hk = bincode_options()
            .serialize(&self.weights)
            .map_err(|e| ProofSystemError::Request(format!("the hiding weight key does not serialise: {e}")))?;
        let mut w = Writer::new();
        w.raw(ZK_VK_MAGIC);
        w.u32(ZK_VK_VERSION);
        w.bytes(&hk);
        w.bytes(&self.public.to_bytes());
        w.bytes(setup_proof);
        Ok(w.into_bytes())
    }

    /// Decodes a key, rejecting anything malformed.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        use bincode::Options;
        let mut r = Reader::new(bytes);
        r.header(ZK_VK_MAGIC, ZK_VK_VERSION, "zkinfer zero-knowledge verifying key")?;
        let hk = r.bytes("hiding weight key")?;
        let weights: HidingKey = bincode_options().deserialize(hk).map_err(|e| invalid("hiding weight key", e.to_string()))?;
        weights.validate().map_err(|e| invalid("hiding weight key", e.to_string()))?;
        check_ticket_count(&weights).map_err(|e| invalid("hiding weight key", e))?;
        let public = VerifyingKey::from_bytes(r.bytes("public part")?)?;
        let setup_proof = r.bytes("setup proof")?.to_vec();
        r.finish()?;
        // The public part's decoder checked its marker's shapes against the weights' blocks.
        if public.commitment != no_commitment(WeightBlockPlan::for_weights(&public.weights).slice_num_vars()) {
            return Err(invalid("public part", "its weight commitment is not the no-commitment marker over the weights' blocks".into()));
        }
        if weight_num_vars(&public.weights) != weights.poly_num_vars {
            return Err(invalid("hiding weight key", "it does not commit one padded polynomial per weight of the public part".into()));
        }
        if public.model_sha256 != [0; 32] {
            return Err(invalid("public part", "a zero-knowledge key carries no model file hash".into()));
        }
        Ok(Self { public, weights, setup_proof })
    }

    /// The model commitment: BLAKE3 of the key's canonical bytes (an error if they cannot be
    /// encoded, [`Self::to_bytes`]).
    pub fn digest(&self) -> Result<[u8; 32], ProofSystemError> {
        Ok(*blake3::hash(&self.to_bytes()?).as_bytes())
    }

    /// The model commitment in hex.
    pub fn model_commitment_hex(&self) -> Result<String, ProofSystemError> {
        Ok(hex::encode(self.digest()?))
    }
}
