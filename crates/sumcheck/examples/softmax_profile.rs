//! CPU time of the product sumcheck prover on CausalSoftmax's instance shape (`ops::softmax`: 12
//! base-field tables and two extension-field eq tables over `2^n` entries, its 23 terms), through
//! `ProductSumcheck::new_mixed` as the op proves it.
//!
//! `cargo run --release -p zkinfer-sumcheck --example softmax_profile -- 20 [REPEATS]`
//!
//! CPU time (all threads, `/proc/self/stat`) beside wall time: on a shared machine the wall time
//! mostly measures the other tenants.

use std::time::Instant;
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_poly::Mle;
use zkinfer_sumcheck::{MixedMle, ProductSumcheck, SumcheckInstance, Term};

fn table(n: usize, seed: u64) -> Vec<F> {
    let mut s = seed;
    (0..1usize << n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            F::from_u64(s >> 1)
        })
        .collect()
}

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(20);
    let repeats: usize = std::env::args().nth(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    // Table indices as in ops::softmax: X, MB, S, D, O, E, P, ZB, R, C, MASK, ROWS, E1, EQ.
    let (x, mb, s, d, o, e, p, zb, r, c, mask, rows, e1, eq) = (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13);
    let l: Vec<EF> = EF::from_u64(7).powers().take(10).collect();
    let one = EF::ONE;
    let terms: Vec<Term> = vec![
        (one, vec![eq, d]),
        (one, vec![eq, o]),
        (-one, vec![eq, mask, mb]),
        (one, vec![eq, mask, x]),
        (l[1], vec![eq, s, s]),
        (-l[1], vec![eq, s]),
        (l[2], vec![eq, s, d]),
        (l[2], vec![eq, s, o]),
        (l[3], vec![eq, s]),
        (-l[3], vec![eq, s, mask]),
        (l[4], vec![eq, d, o]),
        (-l[4], vec![eq, o]),
        (l[5], vec![eq, mask, e]),
        (-l[5], vec![eq, p, zb]),
        (-l[5], vec![eq, r]),
        (l[6], vec![eq, p]),
        (-l[6], vec![eq, p, mask]),
        (l[7], vec![eq, c]),
        (l[7], vec![eq, r]),
        (-l[7], vec![eq, zb, rows]),
        (l[7], vec![eq, rows]),
        (l[8], vec![e1, mask, e]),
        (l[9], vec![e1, s]),
    ];
    println!("2^{n} entries, {} threads, {} terms", p3_maybe_rayon::prelude::current_num_threads(), terms.len());
    for rep in 0..repeats {
        let mles: Vec<MixedMle> = (0..14)
            .map(|j| {
                let v = table(n, j as u64 + 1);
                if j == e1 || j == eq { MixedMle::Ext(Mle::new(v).lift()) } else { MixedMle::Base(Mle::new(v)) }
            })
            .collect();
        let (start, cpu) = (Instant::now(), zkinfer_procfs::cpu_seconds());
        let mut instance = ProductSumcheck::new_mixed(mles, terms.clone(), None);
        for round in 0..n {
            let _ = instance.round_evals();
            instance.bind(EF::from_u64(round as u64 * 31 + 5));
        }
        let cpu = zkinfer_procfs::cpu_seconds().zip(cpu).map_or(f64::NAN, |(b, a)| b - a);
        println!("run {rep}: wall {:.3} s, cpu {cpu:.3} s, final {:?}", start.elapsed().as_secs_f64(), instance.final_evals()[0]);
    }
}
