//! The hiding setup proof of a zero-knowledge key (issue 13, `docs/SECURITY.md` "Hiding setup
//! proof"), opened on the key's reserved ticket [`crate::zk_proof::SETUP_TICKET`] (0): the
//! verifier side.
//!
//! **Statement (built: padding).** For every weight `w` of the key, with shape `[d_0, …, d_{k−1}]`
//! committed as the table `W` of `Σ_j n_j` variables (`n_j = ⌈log2 d_j⌉`, zero-padded per
//! dimension, row-major, MSB first: [`crate::zk_key::weight_num_vars`]), `W(x) = 0` at every index
//! `x` whose coordinate `x_j ≥ d_j` in some dimension `j` (the *padding*). Every zk op's verifier
//! reads only the padded sizes, so without this a key author could commit a wider model than the
//! key's shapes say and prove its outputs (review 17).
//!
//! **Not built yet: the range `|w| ≤ 2^bits − 1` of the real entries** (the zk counterpart of the
//! public setup proof's limbs). Every "field equation ⇒ integer equation" argument of the zk graph
//! proof assumes it; until it lands, a zk key's weights are in range only on the key author's
//! word (`docs/SECURITY.md`).
//!
//! **Protocol.** The padding of dimension `j` is `[d_j, 2^{n_j})`, the disjoint union of at most
//! `n_j` aligned blocks `[a, a + 2^s)` ([`padding_blocks`]): fixing the top `n_j − s` bits of
//! dimension `j` to those of `a` selects the block. For each weight and each of its blocks the
//! transcript (domain [`setup_domain`]: the key's bytes without the proof) draws a point `z` whose
//! block bits are those boolean values and whose every other coordinate is a challenge, and the
//! prover opens ticket 0 at the *public zero claims* `Ŵ(z) = 0` (value 0 is the statement, not a
//! message) with the key's link claims, one hiding opening
//! ([`zkinfer_pcs::hiding_key::HidingKey::verify_ticket`]). Nothing else is sent.
//!
//! **Soundness.** With a boolean coordinate `Z(z) = 0`, so `Ŵ(z) = W̃(z)`, the multilinear
//! extension; fixing the block bits leaves `W̃` restricted to the block, a multilinear polynomial in
//! the `f ≤ 40` free coordinates, zero iff `W` is zero on the block. Ticket 0's root is in the key,
//! fixed before the challenges, so a non-zero block passes with probability `≤ f/|EF| ≤
//! 40·2^{-191.9}` per claim (Schwartz–Zippel) plus the hiding opening's error; union over the
//! claims (`≤ Σ n_j` per weight, a few thousand for GPT-2 small): below `2^{-170}`, far under the
//! opening's 132 bits. Through the key's link claims (`zkinfer_pcs::hiding_key`, "Link") every
//! ticket holds ticket 0's polynomials, so the padding is zero on the ticket every proof opens.
//! The claims are in the field, no integer relation: no wrap-around argument is needed.
//!
//! **Zero knowledge.** The claimed values are 0, known to the verifier from the statement; the
//! link values are the key's own; the hiding opening is simulatable from its claimed values
//! (`zkinfer_pcs::hiding`). Ticket 0 is opened once, by this proof (no graph proof may open it).
//! So the setup proof reveals nothing beyond the key's shapes (public) and the fact proven.

use zkinfer_field::{EF, PrimeCharacteristicRing};
use zkinfer_pcs::OpeningClaim;
use zkinfer_pcs::hiding::HidingPcs;
use zkinfer_pcs::hiding_key::HidingKey;
use zkinfer_transcript::{DomainSeparator, Transcript, VerifierTranscript};

use crate::ProofSystemError;
use crate::key::WeightMeta;
use crate::zk_key::{ZkVerifyingKey, weight_num_vars};
use crate::zk_proof::SETUP_TICKET;

/// The protocol name of the zk setup proof's transcript.
pub const ZK_SETUP_PROTOCOL: &str = "zkinfer-zk-setup-proof";
/// Its version (1: the padding claims).
pub const ZK_SETUP_VERSION: u32 = 1;

/// The aligned blocks `[a, a + 2^s)` covering the padding `[d, 2^n)` of a dimension of size `d`
/// padded to `2^n` (`n = ⌈log2 d⌉`), as `(a >> s, n − s)`: the block's fixed top bits and their
/// count (`≥ 1`: a block never covers the whole dimension, since `d ≥ 1`). Greedy from `d`: the
/// largest aligned block starting at the current index that stays below `2^n`, so at most `n`.
/// Refused for `d = 0` (an empty dimension has no weight to pad).
pub fn padding_blocks(d: usize) -> Result<Vec<(usize, usize)>, ProofSystemError> {
    if d == 0 {
        return Err(ProofSystemError::Request("a weight dimension of size 0".into()));
    }
    let n = d.next_power_of_two().trailing_zeros() as usize;
    let end = 1usize << n;
    let mut out = Vec::new();
    let mut x = d;
    while x < end {
        let mut s = x.trailing_zeros() as usize;
        while x + (1usize << s) > end {
            s -= 1;
        }
        out.push((x >> s, n - s));
        x += 1usize << s;
    }
    Ok(out)
}

/// One padding claim's point template: per coordinate, `Some(bit)` where the block fixes it,
/// `None` where the transcript draws a challenge.
fn templates(shape: &[usize]) -> Result<Vec<Vec<Option<bool>>>, ProofSystemError> {
    let ns: Vec<usize> = shape.iter().map(|&d| d.next_power_of_two().trailing_zeros() as usize).collect();
    let total: usize = ns.iter().sum();
    let mut out = Vec::new();
    let mut start = 0;
    for (&d, &n) in shape.iter().zip(&ns) {
        for (prefix, fixed) in padding_blocks(d)? {
            let mut tpl = vec![None; total];
            for b in 0..fixed {
                // MSB first within the dimension.
                tpl[start + b] = Some((prefix >> (fixed - 1 - b)) & 1 == 1);
            }
            out.push(tpl);
        }
        start += n;
    }
    Ok(out)
}

/// The padding claims on the key's weights, their free coordinates drawn from `t` (both sides):
/// per weight in key order, per dimension, per block ([`padding_blocks`]), `Ŵ(z) = 0`.
pub fn padding_claims<T: Transcript>(weights: &[WeightMeta], t: &mut T) -> Result<Vec<OpeningClaim>, ProofSystemError> {
    let vars = weight_num_vars(weights);
    let mut claims = Vec::new();
    for (poly, w) in weights.iter().enumerate() {
        for tpl in templates(&w.shape)? {
            debug_assert_eq!(tpl.len(), vars[poly]);
            let free = tpl.iter().filter(|b| b.is_none()).count();
            let mut r = t.challenge_exts(free).into_iter();
            let point = tpl
                .iter()
                .map(|b| match b {
                    Some(true) => Some(EF::ONE),
                    Some(false) => Some(EF::ZERO),
                    None => r.next(),
                })
                .collect::<Option<Vec<EF>>>()
                .ok_or_else(|| ProofSystemError::Request("padding claim point".into()))?;
            claims.push(OpeningClaim { poly, point, value: EF::ZERO });
        }
    }
    Ok(claims)
}

/// The setup proof's transcript domain: the protocol, and `key_binding` (for a zk key, BLAKE3 of
/// its bytes without the setup proof, [`ZkVerifyingKey::setup_binding`]) — so the proof is bound
/// to the hiding key, the shapes, the graph and the vocabulary before any challenge.
pub fn setup_domain(key_binding: &[u8; 32]) -> DomainSeparator {
    DomainSeparator::new(ZK_SETUP_PROTOCOL, ZK_SETUP_VERSION).with_public("zk key without its setup proof", key_binding)
}

/// Verifies a setup proof `proof` of the hiding key `hk` over the weights `weights` under the
/// binding `key_binding` ([`setup_domain`]): the padding claims on ticket 0.
pub fn verify_zk_setup_on(hk: &HidingKey, weights: &[WeightMeta], key_binding: &[u8; 32], proof: &[u8]) -> Result<(), ProofSystemError> {
    if proof.is_empty() {
        return Err(ProofSystemError::Rejected("the zk key carries no setup proof (its weights are not shown zero on their padding): run setup --zk again".into()));
    }
    if weight_num_vars(weights) != hk.poly_num_vars {
        return Err(ProofSystemError::Rejected("the hiding weight key does not commit these weights".into()));
    }
    let ds = setup_domain(key_binding);
    let mut t = VerifierTranscript::new(&ds, proof);
    let claims = padding_claims(weights, &mut t)?;
    let fail = |e: String| ProofSystemError::Rejected(format!("the zk key's setup proof fails (its weights are not shown zero on their padding): {e}"));
    // Never empty: the key's link claims are added (a key without padding still opens ticket 0).
    hk.verify_ticket(&HidingPcs::default(), SETUP_TICKET as usize, &claims, &mut t).map_err(|e| fail(e.to_string()))?;
    t.finish().map_err(|e| fail(e.to_string()))?;
    Ok(())
}

/// Verifies a zk key's own setup proof ([`verify_zk_setup_on`] under the key's binding).
pub fn verify_zk_setup(vk: &ZkVerifyingKey) -> Result<(), ProofSystemError> {
    verify_zk_setup_on(&vk.weights, &vk.public.weights, &vk.setup_binding()?, &vk.setup_proof)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is a failure report
mod tests {
    use super::*;

    #[test]
    fn padding_blocks_cover_exactly_the_padding() {
        for d in 1..=300usize {
            let n = d.next_power_of_two().trailing_zeros() as usize;
            let blocks = padding_blocks(d).unwrap();
            assert_eq!(blocks.len(), ((1usize << n) - d).count_ones() as usize, "d = {d}");
            let mut covered = vec![false; 1 << n];
            for (prefix, fixed) in blocks {
                assert!(fixed >= 1 && fixed <= n, "d = {d}");
                let s = n - fixed;
                for x in prefix << s..(prefix + 1) << s {
                    assert!(!covered[x], "d = {d}: {x} twice");
                    covered[x] = true;
                }
            }
            for (x, c) in covered.iter().enumerate() {
                assert_eq!(*c, x >= d, "d = {d}, x = {x}");
            }
        }
        assert!(padding_blocks(0).is_err());
        assert_eq!(padding_blocks(24).unwrap(), vec![(3, 2)]);
        assert_eq!(padding_blocks(32).unwrap(), vec![]);
    }
}
