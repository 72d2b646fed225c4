//! Tests of the zk fraction-sum GKR without the PCS: the hiding commitment is modelled by
//! [`Fake`] (the committed tables plus a random randomised-extension mask per table, exactly the
//! shape `zkinfer_pcs::hiding` commits), and every claim is checked against it as an opening
//! would. `crates/lookup/tests/zk_gkr_hiding.rs` runs the real hiding PCS.

use p3_field::{BasedVectorSpace, PrimeField64};
use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_transcript::DomainSeparator;

use super::*;
use crate::fracaddcheck::{self, Denominators, FractionLeaves, Numerators};
use zkinfer_sumcheck::zk_testkit::same_distribution;

fn ds() -> DomainSeparator {
    DomainSeparator::new("test/fracadd-zk", 1)
}

/// A stand-in for the hiding commitment: tables and their masks `M` in `μ = min(m, cap)`
/// variables; claims are on `T̂(z) = T(z) + v(z_last)·M(z_{<μ})`.
struct Fake {
    tables: Vec<Vec<F>>,
    masks: Vec<Vec<F>>,
}

impl Fake {
    /// Leaves at 0, 1; mask table `k` at `2 + k`.
    fn new(p: &[F], q: &[F], masks: &ZkGkrMasks, cap: usize, rng: &mut StdRng, leaf_masks: bool) -> Self {
        let mut tables = vec![p.to_vec(), q.to_vec()];
        tables.extend(masks.tables().iter().cloned());
        let masks = tables
            .iter()
            .enumerate()
            .map(|(k, t)| {
                let mu = (t.len().trailing_zeros() as usize).min(cap);
                (0..1usize << mu).map(|_| if k < 2 && !leaf_masks { F::ZERO } else { rng.random::<F>() }).collect()
            })
            .collect();
        Self { tables, masks }
    }

    fn index(c: Committed) -> usize {
        match c {
            Committed::LeafNumerators => 0,
            Committed::LeafDenominators => 1,
            Committed::Mask(k) => 2 + k,
        }
    }

    fn mask_value(&self, c: Committed, z: &[EF]) -> EF {
        let m = &self.masks[Self::index(c)];
        mle_f(m, &z[..m.len().trailing_zeros() as usize])
    }

    fn eval(&self, c: Committed, z: &[EF]) -> Option<EF> {
        let t = &self.tables[Self::index(c)];
        let last = *z.last()?;
        (1usize << z.len() == t.len()).then(|| mle_f(t, z) + vanish(last) * self.mask_value(c, z))
    }

    /// Whether every claim "opens".
    fn opens(&self, claims: &ZkGkrClaims) -> bool {
        let leaf = &claims.leaf;
        self.eval(Committed::LeafNumerators, &leaf.point) == Some(leaf.numerator)
            && self.eval(Committed::LeafDenominators, &leaf.point) == Some(leaf.denominator)
            && claims.masks.iter().all(|c| c.mask + 2 < self.tables.len() && self.eval(Committed::Mask(c.mask), &c.point) == Some(c.value))
    }
}

/// Leaves of depth `n` with a blinding leaf `0/b` last; returns `(p, q, Σ p/q)`.
fn leaves(n: usize, blind: F) -> (Vec<F>, Vec<F>, EF) {
    let len = 1usize << n;
    let mut p: Vec<F> = (0..len as u64).map(|i| F::from_u64((i * 37 + 5) % 97)).collect();
    let mut q: Vec<F> = (0..len as u64).map(|i| F::from_u64(i * i + 11)).collect();
    p[len - 1] = F::ZERO;
    q[len - 1] = blind;
    let sum: F = p.iter().zip(&q).map(|(&a, &b)| a * b.inverse()).sum();
    (p, q, EF::from(sum))
}

struct Run {
    proof: Vec<u8>,
    fake: Fake,
    claims: ZkGkrClaims,
}

/// One proof with fresh masks from `seed` (and a blinding leaf from it).
fn run(n: usize, seed: u64, tamper: Tamper) -> Run {
    run_with(n, seed, tamper, true, true)
}

fn run_with(n: usize, seed: u64, tamper: Tamper, layer_masks: bool, leaf_masks: bool) -> Run {
    let mut rng = StdRng::seed_from_u64(seed);
    let blind = loop {
        let b: F = rng.random();
        if b != F::ZERO {
            break b;
        }
    };
    let (p, q, sum) = leaves(n, blind);
    let mut masks = ZkGkrMasks::sample(n, &mut rng).expect("masks");
    if !layer_masks {
        for j in 1..n {
            masks.tables[layer_mask_index(j)].fill(F::ZERO);
        }
    }
    let fake = Fake::new(&p, &q, &masks, (n - 1).min(4), &mut rng, leaf_masks);
    let mut t = ProverTranscript::new(&ds());
    t.absorb_public_fields("test/commitment", &fake.masks.concat());
    let hidden = |c: Committed, z: &[EF]| fake.mask_value(c, z);
    let claims = prove_with(ZkLeaves { numerators: &p, denominators: &q }, sum, &masks, &hidden, &mut t, tamper).expect("prove");
    Run { proof: t.into_proof(), fake, claims }
}

fn claimed_sum(n: usize, seed: u64) -> EF {
    let mut rng = StdRng::seed_from_u64(seed);
    let blind = loop {
        let b: F = rng.random();
        if b != F::ZERO {
            break b;
        }
    };
    leaves(n, blind).2
}

/// What a caller accepts: the GKR verifies, the proof is consumed exactly, every claim opens.
fn check(n: usize, sum: EF, proof: &[u8], fake: &Fake) -> Result<ZkGkrClaims, String> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/commitment", &fake.masks.concat());
    let claims = verify(n, sum, &mut t).map_err(|e| e.to_string())?;
    t.finish().map_err(|e| e.to_string())?;
    if !fake.opens(&claims) {
        return Err("a claim does not open".into());
    }
    Ok(claims)
}

#[test]
fn honest_proofs_verify_and_every_claim_opens() {
    // Depth 18: the last layer's sumcheck has 17 rounds, its mask is committed in 2 pieces.
    for (n, seed) in [(2, 1), (3, 2), (5, 3), (6, 4), (18, 12)] {
        let r = run(n, seed, Tamper::default());
        let claims = check(n, claimed_sum(n, seed), &r.proof, &r.fake).expect("honest proof");
        assert_eq!(claims, r.claims, "prover and verifier end with the same claims");
        // The hiding PCS hides at most 16 claims per committed polynomial.
        let mut per_table = vec![0usize; num_mask_tables(n)];
        for c in &claims.masks {
            per_table[c.mask] += 1;
        }
        assert!(per_table.iter().all(|&k| (1..=16).contains(&k)), "depth {n}: {per_table:?}");
        assert_eq!(num_mask_tables(n), (0..n).map(|j| sumcheck_mask_pieces(j) + usize::from(j >= 1)).sum::<usize>());
        assert_eq!(claims.leaf.point.len(), n);
        // One claim per round of each layer's sumcheck (layer 0: one) + two R̂ per layer j ≥ 1.
        assert_eq!(claims.masks.len(), 1 + (1..n).map(|j| j + 2).sum::<usize>());
        // The wire: q_0; layer 0: Γ, 4 round values, 1 mask value, 4 children; layer j:
        // Γ, 5 per round, 1 per round, 4 children, 2 R̂.
        let values = 10 + (1..n).map(|j| 1 + 6 * j + 6).sum::<usize>();
        assert_eq!(r.proof.len(), 8 + 24 * values, "depth {n}");
    }
}

#[test]
fn bad_statements_and_configurations_are_refused() {
    let r = run(4, 5, Tamper::default());
    let sum = claimed_sum(4, 5);
    assert!(check(4, sum, &r.proof, &r.fake).is_ok());
    assert!(check(4, sum + EF::ONE, &r.proof, &r.fake).is_err(), "wrong claimed sum");
    assert!(check(3, sum, &r.proof, &r.fake).is_err(), "wrong depth");
    for n in [0, 1, MAX_ZK_DEPTH + 1, usize::MAX] {
        let mut t = VerifierTranscript::new(&ds(), &r.proof);
        assert!(verify(n, sum, &mut t).is_err());
    }
    for cut in [0, 24, r.proof.len() / 2, r.proof.len() - 1] {
        assert!(check(4, sum, &r.proof[..cut], &r.fake).is_err());
    }
    let mut long = r.proof.clone();
    long.extend_from_slice(&[0; 24]);
    assert!(check(4, sum, &long, &r.fake).is_err());
    // Another commitment (other masks, same leaves): the claims do not open.
    let other = run(4, 6, Tamper::default());
    assert!(check(4, sum, &r.proof, &other.fake).is_err());

    // Prover refusals: a claimed sum the leaves do not have, masks of another depth, leaf masks
    // involving the last variable (μ = n), depth out of range.
    let mut rng = StdRng::seed_from_u64(7);
    let (p, q, s) = leaves(4, F::from_u64(3));
    let masks = ZkGkrMasks::sample(4, &mut rng).expect("masks");
    let mut t = ProverTranscript::new(&ds());
    let fake = Fake::new(&p, &q, &masks, 3, &mut rng, true);
    let hidden = |c: Committed, z: &[EF]| fake.mask_value(c, z);
    let l = ZkLeaves { numerators: &p, denominators: &q };
    assert!(prove(l, s + EF::ONE, &masks, &hidden, &mut t).is_err());
    let masks3 = ZkGkrMasks::sample(3, &mut rng).expect("masks");
    assert!(prove(l, s, &masks3, &hidden, &mut t).is_err());
    let wide = Fake::new(&p, &q, &masks, 4, &mut rng, true);
    let hidden_wide = |c: Committed, z: &[EF]| wide.mask_value(c, z);
    assert!(prove(l, s, &masks, &hidden_wide, &mut t).is_err());
    assert!(ZkGkrMasks::sample(1, &mut rng).is_err());
    assert!(ZkGkrMasks::sample(MAX_ZK_DEPTH + 1, &mut rng).is_err());
    let zero_q = vec![F::ZERO; 16];
    assert!(prove(ZkLeaves { numerators: &p, denominators: &zero_q }, EF::ZERO, &masks, &hidden, &mut t).is_err());
}

/// Every sent value (q_0, Γ, round values, mask values, children, R̂) changed in turn: rejected.
#[test]
fn every_changed_sent_value_is_rejected() {
    let n = 4;
    let r = run(n, 8, Tamper::default());
    let sum = claimed_sum(n, 8);
    assert!(check(n, sum, &r.proof, &r.fake).is_ok());
    for pos in (0..r.proof.len()).step_by(8) {
        let mut bad = r.proof.clone();
        bad[pos] ^= 1;
        assert!(check(n, sum, &bad, &r.fake).is_err(), "changed limb at byte {pos} accepted");
    }
}

/// A malicious prover perturbs one child at some layer — alone (the layer's final equation
/// fails), or with a second child changed so that the final equation still holds — and carries
/// on from the changed claim, recomputing everything downstream (its later sumchecks are honest
/// for the true layers, run on the changed claimed sums): the next layer's sumcheck or the
/// final opening fails.
#[test]
fn perturbed_layer_value_with_downstream_recomputed_is_rejected() {
    let n = 4;
    let sum = claimed_sum(n, 9);
    for layer in 0..n {
        for k in 0..4 {
            let r = run(n, 9, Tamper { child: Some((layer, k, EF::from_u64(5), false)), round: None });
            let err = check(n, sum, &r.proof, &r.fake).expect_err("perturbed child accepted");
            assert!(err.contains(&format!("layer {layer}:")), "layer {layer} child {k}: {err}");

            let r = run(n, 9, Tamper { child: Some((layer, k, EF::from_u64(5), true)), round: None });
            let err = check(n, sum, &r.proof, &r.fake).expect_err("compensated perturbed child accepted");
            if layer + 1 < n {
                assert!(err.contains(&format!("layer {}", layer + 1)), "layer {layer} child {k}: {err}");
            } else {
                assert_eq!(err, "a claim does not open", "layer {layer} child {k}");
            }
        }
    }
}

/// A round polynomial changed by `δ·t(t − 1)` (so `s(0) + s(1)` still matches) with every later
/// round recomputed honestly: the final equation fails.
#[test]
fn perturbed_round_polynomial_is_rejected() {
    let n = 4;
    let sum = claimed_sum(n, 10);
    for layer in 0..n {
        for round in 0..layer.max(1) {
            let r = run(n, 10, Tamper { child: None, round: Some((layer, round, EF::from_u64(3))) });
            let err = check(n, sum, &r.proof, &r.fake).expect_err("perturbed round accepted");
            assert!(err.contains(&format!("layer {layer}")), "layer {layer} round {round}: {err}");
        }
    }
}

/// Final openings: the honest proof's claims against tables that differ in one leaf, one mask
/// table entry, or the randomised extension's mask do not open.
#[test]
fn wrong_final_openings_are_rejected() {
    let n = 4;
    let sum = claimed_sum(n, 11);
    let r = run(n, 11, Tamper::default());
    assert!(check(n, sum, &r.proof, &r.fake).is_ok());
    for (table, entry) in [(0, 3), (1, 0), (2, 5), (3, 1), (2 + layer_mask_index(2), 7)] {
        let mut fake = Fake { tables: r.fake.tables.clone(), masks: r.fake.masks.clone() };
        fake.tables[table][entry] += F::ONE;
        assert!(check(n, sum, &r.proof, &fake).is_err(), "table {table} entry {entry}");
        let mut fake = Fake { tables: r.fake.tables.clone(), masks: r.fake.masks.clone() };
        fake.masks[table][0] += F::ONE;
        assert!(check(n, sum, &r.proof, &fake).is_err(), "mask of table {table}");
    }
}

/// The proof as a list of sent values: `q_0` (8 bytes, zero-padded), then extension elements.
fn values(proof: &[u8]) -> Vec<[u8; 24]> {
    let mut first = [0u8; 24];
    first[..8].copy_from_slice(&proof[..8]);
    std::iter::once(first).chain(proof[8..].chunks_exact(24).map(|c| c.try_into().expect("24 bytes"))).collect()
}

/// The true (unmasked) children of every layer at the points the verifier saw: what the public
/// protocol sends. A distinguisher that knows the witness counts how many sent children equal
/// them.
fn witness_hits(n: usize, p: &[F], q: &[F], trace: &Trace) -> usize {
    let lift = |v: &[F]| v.iter().map(|&x| EF::from(x)).collect::<Vec<EF>>();
    let mut layers = vec![(lift(p), lift(q))];
    for _ in 0..n {
        let (lp, lq) = layers.last().expect("layer");
        let h = lq.len() / 2;
        let pp = (0..h).map(|i| lp[i] * lq[i + h] + lp[i + h] * lq[i]).collect();
        let qq = (0..h).map(|i| lq[i] * lq[i + h]).collect();
        layers.push((pp, qq));
    }
    layers.reverse();
    let mle = |v: &[EF], z: &[EF]| -> EF { eq_evals(z).iter().zip(v).map(|(&e, &x)| e * x).sum() };
    let mut hits = 0;
    for (j, (s, children)) in trace.iter().enumerate() {
        let (lp, lq) = &layers[j + 1];
        for (k, &b) in [EF::ZERO, EF::ONE].iter().enumerate() {
            let z: Vec<EF> = std::iter::once(b).chain(s.iter().copied()).collect();
            hits += usize::from(children[k] == mle(lp, &z)) + usize::from(children[2 + k] == mle(lq, &z));
        }
    }
    hits
}

fn traced(n: usize, sum: EF, proof: &[u8], commitment: &[F]) -> Trace {
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/commitment", commitment);
    verify_traced(n, sum, &mut t).expect("verifies").1
}

/// Issue 13's bar at the component level: two zk runs on the same leaves and claimed sum share
/// no sent value, and no unmasked layer value appears; two public-mode runs (`fracaddcheck`) of
/// the same tree are byte-identical.
#[test]
fn two_zk_runs_share_no_sent_value_two_public_runs_share_all() {
    let n = 5;
    // Same statement (depth, S) and leaves; the blinding leaf `b` is the prover's randomness
    // (fresh per proof, like the masks: it does not change S).
    let prove_once = |seed: u64| {
        let mut rng = StdRng::seed_from_u64(seed);
        let b = loop {
            let b: F = rng.random();
            if b != F::ZERO {
                break b;
            }
        };
        let (p, q, sum) = leaves(n, b);
        let masks = ZkGkrMasks::sample(n, &mut rng).expect("masks");
        let fake = Fake::new(&p, &q, &masks, 4, &mut rng, true);
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &fake.masks.concat());
        let hidden = |c: Committed, z: &[EF]| fake.mask_value(c, z);
        prove(ZkLeaves { numerators: &p, denominators: &q }, sum, &masks, &hidden, &mut t).expect("prove");
        let proof = t.into_proof();
        let trace = traced(n, sum, &proof, &fake.masks.concat());
        (proof, witness_hits(n, &p, &q, &trace), sum)
    };
    let ((a, hits_a, sum_a), (b, hits_b, sum_b)) = (prove_once(20), prove_once(21));
    assert_eq!(sum_a, sum_b, "same statement");
    assert_eq!((hits_a, hits_b), (0, 0), "an unmasked layer value was sent");
    let (va, vb) = (values(&a), values(&b));
    let shared = va.iter().filter(|x| vb.contains(x)).count();
    assert_eq!(shared, 0, "zk runs share {shared} of {} values", va.len());
    let windows = |p: &[u8]| p.windows(16).map(|w| w.to_vec()).collect::<std::collections::HashSet<_>>();
    assert!(windows(&a).is_disjoint(&windows(&b)), "zk runs share a 16-byte window");

    let public = || {
        let (p, q, _) = leaves(n, F::from_u64(1234567));
        let lift = |v: &[F]| v.iter().map(|&x| EF::from(x)).collect::<Vec<EF>>();
        let tree = FractionLeaves { numerators: Numerators::Values(lift(&p)), denominators: Denominators::Values(lift(&q)) };
        let mut t = ProverTranscript::new(&ds());
        fracaddcheck::prove(vec![tree], &mut t);
        t.into_proof()
    };
    let (p1, p2) = (public(), public());
    assert_eq!(p1, p2, "public mode is deterministic");
    let v1 = values(&p1);
    assert!(v1.len() > 20 && v1.iter().all(|x| values(&p2).contains(x)));
}

/// The simulator: proofs made without the leaves pass the verifier, and every sent value is
/// distributed like the honest prover's (low bits of every limb, 300 runs each). The check can
/// fail: it rejects a prover that reuses its masks (a fixed seed), and a distinguisher that
/// knows the witness tells apart a prover whose layer masks are zero (sumcheck masked, layer
/// values not) — it finds every child of that prover among the true layer values, and none of
/// the honest or simulated ones.
#[test]
fn simulated_proofs_pass_and_match_the_honest_distribution() {
    let n = 3;
    let runs = 300;
    // The blinding leaf is the prover's randomness (it does not change the sum).
    let witness = |seed: u64| {
        let mut rng = StdRng::seed_from_u64(seed ^ 0xB11D);
        let b = loop {
            let b: F = rng.random();
            if b != F::ZERO {
                break b;
            }
        };
        leaves(n, b)
    };
    let sum = witness(0).2;
    let prove_seeded = |seed: u64, layer_masks: bool| {
        let (p, q, s) = witness(seed);
        assert_eq!(s, sum);
        let mut rng = StdRng::seed_from_u64(seed);
        let mut masks = ZkGkrMasks::sample(n, &mut rng).expect("masks");
        if !layer_masks {
            for j in 1..n {
                masks.tables[layer_mask_index(j)].fill(F::ZERO);
            }
        }
        let fake = Fake::new(&p, &q, &masks, 2, &mut rng, layer_masks);
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &[]);
        let hidden = |c: Committed, z: &[EF]| fake.mask_value(c, z);
        prove(ZkLeaves { numerators: &p, denominators: &q }, sum, &masks, &hidden, &mut t).expect("prove");
        (t.into_proof(), seed)
    };
    let mut rng = StdRng::seed_from_u64(99);
    let mut real = Vec::with_capacity(runs);
    let mut sim = Vec::with_capacity(runs);
    let mut reused = Vec::with_capacity(runs);
    let mut unmasked_layers = Vec::with_capacity(runs);
    for i in 0..runs as u64 {
        real.push(prove_seeded(1000 + i, true));
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &[]);
        simulate(n, sum, &mut t, &mut rng).expect("simulate");
        // The distinguisher tries every witness it knows of: here, the real prover's seed 1000.
        sim.push((t.into_proof(), 1000));
        reused.push(prove_seeded(5, true));
        unmasked_layers.push(prove_seeded(3000 + i, false));
    }
    let hits = |proofs: &[(Vec<u8>, u64)]| -> usize {
        proofs
            .iter()
            .map(|(pr, seed)| {
                let (p, q, _) = witness(*seed);
                witness_hits(n, &p, &q, &traced(n, sum, pr, &[]))
            })
            .sum()
    };
    let bytes = |proofs: &[(Vec<u8>, u64)]| proofs.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    // Every proof passes the verifier (`traced` verifies), including the simulated ones.
    assert_eq!(hits(&real), 0, "an honest child equals a true layer value");
    assert_eq!(hits(&sim), 0);
    assert_eq!(hits(&unmasked_layers), runs * 4 * n, "unmasked children are the true layer values");
    same_distribution(&bytes(&real), &bytes(&sim)).expect("honest and simulated proofs look alike");
    assert!(same_distribution(&bytes(&real), &bytes(&reused)).is_err(), "reused masks must be detected");
    // The round values alone do not reveal the unmasked-layer prover (its sumchecks are
    // masked): the witness test above is what catches it.
    let (p, q, _) = witness(0);
    // Proof bytes of a public (unmasked) prover are constant: rejected by the same test.
    let public: Vec<Vec<u8>> = (0..runs)
        .map(|_| {
            let lift = |v: &[F]| v.iter().map(|&x| EF::from(x)).collect::<Vec<EF>>();
            let tree = FractionLeaves { numerators: Numerators::Values(lift(&p)), denominators: Denominators::Values(lift(&q)) };
            let mut t = ProverTranscript::new(&ds());
            fracaddcheck::prove(vec![tree], &mut t);
            t.into_proof()
        })
        .collect();
    assert!(same_distribution(&public, &public).is_err());
}

/// The limbs of an extension element as the transcript writes them (canonical, little-endian):
/// the bit test reads the same representation.
#[test]
fn wire_limbs_are_canonical_base_field_coordinates() {
    let x = EF::from_basis_coefficients_fn(|i| F::from_u64(10 + i as u64));
    let mut t = ProverTranscript::new(&ds());
    t.send_ext(x);
    let proof = t.into_proof();
    let limbs: Vec<u64> = proof.chunks_exact(8).map(|b: &[u8]| u64::from_le_bytes(b.try_into().expect("8 bytes"))).collect();
    let want: Vec<u64> = BasedVectorSpace::<F>::as_basis_coefficients_slice(&x).iter().map(|c: &F| c.as_canonical_u64()).collect();
    assert_eq!(limbs, want);
}

/// Rank over `F` of a list of rows.
fn rank_f(mut rows: Vec<Vec<F>>) -> usize {
    let cols = rows.first().map_or(0, Vec::len);
    let mut rank = 0;
    for col in 0..cols {
        if let Some(p) = (rank..rows.len()).find(|&i| rows[i][col] != F::ZERO) {
            rows.swap(rank, p);
            let inv = rows[rank][col].inverse();
            let pivot = rows[rank].clone();
            for (i, row) in rows.iter_mut().enumerate() {
                if i != rank && row[col] != F::ZERO {
                    let f = row[col] * inv;
                    for k in 0..cols {
                        row[k] -= f * pivot[k];
                    }
                }
            }
            rank += 1;
        }
    }
    rank
}

fn coords(xs: &[EF]) -> Vec<F> {
    xs.iter().flat_map(|x| BasedVectorSpace::<F>::as_basis_coefficients_slice(x).to_vec()).collect()
}

/// The simulator argument's linear algebra, on the real tables: what the verifier learns about
/// one layer mask `R^{pq}_j` (the children's masks `Σ_w R(0, w)`, `Σ_w R(1, w)`, then
/// `R̂(ρ, s'_0)`) is a map from its 16 base-field entries onto `EF^3` (rank 9 over `F`), so the
/// three values are uniform and independent; likewise the leaves' two masks `M(0, s)`, `M(1, s)`
/// (16 entries, μ = 4) onto `EF^2`. At `s'_0 = ½` the layer map loses rank (the excluded event).
#[test]
fn revealed_mask_values_are_uniform_and_independent() {
    let (rho, s0) = (EF::from_u64(1234) + mask_gamma()[1], EF::from_u64(99) + mask_gamma()[0]);
    let layer_rows = |s0: EF| -> Vec<Vec<F>> {
        (0..16)
            .map(|e| {
                let mut masks = ZkGkrMasks::sample(3, &mut StdRng::seed_from_u64(1)).expect("masks");
                let table = &mut masks.tables[layer_mask_index(1)];
                table.fill(F::ZERO);
                table[e] = F::ONE; // pq = 0 half
                coords(&[masks.r_sum(1, 0, EF::ZERO), masks.r_sum(1, 0, EF::ONE), masks.r_value(1, 0, rho, s0)])
            })
            .collect()
    };
    assert_eq!(rank_f(layer_rows(s0)), 9);
    assert!(rank_f(layer_rows(EF::TWO.inverse())) < 9);
    let s: Vec<EF> = [5u64, 7, 11].iter().map(|&x| EF::from_u64(x) * mask_gamma()[0] + EF::from_u64(x * x)).collect();
    let leaf_rows: Vec<Vec<F>> = (0..16)
        .map(|e| {
            let mut m = vec![F::ZERO; 16];
            m[e] = F::ONE;
            let at = |b: EF| mle_f(&m, &std::iter::once(b).chain(s.iter().copied()).collect::<Vec<EF>>());
            coords(&[at(EF::ZERO), at(EF::ONE)])
        })
        .collect();
    assert_eq!(rank_f(leaf_rows), 6);
}
