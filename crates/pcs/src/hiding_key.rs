//! A hiding commitment that survives many openings: the zk weight key (issue 13).
//!
//! # Why not one hiding commitment
//!
//! A [`HidingPcs`] commitment hides ONE opening: p3-whir 0.8's ZK Reed–Solomon encoding carries as
//! many random coefficients as one opening's queries and consumes its prover data when opening,
//! and a multilinear mask hides `2^{min(m, 4)}` claim points. The key's weight commitment is
//! opened by every proof, with fresh query positions and fresh points.
//!
//! # Tickets
//!
//! The key commits the weights `K` times (the *proof budget*): ticket `i` is a [`HidingPcs`]
//! commitment of the same polynomials `P_k`, with
//!
//! * its own encoding randomness and blinding slot (drawn from `PRF(secret, "ticket", i)`), so
//!   each ticket's codeword is opened once — by proof `i` — as p3-whir's hiding requires;
//! * masks `M_k` SHARED by every ticket (drawn from `PRF(secret, "masks")`), of degree
//!   `< 2^{a_k}` in each of their `μ_k = min(m_k, 4)` variables, `2^{a_k μ_k} ≥ 1 + K·c` (`c` the
//!   claim points a proof may put on one polynomial): every ticket commits the same randomised
//!   extension `P̂_k = P_k + Z·M_k` (`Z = Π v(z_i)`, [`Vanishing::All`]).
//!
//! **Link.** After all tickets are fixed, Fiat–Shamir over their roots and shapes gives one point
//! `ζ_k` per polynomial ([`HidingKey::link_points`]); the key stores `e_k = P̂_k(ζ_k)`. Every
//! ticket's opening proves the claims `P̂_k(ζ_k) = e_k` together with the proof's own claims
//! ([`HidingKey::link_claims`]).
//!
//! **Soundness (all used tickets hold the same weights).** Ticket `i` binds (unique decoding)
//! polynomials `P̂^{(i)}_k` fixed before `ζ`. If `P^{(i)}_k ≠ P^{(j)}_k` on the hypercube then
//! `P̂^{(i)}_k − P̂^{(j)}_k` is a non-zero polynomial (it differs on the cube, where `Z = 0`) of
//! total degree `≤ 2m + μ(2^a − 1)` and both openings pass only if it vanishes at `ζ_k`:
//! `≤ (2m + μ(2^a − 1))/|EF| ≤ (2·40 + 4·255)/2^{191.9} ≈ 2^{-181.8}` per Fiat–Shamir query of
//! the setup's author (`docs/SECURITY.md`). The setup range proof, run on ticket 0's polynomials, then
//! holds for every ticket's.
//!
//! **Zero knowledge (`K` proofs).** Each ticket is a separate p3-whir hiding commitment opened
//! once: its HVZK simulator needs only the opened value, which the blinding slot (fresh per
//! ticket) makes uniform. The claimed values over all `K` openings are values of the same
//! `P̂_k` at `≤ 1 + K·c ≤ 2^{a_k μ_k}` distinct points (the prover refuses more per ticket), uniform
//! and independent (the points' monomial vectors are independent except with probability
//! `≤ 2^{aμ}·μ(2^a − 1)/|EF|` for random points). Hybrid over the tickets: every simulator works
//! for every witness, so a distinguisher knowing the weights and masks cannot tell ticket `i`'s
//! real view from a simulated one; `e_k` is one of the hidden values. A ticket used twice is
//! opened twice and leaks codeword rows: the prover's counter ([`HidingKey::ticket_commitment`]
//! is public, the counter is the proving key's) is an operator obligation.
//!
//! **Cost.** Setup commits the weights `K` times (`K×` a hiding commitment); a proof recommits its
//! ticket from the secret (deterministic: the same root, checked) — one hiding commitment of the
//! weights per proof, as a public proof recommits them too; the key holds `K` roots and one
//! extension element per polynomial.

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use rand10::RngExt;
use serde::{Deserialize, Serialize};
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

use crate::hiding::{HidingCommitment, HidingPcs, HidingProverData, MASK_VARS, MAX_MASK_DEGREE_BITS, Vanishing};
use crate::whir::MerkleRoot;
use crate::{OpeningClaim, PcsError};

/// Upper bound on a key's tickets (keeps decoding bounded).
pub const MAX_TICKETS: usize = 1 << 16;

/// What a zk key is sized for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyBudget {
    /// `K`: proofs the key can hide (one ticket each).
    pub tickets: usize,
    /// `c`: distinct claim points one proof may put on one polynomial.
    pub points_per_ticket: usize,
}

impl Default for KeyBudget {
    /// 16 proofs of at most 16 claim points per weight block.
    fn default() -> Self {
        Self { tickets: 16, points_per_ticket: 16 }
    }
}

impl KeyBudget {
    /// `a_k` for a polynomial in `m` variables: the least `a` with `2^{a·min(m, 4)} ≥ 1 + K·c`.
    pub fn degree_bits(&self, m: usize) -> Result<usize, PcsError> {
        let need = 1u128 + self.tickets as u128 * self.points_per_ticket as u128;
        let mu = m.min(MASK_VARS);
        if mu == 0 {
            return Err(PcsError::Config("a constant cannot be hidden".into()));
        }
        (1..=MAX_MASK_DEGREE_BITS)
            .find(|&a| 1u128 << (a * mu) >= need)
            .ok_or_else(|| PcsError::Config(format!("a budget of {} tickets × {} points needs masks beyond degree 2^{MAX_MASK_DEGREE_BITS} for {m}-variable polynomials", self.tickets, self.points_per_ticket)))
    }

    fn check(&self) -> Result<(), PcsError> {
        if self.tickets == 0 || self.tickets > MAX_TICKETS || self.points_per_ticket == 0 || self.points_per_ticket > 1 << 16 {
            return Err(PcsError::Config(format!("budget of {} tickets × {} points is outside 1..={MAX_TICKETS} × 1..=65536", self.tickets, self.points_per_ticket)));
        }
        Ok(())
    }
}

/// The public part of a zk weight key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HidingKey {
    /// Its budget.
    pub budget: KeyBudget,
    /// Variables of each committed polynomial.
    pub poly_num_vars: Vec<usize>,
    /// Root of each ticket's hiding commitment, ticket order.
    pub tickets: Vec<MerkleRoot>,
    /// `e_k = P̂_k(ζ_k)` per polynomial.
    pub link_values: Vec<EF>,
}

/// The secret from which every mask and every ticket's randomness is derived (the proving key's).
#[derive(Clone, PartialEq, Eq)]
pub struct KeySecret(pub [u8; 32]);

impl std::fmt::Debug for KeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeySecret(..)")
    }
}

impl KeySecret {
    /// A fresh secret from the operating system's generator.
    pub fn generate() -> Result<Self, PcsError> {
        let mut rng = StdRng::try_from_rng(&mut rand10::rngs::SysRng).map_err(|e| PcsError::Config(format!("no system randomness: {e}")))?;
        Ok(Self(rng.random()))
    }

    fn rng(&self, label: &str, index: u64) -> StdRng {
        let mut h = blake3::Hasher::new_keyed(&self.0);
        h.update(b"zkinfer-hiding-key/");
        h.update(label.as_bytes());
        h.update(&index.to_le_bytes());
        StdRng::from_seed(*h.finalize().as_bytes())
    }
}

fn shapes_of(polys: &[&[F]]) -> Result<Vec<usize>, PcsError> {
    polys
        .iter()
        .enumerate()
        .map(|(k, p)| {
            if p.len().is_power_of_two() && p.len() > 1 {
                Ok(p.len().trailing_zeros() as usize)
            } else {
                Err(PcsError::Config(format!("polynomial {k} has {} entries, not a power of two ≥ 2", p.len())))
            }
        })
        .collect()
}

/// The shared masks of a key (`2^{a_k μ_k}` entries each).
fn masks(secret: &KeySecret, degree_bits: &[usize], shapes: &[usize]) -> Vec<Vec<F>> {
    let mut rng = secret.rng("masks", 0);
    shapes
        .iter()
        .zip(degree_bits)
        .map(|(&m, &a)| (0..1usize << (crate::hiding::MASK_COMPONENT_VARS + a * m.min(MASK_VARS))).map(|_| rng.random::<F>()).collect())
        .collect()
}

impl HidingKey {
    /// Setup: commits `polys` once per ticket and computes the link values.
    pub fn setup(pcs: &HidingPcs, polys: &[&[F]], budget: KeyBudget, secret: &KeySecret) -> Result<Self, PcsError> {
        budget.check()?;
        let shapes = shapes_of(polys)?;
        let mut key = Self { budget, poly_num_vars: shapes, tickets: Vec::with_capacity(budget.tickets), link_values: Vec::new() };
        let mut first = None;
        for i in 0..budget.tickets {
            let data = key.commit_ticket(pcs, polys, secret, i, None)?;
            key.tickets.push(data.commitment().root.clone());
            if i == 0 {
                first = Some(data);
            }
        }
        let data = first.ok_or_else(|| PcsError::Config("no ticket".into()))?;
        let points = key.link_points()?;
        key.link_values = points.iter().enumerate().map(|(k, z)| data.evaluate(k, z)).collect::<Result<_, _>>()?;
        Ok(key)
    }

    /// The key's shared mask tables `M_k` (every ticket's; derived from the secret, so the
    /// prover's only), in the layout of [`HidingPcs::commit_with_masks`]: for a proof that ties a
    /// mask of its own batch to a weight's (the zk setup range proof, `zkinfer_proof::zk_setup_proof`).
    pub fn mask_tables(&self, secret: &KeySecret) -> Result<Vec<Vec<F>>, PcsError> {
        Ok(masks(secret, &self.degree_bits()?, &self.poly_num_vars))
    }

    /// `a_k` of every polynomial.
    pub fn degree_bits(&self) -> Result<Vec<usize>, PcsError> {
        self.poly_num_vars.iter().map(|&m| self.budget.degree_bits(m)).collect()
    }

    /// The hiding commitment of ticket `i` (`None` past the budget).
    pub fn ticket_commitment(&self, i: usize) -> Option<HidingCommitment> {
        let root = self.tickets.get(i)?.clone();
        Some(HidingCommitment {
            root,
            poly_num_vars: self.poly_num_vars.clone(),
            vanishing: vec![Vanishing::All; self.poly_num_vars.len()],
            mask_degree_bits: self.degree_bits().ok()?,
        })
    }

    /// Recommits ticket `i` from the secret (what the prover does before opening it); with
    /// `check` the root must be the key's (`Some(())` once the key is complete).
    fn commit_ticket(&self, pcs: &HidingPcs, polys: &[&[F]], secret: &KeySecret, i: usize, check: Option<()>) -> Result<HidingProverData, PcsError> {
        if shapes_of(polys)? != self.poly_num_vars {
            return Err(PcsError::Config("the polynomials are not the key's shapes".into()));
        }
        let a = self.degree_bits()?;
        let masks = masks(secret, &a, &self.poly_num_vars);
        let mask_refs: Vec<&[F]> = masks.iter().map(Vec::as_slice).collect();
        let vanishing = vec![Vanishing::All; polys.len()];
        let (com, data) = pcs.commit_with_masks(polys, &vanishing, &mask_refs, &a, &mut secret.rng("ticket", i as u64))?;
        if check.is_some() && self.tickets.get(i) != Some(&com.root) {
            return Err(PcsError::Config(format!("ticket {i} recommitted from these weights and this secret is not the key's")));
        }
        Ok(data)
    }

    /// The prover's data of ticket `i`, recommitted and checked against the key.
    pub fn ticket(&self, pcs: &HidingPcs, polys: &[&[F]], secret: &KeySecret, i: usize) -> Result<HidingProverData, PcsError> {
        if i >= self.tickets.len() {
            return Err(PcsError::Config(format!("ticket {i} is past the key's budget of {}", self.tickets.len())));
        }
        self.commit_ticket(pcs, polys, secret, i, Some(()))
    }

    fn link_transcript_bytes(&self) -> Vec<u8> {
        let mut out = b"zkinfer-hiding-key-link".to_vec();
        out.extend_from_slice(&(self.budget.tickets as u64).to_le_bytes());
        out.extend_from_slice(&(self.budget.points_per_ticket as u64).to_le_bytes());
        out.extend_from_slice(&(self.poly_num_vars.len() as u64).to_le_bytes());
        out.extend(self.poly_num_vars.iter().map(|&m| m as u8));
        for r in &self.tickets {
            for d in r.roots() {
                out.extend_from_slice(d);
            }
        }
        out
    }

    /// `ζ_k` per polynomial: Fiat–Shamir over the budget, the shapes and every ticket's root
    /// (refused, with negligible probability, if a coordinate is 0 or 1).
    pub fn link_points(&self) -> Result<Vec<Vec<EF>>, PcsError> {
        let mut t = ProverTranscript::new(&DomainSeparator::new("zkinfer-hiding-key", 1));
        t.absorb_public_bytes("hiding-key/tickets", &self.link_transcript_bytes());
        let points: Vec<Vec<EF>> = self.poly_num_vars.iter().map(|&m| t.challenge_exts(m)).collect();
        if points.iter().flatten().any(|&z| z == EF::ZERO || z == EF::ONE) {
            return Err(PcsError::Config("a link point has a boolean coordinate".into()));
        }
        Ok(points)
    }

    /// The claims every ticket's opening carries: `P̂_k(ζ_k) = e_k`.
    pub fn link_claims(&self) -> Result<Vec<OpeningClaim>, PcsError> {
        if self.link_values.len() != self.poly_num_vars.len() {
            return Err(PcsError::Config("the key has no link value per polynomial".into()));
        }
        Ok(self.link_points()?.into_iter().zip(&self.link_values).enumerate().map(|(poly, (point, &value))| OpeningClaim { poly, point, value }).collect())
    }

    fn with_link(&self, claims: &[OpeningClaim]) -> Result<Vec<OpeningClaim>, PcsError> {
        let mut per_poly: std::collections::BTreeMap<usize, Vec<&[EF]>> = std::collections::BTreeMap::new();
        for c in claims {
            // Public zero claims (`Z = 0`, value 0: `crate::hiding`'s `check_hiding_claims`)
            // read no mask and use none of the budget.
            if c.value == EF::ZERO && Vanishing::All.at(&c.point) == EF::ZERO {
                continue;
            }
            let seen = per_poly.entry(c.poly).or_default();
            if !seen.contains(&c.point.as_slice()) {
                seen.push(&c.point);
            }
            if seen.len() > self.budget.points_per_ticket {
                return Err(PcsError::BadClaim(format!("polynomial {} gets more than {} claim points in one proof", c.poly, self.budget.points_per_ticket)));
            }
        }
        let mut all = self.link_claims()?;
        all.extend_from_slice(claims);
        Ok(all)
    }

    /// Opens ticket `i` (its data from [`HidingKey::ticket`]) at the proof's `claims` (values of
    /// the randomised extensions, [`HidingProverData::evaluate`]) and the link claims.
    pub fn open_ticket<R: rand10::CryptoRng + ?Sized>(
        &self,
        pcs: &HidingPcs,
        data: HidingProverData,
        claims: &[OpeningClaim],
        t: &mut ProverTranscript,
        rng: &mut R,
    ) -> Result<(), PcsError> {
        let all = self.with_link(claims)?;
        pcs.open(data, &all, t, rng)
    }

    /// Verifies an opening of ticket `i` at `claims` (and the link claims).
    pub fn verify_ticket(&self, pcs: &HidingPcs, i: usize, claims: &[OpeningClaim], t: &mut VerifierTranscript<'_>) -> Result<(), PcsError> {
        let com = self.ticket_commitment(i).ok_or_else(|| PcsError::BadClaim(format!("ticket {i} is past the key's budget of {}", self.tickets.len())))?;
        let all = self.with_link(claims)?;
        pcs.verify(&com, &all, t)
    }

    /// Structural checks of a decoded key (sizes within bounds, one link value per polynomial,
    /// one root per ticket, the budget's masks representable).
    pub fn validate(&self) -> Result<(), PcsError> {
        self.budget.check()?;
        if self.tickets.len() != self.budget.tickets {
            return Err(PcsError::Config(format!("{} ticket roots for a budget of {}", self.tickets.len(), self.budget.tickets)));
        }
        if self.tickets.iter().any(|r| r.num_roots() != 1) {
            return Err(PcsError::Config("every ticket is one Merkle root".into()));
        }
        if self.poly_num_vars.is_empty() || self.poly_num_vars.iter().any(|&m| m == 0 || m > crate::whir::MAX_NUM_VARS) {
            return Err(PcsError::Config("polynomial sizes out of range".into()));
        }
        if self.link_values.len() != self.poly_num_vars.len() {
            return Err(PcsError::Config("one link value per polynomial".into()));
        }
        self.degree_bits().map(|_| ())
    }
}

#[cfg(test)]
#[path = "hiding_key_tests.rs"]
mod tests;
