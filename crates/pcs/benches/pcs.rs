//! WHIR PCS benchmarks: commit / open / verify one 2^24-entry polynomial, and the opening
//! accumulator with 100 claims on 20 polynomials (2^24 entries in total).
//!
//! `cargo bench -p zkinfer-pcs --bench pcs` (set `PCS_BENCH_LOG_SIZE` to change 24).

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_pcs::{OpeningAccumulator, OpeningClaim, Origin, Pcs, PolyId, ProximityBound, WhirCommitment, WhirParams, WhirPcs, WhirProverData};
use zkinfer_poly::Mle;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

fn log_size() -> usize {
    std::env::var("PCS_BENCH_LOG_SIZE").ok().and_then(|s| s.parse().ok()).unwrap_or(24)
}

/// `PCS_BENCH_LOG_INV_RATE` (default 1) and `PCS_BENCH_BOUND` (`johnson` default, `unique`,
/// `capacity`) select other WHIR parameters; `PCS_BENCH_SCHEDULE=standard` replaces the default
/// rate schedule by WHIR's standard one (fold 4 every round, halve the domain every round).
fn params() -> WhirParams {
    let rate = std::env::var("PCS_BENCH_LOG_INV_RATE").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    let bound = match std::env::var("PCS_BENCH_BOUND").as_deref() {
        Ok("unique") => ProximityBound::UniqueDecoding,
        Ok("capacity") => ProximityBound::CapacityBound,
        _ => ProximityBound::JohnsonBound,
    };
    let default = WhirParams { log_inv_rate: rate, bound, ..WhirParams::default() };
    match std::env::var("PCS_BENCH_SCHEDULE").as_deref() {
        Ok("standard") => WhirParams {
            first_folding_factor: default.folding_factor,
            first_log_domain_shrink: 1,
            log_domain_shrink: 1,
            ..default
        },
        _ => default,
    }
}

fn ds() -> DomainSeparator {
    DomainSeparator::new("zkinfer-pcs-bench", 1)
}

fn rand_mle(rng: &mut StdRng, num_vars: usize) -> Mle<F> {
    Mle::new((0..1usize << num_vars).map(|_| F::from_u64(rng.random::<u64>() % zkinfer_field::P)).collect())
}

/// Absorbs the commitment and draws one transcript point per planned claim (what a real
/// protocol does before it knows its claims).
fn draw_points(polys: &[Mle<F>], com: &WhirCommitment, pcs: &WhirPcs, plan: &[usize], t: &mut impl Transcript) -> Vec<Vec<EF>> {
    pcs.absorb_commitment(com, t);
    plan.iter().map(|&k| t.challenge_exts(polys[k].num_vars)).collect()
}

/// The honest claims (values computed once, outside the timed closures).
fn honest_claims(polys: &[Mle<F>], com: &WhirCommitment, pcs: &WhirPcs, plan: &[usize]) -> Vec<OpeningClaim> {
    let mut t = ProverTranscript::new(&ds());
    let points = draw_points(polys, com, pcs, plan, &mut t);
    plan.iter()
        .zip(points)
        .map(|(&k, point)| OpeningClaim { poly: k, value: polys[k].evaluate(&point), point })
        .collect()
}

fn prove(pcs: &WhirPcs, polys: &[Mle<F>], com: &WhirCommitment, data: WhirProverData, claims: &[OpeningClaim]) -> Vec<u8> {
    let plan: Vec<usize> = claims.iter().map(|c| c.poly).collect();
    let mut t = ProverTranscript::new(&ds());
    let points = draw_points(polys, com, pcs, &plan, &mut t);
    let mut acc = OpeningAccumulator::new();
    for (c, point) in claims.iter().zip(points) {
        acc.push(PolyId::Slot(c.poly), Origin::External, point, c.value);
    }
    acc.prove_consuming(pcs, data, &PolyId::slots(polys.len()), &mut t).expect("open");
    t.into_proof()
}

fn verify(pcs: &WhirPcs, polys: &[Mle<F>], com: &WhirCommitment, claims: &[OpeningClaim], proof: &[u8]) {
    let plan: Vec<usize> = claims.iter().map(|c| c.poly).collect();
    let mut t = VerifierTranscript::new(&ds(), proof);
    let points = draw_points(polys, com, pcs, &plan, &mut t);
    let mut acc = OpeningAccumulator::new();
    for (c, point) in claims.iter().zip(points) {
        acc.push(PolyId::Slot(c.poly), Origin::External, point, c.value);
    }
    acc.verify(pcs, com, &PolyId::slots(polys.len()), &mut t).expect("verifies");
    t.finish().expect("no trailing bytes");
}

fn bench_case(c: &mut Criterion, name: &str, sizes: &[usize], plan: &[usize]) {
    let mut rng = StdRng::seed_from_u64(42);
    let pcs = WhirPcs::new(params());
    let polys: Vec<Mle<F>> = sizes.iter().map(|&m| rand_mle(&mut rng, m)).collect();
    let (com, data) = pcs.commit(&polys).expect("commit");
    let claims = honest_claims(&polys, &com, &pcs, plan);
    let proof = prove(&pcs, &polys, &com, data.clone(), &claims);
    let n = data.layouts()[0].num_vars();
    eprintln!("{name}: {:?}", pcs.params());
    eprintln!("{name}: packed 2^{n}, {} claims, proof {} bytes ({:.1} KiB)", plan.len(), proof.len(), proof.len() as f64 / 1024.0);

    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.bench_function("commit", |b| b.iter(|| pcs.commit(&polys).expect("commit")));
    group.bench_function("open", |b| {
        b.iter_batched(|| data.clone(), |d| prove(&pcs, &polys, &com, d, &claims), BatchSize::PerIteration)
    });
    group.bench_function("verify", |b| b.iter(|| verify(&pcs, &polys, &com, &claims, &proof)));
    group.finish();
}

fn benches(c: &mut Criterion) {
    let log = log_size();
    // One polynomial of 2^log entries, one claim.
    bench_case(c, &format!("whir_single_2^{log}"), &[log], &[0]);
    // 20 polynomials (12 of 2^(log-4), 8 of 2^(log-5): 2^log entries), 100 claims.
    let sizes: Vec<usize> = (0..20).map(|i| if i < 12 { log - 4 } else { log - 5 }).collect();
    let plan: Vec<usize> = (0..100).map(|j| (j * 7) % 20).collect();
    bench_case(c, &format!("accumulator_100x20_2^{log}"), &sizes, &plan);
}

criterion_group!(pcs_benches, benches);
criterion_main!(pcs_benches);
