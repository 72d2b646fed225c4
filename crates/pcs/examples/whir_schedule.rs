//! Prints the WHIR schedule (queries, OOD samples, proof-of-work bits per round) that p3-whir
//! derives for our parameters, for several packed sizes and proximity bounds.
//!
//! `cargo run --release -p zkinfer-pcs --example whir_schedule [security_bits]`

use zkinfer_pcs::{ProximityBound, WhirParams, WhirPcs};

fn main() {
    // Optional first argument: per-term security target (default: the library default).
    let security_bits = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(WhirParams::default().security_bits);
    for bound in [ProximityBound::JohnsonBound, ProximityBound::UniqueDecoding, ProximityBound::CapacityBound] {
        for log_inv_rate in [1, 2] {
            let params = WhirParams { bound, log_inv_rate, security_bits, ..WhirParams::default() };
            let pcs = WhirPcs::new(params);
            println!("== {bound:?}, rate 2^-{log_inv_rate}, {} bits, PoW budget {} ==", params.security_bits, params.max_pow_bits);
            for n in [16, 20, 24, 27] {
                match pcs.schedule(n) {
                    Ok(s) => print!("{s}"),
                    Err(e) => println!("n={n}: {e}"),
                }
            }
        }
    }
}
