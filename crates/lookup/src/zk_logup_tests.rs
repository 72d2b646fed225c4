//! Tests of the zk logUp without the PCS: the hiding commitment is modelled by [`Fake`] (every
//! committed polynomial plus a random randomised-extension mask in `min(m, 4)` variables, the
//! shape `zkinfer_pcs::hiding` commits), and every claim is checked against it as an opening
//! would. `crates/lookup/tests/zk_logup_hiding.rs` runs the real hiding PCS.

use std::collections::HashMap;

use p3_field::Field;
use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_transcript::DomainSeparator;

use super::*;
use crate::logup::prove_lookup;
use zkinfer_sumcheck::zk_testkit::same_distribution_except;

fn ds() -> DomainSeparator {
    DomainSeparator::new("test/logup-zk", 1)
}

fn mle(values: &[F], point: &[EF]) -> EF {
    zero_padded_eval(&eq_evals(point), values)
}

/// A stand-in for the hiding commitment.
struct Fake {
    polys: HashMap<ZkLookupPoly, (Vec<F>, Vec<F>)>,
}

impl Fake {
    /// Commits the columns (zero-padded), `m` and the masks, each with a random mask.
    fn new(table: &Table, columns: &[Vec<F>], m: &[F], masks: &ZkLookupMasks, rng: &mut StdRng) -> Self {
        Self::new_batch(&[(table, columns, m)], masks, rng)
    }

    /// Several statements: `(table, columns, m)` per statement.
    fn new_batch(statements: &[(&Table, &[Vec<F>], &[F])], masks: &ZkLookupMasks, rng: &mut StdRng) -> Self {
        let mut polys = HashMap::new();
        let mut add = |poly: ZkLookupPoly, values: Vec<F>, rng: &mut StdRng| {
            let mu = (values.len().trailing_zeros() as usize).min(4);
            let mask = (0..1usize << mu).map(|_| rng.random::<F>()).collect();
            polys.insert(poly, (values, mask));
        };
        for (instance, &(table, columns, m)) in statements.iter().enumerate() {
            let arity = table.arity();
            for (i, c) in columns.iter().enumerate() {
                add(ZkLookupPoly::Column { instance, column: i / arity, component: i % arity }, zk_committed_column(c), rng);
            }
            add(ZkLookupPoly::Multiplicities { instance }, m.to_vec(), rng);
        }
        for (poly, t) in masks.tables() {
            add(poly, t.to_vec(), rng);
        }
        Self { polys }
    }

    fn mask_value(&self, poly: ZkLookupPoly, z: &[EF]) -> EF {
        let (_, mask) = &self.polys[&poly];
        mle(mask, &z[..mask.len().trailing_zeros() as usize])
    }

    /// The bytes a real commitment would bind (the test absorbs these).
    fn binding(&self) -> Vec<F> {
        let mut keys: Vec<_> = self.polys.keys().copied().collect();
        keys.sort_by_key(|k| format!("{k:?}"));
        keys.iter().flat_map(|k| self.polys[k].1.clone()).collect()
    }

    fn opens(&self, claims: &ZkLookupClaims) -> Result<(), String> {
        for c in &claims.openings {
            let (values, _) = self.polys.get(&c.poly).ok_or(format!("no polynomial {:?}", c.poly))?;
            if 1usize << c.point.len() != values.len() {
                return Err(format!("{:?}: point of {} coordinates", c.poly, c.point.len()));
            }
            let last = *c.point.last().ok_or("empty point")?;
            if mle(values, &c.point) + vanish(last) * self.mask_value(c.poly, &c.point) != c.value {
                return Err(format!("{:?} does not open", c.poly));
            }
        }
        Ok(())
    }
}

/// A range-table statement: columns of 100 and 20 rows into `[0, 16)`. Layout: 128 + 32
/// (column 1, padded to the minimum block) + 32 (table) + 32 (blinding) = 224 of 256 leaves.
fn range_statement() -> (Table, Vec<Vec<F>>) {
    let table = Table::range(4);
    let columns = [100usize, 20]
        .iter()
        .enumerate()
        .map(|(k, &n)| (0..n).map(|i| F::from_u64(((i * 7 + 3 * k) % 16) as u64)).collect())
        .collect();
    (table, columns)
}

/// A function-table statement (arity 2): squares mod 11 on 0..40, columns of 33 and 5 rows.
fn function_statement() -> (Table, Vec<Vec<F>>) {
    let inputs: Vec<i64> = (0..40).collect();
    let outputs: Vec<i64> = inputs.iter().map(|x| x * x % 11).collect();
    let table = Table::function("sq11", &inputs, &outputs).expect("table");
    let mut columns = Vec::new();
    for (n, step) in [(33u64, 3u64), (5, 7)] {
        let xs: Vec<u64> = (0..n).map(|i| (i * step + 1) % 40).collect();
        columns.push(xs.iter().map(|&x| F::from_u64(x)).collect());
        columns.push(xs.iter().map(|&x| F::from_u64(x * x % 11)).collect());
    }
    (table, columns)
}

fn lookup_columns<'a>(table: &Table, columns: &'a [Vec<F>]) -> Vec<LookupColumn<'a>> {
    columns.chunks(table.arity()).map(|c| LookupColumn { components: c.iter().map(Vec::as_slice).collect() }).collect()
}

struct Run {
    proof: Vec<u8>,
    fake: Fake,
    claims: ZkLookupClaims,
}

/// One zk proof. `committed` (columns, m) is what the commitment holds; the prover builds its
/// leaves from `leaf_columns`/`leaf_m` and follows `cheat`.
#[allow(clippy::too_many_arguments)]
fn run_full(table: &Table, committed: &[Vec<F>], committed_m: &[F], leaf_columns: &[Vec<F>], leaf_m: &[F], seed: u64, cheat: &Cheat<'_>) -> Result<Run, LookupError> {
    let mut rng = StdRng::seed_from_u64(seed);
    let lens: Vec<usize> = leaf_columns.iter().step_by(table.arity()).map(Vec::len).collect();
    let masks = ZkLookupMasks::sample(table, &lens, &mut rng)?;
    let fake = Fake::new(table, committed, committed_m, &masks, &mut rng);
    let mut t = ProverTranscript::new(&ds());
    t.absorb_public_fields("test/commitment", &fake.binding());
    let hidden = |poly: ZkLookupPoly, z: &[EF]| fake.mask_value(poly, z);
    let cols = lookup_columns(table, leaf_columns);
    let instance = LookupInstance { table, columns: cols, multiplicities: leaf_m };
    let claims = prove_inner(&[instance], &masks, &hidden, &mut t, cheat)?;
    Ok(Run { proof: t.into_proof(), fake, claims })
}

fn run(table: &Table, columns: &[Vec<F>], seed: u64) -> Run {
    let m = compute_multiplicities_zk(table, &lookup_columns(table, columns)).expect("in table");
    run_full(table, columns, &m, columns, &m, seed, &Cheat::default()).expect("honest prover")
}

/// What a caller accepts: the lookup verifies, the proof is consumed, every claim opens.
fn check(table: &Table, lens: &[usize], proof: &[u8], fake: &Fake) -> Result<ZkLookupClaims, String> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    t.absorb_public_fields("test/commitment", &fake.binding());
    let claims = verify_lookup_zk(table, lens, &mut t).map_err(|e| e.to_string())?;
    t.finish().map_err(|e| e.to_string())?;
    fake.opens(&claims)?;
    Ok(claims)
}

fn lens_of(table: &Table, columns: &[Vec<F>]) -> Vec<usize> {
    columns.iter().step_by(table.arity()).map(Vec::len).collect()
}

#[test]
fn layout_is_aligned_and_keeps_masks_off_the_last_variable() {
    let (table, columns) = range_statement();
    let l = layout(&[(&table, lens_of(&table, &columns).as_slice())]).expect("layout");
    assert_eq!((l.depth, l.used), (8, 224));
    let mut next = 0;
    for b in &l.blocks {
        assert!(b.vars >= MIN_BLOCK_VARS && b.vars < l.depth);
        assert_eq!(b.offset, next);
        assert_eq!(b.offset % (1 << b.vars), 0, "aligned");
        next += 1 << b.vars;
    }
    // A single range column exactly filling 2^k: the table and blinding blocks push it to 2^{k+1}.
    let l = layout(&[(&Table::range(4), &[1 << 10][..])]).expect("layout");
    assert_eq!((l.depth, l.used), (11, 1024 + 64));
}

#[test]
fn honest_proofs_verify_and_every_claim_opens() {
    for (table, columns) in [range_statement(), function_statement()] {
        let lens = lens_of(&table, &columns);
        for seed in 0..3 {
            let r = run(&table, &columns, seed);
            let claims = check(&table, &lens, &r.proof, &r.fake).expect("honest proof verifies and opens");
            assert_eq!(claims, r.claims, "prover and verifier agree on the claims");
            // One claim per column component, m, blinding, then the GKR's mask claims.
            assert!(claims.openings.len() > columns.len() + 2);
        }
    }
    // Short columns (one row) and a column of exactly 2^5 rows.
    let table = Table::range(3);
    let columns = vec![vec![F::from_u64(5)], (0..32).map(|i| F::from_u64(i % 8)).collect()];
    let r = run(&table, &columns, 7);
    check(&table, &lens_of(&table, &columns), &r.proof, &r.fake).expect("short columns verify");
}

#[test]
fn bad_inputs_are_refused() {
    let (table, columns) = range_statement();
    let cols = lookup_columns(&table, &columns);
    let m = compute_multiplicities_zk(&table, &cols).expect("m");
    let mut rng = StdRng::seed_from_u64(1);
    let lens = lens_of(&table, &columns);
    let masks = ZkLookupMasks::sample(&table, &lens, &mut rng).expect("masks");
    let hidden = |_: ZkLookupPoly, _: &[EF]| EF::ZERO;
    let mut t = ProverTranscript::new(&ds());
    assert!(matches!(prove_lookup_zk(&table, &cols, &m[..16], &masks, &hidden, &mut t), Err(LookupError::MultiplicityLength { .. })));
    let other = ZkLookupMasks::sample(&table, &[4000], &mut rng).expect("masks");
    assert!(prove_lookup_zk(&table, &cols, &m, &other, &hidden, &mut t).is_err(), "masks of another depth");
    assert!(ZkLookupMasks::sample(&table, &[], &mut rng).is_err());
    assert!(ZkLookupMasks::sample(&table, &[0], &mut rng).is_err());
    assert!(ZkLookupMasks::sample(&table, &[1usize << 40], &mut rng).is_err());
    let mut vt = VerifierTranscript::new(&ds(), &[]);
    assert!(verify_lookup_zk(&table, &[], &mut vt).is_err());
    // A value outside the table: the honest prover cannot even count it.
    let mut bad = columns.clone();
    bad[0][3] = F::from_u64(16);
    assert!(matches!(compute_multiplicities_zk(&table, &lookup_columns(&table, &bad)), Err(LookupError::NotInTable { column: 0, row: 3 })));
}

/// A looked-up value outside the table. The cheating prover commits the bad column but builds
/// its leaves (and `m`) from a column with an in-table value there — the GKR then passes — and
/// either sends the committed column's values (the leaf check fails) or the leaves' column's
/// (the opening fails).
#[test]
fn value_outside_the_table_is_rejected() {
    let (table, columns) = range_statement();
    let lens = lens_of(&table, &columns);
    let mut committed = columns.clone();
    committed[1][17] = F::from_u64(16); // outside [0, 16)
    let m = compute_multiplicities_zk(&table, &lookup_columns(&table, &columns)).expect("m");
    let sent_committed = Cheat { sent_columns: Some(committed.as_slice()), ..Cheat::default() };
    let r = run_full(&table, &committed, &m, &columns, &m, 11, &sent_committed).expect("proof");
    let err = check(&table, &lens, &r.proof, &r.fake).expect_err("committed values contradict the leaves");
    assert!(err.contains("leaf claim"), "{err}");
    let r = run_full(&table, &committed, &m, &columns, &m, 12, &Cheat::default()).expect("proof");
    let err = check(&table, &lens, &r.proof, &r.fake).expect_err("the leaves' column is not the committed one");
    assert!(err.contains("does not open"), "{err}");
}

/// A multiplicity moved from one table row to another: the honest prover refuses (the sum is not
/// zero); a prover that builds its leaves from the true `m` but committed the moved one fails at
/// the leaf check or at the opening.
#[test]
fn moved_multiplicity_is_rejected() {
    let (table, columns) = range_statement();
    let lens = lens_of(&table, &columns);
    let m = compute_multiplicities_zk(&table, &lookup_columns(&table, &columns)).expect("m");
    let mut moved = m.clone();
    assert_ne!(moved[2], F::ZERO);
    moved[2] -= F::ONE;
    moved[9] += F::ONE;
    assert!(run_full(&table, &columns, &moved, &columns, &moved, 13, &Cheat::default()).is_err(), "the honest prover refuses a wrong m");
    let sent_moved = Cheat { sent_m: Some(moved.as_slice()), ..Cheat::default() };
    let r = run_full(&table, &columns, &moved, &columns, &m, 14, &sent_moved).expect("proof");
    assert!(check(&table, &lens, &r.proof, &r.fake).expect_err("leaf check").contains("numerators"));
    let r = run_full(&table, &columns, &moved, &columns, &m, 15, &Cheat::default()).expect("proof");
    assert!(check(&table, &lens, &r.proof, &r.fake).expect_err("opening").contains("does not open"));
}

/// A perturbed leaf with everything downstream recomputed (the GKR proof is honest for the
/// perturbed leaves, whose sum is still 0): a witness leaf's denominator changed and compensated
/// in an uncovered leaf; a table leaf scaled top and bottom (same fraction); the blinding leaf's
/// numerator made non-zero and compensated. Every one is caught by the leaf check.
#[test]
fn perturbed_leaves_are_rejected() {
    let (table, columns) = range_statement();
    let lens = lens_of(&table, &columns);
    let m = compute_multiplicities_zk(&table, &lookup_columns(&table, &columns)).expect("m");
    let l = layout(&[(&table, lens.as_slice())]).expect("layout");
    let block = |kind: Kind| l.blocks.iter().find(|b| b.kind == kind).expect("block").offset;
    let (w, tb, bl, u) = (block(Kind::Column(0, 0)) + 5, block(Kind::Table(0)) + 3, block(Kind::Blinding) + 1, l.used + 2);
    let witness = move |p: &mut Vec<EF>, q: &mut Vec<EF>| {
        let old = q[w];
        q[w] += EF::ONE;
        p[u] = p[w] * (old.inverse() - q[w].inverse()); // keeps the sum
    };
    let table_leaf = move |p: &mut Vec<EF>, q: &mut Vec<EF>| {
        p[tb] = p[tb].double();
        q[tb] = q[tb].double();
    };
    let blinding = move |p: &mut Vec<EF>, q: &mut Vec<EF>| {
        p[bl] = EF::ONE;
        p[u] = -q[u] * q[bl].inverse();
    };
    let edits: [(&str, &dyn Fn(&mut Vec<EF>, &mut Vec<EF>)); 3] = [("witness", &witness), ("table", &table_leaf), ("blinding", &blinding)];
    for (name, edit) in edits {
        let cheat = Cheat { leaves: Some(edit), ..Cheat::default() };
        let r = run_full(&table, &columns, &m, &columns, &m, 16, &cheat).unwrap_or_else(|e| panic!("{name}: the GKR accepts the perturbed tree: {e}"));
        let err = check(&table, &lens, &r.proof, &r.fake).expect_err(name);
        assert!(err.contains("leaf claim"), "{name}: {err}");
    }
}

/// Every sent value (24-byte extension element; `q_0` included) with one bit flipped is rejected.
#[test]
fn every_flipped_sent_limb_is_rejected() {
    let (table, columns) = function_statement();
    let lens = lens_of(&table, &columns);
    let r = run(&table, &columns, 17);
    assert_eq!(r.proof.len() % 24, 0, "only extension elements are sent");
    for k in 0..r.proof.len() / 24 {
        for limb in 0..3 {
            let mut bad = r.proof.clone();
            bad[24 * k + 8 * limb] ^= 1;
            assert!(check(&table, &lens, &bad, &r.fake).is_err(), "value {k} limb {limb} flipped and accepted");
        }
    }
    assert!(check(&table, &lens, &r.proof[..r.proof.len() - 24], &r.fake).is_err(), "truncated");
    assert!(check(&table, &[lens[0], lens[1] + 1], &r.proof, &r.fake).is_err(), "other lengths");
}

fn values(proof: &[u8]) -> Vec<[u8; 24]> {
    proof.chunks_exact(24).map(|c| c.try_into().expect("24 bytes")).collect()
}

/// Issue 13's bar on this component, both sides in one test: two zk runs on the same statement
/// share no sent value and no 16-byte window, and neither contains the unmasked column or `m`
/// evaluations at its point (what public mode sends); two public-mode runs of the same
/// statement are byte-identical.
#[test]
fn two_zk_runs_share_nothing_two_public_runs_share_everything() {
    let (table, columns) = function_statement();
    let lens = lens_of(&table, &columns);
    let (a, b) = (run(&table, &columns, 20), run(&table, &columns, 21));
    for r in [&a, &b] {
        check(&table, &lens, &r.proof, &r.fake).expect("verifies");
        // The unmasked values at the claimed points.
        let m = compute_multiplicities_zk(&table, &lookup_columns(&table, &columns)).expect("m");
        for c in &r.claims.openings {
            let clear = match c.poly {
                ZkLookupPoly::Column { column, component, .. } => mle(&zk_committed_column(&columns[column * 2 + component]), &c.point),
                ZkLookupPoly::Multiplicities { .. } => mle(&m, &c.point),
                _ => continue,
            };
            assert_ne!(clear, c.value);
            let mut t = ProverTranscript::new(&ds());
            t.send_ext(clear);
            let needle = t.into_proof();
            assert!(!r.proof.windows(24).any(|w| w == needle.as_slice()), "an unmasked value is in the proof");
        }
    }
    let (va, vb) = (values(&a.proof), values(&b.proof));
    let shared = va.iter().filter(|x| vb.contains(x)).count();
    assert_eq!(shared, 0, "zk runs share {shared} of {} values", va.len());
    let windows = |p: &[u8]| p.windows(16).map(|w| w.to_vec()).collect::<std::collections::HashSet<_>>();
    assert!(windows(&a.proof).is_disjoint(&windows(&b.proof)), "zk runs share a 16-byte window");

    let public = || {
        let cols = lookup_columns(&table, &columns);
        let m = compute_multiplicities(&table, &cols).expect("m");
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &[]);
        prove_lookup(&table, &cols, &m, &mut t).expect("public proof");
        t.into_proof()
    };
    let (p1, p2) = (public(), public());
    assert_eq!(p1, p2, "public mode is deterministic");
    let (w1, w2) = (windows(&p1), windows(&p2));
    assert!(w1.len() > 100 && w1.is_subset(&w2), "two public runs share every window");
}

/// The simulator: proofs made without the columns or `m` pass the verifier, and every sent limb
/// is distributed like the honest prover's (low bits, 300 runs each). The check can fail: it
/// rejects a prover that reuses its randomness (masks, commitment masks) across runs.
#[test]
fn simulated_proofs_pass_and_match_the_honest_distribution() {
    let table = Table::range(3);
    let columns = vec![(0..20).map(|i| F::from_u64(i * 3 % 8)).collect::<Vec<F>>()];
    let lens = lens_of(&table, &columns);
    let runs = 300;
    let mut rng = StdRng::seed_from_u64(77);
    let mut real = Vec::with_capacity(runs);
    let mut sim = Vec::with_capacity(runs);
    let mut reused = Vec::with_capacity(runs);
    for i in 0..runs as u64 {
        let r = run(&table, &columns, 1000 + i);
        real.push(r.proof);
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &[]);
        simulate_lookup_zk(&table, &lens, &mut t, &mut rng).expect("simulate");
        let proof = t.into_proof();
        let mut vt = VerifierTranscript::new(&ds(), &proof);
        vt.absorb_public_fields("test/commitment", &[]);
        verify_lookup_zk(&table, &lens, &mut vt).expect("a simulated proof passes the verifier");
        vt.finish().expect("consumed");
        sim.push(proof);
        reused.push(run(&table, &columns, 5).proof);
    }
    // One sent value is public: the leaf layer's child P̂(1, s) — the tree's second half holds
    // the blinding block and uncovered leaves, whose numerators are all 0. It is 0 in every honest
    // and every simulated proof; every other limb is tested.
    let zero_value = |proof: &Vec<u8>| -> Vec<usize> { values(proof).iter().enumerate().filter(|(_, v)| v.iter().all(|&b| b == 0)).map(|(k, _)| k).collect() };
    let public = zero_value(&real[0]);
    assert_eq!(public.len(), 1, "exactly one public value");
    assert!(real.iter().chain(&sim).all(|p| zero_value(p) == public));
    let limbs: Vec<usize> = (0..3).map(|l| 3 * public[0] + l).collect();
    // The honest proofs absorbed their (fake) commitment; the simulated ones an empty one: both
    // are random-oracle inputs, so the challenge distributions agree.
    same_distribution_except(&real, &sim, &limbs).expect("honest and simulated proofs look alike");
    assert!(same_distribution_except(&real, &reused, &limbs).is_err(), "reused randomness must be detected");
}

/// Several statements (a range table and a function table, each with its own `β, α`) in one zk
/// tree: honest proofs verify and open, the simulator's pass, a flipped limb and a changed
/// statement order are rejected, and a value outside a table in the second statement is caught.
#[test]
fn batched_statements_verify_and_reject_lies() {
    let (rt, rc) = range_statement();
    let (ft, fc) = function_statement();
    let prove_batch = |fc: &[Vec<F>], committed_fc: &[Vec<F>], seed: u64| {
        let mut rng = StdRng::seed_from_u64(seed);
        let rm = compute_multiplicities_zk(&rt, &lookup_columns(&rt, &rc)).expect("m");
        let fm = compute_multiplicities_zk(&ft, &lookup_columns(&ft, fc)).expect("m");
        let (rl, fl) = (lens_of(&rt, &rc), lens_of(&ft, fc));
        let masks = ZkLookupMasks::sample_batch(&[(&rt, &rl), (&ft, &fl)], &mut rng).expect("masks");
        let fake = Fake::new_batch(&[(&rt, &rc, &rm), (&ft, committed_fc, &fm)], &masks, &mut rng);
        let mut t = ProverTranscript::new(&ds());
        t.absorb_public_fields("test/commitment", &fake.binding());
        let hidden = |poly: ZkLookupPoly, z: &[EF]| fake.mask_value(poly, z);
        let instances = [
            LookupInstance { table: &rt, columns: lookup_columns(&rt, &rc), multiplicities: &rm },
            LookupInstance { table: &ft, columns: lookup_columns(&ft, fc), multiplicities: &fm },
        ];
        let claims = prove_lookups_zk(&instances, &masks, &hidden, &mut t).expect("prove");
        (t.into_proof(), fake, claims)
    };
    let check_batch = |order: &[(&Table, &[usize])], proof: &[u8], fake: &Fake| -> Result<ZkLookupClaims, String> {
        let mut t = VerifierTranscript::new(&ds(), proof);
        t.absorb_public_fields("test/commitment", &fake.binding());
        let claims = verify_lookups_zk(order, &mut t).map_err(|e| e.to_string())?;
        t.finish().map_err(|e| e.to_string())?;
        fake.opens(&claims)?;
        Ok(claims)
    };
    let (rl, fl) = (lens_of(&rt, &rc), lens_of(&ft, &fc));
    let order: [(&Table, &[usize]); 2] = [(&rt, &rl), (&ft, &fl)];
    let (proof, fake, claims) = prove_batch(&fc, &fc, 30);
    assert_eq!(check_batch(&order, &proof, &fake).expect("honest batch"), claims);
    assert!(check_batch(&[(&ft, &fl), (&rt, &rl)], &proof, &fake).is_err(), "statements swapped");
    for k in (0..proof.len() / 24).step_by(7) {
        let mut bad = proof.clone();
        bad[24 * k] ^= 1;
        assert!(check_batch(&order, &bad, &fake).is_err(), "value {k} flipped");
    }
    // Statement 1 commits a row outside its table; the prover's leaves use an in-table row.
    let mut bad_fc = fc.clone();
    bad_fc[1][2] += F::ONE;
    let (proof, fake, _) = prove_batch(&fc, &bad_fc, 31);
    assert!(check_batch(&order, &proof, &fake).expect_err("opening").contains("does not open"));
    // The simulator for the batch.
    let mut rng = StdRng::seed_from_u64(32);
    let mut t = ProverTranscript::new(&ds());
    simulate_lookups_zk(&order, &mut t, &mut rng).expect("simulate");
    let proof = t.into_proof();
    let mut vt = VerifierTranscript::new(&ds(), &proof);
    verify_lookups_zk(&order, &mut vt).expect("a simulated batch passes");
    vt.finish().expect("consumed");
}

/// `ZkLookupMasks::table_lens` (no sampling) is the sample's table lengths, for trees of several
/// depths (the zk setup proof's verifier sizes its batch with it).
#[test]
fn table_lens_match_the_sampled_tables() {
    let mut rng = rand10::rngs::StdRng::seed_from_u64(3);
    let range = Table::range(8);
    for lens in [vec![32usize], vec![1 << 10, 1 << 6], vec![1 << 17], vec![1 << 20, 1 << 20, 32]] {
        let statements = [(&range, lens.as_slice())];
        let sample = ZkLookupMasks::sample_batch(&statements, &mut rng).expect("masks");
        let sampled: Vec<usize> = sample.tables().iter().map(|(_, t)| t.len()).collect();
        assert_eq!(ZkLookupMasks::table_lens(&statements).expect("lens"), sampled, "columns {lens:?}");
    }
}
