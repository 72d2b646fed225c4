//! Claim reduction shared by every proof: the range-limb relation (a claim on a range-checked
//! column from claims on its limbs), virtual columns rewritten into claims on their terms, and
//! several claims on one polynomial merged into one.

use zkinfer_field::{EF, F, Field, PrimeCharacteristicRing, from_i64_unchecked};
use zkinfer_poly::{Mle, eq_eval};
use zkinfer_sumcheck::{ProductSumcheck, SumcheckClaim, SumcheckInstance};
use zkinfer_transcript::{ProverTranscript, Transcript, VerifierTranscript};

use zkinfer_pcs::{Opening, Origin, PolyId};

use crate::context::{Accumulators, Claim, evaluate_column};
use crate::error::ProofError;
use crate::witness::{ColumnId, LIMB_BITS, RangeCheckDecl, WitnessBuilder, WitnessPlan};

/// `2^(16 j)` in the extension field (`j ≤ 3` since ranges are at most 63 bits).
fn limb_weight(j: usize) -> EF {
    EF::from(F::from_u64(1u64 << (LIMB_BITS as usize * j)))
}

/// Largest number of variables among the range-checked columns (the length of the shared point).
fn range_point_len(plan: &WitnessPlan) -> usize {
    plan.range_checks().iter().filter(|d| needs_relation(d)).map(|d| plan.num_vars(d.column)).max().unwrap_or(0)
}

/// True for a limb decomposition of a column that was already virtual (its limbs do not define it).
fn needs_relation(decl: &RangeCheckDecl) -> bool {
    !decl.limbs.is_empty() && !decl.defines_column
}

/// `column(z) = Σ_j 2^(16 j)·limb_j(z) − offset·χ(z)`, `χ = 1` or the indicator of the check's
/// extent ([`RangeCheckDecl::extent`]).
fn recombine(decl: &RangeCheckDecl, limb_values: &[EF], z: &[EF]) -> EF {
    let sum: EF = limb_values.iter().enumerate().map(|(j, &v)| limb_weight(j) * v).sum();
    let chi = decl.extent.as_ref().map_or(EF::ONE, |dims| crate::witness::extent_indicator(dims, z));
    sum - EF::from(F::from_u64(decl.offset())) * chi
}

/// Prover: for every limb-decomposed range check, sends the limbs' evaluations at a shared random
/// point `z` (truncated to each column's size) and records claims on the limbs and on the column
/// (whose value follows from the limbs).
pub fn prove_range_relations(w: &WitnessBuilder, t: &mut ProverTranscript, acc: &mut Accumulators) {
    prove_range_relations_with(w, &mut |col, z| evaluate_column(&w.values(col), z), t, acc);
}

/// [`prove_range_relations`] with the limbs' values at `z` given by `eval` — the plain
/// evaluation in public mode; in zero-knowledge mode (issue 13, choke point 5) the value of each
/// limb's randomised extension `P̂_limb(z) = P_limb(z) + Z(z)·M_limb(z_{<μ})` (`Vanishing::All`).
/// The verifier is [`verify_range_relations`] in both modes: the column's claim is derived from
/// the sent limb values, so in zero-knowledge mode it is a claim on the column's randomised
/// extension `Σ_j 2^{16j}·P̂_limb_j − offset·χ`, i.e. the column must be committed with the mask
/// `Σ_j 2^{16j}·M_limb_j` (the same `Z`: a limb has the column's variables). That mask adds no
/// freedom and needs none — the column is a function of its limbs, whose values are masked.
pub fn prove_range_relations_with(w: &WitnessBuilder, eval: &mut dyn FnMut(ColumnId, &[EF]) -> EF, t: &mut ProverTranscript, acc: &mut Accumulators) {
    let plan = w.plan();
    let z = t.challenge_exts(range_point_len(plan));
    for (i, decl) in plan.range_checks().iter().enumerate().filter(|(_, d)| needs_relation(d)) {
        let zc = &z[..plan.num_vars(decl.column)];
        let limb_values: Vec<EF> = decl.limbs.iter().map(|l| eval(*l, zc)).collect();
        t.send_exts(&limb_values);
        for (l, &v) in decl.limbs.iter().zip(&limb_values) {
            acc.witness.push(PolyId::Column(l.0), Origin::Range(i), zc.to_vec(), v);
        }
        acc.witness.push(PolyId::Column(decl.column.0), Origin::Range(i), zc.to_vec(), recombine(decl, &limb_values, zc));
    }
}

/// Verifier side of [`prove_range_relations`].
pub fn verify_range_relations(plan: &WitnessPlan, t: &mut VerifierTranscript<'_>, acc: &mut Accumulators) -> Result<(), ProofError> {
    let z = t.challenge_exts(range_point_len(plan));
    for (i, decl) in plan.range_checks().iter().enumerate().filter(|(_, d)| needs_relation(d)) {
        let zc = &z[..plan.num_vars(decl.column)];
        let limb_values = t.receive_exts(decl.limbs.len())?;
        for (l, &v) in decl.limbs.iter().zip(&limb_values) {
            acc.witness.push(PolyId::Column(l.0), Origin::Range(i), zc.to_vec(), v);
        }
        acc.witness.push(PolyId::Column(decl.column.0), Origin::Range(i), zc.to_vec(), recombine(decl, &limb_values, zc));
    }
    Ok(())
}

/// Prover: rewrites every claim on a virtual column into claims on its terms (recursively, until
/// only committed columns are claimed). For `v = Σ_j c_j·u_j + c_0` and a claim `ṽ(z) = y`, the
/// prover sends `ũ_j(z)` for every term but the last; the last term's value is
/// `(y − c_0 − Σ_{j<last} c_j·ũ_j(z)) / c_last`. Claims keep their order, derived claims are
/// appended, so both sides rewrite identically.
pub fn prove_virtual_claims(w: &WitnessBuilder, t: &mut ProverTranscript, acc: &mut Accumulators) -> Result<(), ProofError> {
    // The last column's values, kept for the next claim on it (a committed column may be rebuilt
    // from its blocks, a virtual one from its terms: [`WitnessBuilder::values`]).
    let mut last: Option<(ColumnId, std::borrow::Cow<'_, [F]>)> = None;
    rewrite_virtual_claims(w.plan(), acc, |col, point| {
        let values = match last.take() {
            Some((c, values)) if c == col => values,
            _ => w.values(col),
        };
        let v = evaluate_column(&values, point);
        last = Some((col, values));
        t.send_ext(v);
        Ok(v)
    })
}

/// [`prove_virtual_claims`] with the terms' values given by `eval` — in zero-knowledge mode
/// (issue 13, choke point 6, its affine half) the value of each term's randomised extension. A
/// virtual affine column's randomised extension IS the same combination of its terms'
/// (`v̂ = c_0·χ + Σ_j c_j·û_j`: no mask of its own), so the rewriting is unchanged and the
/// verifier is [`verify_virtual_claims`] in both modes.
pub fn prove_virtual_claims_with(
    w: &WitnessBuilder,
    eval: &mut dyn FnMut(ColumnId, &[EF]) -> EF,
    t: &mut ProverTranscript,
    acc: &mut Accumulators,
) -> Result<(), ProofError> {
    rewrite_virtual_claims(w.plan(), acc, |col, point| {
        let v = eval(col, point);
        t.send_ext(v);
        Ok(v)
    })
}

/// Verifier side of [`prove_virtual_claims`].
pub fn verify_virtual_claims(plan: &WitnessPlan, t: &mut VerifierTranscript<'_>, acc: &mut Accumulators) -> Result<(), ProofError> {
    rewrite_virtual_claims(plan, acc, |_, _| Ok(t.receive_ext()?))
}

fn rewrite_virtual_claims(
    plan: &WitnessPlan,
    acc: &mut Accumulators,
    mut term_value: impl FnMut(ColumnId, &[EF]) -> Result<EF, ProofError>,
) -> Result<(), ProofError> {
    let mut queue: std::collections::VecDeque<_> = std::mem::take(&mut acc.witness).into_claims().into();
    while let Some(c) = queue.pop_front() {
        let PolyId::Column(col) = c.poly else {
            return Err(ProofError::shape("witness", format!("witness claim on {:?}, which is not a column", c.poly)));
        };
        let Some(def) = plan.definition(ColumnId(col)) else {
            acc.witness.push_claim(c);
            continue;
        };
        let Some((&(last, k_last), rest)) = def.terms.split_last() else {
            return Err(ProofError::shape("witness", "virtual column without terms"));
        };
        let chi = def.extent.as_ref().map_or(EF::ONE, |dims| crate::witness::extent_indicator(dims, &c.point));
        let mut remainder = c.value - EF::from(from_i64_unchecked(def.constant)) * chi;
        for &(col, k) in rest {
            let v = term_value(col, &c.point)?;
            remainder -= EF::from(from_i64_unchecked(k)) * v;
            queue.push_back(Opening { poly: PolyId::Column(col.0), origin: Origin::Virtual, point: c.point.clone(), value: v });
        }
        let inv = from_i64_unchecked(k_last).try_inverse().ok_or_else(|| ProofError::shape("witness", "zero coefficient"))?;
        queue.push_back(Opening { poly: PolyId::Column(last.0), origin: Origin::Virtual, point: c.point, value: remainder * EF::from(inv) });
    }
    Ok(())
}

/// Prover: merges several claims `V(p_i) = v_i` on one polynomial `V` (given by its full table)
/// into one claim `V(r) = V(r)` (the value is sent).
///
/// The instances `Σ_x eq(p_i, x)·V(x) = v_i` are batched with random coefficients `β_i` (one
/// degree-2 sumcheck over the variables of `V`, i.e. `Σ_i β_i v_i = Σ_x (Σ_i β_i eq(p_i, x))·V(x)`)
/// and end at one random `r`; the verifier checks the final value against
/// `Σ_i β_i eq(p_i, r)·V(r)` with the sent `V(r)`. The first round runs over the base field and
/// no combined eq table is materialised. Soundness error `≤ (k−1)/|EF| + 2n/|EF|`. Claims that
/// are all at the same point are merged without a sumcheck (their values must agree).
pub fn prove_merge(values: &[F], mut claims: Vec<Claim>, t: &mut ProverTranscript) -> Option<Claim> {
    if claims.len() <= 1 || claims.iter().all(|c| c.point == claims[0].point) {
        return if claims.is_empty() { None } else { Some(claims.swap_remove(0)) };
    }
    let mut instances: Vec<ProductSumcheck> = claims
        .iter()
        .map(|c| ProductSumcheck::new_base(vec![Mle::new(values.to_vec())], vec![(EF::ONE, vec![0])], Some(c.point.clone())))
        .collect();
    let mut refs: Vec<&mut dyn SumcheckInstance> = instances.iter_mut().map(|i| i as &mut dyn SumcheckInstance).collect();
    let out = zkinfer_sumcheck::prove_batched(&mut refs, t);
    let value = out.final_evals.first().and_then(|e| e.first()).copied().unwrap_or(EF::ZERO);
    t.send_ext(value);
    Some(Claim::new(out.point, value))
}

/// Verifier side of [`prove_merge`]: `num_vars` is the polynomial's number of variables.
pub fn verify_merge(num_vars: usize, claims: Vec<Claim>, t: &mut VerifierTranscript<'_>) -> Result<Option<Claim>, ProofError> {
    if claims.iter().any(|c| c.point.len() != num_vars) {
        return Err(ProofError::shape("merge", "claim point of wrong dimension"));
    }
    if claims.len() <= 1 || claims.iter().all(|c| c.point == claims[0].point) {
        if claims.iter().any(|c| c.value != claims[0].value) {
            return Err(ProofError::check("merge", "two claims at one point disagree"));
        }
        return Ok(claims.into_iter().next());
    }
    let statements: Vec<SumcheckClaim> = claims.iter().map(|c| SumcheckClaim { num_vars, degree: 2, claimed_sum: c.value }).collect();
    let verified = zkinfer_sumcheck::verify_batched(&statements, t).map_err(|e| ProofError::sumcheck("merge", e.to_string()))?;
    let value = t.receive_ext()?;
    let r = verified.point.clone();
    let finals: Vec<EF> = claims.iter().map(|c| eq_eval(&c.point, &r) * value).collect();
    verified.check_final(&finals).map_err(|_| ProofError::check("merge", "final evaluation does not match"))?;
    Ok(Some(Claim::new(r, value)))
}

#[cfg(test)]
#[path = "claim_reduction_zk_tests.rs"]
mod zk_tests;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::evaluate_column;
    use crate::lookups::{prove_lookups, verify_lookups};
    use crate::witness::{ColumnId, Owner, WitnessLayout};
    use zkinfer_field::from_i64_unchecked;
    use zkinfer_transcript::DomainSeparator;

    fn ds() -> DomainSeparator {
        DomainSeparator::new("zkinfer-ops/gadgets-test", 1)
    }

    fn table(n: usize, seed: i64) -> Vec<F> {
        (0..1i64 << n).map(|i| from_i64_unchecked((i * 7919 + seed) % 100_003 - 50_000)).collect()
    }

    fn point(n: usize, seed: u64) -> Vec<EF> {
        (0..n).map(|i| EF::from(F::from_u64(seed * 31 + i as u64 * 17 + 5))).collect()
    }

    /// Merges `claims` on `values` and checks the merged claim against the table.
    fn merge_round_trip(values: &[F], claims: Vec<Claim>) -> Result<(), String> {
        let n = values.len().trailing_zeros() as usize;
        let mut pt = ProverTranscript::new(&ds());
        let _ = prove_merge(values, claims.clone(), &mut pt);
        let proof = pt.into_proof();
        let mut vt = VerifierTranscript::new(&ds(), &proof);
        let merged = verify_merge(n, claims, &mut vt).map_err(|e| e.to_string())?;
        vt.finish().map_err(|e| e.to_string())?;
        let c = merged.ok_or("no claim")?;
        if evaluate_column(values, &c.point) == c.value { Ok(()) } else { Err("merged claim is false".into()) }
    }

    #[test]
    fn merge_of_true_claims_is_true_and_false_claims_are_caught() {
        let v = table(6, 3);
        let claims: Vec<Claim> = (0..4).map(|s| point(6, s)).map(|p| Claim::new(p.clone(), evaluate_column(&v, &p))).collect();
        merge_round_trip(&v, claims.clone()).expect("honest merge");
        for k in 0..claims.len() {
            let mut bad = claims.clone();
            bad[k].value += EF::ONE;
            assert!(merge_round_trip(&v, bad).is_err(), "false claim {k} survived the merge");
        }
        // Two claims at one point must agree.
        let p = point(6, 9);
        let good = Claim::new(p.clone(), evaluate_column(&v, &p));
        merge_round_trip(&v, vec![good.clone(), good.clone()]).expect("equal claims");
        assert!(merge_round_trip(&v, vec![good.clone(), Claim::new(p, good.value + EF::ONE)]).is_err());
    }

    /// Runs the range-check phases over one column and rewrites a claim on it (at a random point,
    /// from the possibly tampered values) into claims on committed columns, which are then checked
    /// against the committed values. With `shifted`, the range check is on a virtual column
    /// `x + 5` (so the limbs do not define it and the relation is proven instead).
    /// `tamper` edits the witness after it is built.
    fn range_round_trip(values: &[i64], bits: u32, signed: bool, shifted: bool, tamper: impl Fn(&mut WitnessBuilder)) -> Result<(), String> {
        let n = values.len().trailing_zeros() as usize;
        let mut w = WitnessBuilder::new();
        w.plan.set_owner(Owner::Node(0));
        let x = w.commit("x", values.iter().map(|&v| from_i64_unchecked(v - 5 * i64::from(shifted))).collect()).map_err(|e| e.to_string())?;
        let col = if shifted { w.virtual_column("x+5", &[(x, 1)], 5).map_err(|e| e.to_string())? } else { x };
        w.range_check(col, bits, signed).map_err(|e| e.to_string())?;
        tamper(&mut w);
        w.seal().map_err(|e| e.to_string())?;
        let mut pt = ProverTranscript::new(&ds());
        let mut acc = Accumulators::default();
        prove_lookups(&w, &mut pt, &mut acc).map_err(|e| e.to_string())?;
        prove_range_relations(&w, &mut pt, &mut acc);
        let z = pt.challenge_exts(n);
        let claimed = evaluate_column(&w.values(col), &z);
        pt.send_ext(claimed);
        acc.witness.push(PolyId::Column(col.0), Origin::External, z, claimed);
        prove_virtual_claims(&w, &mut pt, &mut acc).map_err(|e| e.to_string())?;
        let proof = pt.into_proof();

        let mut l = WitnessLayout::new();
        l.plan.set_owner(Owner::Node(0));
        let lx = l.commit("x", n).map_err(|e| e.to_string())?;
        let lc = if shifted { l.virtual_column("x+5", &[(lx, 1)], 5).map_err(|e| e.to_string())? } else { lx };
        l.range_check(lc, bits, signed).map_err(|e| e.to_string())?;
        l.plan.seal().map_err(|e| e.to_string())?;
        let mut vt = VerifierTranscript::new(&ds(), &proof);
        let mut vacc = Accumulators::default();
        verify_lookups(&l.plan, &mut vt, &mut vacc).map_err(|e| e.to_string())?;
        verify_range_relations(&l.plan, &mut vt, &mut vacc).map_err(|e| e.to_string())?;
        let z = vt.challenge_exts(n);
        let claimed = vt.receive_ext().map_err(|e| e.to_string())?;
        vacc.witness.push(PolyId::Column(lc.0), Origin::External, z, claimed);
        verify_virtual_claims(&l.plan, &mut vt, &mut vacc).map_err(|e| e.to_string())?;
        vt.finish().map_err(|e| e.to_string())?;
        for c in vacc.witness.claims() {
            if l.plan.definition(ColumnId(c.poly.index())).is_some() {
                return Err(format!("claim on virtual column {:?} left", c.poly));
            }
            if evaluate_column(&w.values(ColumnId(c.poly.index())), &c.point) != c.value {
                return Err(format!("false claim on column {:?}", c.poly));
            }
        }
        Ok(())
    }

    #[test]
    fn range_checks_accept_ranges_and_reject_edited_limbs() {
        for shifted in [false, true] {
            let signed: Vec<i64> = (0..64).map(|i| (i * 40_503) % (1 << 20) - (1 << 19)).collect();
            range_round_trip(&signed, 20, true, shifted, |_| ()).expect("signed 20-bit");
            let unsigned: Vec<i64> = (0..32).map(|i| (i * 977) % 4096).collect();
            range_round_trip(&unsigned, 12, false, shifted, |_| ()).expect("unsigned 12-bit (direct lookup)");
            let wide: Vec<i64> = (0..16).map(|i| (i * 0x123_4567_89ab) % (1 << 50)).collect();
            range_round_trip(&wide, 50, false, shifted, |_| ()).expect("unsigned 50-bit");
            // Out-of-range values are refused by the prover.
            let mut over = signed.clone();
            over[3] = 1 << 19;
            assert!(range_round_trip(&over, 20, true, shifted, |_| ()).is_err());
            // The signed range is exactly [−2^19, 2^19): −2^19 is in it (every bound argument
            // takes it into account, see `crate::bounds`), −2^19 − 1 is not.
            over[3] = -(1 << 19);
            range_round_trip(&over, 20, true, shifted, |_| ()).expect("−2^(b−1) is in the signed range");
            over[3] = -(1 << 19) - 1;
            assert!(range_round_trip(&over, 20, true, shifted, |_| ()).is_err());
            // A limb decomposition of −2^19 − 1 (top limb past its 4-bit table) is refused by the
            // lookup even if a prover commits it.
            assert!(
                range_round_trip(&signed, 20, true, shifted, |w| {
                    let first = 1 + usize::from(shifted);
                    w.values[first + 1][3] = F::from_u64(1 << 4);
                })
                .is_err()
            );
            // A limb edited after decomposition (still in range): the column no longer equals it.
            // Column ids: x, [x+5,] limb0, limb1.
            let first_limb = 1 + usize::from(shifted);
            for limb in [first_limb, first_limb + 1] {
                assert!(
                    range_round_trip(&signed, 20, true, shifted, |w| {
                        let v = &mut w.values[limb][5];
                        *v = if *v == F::ZERO { F::ONE } else { *v - F::ONE };
                    })
                    .is_err(),
                    "edited limb column {limb} accepted (shifted: {shifted})"
                );
            }
            // The range-checked column edited to a value the limbs do not represent.
            let col = usize::from(shifted);
            assert!(range_round_trip(&signed, 20, true, shifted, |w| w.values[col][7] += F::ONE).is_err());
        }
    }
}
