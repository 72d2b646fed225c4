//! `Embedding`: rows of a committed table gathered by PUBLIC ids (tokens, positions).
//!
//! `ids: [T]` public, `E: [R, D]` weight, `y[t, c] = E[ids_t, c]` (virtual). For a claim
//! `ỹ(r_t, r_c) = v`, with the public selector `S(j) = Σ_{t<T} eq(r_t, t)·[ids_t = j]`:
//!
//! ```text
//! v = Σ_{j ∈ {0,1}^{log R̂}} S(j)·Ẽ(j, r_c)
//! ```
//!
//! a degree-2 sumcheck over the row variables on `S` and the folded table
//! `B[j] = Σ_c eq(r_c, c)·E[j, c]`. At the random `ρ` the prover sends `Ẽ(ρ, r_c)`; the verifier
//! evaluates `S̃(ρ) = Σ_t eq(r_t, t)·eq(ρ, ids_t)` itself in `O(T·log R)` and checks the
//! product. Claim out: `E` at `(ρ, r_c)`; none on the ids (the verifier knows them, and rejects
//! ids outside `[0, R)`). Soundness error `2·log R̂/|EF|`; prover `O(R·D)` (one pass over the
//! table), verifier `O(T·log R)`.
//!
//! [`GatherRowsProof`] is the same protocol with an activation `x: [T, D]` as the table
//! ([`zkinfer_model::ops::gather::GatherRows`]): the claim `x(ρ, r_c)` goes to `x`'s producer (or
//! the witness accumulator) by the graph's routing, like any claim on an operand.
//!
//! **Every row, in order.** When the public rows are exactly `0, 1, …, T−1` of an `x: [T, D]`
//! (a one-token prompt: `out_rows = [P−1, T) = [0, T)`), `y = x` as tensors of the same shape, so
//! `ỹ(r) = x̃(r)` at every point: both sides pass the output claim on to `x` unchanged and the
//! node writes nothing to the proof. Both decide it from the public rows and the shapes alone
//! (`Dims::every_row`), so they agree; any other selection (a permutation, a repeat, a strict
//! subset) runs the sumcheck above.

use zkinfer_field::{EF, PrimeCharacteristicRing};
use zkinfer_poly::eq_evals;

use super::linear::{concat, ensure, prove_product, verify_product};
use crate::context::{Claim, ProverCtx, VerifierCtx};
use crate::error::ProofError;
use crate::layout::TensorLayout;
use crate::protocol::{NodeShape, NodeTrace, OpProver, OpVerifier, TensorRole, WalkProver, WalkVerifier};
use crate::mle_eval::{eq_at_index, fold_cols_int};

const OP: &str = "Embedding";
const GATHER: &str = "GatherRows";

/// The proof of [`zkinfer_graph::ops::embedding::Embedding`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbeddingProof;

/// The proof of [`zkinfer_model::ops::gather::GatherRows`] (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GatherRowsProof;

struct Dims<'a> {
    rows: usize,
    d: usize,
    ids: &'a [i64],
    y: TensorLayout,
    rv: usize,
    /// GatherRows selecting every row of `x` in order (`ids = 0..T`, `R = T`): `y = x`.
    every_row: bool,
}

/// `table_weight`: the table must be a weight (Embedding), else an activation (GatherRows).
fn dims<'a>(node: &NodeShape<'a>, table_weight: bool) -> Result<Dims<'a>, ProofError> {
    let op = if table_weight { OP } else { GATHER };
    node.expect_inputs(op, 2)?;
    let (&[t], &[rows, d]) = (node.inputs[0].dims.as_slice(), node.inputs[1].dims.as_slice()) else {
        return Err(ProofError::shape(op, "ids must be [T] and the table [R, D]"));
    };
    let role_ok = match node.inputs[1].role {
        TensorRole::Weight => table_weight,
        TensorRole::Virtual | TensorRole::Committed => !table_weight,
        TensorRole::Public | TensorRole::Deferred => false,
    };
    if node.output.dims != [t, d] || !role_ok {
        return Err(ProofError::shape(op, "output must be [T, D] and the table a weight (Embedding) or an activation (GatherRows)"));
    }
    let ids = node.public_input(op, 0)?;
    if ids.len() != t {
        return Err(ProofError::shape(op, "number of ids"));
    }
    if let Some(bad) = ids.iter().find(|&&i| i < 0 || i as u64 >= rows as u64) {
        return Err(ProofError::check(op, format!("id {bad} outside the table of {rows} rows")));
    }
    let table = TensorLayout::new(&[rows, d]);
    let every_row = !table_weight && rows == t && ids.iter().enumerate().all(|(i, &id)| id == i as i64);
    Ok(Dims { rows, d, ids, y: TensorLayout::new(&[t, d]), rv: table.dim_vars()[0], every_row })
}

fn prove(node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, out_claims: Vec<Claim>, table_weight: bool) -> Result<Vec<Vec<Claim>>, ProofError> {
    let d = dims(&node.shape, table_weight)?;
    let Some(claim) = out_claims.into_iter().next() else {
        return Ok(vec![Vec::new(); 2]);
    };
    if d.every_row {
        return Ok(vec![Vec::new(), vec![claim]]);
    }
    let table = node.input_values(1);
    if table.len() != d.rows * d.d {
        return Err(ProofError::witness(if table_weight { OP } else { GATHER }, "table length"));
    }
    let split = d.y.split_point(&claim.point);
    let (r_t, r_c) = (split[0], split[1]);
    let eq_t = eq_evals(r_t);
    let mut selector = vec![EF::ZERO; 1 << d.rv];
    for (t, &id) in d.ids.iter().enumerate() {
        selector[id as usize] += eq_t[t];
    }
    let folded = fold_cols_int(table.matrix(), d.rows, d.d, &eq_evals(r_c), d.rv);
    let (rho, finals) = prove_product(vec![selector, folded], ctx.transcript);
    let e_eval = ctx.send_eval(finals[1]);
    Ok(vec![Vec::new(), vec![Claim::new(concat(&[&rho, r_c]), e_eval)]])
}

fn verify(node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, out_claims: Vec<Claim>, table_weight: bool) -> Result<Vec<Vec<Claim>>, ProofError> {
    let d = dims(node, table_weight)?;
    let op = if table_weight { OP } else { GATHER };
    let Some(claim) = out_claims.into_iter().next() else {
        return Ok(vec![Vec::new(); 2]);
    };
    if claim.point.len() != d.y.num_vars() {
        return Err(ProofError::shape(op, "claim point dimension"));
    }
    if d.every_row {
        return Ok(vec![Vec::new(), vec![claim]]);
    }
    let split = d.y.split_point(&claim.point);
    let (r_t, r_c) = (split[0], split[1]);
    let (rho, expected) = verify_product(op, d.rv, 2, claim.value, ctx.transcript)?;
    let e_eval = ctx.receive_eval()?;
    let selector: EF = d.ids.iter().enumerate().map(|(t, &id)| eq_at_index(r_t, t) * eq_at_index(&rho, id as usize)).sum();
    ensure(op, selector * e_eval == expected, "S(ρ)·E(ρ, r_c) differs from the reduced claim")?;
    Ok(vec![Vec::new(), vec![Claim::new(concat(&[&rho, r_c]), e_eval)]])
}

macro_rules! row_select_protocol {
    ($ty:ty, $name:expr, $weight:expr) => {
        impl OpVerifier for $ty {
            fn name(&self) -> &'static str {
                $name
            }

            fn output_role(&self) -> TensorRole {
                TensorRole::Virtual
            }

            fn check_shape(&self, node: &NodeShape<'_>) -> Result<(), ProofError> {
                dims(node, $weight).map(|_| ())
            }
        }

        impl WalkVerifier for $ty {
            fn verify(&self, node: &NodeShape<'_>, ctx: &mut VerifierCtx<'_, '_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
                verify(node, ctx, out_claims, $weight)
            }
        }

        impl OpProver for $ty {}

        impl WalkProver for $ty {
            fn prove(&self, node: &NodeTrace<'_>, ctx: &mut ProverCtx<'_>, out_claims: Vec<Claim>) -> Result<Vec<Vec<Claim>>, ProofError> {
                prove(node, ctx, out_claims, $weight)
            }
        }
    };
}

row_select_protocol!(EmbeddingProof, OP, true);
row_select_protocol!(GatherRowsProof, GATHER, false);

impl crate::graph::Provable for zkinfer_graph::ops::embedding::Embedding {
    fn protocol(&self, _node: &crate::graph::NodeContext<'_>) -> Result<crate::protocol::OpProtocol, ProofError> {
        Ok(crate::protocol::OpProtocol::walk(EmbeddingProof))
    }
}

impl crate::graph::Provable for zkinfer_graph::ops::gather::GatherRows {
    fn protocol(&self, _node: &crate::graph::NodeContext<'_>) -> Result<crate::protocol::OpProtocol, ProofError> {
        Ok(crate::protocol::OpProtocol::walk(GatherRowsProof))
    }
}
