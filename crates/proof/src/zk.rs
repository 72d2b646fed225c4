//! Zero-knowledge setup (`setup --zk`, issue 13): the hiding weight key and the secret proving key.
//!
//! [`setup_zk`] commits the weight blocks (the same blocks as the public key's,
//! [`crate::keys::weight_slices`]) in a [`HidingKey`] of `K` tickets and returns the
//! [`ZkVerifyingKey`] (public) and the [`ZkProvingKey`] (secret: the seed every mask and every
//! ticket's randomness derives from, and the next unused ticket). A zk proof uses ticket
//! [`ZkProvingKey::take_ticket`] and recommits it from the seed ([`ticket_data`]); a ticket used
//! twice would open its codeword twice and leak weight rows, so the proving key counts, refuses
//! past the budget, and must be saved after every proof (an operator obligation: a copied
//! `pk.bin` used by two provers reuses tickets).
//!
//! ```text
//! pk.bin: magic "ZKINFZP\0" | version u32 | model commitment of the zk key [32] |
//!         secret [32] | next ticket u32
//! ```

use crate::codec::{DecodeError, Reader, Writer};
use crate::keys::weight_slices;
use crate::{ProofSystemError, model_err};
use zkinfer_field::F;
use zkinfer_model::Model;
use zkinfer_pcs::hiding::{HidingPcs, HidingProverData};
use zkinfer_pcs::hiding_key::{HidingKey, KeySecret};
pub use zkinfer_pcs::hiding_key::KeyBudget;
use zkinfer_verifier::key::{VerifyingKey, Vocabulary};
use zkinfer_verifier::zk_key::{ZkVerifyingKey, no_commitment};

/// Magic bytes of a zk proving-key file.
pub const ZK_PK_MAGIC: &[u8; 8] = b"ZKINFZP\0";
/// Format version of zk proving-key files.
pub const ZK_PK_VERSION: u32 = 1;

/// The secret proving key of a zk key.
#[derive(Clone, PartialEq, Eq)]
pub struct ZkProvingKey {
    /// The model commitment of the zk verifying key it belongs to.
    pub vk_digest: [u8; 32],
    /// The seed of every mask and every ticket's randomness.
    pub secret: KeySecret,
    /// The next unused ticket.
    pub next_ticket: u32,
}

impl std::fmt::Debug for ZkProvingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZkProvingKey").field("vk_digest", &hex::encode(self.vk_digest)).field("next_ticket", &self.next_ticket).finish_non_exhaustive()
    }
}

impl ZkProvingKey {
    /// Canonical bytes (secret).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::new();
        w.raw(ZK_PK_MAGIC);
        w.u32(ZK_PK_VERSION);
        w.raw(&self.vk_digest);
        w.raw(&self.secret.0);
        w.u32(self.next_ticket);
        w.into_bytes()
    }

    /// Decodes a proving key.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        r.header(ZK_PK_MAGIC, ZK_PK_VERSION, "zkinfer zero-knowledge proving key")?;
        let vk_digest = r.array::<32>("model commitment")?;
        let secret = KeySecret(r.array::<32>("secret")?);
        let next_ticket = r.u32("next ticket")?;
        r.finish()?;
        Ok(Self { vk_digest, secret, next_ticket })
    }

    /// Reserves the next ticket for a proof under `vk` (the caller saves the key before the
    /// proof leaves the machine); refused past the budget or for another key.
    pub fn take_ticket(&mut self, vk: &ZkVerifyingKey) -> Result<usize, ProofSystemError> {
        if vk.digest() != self.vk_digest {
            return Err(ProofSystemError::Request("the proving key belongs to another zk verifying key".into()));
        }
        let i = self.next_ticket as usize;
        if i >= vk.weights.tickets.len() {
            return Err(ProofSystemError::Request(format!(
                "the zk key's proof budget is spent: all {} tickets are used (run setup --zk again)",
                vk.weights.tickets.len()
            )));
        }
        self.next_ticket += 1;
        Ok(i)
    }
}

/// The weight blocks as the key commits them.
fn slices(model: &Model) -> Result<(Vec<crate::keys::WeightMeta>, Vec<Vec<F>>), ProofSystemError> {
    weight_slices(model)
}

/// Zero-knowledge setup: the zk verifying key (graph, shapes, vocabulary, hiding weight key of
/// `budget.tickets` tickets) and its secret proving key. No setup range proof yet: the hiding one
/// is not built, so zk keys are not accepted by `verify` (`docs/SECURITY.md`).
pub fn setup_zk(
    model: &Model,
    vocab: impl Into<Vocabulary>,
    budget: KeyBudget,
) -> Result<(ZkVerifyingKey, ZkProvingKey), ProofSystemError> {
    let vocab = vocab.into();
    let eog_ids = vocab.eog_set()?;
    let graph = model.graph_template().map_err(model_err)?;
    let step_graph = model.step_graph_template().map_err(model_err)?;
    let (metas, slices) = slices(model)?;
    let refs: Vec<&[F]> = slices.iter().map(Vec::as_slice).collect();
    let secret = KeySecret::generate()?;
    let weights = HidingKey::setup(&HidingPcs::default(), &refs, budget, &secret)?;
    // No file hash: a hash of the GGUF would let anyone holding a candidate file test whether it
    // is the hidden model (review 7); the zk key's `model_sha256` is all zeros.
    let public = VerifyingKey {
        model_sha256: [0; 32],
        architecture: model.architecture().name().into(),
        graph,
        step_graph,
        commitment: no_commitment(weights.poly_num_vars.clone()),
        weights: metas,
        vocab: vocab.tokens,
        eog_ids,
    };
    let vk = ZkVerifyingKey::new(public, weights)?;
    let pk = ZkProvingKey { vk_digest: vk.digest(), secret, next_ticket: 0 };
    Ok((vk, pk))
}

/// Ticket `ticket`'s prover data, recommitted from `model`'s weights and the secret and checked
/// against the key (a model or secret other than the key's is refused).
pub fn ticket_data(vk: &ZkVerifyingKey, pk: &ZkProvingKey, model: &Model, ticket: usize) -> Result<HidingProverData, ProofSystemError> {
    if vk.digest() != pk.vk_digest {
        return Err(ProofSystemError::Request("the proving key belongs to another zk verifying key".into()));
    }
    let (_, slices) = slices(model)?;
    let refs: Vec<&[F]> = slices.iter().map(Vec::as_slice).collect();
    Ok(vk.weights.ticket(&HidingPcs::default(), &refs, &pk.secret, ticket)?)
}
