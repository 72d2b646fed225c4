//! The hiding setup proof of a zero-knowledge key (issue 13): the prover side of
//! `zkinfer_verifier::zk_setup_proof` (statement, protocol, soundness and zero-knowledge argument
//! there and in `docs/SECURITY.md`, "Hiding setup proof"). `setup --zk` ([`crate::zk::setup_zk`])
//! proves it on ticket 0 and stores it in the key.
//!
//! Built: every weight is zero on its padding (public zero claims on aligned padding blocks). Not
//! built: the range of the real entries.

use zkinfer_pcs::hiding::{HidingPcs, HidingProverData};
use zkinfer_pcs::hiding_key::HidingKey;
use zkinfer_transcript::ProverTranscript;
use zkinfer_verifier::key::WeightMeta;
use zkinfer_verifier::zk_key::ZkVerifyingKey;
pub use zkinfer_verifier::zk_setup_proof::{padding_blocks, padding_claims, setup_domain, verify_zk_setup, verify_zk_setup_on};

use crate::ProofSystemError;
use zkinfer_field::{EF, PrimeCharacteristicRing};

/// Whether the prover checks each padding claim against its ticket-0 data before opening.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaddingCheck {
    /// The honest prover: a weight that is not zero on its padding is refused, naming it (an
    /// opening of a false zero claim would be refused by the verifier anyway).
    Refuse,
    /// Tamper tests only (the malicious key author): open the zero claims whatever the values.
    Skip,
}

/// Proves the setup statement of hiding key `hk` over `weights` on ticket 0 (`data`: its prover
/// data, `HidingKey::ticket(.., 0)`), bound to `key_binding`. Returns the transcript.
pub fn prove_zk_setup_on<R: rand10::CryptoRng + ?Sized>(
    hk: &HidingKey,
    weights: &[WeightMeta],
    key_binding: &[u8; 32],
    data: HidingProverData,
    check: PaddingCheck,
    rng: &mut R,
) -> Result<Vec<u8>, ProofSystemError> {
    let ds = setup_domain(key_binding);
    let mut t = ProverTranscript::new(&ds);
    let claims = padding_claims(weights, &mut t)?;
    if check == PaddingCheck::Refuse {
        for c in &claims {
            if data.evaluate(c.poly, &c.point)? != EF::ZERO {
                let name = weights.get(c.poly).map_or("?", |w| w.name.as_str());
                return Err(ProofSystemError::Request(format!("weight {name} is not zero on its padding: the zk key cannot be proven")));
            }
        }
    }
    hk.open_ticket(&HidingPcs::default(), data, &claims, &mut t, rng)?;
    Ok(t.into_proof())
}

/// Proves a zk key's setup statement (ticket 0's data `data`) under the key's binding.
pub fn prove_zk_setup<R: rand10::CryptoRng + ?Sized>(vk: &ZkVerifyingKey, data: HidingProverData, rng: &mut R) -> Result<Vec<u8>, ProofSystemError> {
    prove_zk_setup_on(&vk.weights, &vk.public.weights, &vk.setup_binding()?, data, PaddingCheck::Refuse, rng)
}
