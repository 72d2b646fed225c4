//! PCS benchmarks (filled in below).
fn main() {}
