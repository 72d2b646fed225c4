//! The setup proof's prover (the statement, protocol and verifier are documented in
//! `zkinfer_verifier::setup_proof`, re-exported here): proves that every committed weight entry lies
//! in its declared range and every block padding entry is zero.

use p3_field::PrimeField64;
use rayon::prelude::*;
use zkinfer_field::{EF, F, PrimeCharacteristicRing, to_i64};
use zkinfer_lookup::{LookupColumn, LookupInstance, compute_multiplicities, prove_lookups};
use zkinfer_pcs::PolyId;
use zkinfer_transcript::{ProverTranscript, Transcript};

use crate::ProofSystemError;
use crate::keys::{VerifyingKey, encode_commitment, pcs};
pub use zkinfer_verifier::setup_proof::*;

/// `Σ_i eq(point, i)·values[i]`.
fn mle_eval(values: &[F], point: &[EF]) -> EF {
    zkinfer_poly::eq_evals(point).iter().zip(values).map(|(&e, &v)| e * v).sum()
}

/// Checks the honest statement before proving (clear error instead of a proof that fails).
fn check_values(layout: &Layout, slices: &[Vec<F>]) -> Result<(), ProofSystemError> {
    for (k, (s, v)) in layout.slices.iter().zip(slices).enumerate() {
        let bound = s.bound() as i64;
        let bad = v.par_iter().enumerate().find_any(|&(i, &x)| {
            let x = to_i64(x);
            if s.is_logical(i) { x.unsigned_abs() > bound as u64 } else { x != 0 }
        });
        if let Some((i, &x)) = bad {
            return Err(ProofSystemError::Request(format!(
                "weight slice {k}, entry {i}: {} is outside |w| <= 2^{} - 1 or in the zero padding",
                to_i64(x),
                s.bits
            )));
        }
    }
    Ok(())
}

/// Proves the setup statement for `vk`, whose weight commitment holds `slices` (in commitment
/// order, as [`crate::keys::weight_slices`] returns them). The weight commitment's prover data is
/// recomputed from `slices` for the final opening (and checked against the key), so it is never
/// resident together with the lookups' GKR: for GPT-2 small one more commitment (seconds) buys
/// several GB of peak memory.
pub fn prove_setup(vk: &VerifyingKey, slices: Vec<Vec<F>>) -> Result<SetupProof, ProofSystemError> {
    prove_setup_inner(vk, slices, false, MAX_GKR_LEAVES)
}

/// A CHEATING prover, for negative tests only: skips the statement check, clamps narrow columns
/// and truncates wide values into their tables so that a proof is produced whatever the weights.
#[doc(hidden)]
pub fn prove_setup_unchecked(vk: &VerifyingKey, slices: Vec<Vec<F>>) -> Result<SetupProof, ProofSystemError> {
    prove_setup_inner(vk, slices, true, MAX_GKR_LEAVES)
}

fn prove_setup_inner(vk: &VerifyingKey, mut slices: Vec<Vec<F>>, cheat: bool, max_leaves: usize) -> Result<SetupProof, ProofSystemError> {
    let layout = Layout::new(vk, max_leaves)?;
    if slices.len() != layout.slices.len() || slices.iter().zip(&layout.slices).any(|(v, s)| v.len() != 1usize << s.num_vars) {
        return Err(ProofSystemError::Request("the weight slices do not match the key's blocks".into()));
    }
    if !cheat {
        check_values(&layout, &slices)?;
    }
    zkinfer_procfs::mem_trace("setup proof: start");
    let tables = layout.tables()?;
    let lookup_err = |e: zkinfer_lookup::LookupError| ProofSystemError::Request(format!("weight range lookup: {e}"));
    // The cheating prover clamps columns in place: it keeps the committed values for the opening.
    let original = if cheat { Some(slices.clone()) } else { None };
    // Wide columns: limbs of a = w + B and a' = B − w, each followed by its scaled top limb.
    let mut wide_cols: Vec<Vec<F>> = Vec::new();
    let mut limb_slices: Vec<Vec<F>> = Vec::new();
    for &k in &layout.wide {
        let s = &layout.slices[k];
        let (j, top) = (s.limbs(), s.top_bits());
        let bound = F::from_u64(s.bound());
        let mask = (1u128 << (s.bits + 1)) - 1;
        for sign in [F::ONE, F::NEG_ONE] {
            let vals: Vec<u128> = slices[k]
                .par_iter()
                .map(|&w| {
                    let v = (bound + sign * w).as_canonical_u64() as u128;
                    if cheat { v & mask } else { v }
                })
                .collect();
            for l in 0..j {
                let limb: Vec<F> = vals.par_iter().map(|&v| F::from_u64(((v >> (LIMB_BITS as usize * l)) & 0xffff) as u64)).collect();
                if l == j - 1 {
                    let scaled: Vec<F> = limb.par_iter().map(|&x| x * F::from_u64(1u64 << (LIMB_BITS - top))).collect();
                    wide_cols.push(limb.clone());
                    wide_cols.push(scaled);
                } else {
                    wide_cols.push(limb.clone());
                }
                limb_slices.push(limb);
            }
        }
    }

    // Narrow columns a = w + B, in place (clamped into [0, 2B] by the cheating prover).
    for (b, ks) in &layout.narrow {
        let bound = (1u64 << b) - 1;
        for &k in ks {
            slices[k].par_iter_mut().for_each(|x| {
                let a = *x + F::from_u64(bound);
                *x = if cheat && a.as_canonical_u64() > 2 * bound { F::from_u64(if to_i64(*x) < 0 { 0 } else { 2 * bound }) } else { a };
            });
        }
    }
    let max_narrow = layout.slices.iter().filter(|s| s.bits <= NARROW_MAX_BITS).map(|s| 1usize << s.num_vars).max().unwrap_or(0);
    let zeros = vec![F::ZERO; max_narrow];
    let mut column_sets: Vec<Vec<LookupColumn<'_>>> = layout
        .narrow
        .iter()
        .map(|(_, ks)| ks.iter().map(|&k| LookupColumn::pair(&slices[k], &zeros[..slices[k].len()])).collect())
        .collect();
    if !layout.wide.is_empty() {
        column_sets.push(wide_cols.iter().map(|c| LookupColumn::single(c)).collect());
    }
    let mults: Vec<Vec<F>> = tables
        .iter()
        .zip(&column_sets)
        .map(|(table, cols)| compute_multiplicities(table, cols))
        .collect::<Result<_, _>>()
        .map_err(lookup_err)?;

    // Aux commitment: multiplicities, then limbs (in `Layout::aux_num_vars` order).
    let aux_refs: Vec<&[F]> = mults.iter().map(Vec::as_slice).chain(limb_slices.iter().map(Vec::as_slice)).collect();
    let pcs = pcs();
    let (aux_com, aux_data) = pcs.commit_slices(&aux_refs)?;
    drop(aux_refs);

    let digest = vk.digest();
    let mut t = ProverTranscript::new(&domain_separator(&digest));
    t.send_bytes(&encode_commitment(&aux_com));
    let instances: Vec<LookupInstance<'_>> = tables
        .iter()
        .zip(column_sets)
        .zip(&mults)
        .map(|((table, columns), m)| LookupInstance { table, columns, multiplicities: m })
        .collect();
    zkinfer_procfs::mem_trace("setup proof: columns and aux commitment ready");
    let mut claims = Vec::with_capacity(instances.len());
    for g in &layout.groups {
        claims.extend(prove_lookups(&instances[g.clone()], &mut t).map_err(lookup_err)?);
    }
    zkinfer_procfs::mem_trace("setup proof: lookups proven");
    drop(instances);
    drop(wide_cols);
    drop(zeros);
    let slices = match original {
        Some(o) => o,
        None => {
            for (b, ks) in &layout.narrow {
                let bound = F::from_u64((1u64 << b) - 1);
                for &k in ks {
                    slices[k].par_iter_mut().for_each(|x| *x -= bound);
                }
            }
            slices
        }
    };
    let (mut weight_acc, mut aux_acc) = reduce_claims(&layout, tables.len(), &claims, !cheat)?;
    let mut limbs = limb_slices.iter();
    for (&k, base) in layout.wide.iter().zip(limb_bases(&layout, tables.len())) {
        let rho = t.challenge_exts(layout.slices[k].num_vars);
        let evals: Vec<EF> = limbs.by_ref().take(2 * layout.slices[k].limbs()).map(|l| mle_eval(l, &rho)).collect();
        t.send_exts(&evals);
        link_wide(&layout, k, base, &rho, &evals, !cheat, &mut weight_acc, &mut aux_acc)?;
    }
    drop(limb_slices);
    padding_claims(&layout, &mut t, &mut weight_acc);
    let refs: Vec<&[F]> = slices.iter().map(Vec::as_slice).collect();
    let (commitment, weight_data) = pcs.commit_slices(&refs)?;
    drop(refs);
    drop(slices);
    if commitment != vk.commitment {
        return Err(ProofSystemError::Request("the weight slices do not match the key's weight commitment".into()));
    }
    zkinfer_procfs::mem_trace("setup proof: weights recommitted");
    let (weight_ids, aux_ids) = (PolyId::slots(vk.commitment.poly_num_vars.len()), PolyId::slots(aux_data.commitment().poly_num_vars.len()));
    crate::keys::prove_weight_opening(&pcs, vk, weight_data, weight_acc, &weight_ids, &mut t)?;
    aux_acc.prove_consuming(&pcs, aux_data, &aux_ids, &mut t)?;
    Ok(SetupProof { model_commitment: digest, transcript: t.into_proof() })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a panic is a failure report
mod tests {
    use super::*;

    /// The tiny GPT-2 with GKR groups of at most 2^12 leaves: many instances per bits class and
    /// many GKRs; the proof verifies with the same grouping and not with another.
    #[test]
    fn small_gkr_groups_prove_and_verify() {
        let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/gpt2-tiny-random.gguf");
        let gguf = zkinfer_gguf::GgufFile::open(path).unwrap();
        let model = zkinfer_model::Model::load(&gguf).unwrap();
        let (metas, slices) = crate::keys::weight_slices(&model).unwrap();
        let refs: Vec<&[F]> = slices.iter().map(Vec::as_slice).collect();
        let (commitment, data) = pcs().commit_slices(&refs).unwrap();
        let weight_ood = crate::keys::weight_ood_answers(&commitment, &data).unwrap();
        let vk = VerifyingKey {
            model_sha256: [0; 32],
            architecture: "gpt2".into(),
            graph: model.graph_template().unwrap(),
            step_graph: model.step_graph_template().unwrap(),
            weights: metas,
            commitment,
            weight_ood,
            vocab: vec![Vec::new(); model.config().n_vocab],
            eog_ids: Vec::new(),
        };
        let layout = Layout::new(&vk, 1 << 12).unwrap();
        assert!(layout.groups.len() > 4 && layout.narrow.len() > 4, "{} groups", layout.groups.len());
        let proof = prove_setup_inner(&vk, slices, false, 1 << 12).unwrap();
        verify_setup_inner(&vk, &proof, 1 << 12).unwrap();
        assert!(verify_setup_inner(&vk, &proof, MAX_GKR_LEAVES).is_err());
    }
}
