//! Side-by-side timing of several WHIR parameter sets on the same random polynomial, run in
//! interleaved order (A, B, C, A, B, C, ...) so that a noisy machine affects all sets alike.
//! Prints per-run wall/CPU seconds, proof bytes and p3-whir's composed soundness, then the
//! per-set minimum and median.
//!
//! `cargo run --release -p zkinfer-pcs --example whir_params -- LOG REPS SPEC...`
//! where each `SPEC` is `security_bits,max_pow_bits,log_inv_rate,first_folding,folding,shrink`
//! or `...,first_shrink,shrink` (e.g. `131,20,1,4,4,1` is WHIR's standard schedule).
//! `SPEC = default` means `WhirParams::default()`; `REPS = 0` prints the derived schedules only.

use std::time::Instant;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use zkinfer_field::{F, PrimeCharacteristicRing};
use zkinfer_pcs::whir::WhirEngine;
use zkinfer_pcs::{OpeningClaim, Pcs, ProximityBound, WhirParams, WhirPcs};
use zkinfer_poly::Mle;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, Transcript, VerifierTranscript};

/// CPU seconds of this process (0 where unknown).
fn cpu_seconds() -> f64 {
    zkinfer_procfs::cpu_seconds().unwrap_or(0.0)
}

fn parse_spec(spec: &str) -> Option<WhirParams> {
    if spec == "default" {
        return Some(WhirParams::default());
    }
    let v: Vec<usize> = spec.split(',').map(|x| x.trim().parse().ok()).collect::<Option<_>>()?;
    let (security_bits, max_pow_bits, log_inv_rate, first_folding_factor, folding_factor, first_log_domain_shrink, log_domain_shrink) = match v[..] {
        [a, b, c, d, e, f] => (a, b, c, d, e, f, f),
        [a, b, c, d, e, f, g] => (a, b, c, d, e, f, g),
        _ => return None,
    };
    Some(WhirParams {
        security_bits,
        max_pow_bits,
        log_inv_rate,
        first_folding_factor,
        folding_factor,
        first_log_domain_shrink,
        log_domain_shrink,
        bound: ProximityBound::JohnsonBound,
        // The spec's rate for every size.
        small_codeword_vars: 0,
    })
}

#[derive(Default)]
struct Samples {
    commit: Vec<f64>,
    open: Vec<f64>,
    open_cpu: Vec<f64>,
    verify: Vec<f64>,
    proof_bytes: usize,
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[s.len() / 2]
}

fn min(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

/// `REPS = 0` prints the schedules only.
fn reps_arg_is_zero(args: &[String]) -> bool {
    args.get(1).is_some_and(|a| a == "0")
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let log: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(24);
    let reps: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(1).max(1);
    let specs: Vec<(String, WhirParams)> = args
        .iter()
        .skip(2)
        .map(|s| (s.clone(), parse_spec(s).unwrap_or_else(|| panic!("bad spec {s}"))))
        .collect();
    for (name, params) in &specs {
        let pcs = WhirPcs::new(*params);
        match pcs.schedule(log) {
            Ok(s) => print!("[{name}] {s}"),
            Err(e) => println!("[{name}] {e}"),
        }
    }
    if reps_arg_is_zero(&args) {
        return;
    }
    let mut rng = StdRng::seed_from_u64(1);
    let poly = Mle::new((0..1usize << log).map(|_| F::from_u64(rng.random::<u64>() >> 1)).collect());
    let ds = DomainSeparator::new("whir-params", 1);
    let mut samples: Vec<Samples> = specs.iter().map(|_| Samples::default()).collect();
    for rep in 0..reps {
        for ((name, params), stats) in specs.iter().zip(samples.iter_mut()) {
            let pcs = WhirPcs::new(*params);
            let t = Instant::now();
            let Ok((com, data)) = pcs.commit(std::slice::from_ref(&poly)) else {
                println!("[{name}] commit failed");
                continue;
            };
            let commit = t.elapsed().as_secs_f64();

            let mut pt = ProverTranscript::new(&ds);
            pcs.absorb_commitment(&com, &mut pt);
            let point = pt.challenge_exts(log);
            let claims = vec![OpeningClaim { poly: 0, value: poly.evaluate(&point), point }];
            let (t, c) = (Instant::now(), cpu_seconds());
            pcs.open_consuming(data, &claims, &mut pt).expect("open");
            let (open, open_cpu) = (t.elapsed().as_secs_f64(), cpu_seconds() - c);
            let proof = pt.into_proof();

            let t = Instant::now();
            let mut vt = VerifierTranscript::new(&ds, &proof);
            pcs.absorb_commitment(&com, &mut vt);
            let _ = vt.challenge_exts(log);
            pcs.verify(&com, &claims, &mut vt).expect("verifies");
            vt.finish().expect("consumed");
            let verify = t.elapsed().as_secs_f64();
            println!(
                "rep {rep} [{name}] commit {commit:.3} s  open {open:.3} s (cpu {open_cpu:.2})  verify {:.2} ms  proof {} B",
                verify * 1e3,
                proof.len()
            );
            stats.commit.push(commit);
            stats.open.push(open);
            stats.open_cpu.push(open_cpu);
            stats.verify.push(verify);
            stats.proof_bytes = proof.len();
        }
    }
    println!("\n| params (sec,pow,rate,k0,k,s0,s) | bits | commit s | open s (min/med) | open cpu s | verify ms | proof KiB |");
    for ((name, params), s) in specs.iter().zip(&samples) {
        if s.open.is_empty() {
            continue;
        }
        let bits = WhirEngine::new(*params).composed_security(log).map_or(f64::NAN, |(b, _)| b);
        println!(
            "| {name} | {bits:.1} | {:.3} | {:.3} / {:.3} | {:.2} | {:.2} | {:.1} |",
            min(&s.commit),
            min(&s.open),
            median(&s.open),
            min(&s.open_cpu),
            min(&s.verify) * 1e3,
            s.proof_bytes as f64 / 1024.0
        );
    }
}
