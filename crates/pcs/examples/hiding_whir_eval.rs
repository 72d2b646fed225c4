//! Evaluates p3-whir 0.8's hiding PCS (`p3_whir::pcs::zk::HidingWhirPcs`, HVZK-WHIR, ePrint
//! 2026/391) on our stack — Goldilocks, cubic extension, Blake3 Merkle trees, our transcript's
//! challenger, our rate schedule — next to the plain WHIR opening we use today: configuration
//! errors, commit / open / verify times, proof bytes, and p3-whir's hiding security report.
//!
//! `cargo run --release -p zkinfer-pcs --example hiding_whir_eval [N ...]` (default N = 12 16 20)

use std::time::Instant;

use p3_blake3::Blake3;
use p3_commit::MultilinearPcs;
use p3_dft::Radix2DFTSmallBatch;
use p3_merkle_tree::MerkleTreeMmcs;
use p3_multilinear_util::point::Point;
use p3_multilinear_util::poly::Poly;
use p3_symmetric::{CompressionFunctionFromHasher, SerializingHasher};
use p3_whir::parameters::{FoldingFactor, ProtocolParameters, SecurityAssumption};
use p3_whir::pcs::zk::{HidingWhirPcs, ZkParameters, ZkWhirConfig};
use rand10::SeedableRng;
use zkinfer_field::{EF, F};
use zkinfer_pcs::whir::WhirEngine;
use zkinfer_pcs::WhirParams;

type Mmcs = MerkleTreeMmcs<F, u8, SerializingHasher<Blake3>, CompressionFunctionFromHasher<Blake3, 2, 32>, 2, 32>;
type Challenger = zkinfer_transcript::Challenger;
type Zk = HidingWhirPcs<EF, F, Radix2DFTSmallBatch<F>, Mmcs, Challenger, rand10::rngs::StdRng>;

fn params(n: usize, rates: Vec<usize>, security: usize, bound: SecurityAssumption) -> ProtocolParameters {
    let _ = n;
    ProtocolParameters {
        security_level: security,
        pow_bits: 20,
        folding_factor: FoldingFactor::ConstantFromSecondRound(5, 4),
        soundness_type: bound,
        starting_log_inv_rate: 1,
        round_log_inv_rates: rates,
    }
}

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![12, 16, 20] } else { sizes };
    let plain = WhirEngine::new(WhirParams::default());
    for n in sizes {
        let evals: Vec<F> = (0..1u64 << n).map(|i| zkinfer_field::PrimeCharacteristicRing::from_u64(i.wrapping_mul(0x9E37_79B9) >> 7)).collect();
        let point: Vec<EF> = (0..n).map(|i| zkinfer_field::PrimeCharacteristicRing::from_u64(i as u64 * 7 + 3)).collect();
        // Plain opening (today's default schedule).
        let t = Instant::now();
        let (root, data) = plain.commit(evals.clone()).expect("plain commit");
        let commit_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut ch = zkinfer_transcript::new_challenger(vec![]);
        let proof = plain.open(&root, data, &point, &mut ch).expect("plain open");
        let open_s = t.elapsed().as_secs_f64();
        let bytes = bincode::serialize(&proof).expect("ser").len();
        println!("n={n} plain: commit {commit_s:.3}s open {open_s:.3}s proof {bytes} B");

        for (label, rates, ell, mask_rate, bound, sec) in [
            ("zk, our schedule (rates 1,3,6,…), Johnson, 132", None, 16usize, 5usize, SecurityAssumption::JohnsonBound, 132usize),
            ("zk, standard schedule, Johnson, 132", Some(vec![]), 16, 5, SecurityAssumption::JohnsonBound, 132),
            ("zk, standard schedule, Johnson, 128", Some(vec![]), 16, 5, SecurityAssumption::JohnsonBound, 128),
            ("zk, standard schedule, Capacity (conjectural), 128", Some(vec![]), 16, 5, SecurityAssumption::CapacityBound, 128),
            ("zk, standard schedule, UniqueDecoding, 128", Some(vec![]), 16, 5, SecurityAssumption::UniqueDecoding, 128),
        ] {
            let rates = rates.unwrap_or_else(|| {
                // Our default: first fold 5 shrinking 8×, then fold 4 halving (rate +3 per round).
                let cfg = plain.config(n).expect("cfg");
                cfg.round_parameters().iter().map(|r| r.log_inv_rate).collect()
            });
            let config = match ZkWhirConfig::<EF, F, Challenger>::new(n, params(n, rates, sec, bound), ZkParameters { ell_zk: ell, mask_log_inv_rate: mask_rate }) {
                Ok(c) => c,
                Err(e) => {
                    println!("n={n} {label}: config error: {e}");
                    continue;
                }
            };
            let report = config.hiding_base_case_security_report();
            let mmcs = Mmcs::new(SerializingHasher::new(Blake3 {}), CompressionFunctionFromHasher::new(Blake3 {}), 0);
            let pcs: Zk = HidingWhirPcs::new(config.clone(), Radix2DFTSmallBatch::default(), mmcs, rand10::rngs::StdRng::seed_from_u64(5));
            let mut ch = zkinfer_transcript::new_challenger(vec![]);
            let t = Instant::now();
            let (com, data) = pcs.commit(Poly::new(evals.clone()), &mut ch).expect("zk commit");
            let commit_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let proof = match pcs.open(data, vec![Point::new(point.clone())], &mut ch) {
                Ok(p) => p,
                Err(e) => {
                    println!("n={n} {label}: open error: {e}");
                    continue;
                }
            };
            let open_s = t.elapsed().as_secs_f64();
            let bytes = bincode::serialize(&proof).expect("ser").len();
            let mut vch = zkinfer_transcript::new_challenger(vec![]);
            let t = Instant::now();
            let ok = pcs.verify(&com, &proof, &mut vch, vec![Point::new(point.clone())]);
            let verify_s = t.elapsed().as_secs_f64();
            println!(
                "n={n} {label}: commit {commit_s:.3}s open {open_s:.3}s verify {verify_s:.4}s ({}) proof {bytes} B; oracle randomness {:?}, mask queries {}, terminal queries {}",
                if ok.is_ok() { "ok".to_string() } else { format!("{ok:?}") },
                config.oracle_randomness(),
                config.mask_queries(),
                config.randomized_terminal().num_queries,
            );
            println!(
                "   report: round_by_round {:?} ({:?}, vacuous {}), query with pow {:?} ({:?}), gamma {:?} ({:?})",
                report.round_by_round.bits,
                report.round_by_round.classification,
                report.round_by_round.vacuous,
                report.query_round.with_pow.bits,
                report.query_round.with_pow.classification,
                report.gamma_round.combined.bits,
                report.gamma_round.combined.classification,
            );
            println!(
                "   gamma round: MCA sum {:?}, product list 2^{:?} over |EF| {:?}; source list {:?}; groups {}",
                report.gamma_round.mca_sum.bits,
                report.gamma_round.product_list.log2_size,
                report.gamma_round.product_list_over_field.bits,
                report.source.paired_list.log2_size,
                report.mask_groups.len(),
            );
            println!(
                "   MCA per component: source {:?}; masks {:?}; mask lists {:?}",
                report.source.mca.bits,
                report.mask_groups.iter().map(|g| g.mca.bits.map(|b| (b * 10.0).round() / 10.0)).collect::<Vec<_>>(),
                report.mask_groups.iter().map(|g| g.paired_list.log2_size.map(|b| (b * 10.0).round() / 10.0)).collect::<Vec<_>>(),
            );
        }
    }
}
