//! The hiding setup proof of a zero-knowledge key (issue 13): the prover side of
//! `zkinfer_verifier::zk_setup_proof` (statement, protocol, soundness, no-wrap and
//! zero-knowledge argument there and in `docs/SECURITY.md`, "Hiding setup proof").
//! `setup --zk` ([`crate::zk::setup_zk`]) proves it on ticket 0 and stores it in the key.
//!
//! Built: every weight is zero on its padding (public zero claims on aligned padding blocks) and
//! lies in its declared range `|w| ≤ 2^bits − 1` (narrow weights: their own rows looked up in
//! `T_bits`; wide weights: limbs of `w + B` and `B − w` in the setup batch, limb 0's mask tied to
//! the weight's; one zk logUp per group of weights).

use rand10::RngExt;
use zkinfer_field::{EF, F, PrimeCharacteristicRing, from_i64_unchecked, to_i64};
use zkinfer_lookup::zk_logup::{ZkLookupMasks, ZkLookupPoly, prove_lookups_zk};
use zkinfer_lookup::{LookupColumn, LookupInstance};
use zkinfer_pcs::OpeningClaim;
use zkinfer_pcs::hiding::{HidingPcs, HidingProverData};
use zkinfer_pcs::hiding_key::{HidingKey, KeySecret};
use zkinfer_transcript::ProverTranscript;
use zkinfer_verifier::key::WeightMeta;
pub use zkinfer_verifier::zk_setup_proof::{
    ColumnPoly, MIN_SETUP_POINTS, RangePlan, WeightRange, narrow_table, padding_blocks, padding_claims, setup_domain, verify_zk_setup, verify_zk_setup_on,
};
use zkinfer_verifier::zk_setup_proof::{LIMB_BITS, relation_point, route_lookup_claims};
use zkinfer_verifier::zk_key::{ZkVerifyingKey, weight_num_vars};

use crate::ProofSystemError;

/// Whether the prover checks each padding claim against its ticket-0 data before opening.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PaddingCheck {
    /// The honest prover: a weight that is not zero on its padding is refused, naming it (an
    /// opening of a false zero claim would be refused by the verifier anyway).
    Refuse,
    /// Tamper tests only (the malicious key author): open the zero claims whatever the values.
    Skip,
}

/// What the prover does with a weight entry outside its declared range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeCheck {
    /// The honest prover: refused, naming the weight.
    Refuse,
    /// Tamper tests only (the malicious key author): a wide weight's limbs are those of `w + B`
    /// and `B − w` reduced into their widths (every limb in range, the relation false); a narrow
    /// weight's lookups run over its entries clamped to `[−B, B]` (every row in `T_bits`; the leaf
    /// values sent are then not the committed weight's, which ticket 0's opening refuses). A
    /// forger cannot leave a row out instead: the zk logUp's own prover refuses leaves that do not
    /// sum to zero.
    Forge,
}

fn request(e: impl std::fmt::Display) -> ProofSystemError {
    ProofSystemError::Request(e.to_string())
}

/// A batch poly's values and mask table.
type Table2 = (Vec<F>, Vec<F>);

/// Proves the setup statement of hiding key `hk` over `weights` (metas) whose padded tables are
/// `polys` (the key's secret `secret`) on ticket 0, bound to `key_binding`. Returns the
/// transcript.
#[allow(clippy::too_many_arguments)] // the key, its weights and secret, the binding, two test hooks, the rng
pub fn prove_zk_setup_on<R: rand10::CryptoRng + ?Sized>(
    hk: &HidingKey,
    weights: &[WeightMeta],
    polys: &[&[F]],
    secret: &KeySecret,
    key_binding: &[u8; 32],
    check: PaddingCheck,
    range: RangeCheck,
    rng: &mut R,
) -> Result<Vec<u8>, ProofSystemError> {
    if hk.budget.points_per_ticket < MIN_SETUP_POINTS {
        return Err(request(format!(
            "a zk key of {} claim points per ticket: the setup proof reads each weight's mask at {MIN_SETUP_POINTS} points",
            hk.budget.points_per_ticket
        )));
    }
    let pcs = HidingPcs::default();
    let data = hk.ticket(&pcs, polys, secret, crate::zk::SETUP_TICKET as usize)?;
    let plan = RangePlan::new(weights, hk)?;
    let key_masks = hk.mask_tables(secret)?;
    let vars = weight_num_vars(weights);

    // The batch: limbs (tied masks), multiplicities, logUp masks (module docs of the verifier).
    let mut tables: Vec<Option<Table2>> = vec![None; plan.polys.len()];
    for (k, wr) in plan.weights.iter().enumerate() {
        let b = wr.bound() as i64;
        let values: Vec<i64> = polys[k].iter().map(|&x| to_i64(x)).collect();
        if range == RangeCheck::Refuse
            && let Some(v) = values.iter().find(|v| v.unsigned_abs() > b as u64)
        {
            return Err(request(format!(
                "weight {} holds {v}, outside its declared {} bits (|w| ≤ {b}): the zk key cannot be proven",
                weights[k].name,
                wr.bits()
            )));
        }
        let WeightRange::Wide { bits, decomps } = wr else { continue };
        let modulus = 1i128 << (bits + 1);
        for d in decomps {
            let sign = if d.negated { -1i128 } else { 1 };
            let a: Vec<i128> = values.iter().map(|&v| (sign * v as i128 + b as i128).rem_euclid(modulus)).collect();
            let mask_len = plan.polys[d.limbs[0].0].mask_len();
            let others: Vec<Vec<F>> = d.limbs[1..].iter().map(|_| (0..mask_len).map(|_| rng.random::<F>()).collect()).collect();
            // M_0 = ±M_W − Σ_{j≥1} 2^{16j}·M_j: the relation's masks cancel.
            let mut first: Vec<F> = key_masks[k].iter().map(|&m| if d.negated { -m } else { m }).collect();
            if first.len() != mask_len {
                return Err(request("a limb's mask is not of its weight's layout"));
            }
            for (j, m) in others.iter().enumerate() {
                let scale = F::from_u64(1u64 << (LIMB_BITS as usize * (j + 1)));
                first.iter_mut().zip(m).for_each(|(o, &v)| *o -= scale * v);
            }
            for (j, &(p, width)) in d.limbs.iter().enumerate() {
                let limb: Vec<F> = a.iter().map(|&x| F::from_u64(((x >> (LIMB_BITS as usize * j)) & ((1i128 << width) - 1)) as u64)).collect();
                let mask = if j == 0 { first.clone() } else { others[j - 1].clone() };
                tables[p] = Some((limb, mask));
            }
        }
    }
    // The narrow weights' looked-up rows: the weight itself (forged: clamped into range).
    let mut looked: Vec<Option<Vec<F>>> = vec![None; polys.len()];
    if range == RangeCheck::Forge {
        for (k, wr) in plan.weights.iter().enumerate() {
            if let WeightRange::Narrow { .. } = wr {
                let b = wr.bound() as i64;
                looked[k] = Some(polys[k].iter().map(|&x| from_i64_unchecked(to_i64(x).clamp(-b, b))).collect());
            }
        }
    }
    let weight_rows = |k: usize| -> Option<&[F]> { looked.get(k)?.as_deref().or_else(|| polys.get(k).copied()) };
    let column = |c: ColumnPoly, tables: &[Option<Table2>]| -> Result<Vec<F>, ProofSystemError> {
        match c {
            ColumnPoly::Weight(k) => weight_rows(k).map(<[F]>::to_vec).ok_or_else(|| request("a looked-up weight")),
            ColumnPoly::Batch(p) => tables.get(p).and_then(|t| t.as_ref()).map(|t| t.0.clone()).ok_or_else(|| request("a looked-up limb without values")),
        }
    };
    let mut group_masks = Vec::with_capacity(plan.groups.len());
    for g in &plan.groups {
        for st in &g.statements {
            let mut m = vec![0u64; st.table.padded_len().max(1usize << zkinfer_lookup::zk_logup::zk_multiplicity_vars(&st.table))];
            for col in &st.columns {
                let comps = col.iter().map(|&c| column(c, &tables)).collect::<Result<Vec<_>, _>>()?;
                let rows = comps.first().map_or(0, Vec::len);
                for i in 0..rows {
                    let row: Vec<F> = comps.iter().map(|c| c[i]).collect();
                    match st.table.row_index(&row) {
                        Some(j) if j < m.len() => m[j] += 1,
                        _ => return Err(request(format!("a setup lookup row {row:?} outside its table"))),
                    }
                }
            }
            let p = &plan.polys[st.mult];
            m.truncate(1usize << p.num_vars);
            let mask = (0..p.mask_len()).map(|_| rng.random::<F>()).collect();
            tables[st.mult] = Some((m.into_iter().map(F::from_u64).collect(), mask));
        }
        let masks = ZkLookupMasks::sample_batch(&g.refs(), rng).map_err(request)?;
        for (k, (_, table)) in masks.tables().into_iter().enumerate() {
            let p = *g.masks.get(k).ok_or_else(|| request("the zk logUp's mask tables are not the plan's"))?;
            if table.len() != 1usize << plan.polys[p].num_vars {
                return Err(request("a zk logUp mask table is not of the plan's size"));
            }
            let mask = (0..plan.polys[p].mask_len()).map(|_| rng.random::<F>()).collect();
            tables[p] = Some((table.to_vec(), mask));
        }
        group_masks.push(masks);
    }
    let tables: Vec<Table2> = tables.into_iter().map(|t| t.ok_or_else(|| request("a setup batch poly without values"))).collect::<Result<_, _>>()?;
    let refs: Vec<&[F]> = tables.iter().map(|t| t.0.as_slice()).collect();
    let mask_refs: Vec<&[F]> = tables.iter().map(|t| t.1.as_slice()).collect();
    let com0 = plan.commitment(zkinfer_pcs::MerkleRoot::new(vec![[0u8; 32]]));
    let (com, batch) = pcs.commit_with_masks(&refs, &com0.vanishing, &mask_refs, &com0.mask_degree_bits, rng)?;

    let ds = setup_domain(key_binding);
    let mut t = ProverTranscript::new(&ds);
    let root: Vec<u8> = com.root.roots().iter().flat_map(|d| d.iter().copied()).collect();
    t.send_bytes(&root);
    pcs.absorb_commitment(&com, &mut t);
    let mut ticket = padding_claims(weights, &mut t)?;
    if check == PaddingCheck::Refuse {
        for c in &ticket {
            if data.evaluate(c.poly, &c.point)? != EF::ZERO {
                let name = weights.get(c.poly).map_or("?", |w| w.name.as_str());
                return Err(ProofSystemError::Request(format!("weight {name} is not zero on its padding: the zk key cannot be proven")));
            }
        }
    }
    let mut batch_claims = Vec::new();
    for (k, wr) in plan.weights.iter().enumerate() {
        let WeightRange::Wide { decomps, .. } = wr else { continue };
        let q = relation_point(vars[k], &mut t)?;
        let w = data.evaluate(k, &q)?;
        t.send_ext(w);
        ticket.push(OpeningClaim { poly: k, point: q.clone(), value: w });
        for d in decomps {
            let values = d.limbs.iter().map(|&(p, _)| batch.evaluate(p, &q)).collect::<Result<Vec<EF>, _>>()?;
            t.send_exts(&values);
            batch_claims.extend(d.limbs.iter().zip(values).map(|(&(poly, _), value)| OpeningClaim { poly, point: q.clone(), value }));
        }
    }
    for (g, masks) in plan.groups.iter().zip(&group_masks) {
        let cols: Vec<Vec<Vec<&[F]>>> = g
            .statements
            .iter()
            .map(|st| {
                st.columns
                    .iter()
                    .map(|col| {
                        col.iter()
                            .map(|&c| match c {
                                ColumnPoly::Weight(k) => weight_rows(k).unwrap_or(&[]),
                                ColumnPoly::Batch(p) => refs[p],
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let instances: Vec<LookupInstance<'_>> = g
            .statements
            .iter()
            .zip(&cols)
            .map(|(st, cols): (&zkinfer_verifier::zk_setup_proof::RangeStatement, &Vec<Vec<&[F]>>)| LookupInstance {
                table: &st.table,
                columns: cols.iter().map(|c| LookupColumn { components: c.clone() }).collect(),
                multiplicities: refs[st.mult],
            })
            .collect();
        let hidden = |poly: ZkLookupPoly, z: &[EF]| -> EF {
            match g.route(poly) {
                Some(ColumnPoly::Weight(k)) => mask_factor(&data, k, z),
                Some(ColumnPoly::Batch(p)) => mask_factor(&batch, p, z),
                None => EF::ZERO,
            }
        };
        let claims = prove_lookups_zk(&instances, masks, &hidden, &mut t).map_err(|e| request(format!("the weights' range lookups: {e}")))?;
        route_lookup_claims(g, claims, &mut ticket, &mut batch_claims)?;
    }
    pcs.open(batch, &batch_claims, &mut t, rng)?;
    hk.open_ticket(&pcs, data, &ticket, &mut t, rng)?;
    Ok(t.into_proof())
}

/// `H` with `P̂ = P + z_last(1 − z_last)·H` (the zk logUp's leaf factor).
fn mask_factor(data: &HidingProverData, poly: usize, z: &[EF]) -> EF {
    data.mask_value(poly, z).unwrap_or(EF::ZERO)
}

/// Proves a zk key's setup statement (the weights' padded tables `polys`, the key's secret).
pub fn prove_zk_setup<R: rand10::CryptoRng + ?Sized>(vk: &ZkVerifyingKey, polys: &[&[F]], secret: &KeySecret, rng: &mut R) -> Result<Vec<u8>, ProofSystemError> {
    prove_zk_setup_on(&vk.weights, &vk.public.weights, polys, secret, &vk.setup_binding()?, PaddingCheck::Refuse, RangeCheck::Refuse, rng)
}
