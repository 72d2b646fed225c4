//! The pieces of a chunked (incremental) proof that are not one graph's (issue 12,
//! `docs/PROTOCOLS.md` "Incremental (chunked) proving").
//!
//! Positions are proven in chunks of `C = 2^c` (the last may be shorter). Chunk `k` proves the
//! KV-cache step graph over its positions; its cached keys/values `[H, s_k, d]` (`s_k = k·C`) are
//! [`crate::TensorRole::Deferred`] inputs, and its new keys/values `[H, C_k, d]` are committed
//! separately (one small commitment per chunk, `KV_k`).
//!
//! * **Link** ([`link_point`]): after `KV_k` is absorbed the verifier draws a point `z` per new
//!   tensor; the prover sends `v = K̃_new(z)`; the claim `K_new(z) = v` is injected into the chunk's
//!   walk (so the chunk's own computation must produce it) and `KV_k[K](z) = v` is deferred to
//!   `KV_k`'s opening. Two multilinear polynomials that agree at a random point are equal except
//!   with probability `vars/|EF|`.
//! * **Cache split** ([`prove_cache_split`], [`verify_cache_split`]): the cache is chunk-major,
//!   `cache[h, j·C + i, c] = K_j[h, i, c]`, so with `r_t = (r_hi, r_lo)`, `|r_lo| = c`,
//!   `cachẽ(r_h, r_t, r_c) = Σ_{j < k} eq(r_hi, j)·K̃_j(r_h, r_lo, r_c)` exactly (positions past
//!   `s_k` are padding, zero on both sides). The prover sends `u_j = K̃_j(r_h, r_lo, r_c)`, the
//!   verifier checks the sum and defers each `K_j(r_h, r_lo, r_c) = u_j` to `KV_j`'s opening. No
//!   soundness loss; nothing of an earlier chunk is recomputed.

use zkinfer_field::EF;
use zkinfer_transcript::{ProverTranscript, Transcript, VerifierTranscript};

use crate::context::Claim;
use crate::error::ProofError;
use crate::layout::TensorLayout;
use crate::ops::public_mle::point_indicator_mle;
use crate::mle_eval::evaluate_slice;

const OP: &str = "chunk";

/// The link point of one new tensor of shape `dims` (drawn after `KV_k` is absorbed).
pub fn link_point<T: Transcript>(t: &mut T, dims: &[usize]) -> Vec<EF> {
    t.challenge_exts(TensorLayout::new(dims).num_vars())
}

/// The split of a claim on a cache of `[H, s, d]` over chunks of `2^c` positions: per earlier
/// chunk `j`, the point on its `[H, 2^c, d]` tensor and the factor `eq(r_hi, j)`.
fn split(cache_dims: &[usize], chunk_vars: usize, point: &[EF]) -> Result<(Vec<EF>, Vec<EF>), ProofError> {
    let [h, s, d] = cache_dims else {
        return Err(ProofError::shape(OP, format!("cache of shape {cache_dims:?}")));
    };
    let c = 1usize << chunk_vars;
    if *s == 0 || s % c != 0 {
        return Err(ProofError::shape(OP, format!("{s} cached positions are not whole chunks of {c}")));
    }
    let layout = TensorLayout::new(&[*h, *s, *d]);
    if point.len() != layout.num_vars() {
        return Err(ProofError::shape(OP, "cache claim of wrong dimension"));
    }
    let parts = layout.split_point(point);
    let (r_h, r_t, r_c) = (parts[0], parts[1], parts[2]);
    let (r_hi, r_lo) = r_t.split_at(r_t.len() - chunk_vars);
    let factors = (0..s / c).map(|j| point_indicator_mle(j, r_hi)).collect();
    Ok(([r_h, r_lo, r_c].concat(), factors))
}

/// Prover of the cache split: `chunks[j]` holds chunk `j`'s `[H, 2^c, d]` values (row-major); sends
/// `u_j` for every earlier chunk and returns the claims `(j, point, u_j)`.
pub fn prove_cache_split(
    claim: &Claim,
    cache_dims: &[usize],
    chunk_vars: usize,
    chunks: &[&[i64]],
    t: &mut ProverTranscript,
) -> Result<Vec<(usize, Claim)>, ProofError> {
    let (point, factors) = split(cache_dims, chunk_vars, &claim.point)?;
    if chunks.len() != factors.len() {
        return Err(ProofError::witness(OP, format!("{} cached chunks for {} positions", chunks.len(), cache_dims[1])));
    }
    let layout = TensorLayout::new(&[cache_dims[0], 1 << chunk_vars, cache_dims[2]]);
    let mut out = Vec::with_capacity(chunks.len());
    for (j, values) in chunks.iter().enumerate() {
        if values.len() != layout.len() {
            return Err(ProofError::witness(OP, "cached chunk length"));
        }
        let u = evaluate_slice(&layout.pad_i64(values), &point);
        t.send_ext(u);
        out.push((j, Claim::new(point.clone(), u)));
    }
    Ok(out)
}

/// Verifier of the cache split: receives `u_j`, checks `Σ_j eq(r_hi, j)·u_j` against the claim and
/// returns the claims on the earlier chunks' tensors.
pub fn verify_cache_split(claim: &Claim, cache_dims: &[usize], chunk_vars: usize, t: &mut VerifierTranscript<'_>) -> Result<Vec<(usize, Claim)>, ProofError> {
    let (point, factors) = split(cache_dims, chunk_vars, &claim.point)?;
    let mut sum = EF::default();
    let mut out = Vec::with_capacity(factors.len());
    for (j, f) in factors.iter().enumerate() {
        let u = t.receive_ext()?;
        sum += *f * u;
        out.push((j, Claim::new(point.clone(), u)));
    }
    if sum != claim.value {
        return Err(ProofError::check(OP, "the earlier chunks' keys/values do not sum to the claim on the cache"));
    }
    Ok(out)
}
