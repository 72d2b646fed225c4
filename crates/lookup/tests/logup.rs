//! End-to-end tests of the logUp-GKR lookup.
//!
//! Nothing is committed here, so the harness "commits" by sending the witness columns and the
//! multiplicity column in the clear before the lookup (binding them into the transcript exactly
//! as a commitment root would), and checks the returned claims by evaluating the MLEs itself —
//! the job the opening accumulator does in the full system.

use p3_field::PrimeCharacteristicRing;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use zkinfer_field::{EF, F, from_i64_unchecked, lift};
use zkinfer_lookup::{
    LookupClaims, LookupColumn, LookupError, Table, compute_multiplicities, prove_lookup,
    verify_lookup,
};
use zkinfer_poly::eq_evals;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

fn ds() -> DomainSeparator {
    DomainSeparator::new("test/logup", 1)
}

/// A witness column as owned components.
type Column = Vec<Vec<F>>;

fn as_lookup(columns: &[Column]) -> Vec<LookupColumn<'_>> {
    columns
        .iter()
        .map(|c| LookupColumn {
            components: c.iter().map(Vec::as_slice).collect(),
        })
        .collect()
}

/// The prover side of the harness: send ("commit") the columns and `m`, then prove the lookup.
fn prove_with(table: &Table, columns: &[Column], m: &[F]) -> (Vec<u8>, LookupClaims) {
    let mut t = ProverTranscript::new(&ds());
    for col in columns {
        for comp in col {
            t.send_fields(comp);
        }
    }
    t.send_fields(m);
    let claims = prove_lookup(table, &as_lookup(columns), m, &mut t).expect("well-formed input");
    (t.into_proof(), claims)
}

fn prove_honest(table: &Table, columns: &[Column]) -> (Vec<u8>, LookupClaims) {
    let m = compute_multiplicities(table, &as_lookup(columns)).expect("all rows in the table");
    prove_with(table, columns, &m)
}

/// MLE of `values` padded with zeros to `2^point.len()`.
fn mle(values: &[F], point: &[EF]) -> EF {
    eq_evals(point)
        .iter()
        .zip(values)
        .map(|(&e, &v)| e * lift(v))
        .sum()
}

#[derive(Debug)]
enum Rejected {
    Lookup(LookupError),
    Transcript,
    ClaimMismatch(&'static str),
}

/// The verifier side of the harness: read the columns and `m`, verify the lookup, then check the
/// claims against the received columns.
fn verify_with(table: &Table, shapes: &[usize], proof: &[u8]) -> Result<LookupClaims, Rejected> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    let mut columns = Vec::new();
    for &n in shapes {
        let mut col = Vec::new();
        for _ in 0..table.arity() {
            col.push(t.receive_fields(n).map_err(|_| Rejected::Transcript)?);
        }
        columns.push(col);
    }
    let m = t
        .receive_fields(table.padded_len())
        .map_err(|_| Rejected::Transcript)?;
    let claims = verify_lookup(table, shapes, &mut t).map_err(Rejected::Lookup)?;
    t.finish().map_err(|_| Rejected::Transcript)?;
    for (col, claim) in columns.iter().zip(&claims.columns) {
        for (comp, &v) in col.iter().zip(&claim.values) {
            if mle(comp, &claim.point) != v {
                return Err(Rejected::ClaimMismatch("column"));
            }
        }
    }
    if mle(&m, &claims.multiplicities.point) != claims.multiplicities.value {
        return Err(Rejected::ClaimMismatch("multiplicities"));
    }
    Ok(claims)
}

fn shapes(columns: &[Column]) -> Vec<usize> {
    columns.iter().map(|c| c[0].len()).collect()
}

fn range_column(rng: &mut ChaCha8Rng, bits: u32, n: usize) -> Column {
    vec![
        (0..n)
            .map(|_| F::from_u64(rng.random_range(0..1u64 << bits)))
            .collect(),
    ]
}

/// A GELU-like function table over inputs [-512, 512): a smooth integer curve.
fn gelu_like_table() -> Table {
    let inputs: Vec<i64> = (-512..512).collect();
    let outputs: Vec<i64> = inputs
        .iter()
        .map(|&x| {
            if x < 0 {
                -(x * x) / 4096
            } else {
                x - (x * x) / 4096
            }
        })
        .collect();
    Table::function("gelu-like", &inputs, &outputs).expect("valid table")
}

fn function_column(rng: &mut ChaCha8Rng, inputs: &[i64], outputs: &[i64], n: usize) -> Column {
    let rows: Vec<usize> = (0..n).map(|_| rng.random_range(0..inputs.len())).collect();
    vec![
        rows.iter()
            .map(|&j| from_i64_unchecked(inputs[j]))
            .collect(),
        rows.iter()
            .map(|&j| from_i64_unchecked(outputs[j]))
            .collect(),
    ]
}

fn gelu_columns(rng: &mut ChaCha8Rng, lens: &[usize]) -> (Table, Column, Vec<Column>) {
    let table = gelu_like_table();
    let Table::Function(ft) = &table else {
        unreachable!("function table")
    };
    let inputs: Vec<i64> = ft
        .inputs()
        .iter()
        .map(|&x| zkinfer_field::to_i64(x))
        .collect();
    let outputs: Vec<i64> = ft
        .outputs()
        .iter()
        .map(|&x| zkinfer_field::to_i64(x))
        .collect();
    let cols = lens
        .iter()
        .map(|&n| function_column(rng, &inputs, &outputs, n))
        .collect();
    let first = vec![
        vec![from_i64_unchecked(inputs[0])],
        vec![from_i64_unchecked(outputs[0])],
    ];
    (table, first, cols)
}

#[test]
fn range8_several_columns_of_odd_lengths() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let table = Table::range(8);
    let columns: Vec<Column> = [1, 3, 100, 257, 64]
        .iter()
        .map(|&n| range_column(&mut rng, 8, n))
        .collect();
    let (proof, prover_claims) = prove_honest(&table, &columns);
    let claims = verify_with(&table, &shapes(&columns), &proof).expect("honest proof verifies");
    assert_eq!(claims, prover_claims);
    // Column points have next_pow2(len) coordinates; equal padded sizes share a point.
    let lens: Vec<usize> = claims.columns.iter().map(|c| c.point.len()).collect();
    assert_eq!(lens, vec![0, 2, 7, 9, 6]);
    assert_eq!(claims.multiplicities.point.len(), 8);
}

#[test]
fn range16_with_boundary_values() {
    let mut rng = ChaCha8Rng::seed_from_u64(16);
    let table = Table::range(16);
    let mut columns: Vec<Column> = [5000, 70_001, 3]
        .iter()
        .map(|&n| range_column(&mut rng, 16, n))
        .collect();
    columns[2][0] = vec![F::ZERO, F::from_u64(65_535), F::from_u64(1)];
    let (proof, prover_claims) = prove_honest(&table, &columns);
    let claims = verify_with(&table, &shapes(&columns), &proof).expect("honest proof verifies");
    assert_eq!(claims, prover_claims);
}

#[test]
fn function_table_columns_share_one_multiplicity_column() {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let (table, _, columns) = gelu_columns(&mut rng, &[300, 77, 1024, 1]);
    let m = compute_multiplicities(&table, &as_lookup(&columns)).expect("in table");
    assert_eq!(m.len(), 1024);
    // Every padded row is counted exactly once.
    let total: u64 = m.iter().map(|x| zkinfer_field::to_i64(*x) as u64).sum();
    assert_eq!(total, 512 + 128 + 1024 + 1);
    let (proof, _) = prove_with(&table, &columns, &m);
    verify_with(&table, &shapes(&columns), &proof).expect("honest proof verifies");
}

#[test]
fn function_table_with_repeated_rows_and_padding() {
    // 5 rows (padded to 8 with row 0), not contiguous, with a repeated row.
    let table = Table::function("f", &[10, -3, 7, -3, 99], &[1, 2, 3, 2, -5]).expect("valid");
    let f = from_i64_unchecked;
    let columns = vec![
        vec![vec![f(-3), f(99), f(10)], vec![f(2), f(-5), f(1)]],
        vec![
            vec![f(7), f(7), f(-3), f(-3), f(99)],
            vec![f(3), f(3), f(2), f(2), f(-5)],
        ],
    ];
    let m = compute_multiplicities(&table, &as_lookup(&columns)).expect("in table");
    // Row 0 (10, 1): one real lookup + 1 padding (len 3→4) + 3 padding (len 5→8).
    let want: Vec<F> = [5u64, 3, 2, 0, 2, 0, 0, 0]
        .iter()
        .map(|&x| F::from_u64(x))
        .collect();
    assert_eq!(m, want);
    let (proof, _) = prove_with(&table, &columns, &m);
    verify_with(&table, &shapes(&columns), &proof).expect("honest proof verifies");
}

#[test]
fn element_outside_the_range_table_is_refused_by_the_honest_prover() {
    let table = Table::range(8);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut columns: Vec<Column> =
        vec![range_column(&mut rng, 8, 40), range_column(&mut rng, 8, 9)];
    columns[1][0][4] = F::from_u64(256);
    let err = compute_multiplicities(&table, &as_lookup(&columns)).expect_err("256 ∉ [0, 256)");
    assert_eq!(err, LookupError::NotInTable { column: 1, row: 4 });
    columns[1][0][4] = -F::ONE;
    assert!(compute_multiplicities(&table, &as_lookup(&columns)).is_err());
}

/// A malicious prover with one out-of-table element forces a proof through with the
/// multiplicities of the nearest honest witness (the element replaced by an in-table value):
/// verification fails. So do the multiplicities that count the bad element at any table row.
#[test]
fn malicious_prover_with_element_outside_table_is_rejected() {
    let table = Table::range(8);
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut columns: Vec<Column> =
        vec![range_column(&mut rng, 8, 33), range_column(&mut rng, 8, 16)];
    let honest = columns[0][0][7];
    columns[0][0][7] = F::from_u64(300);
    let mut substitute = columns.clone();
    substitute[0][0][7] = honest;
    let m = compute_multiplicities(&table, &as_lookup(&substitute)).expect("in table");
    let (proof, _) = prove_with(&table, &columns, &m);
    assert!(matches!(
        verify_with(&table, &shapes(&columns), &proof),
        Err(Rejected::Lookup(LookupError::SumsDiffer))
    ));
    // Counting the bad element at any other row fails as well.
    for row in [0usize, 44, 255] {
        let mut m2 = m.clone();
        m2[zkinfer_field::to_i64(honest) as usize] -= F::ONE;
        m2[row] += F::ONE;
        let (proof, _) = prove_with(&table, &columns, &m2);
        assert!(
            verify_with(&table, &shapes(&columns), &proof).is_err(),
            "row {row}"
        );
    }
}

/// A function-table lookup whose output is wrong for its input (the pair is not a row).
#[test]
fn wrong_function_output_is_rejected() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (table, _, mut columns) = gelu_columns(&mut rng, &[50, 20]);
    let m = compute_multiplicities(&table, &as_lookup(&columns)).expect("in table");
    columns[1][1][5] += F::ONE;
    assert!(matches!(
        compute_multiplicities(&table, &as_lookup(&columns)),
        Err(LookupError::NotInTable { column: 1, row: 5 })
    ));
    let (proof, _) = prove_with(&table, &columns, &m);
    assert!(verify_with(&table, &shapes(&columns), &proof).is_err());
}

#[test]
fn wrong_multiplicities_are_rejected() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    let table = Table::range(8);
    let columns: Vec<Column> = vec![
        range_column(&mut rng, 8, 200),
        range_column(&mut rng, 8, 31),
    ];
    let m = compute_multiplicities(&table, &as_lookup(&columns)).expect("in table");
    let used = m.iter().position(|&x| x != F::ZERO).expect("some row used");
    // Moving one count (same total), adding one, and zeroing a used row all fail.
    let mut moved = m.clone();
    moved[used] -= F::ONE;
    moved[(used + 1) % 256] += F::ONE;
    let mut extra = m.clone();
    extra[used] += F::ONE;
    let mut zeroed = m.clone();
    zeroed[used] = F::ZERO;
    for bad in [moved, extra, zeroed] {
        let (proof, _) = prove_with(&table, &columns, &bad);
        assert!(matches!(
            verify_with(&table, &shapes(&columns), &proof),
            Err(Rejected::Lookup(LookupError::SumsDiffer))
        ));
    }
}

/// A prover that commits to one column but runs the lookup on another (in-table) column: the
/// lookup verifies, but its column claim does not match the committed column.
#[test]
fn proving_a_different_column_than_committed_is_caught_by_the_claims() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let table = Table::range(8);
    let committed: Vec<Column> = vec![range_column(&mut rng, 8, 100)];
    let mut proven = committed.clone();
    proven[0][0][9] = F::from_u64((zkinfer_field::to_i64(proven[0][0][9]) as u64 + 1) % 256);
    let m = compute_multiplicities(&table, &as_lookup(&proven)).expect("in table");
    let mut t = ProverTranscript::new(&ds());
    t.send_fields(&committed[0][0]);
    t.send_fields(&m);
    prove_lookup(&table, &as_lookup(&proven), &m, &mut t).expect("well-formed");
    let proof = t.into_proof();
    assert!(matches!(
        verify_with(&table, &[100], &proof),
        Err(Rejected::ClaimMismatch("column"))
    ));
}

/// Changing any single byte of the lookup proof (roots, sumcheck rounds, children,
/// final column and multiplicity values) makes verification fail.
#[test]
fn every_single_changed_proof_element_is_rejected() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    for table in [Table::range(4), gelu_columns(&mut rng, &[1]).0] {
        let columns: Vec<Column> = if table.arity() == 1 {
            vec![
                range_column(&mut rng, 4, 5),
                range_column(&mut rng, 4, 9),
                range_column(&mut rng, 4, 1),
            ]
        } else {
            gelu_columns(&mut rng, &[3, 17]).2
        };
        let (proof, _) = prove_honest(&table, &columns);
        let shapes = shapes(&columns);
        verify_with(&table, &shapes, &proof).expect("honest proof verifies");
        // Skip the harness's plain columns and m; change every element of the lookup proof.
        let committed_len = 8 * (shapes.iter().sum::<usize>() * table.arity() + table.padded_len());
        let mut checked = 0;
        for pos in committed_len..proof.len() {
            let mut bad = proof.clone();
            bad[pos] ^= 1;
            assert!(
                verify_with(&table, &shapes, &bad).is_err(),
                "byte {pos} changed, accepted"
            );
            checked += 1;
        }
        assert!(checked > 400, "only {checked} elements in the proof");
        // Changing a committed column or multiplicity value is caught too.
        for pos in [0, committed_len - 8] {
            let mut bad = proof.clone();
            bad[pos] ^= 1;
            assert!(
                verify_with(&table, &shapes, &bad).is_err(),
                "committed byte {pos}"
            );
        }
    }
}

#[test]
fn truncated_proof_and_wrong_shapes_are_errors_not_panics() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let table = Table::range(6);
    let columns: Vec<Column> = vec![range_column(&mut rng, 6, 20), range_column(&mut rng, 6, 7)];
    let (proof, _) = prove_honest(&table, &columns);
    for cut in [0, 100, proof.len() / 2, proof.len() - 1] {
        assert!(verify_with(&table, &shapes(&columns), &proof[..cut]).is_err());
    }
    // The statement's shapes are bound: other column lengths do not verify.
    assert!(verify_with(&table, &[20, 8], &proof).is_err());
    assert!(verify_with(&Table::range(7), &[20, 7], &proof).is_err());
    // Malformed statements are refused up front.
    let mut t = VerifierTranscript::new(&ds(), &proof);
    assert!(matches!(
        verify_lookup(&table, &[], &mut t),
        Err(LookupError::InvalidColumns(_))
    ));
    let mut t = VerifierTranscript::new(&ds(), &proof);
    assert!(matches!(
        verify_lookup(&table, &[0], &mut t),
        Err(LookupError::InvalidColumns(_))
    ));
    let mut t = VerifierTranscript::new(&ds(), &proof);
    assert!(verify_lookup(&Table::range(40), &[3], &mut t).is_err());
    let mut t = VerifierTranscript::new(&ds(), &proof);
    assert!(verify_lookup(&table, &[usize::MAX], &mut t).is_err());
}

#[test]
fn malformed_prover_inputs_are_errors() {
    let table = Table::range(4);
    let values = vec![F::ONE; 3];
    let other = vec![F::ONE; 2];
    let mut t = ProverTranscript::new(&ds());
    let m = vec![F::ZERO; 16];
    let col = [LookupColumn::single(&values)];
    assert!(matches!(
        prove_lookup(&table, &col, &m[..15], &mut t),
        Err(LookupError::MultiplicityLength { got: 15, want: 16 })
    ));
    let pair = [LookupColumn::pair(&values, &other)];
    assert!(matches!(
        prove_lookup(&table, &pair, &m, &mut t),
        Err(LookupError::InvalidColumns(_))
    ));
    let gelu = gelu_like_table();
    assert!(matches!(
        compute_multiplicities(&gelu, &[LookupColumn::pair(&values, &other)]),
        Err(LookupError::InvalidColumns(_))
    ));
    assert!(compute_multiplicities(&table, &[]).is_err());
}

#[test]
fn degenerate_one_row_tables() {
    // Range [0, 1): every value must be 0; columns of one and three rows.
    let table = Table::range(0);
    let columns: Vec<Column> = vec![vec![vec![F::ZERO]], vec![vec![F::ZERO; 3]]];
    let (proof, prover_claims) = prove_honest(&table, &columns);
    let claims = verify_with(&table, &shapes(&columns), &proof).expect("honest proof verifies");
    assert_eq!(claims, prover_claims);
    assert!(claims.multiplicities.point.is_empty());
    let bad: Vec<Column> = vec![vec![vec![F::ONE]]];
    assert!(compute_multiplicities(&table, &as_lookup(&bad)).is_err());
    let (proof, _) = prove_with(&table, &bad, &[F::ONE]);
    assert!(verify_with(&table, &[1], &proof).is_err());

    // A one-row function table.
    let table = Table::function("const", &[5], &[-7]).expect("valid");
    let f = from_i64_unchecked;
    let columns: Vec<Column> = vec![vec![vec![f(5); 6], vec![f(-7); 6]]];
    let (proof, _) = prove_honest(&table, &columns);
    verify_with(&table, &[6], &proof).expect("honest proof verifies");
}

/// Bytes of one extension-field element in the proof.
const EXT_BYTES: usize = 24;

/// Columns are stacked into few trees; the prover sends every column's components at the low
/// coordinates of its tree's point. Changing any one of those values breaks the leaf check.
#[test]
fn changed_column_value_at_the_block_point_is_rejected() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for table in [Table::range(6), gelu_like_table()] {
        let columns: Vec<Column> = if table.arity() == 1 {
            [16, 16, 16, 5, 5, 1]
                .iter()
                .map(|&n| range_column(&mut rng, 6, n))
                .collect()
        } else {
            gelu_columns(&mut rng, &[16, 16, 16, 5, 5, 1]).2
        };
        let (proof, claims) = prove_honest(&table, &columns);
        verify_with(&table, &shapes(&columns), &proof).expect("honest proof verifies");
        // Equal lengths share a point; the point has the column's own number of variables.
        assert_eq!(claims.columns[0].point, claims.columns[2].point);
        assert_eq!(claims.columns[3].point.len(), 3);
        // The column values are the last K·arity elements before m̂(r).
        let sent = columns.len() * table.arity();
        let start = proof.len() - (sent + 1) * EXT_BYTES;
        for v in 0..sent {
            let mut bad = proof.clone();
            bad[start + v * EXT_BYTES] ^= 1;
            assert!(
                matches!(
                    verify_with(&table, &shapes(&columns), &bad),
                    Err(Rejected::Lookup(LookupError::LeafMismatch(_)))
                ),
                "value {v} changed, accepted"
            );
        }
    }
}

/// One element outside the table in a column stacked with ≥ 3 others: with the multiplicities
/// of the nearest honest witness, or with the bad element counted at any single table row,
/// verification fails.
#[test]
fn element_outside_table_in_a_stacked_group_is_rejected() {
    let mut rng = ChaCha8Rng::seed_from_u64(10);
    let table = Table::range(5);
    let mut columns: Vec<Column> = [32, 32, 32, 32, 32, 7]
        .iter()
        .map(|&n| range_column(&mut rng, 5, n))
        .collect();
    let honest = columns[2][0][17];
    columns[2][0][17] = F::from_u64(32);
    assert_eq!(
        compute_multiplicities(&table, &as_lookup(&columns)),
        Err(LookupError::NotInTable { column: 2, row: 17 })
    );
    let mut substitute = columns.clone();
    substitute[2][0][17] = honest;
    let m = compute_multiplicities(&table, &as_lookup(&substitute)).expect("in table");
    let mut candidates = vec![m.clone()];
    for j in 0..32 {
        let mut moved = m.clone();
        moved[zkinfer_field::to_i64(honest) as usize] -= F::ONE;
        moved[j] += F::ONE;
        candidates.push(moved);
    }
    for bad_m in candidates {
        let (proof, _) = prove_with(&table, &columns, &bad_m);
        assert!(matches!(
            verify_with(&table, &shapes(&columns), &proof),
            Err(Rejected::Lookup(LookupError::SumsDiffer))
        ));
    }
}

#[test]
fn wrong_multiplicities_for_stacked_columns_are_rejected() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let (table, _, columns) = gelu_columns(&mut rng, &[100, 100, 100, 64, 3]);
    let m = compute_multiplicities(&table, &as_lookup(&columns)).expect("in table");
    let used = m.iter().position(|&x| x != F::ZERO).expect("some row used");
    let mut moved = m.clone();
    moved[used] -= F::ONE;
    moved[(used + 7) % m.len()] += F::ONE;
    let mut extra = m.clone();
    extra[used] += F::ONE;
    let mut fewer_padding = m.clone();
    fewer_padding[0] -= F::ONE;
    for bad in [moved, extra, fewer_padding] {
        let (proof, _) = prove_with(&table, &columns, &bad);
        assert!(matches!(
            verify_with(&table, &shapes(&columns), &proof),
            Err(Rejected::Lookup(LookupError::SumsDiffer))
        ));
    }
}

/// Cutting the lookup proof anywhere (including inside the column values) is an error, never
/// a panic.
#[test]
fn truncated_stacked_proof_fails_cleanly_at_every_length() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    let table = Table::range(4);
    let columns: Vec<Column> = [64, 16, 4, 2, 1, 9, 9, 9]
        .iter()
        .map(|&n| range_column(&mut rng, 4, n))
        .collect();
    let (proof, _) = prove_honest(&table, &columns);
    let shapes = shapes(&columns);
    verify_with(&table, &shapes, &proof).expect("honest proof verifies");
    let committed_len = 8 * (shapes.iter().sum::<usize>() + table.padded_len());
    for cut in (committed_len..proof.len()).step_by(8) {
        assert!(
            verify_with(&table, &shapes, &proof[..cut]).is_err(),
            "cut at {cut}"
        );
    }
}

/// Random statements with groups of 1, 2, 3 and 5 columns of mixed lengths, some with one
/// element outside the table: the lookup verifies (and its claims match the columns) exactly
/// when the naive membership check passes; otherwise the honest prover refuses and a forced
/// proof (multiplicities of the nearest honest witness) is rejected.
#[test]
fn stacked_lookups_agree_with_the_naive_check() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let gelu = gelu_like_table();
    for round in 0..48 {
        let arity2 = round % 3 == 2;
        let table = if arity2 {
            gelu.clone()
        } else {
            Table::range(6)
        };
        let mut lens = Vec::new();
        for &g in &[1usize, 2, 3, 5] {
            if rng.random_bool(0.7) {
                let n = rng.random_range(1..300usize);
                lens.extend(std::iter::repeat_n(n, g));
            }
        }
        if lens.is_empty() {
            lens.push(rng.random_range(1..40usize));
        }
        let mut columns: Vec<Column> = if arity2 {
            gelu_columns(&mut rng, &lens).2
        } else {
            lens.iter().map(|&n| range_column(&mut rng, 6, n)).collect()
        };
        let honest = columns.clone();
        let corrupt = rng.random_bool(0.5);
        if corrupt {
            let k = rng.random_range(0..columns.len());
            let i = rng.random_range(0..columns[k][0].len());
            // Out of the range table, or a wrong function output.
            let c = table.arity() - 1;
            columns[k][c][i] += F::from_u64(1 << 20);
        }
        let naive_ok = columns.iter().all(|col| {
            (0..col[0].len()).all(|i| {
                let row: Vec<F> = col.iter().map(|comp| comp[i]).collect();
                table.row_index(&row).is_some()
            })
        });
        assert_eq!(naive_ok, !corrupt);
        let shapes = shapes(&columns);
        if naive_ok {
            let (proof, prover_claims) = prove_honest(&table, &columns);
            let claims = verify_with(&table, &shapes, &proof)
                .unwrap_or_else(|e| panic!("lens {lens:?}: honest proof rejected: {e:?}"));
            assert_eq!(claims, prover_claims);
        } else {
            assert!(matches!(
                compute_multiplicities(&table, &as_lookup(&columns)),
                Err(LookupError::NotInTable { .. })
            ));
            let m = compute_multiplicities(&table, &as_lookup(&honest)).expect("in table");
            let (proof, _) = prove_with(&table, &columns, &m);
            assert!(
                verify_with(&table, &shapes, &proof).is_err(),
                "lens {lens:?}: bad column accepted"
            );
        }
    }
}

#[test]
fn a_proof_against_one_table_fails_against_another_with_the_same_name_and_length() {
    // B differs from A in rows the witness never looks up: the looked-up rows are rows of both.
    let inputs: Vec<i64> = (0..64).collect();
    let a_out: Vec<i64> = inputs.iter().map(|x| x * 3).collect();
    let mut b_out = a_out.clone();
    b_out[63] += 1;
    let a = Table::function("same", &inputs, &a_out).expect("valid");
    let b = Table::function("same", &inputs, &b_out).expect("valid");
    assert_eq!((a.len(), a.arity()), (b.len(), b.arity()));
    let mut rng = ChaCha8Rng::seed_from_u64(41);
    let columns = vec![function_column(&mut rng, &inputs[..32], &a_out[..32], 40)];
    let (proof, _) = prove_honest(&a, &columns);
    verify_with(&a, &shapes(&columns), &proof).expect("honest proof");
    assert!(verify_with(&b, &shapes(&columns), &proof).is_err(), "proof against table A accepted for table B");
}
