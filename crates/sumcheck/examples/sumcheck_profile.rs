//! Per-round wall and CPU time of the product sumcheck prover, `Σ_x P(x)·Q(x)` over base-field
//! tables of `2^n` entries (optionally times `eq(w, x)`).
//!
//! `cargo run --release -p zkinfer-sumcheck --example sumcheck_profile -- 24 [eq]`
//!
//! CPU time (all threads, from `/proc/self/stat`, Linux only) is printed beside wall time because
//! wall time on a shared machine mostly measures the other tenants.

use std::time::Instant;
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_poly::Mle;
use zkinfer_sumcheck::{ProductSumcheck, SumcheckInstance};

fn table(n: usize, seed: u64) -> Vec<F> {
    let mut s = seed;
    (0..1usize << n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            F::from_u64(s >> 1)
        })
        .collect()
}

fn report(what: &str, wall: Instant, cpu: Option<f64>) {
    let cpu = match (cpu, zkinfer_procfs::cpu_seconds()) {
        (Some(a), Some(b)) => format!("{:.2}s", b - a),
        _ => "n/a".to_owned(),
    };
    println!(
        "{what:<28} wall {:>7.3}s  cpu {cpu}",
        wall.elapsed().as_secs_f64()
    );
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(24);
    let with_eq = std::env::args().nth(2).is_some_and(|a| a == "eq");
    let p = Mle::new(table(n, 1));
    let q = Mle::new(table(n, 2));
    let w: Option<Vec<EF>> = with_eq.then(|| (0..n).map(|i| EF::from_u64(i as u64 + 7)).collect());
    println!(
        "2^{n} entries, {} threads, eq factor: {with_eq}",
        p3_maybe_rayon::prelude::current_num_threads()
    );
    let (start, start_cpu) = (Instant::now(), zkinfer_procfs::cpu_seconds());
    let mut instance = ProductSumcheck::new_base(vec![p, q], vec![(EF::ONE, vec![0, 1])], w);
    report("construct (round 0)", start, start_cpu);
    for round in 0..n {
        let (t, c) = (Instant::now(), zkinfer_procfs::cpu_seconds());
        let _ = instance.round_evals();
        instance.bind(EF::from_u64(round as u64 * 31 + 5));
        if round < 3 {
            report(&format!("bind {round} + round {}", round + 1), t, c);
        }
    }
    report("total", start, start_cpu);
}
