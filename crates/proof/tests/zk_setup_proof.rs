//! The hiding setup proof of zk keys (issue 13, `zkinfer_verifier::zk_setup_proof`): ticket 0
//! opened at public zero claims on every weight's padding blocks and at the range lookups'
//! claims, with the setup batch (wide weights' limbs, multiplicities, logUp masks), stored in
//! the zk key (v6).
//!
//! * an honest key's setup proof verifies (the tiny GPT-2: `setup_zk`), and so does the narrow
//!   fixture's;
//! * review 17's wider-model key — `[32, 32]` tables with non-zero extra columns committed under
//!   `[32, 24]` shapes — is refused: the honest prover names the weight, a malicious author's
//!   opening of the false zero claims is refused by the verifier (in-test controls: the narrow
//!   key, and the wide key under its own wide shapes, verify);
//! * weights outside their declared range (one entry `2^bits`, another `−2^bits`): the honest
//!   prover names the weight; a malicious author's proof is refused — a wide one (`bits ≥ 16`) by
//!   the limb relation (limbs reduced into range), a narrow one (`bits ≤ 15`) at ticket 0's
//!   opening (lookups run over the entries clamped into range); in-test controls: the forger's
//!   route on in-range tables verifies, and the bad tables under one more declared bit verify;
//! * `verify_zk` refuses a key without a setup proof, or with another key's, naming it; flipped
//!   bytes, truncations and a trailing byte of the setup proof are refused; a version-5 key is
//!   refused by the decoder with the versions named.
//!
//! Check-removed controls (local patches, run once and reverted; `docs/SECURITY.md`): the padding
//! claims drawn on neither side → the wide key verifies; the limb relation's comparison skipped →
//! the forged wide key verifies; the range lookups run on neither side → the forged narrow key
//! verifies.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use zkinfer_model::graph::Weights;
use zkinfer_model::tensor::{WeightTensor, WeightValues};
use zkinfer_pcs::hiding::HidingPcs;
use zkinfer_pcs::hiding_key::{HidingKey, KeyBudget, KeySecret};
use zkinfer_proof::zk::{FIRST_PROOF_TICKET, zk_weight_tables};
use zkinfer_proof::zk_key::ZkVerifyingKey;
use zkinfer_proof::zk_proof::{ZkProofFile, verify_zk};
use zkinfer_proof::zk_setup_proof::{PaddingCheck, RangeCheck, RangePlan, WeightRange, prove_zk_setup_on, verify_zk_setup, verify_zk_setup_on};
use zkinfer_verifier::key::WeightMeta;

/// A zk key of the tiny GPT-2 (three proof tickets): the test binary's shared first setup
/// (`common::zk_keys`, also read by `zk_setup`).
fn tiny_key() -> &'static ZkVerifyingKey {
    &crate::common::zk_keys("gpt2-tiny-random.gguf").keys[0].0
}

/// A `[32, cols]` table: the first 24 columns the same for every `cols`, non-zero beyond.
fn table(cols: usize, seed: i64) -> WeightTensor {
    let values = (0..32 * cols)
        .map(|i| {
            let (r, c) = ((i / cols) as i64, (i % cols) as i64);
            if c < 24 { (((r * 32 + c) * 7919 + seed * 104_729) % 61) - 30 } else { 5 + ((r + c) % 3) }
        })
        .map(|v| v as i16)
        .collect();
    WeightTensor { shape: vec![32, cols], frac_bits: 0, values: WeightValues::I16(values) }
}

fn weights(cols: usize) -> Weights {
    let mut w = Weights::default();
    w.insert("tok", table(cols, 1));
    w.insert("w", table(cols, 2));
    w
}

/// A hiding key (2 tickets: the setup ticket and one proof ticket) of `w`'s padded tables, its
/// secret, and ticket 0's commitment recomputed.
fn key(w: &Weights, secret: u8) -> (HidingKey, KeySecret, Vec<Vec<zkinfer_field::F>>) {
    let (_, tables) = zk_weight_tables(w).unwrap();
    let refs: Vec<&[zkinfer_field::F]> = tables.iter().map(Vec::as_slice).collect();
    let s = KeySecret([secret; 32]);
    let hk = HidingKey::setup(&HidingPcs::default(), &refs, KeyBudget { tickets: 2, points_per_ticket: 4 }, &s).unwrap();
    (hk, s, tables)
}

fn prove(hk: &HidingKey, metas: &[WeightMeta], s: &KeySecret, tables: &[Vec<zkinfer_field::F>], check: PaddingCheck, binding: &[u8; 32]) -> Result<Vec<u8>, String> {
    prove_with(hk, metas, s, tables, check, RangeCheck::Refuse, binding)
}

fn prove_with(hk: &HidingKey, metas: &[WeightMeta], s: &KeySecret, tables: &[Vec<zkinfer_field::F>], check: PaddingCheck, range: RangeCheck, binding: &[u8; 32]) -> Result<Vec<u8>, String> {
    let refs: Vec<&[zkinfer_field::F]> = tables.iter().map(Vec::as_slice).collect();
    prove_zk_setup_on(hk, metas, &refs, s, binding, check, range, &mut StdRng::seed_from_u64(7)).map_err(|e| e.to_string())
}

#[test]
fn an_honest_setup_proof_verifies_and_is_bound_to_its_key() {
    let vk = tiny_key();
    verify_zk_setup(vk).expect("the tiny GPT-2's zk key carries a valid setup proof");
    // The tiny GPT-2 pads (its vocabulary and context are not powers of two): claims were made.
    assert!(vk.public.weights.iter().any(|w| w.shape.iter().any(|d| !d.is_power_of_two())), "the fixture has padding");
    // Both range methods are exercised: narrow matrices (looked up in T_bits) and wide vectors (limbs).
    let plan = RangePlan::new(&vk.public.weights, &vk.weights).unwrap();
    let narrow = plan.weights.iter().filter(|w| matches!(w, WeightRange::Narrow { .. })).count();
    let wide = plan.weights.len() - narrow;
    assert!(narrow > 0 && wide > 0, "{narrow} narrow and {wide} wide weights");
    // Another binding (another key's bytes): refused.
    let mut other = *b"another zk key's bytes, hashed..";
    assert!(verify_zk_setup_on(&vk.weights, &vk.public.weights, &other, &vk.setup_proof).is_err());
    other = vk.setup_binding().unwrap();
    verify_zk_setup_on(&vk.weights, &vk.public.weights, &other, &vk.setup_proof).expect("control: its own binding");
    // The key round-trips with its proof.
    assert_eq!(&ZkVerifyingKey::from_bytes(&vk.to_bytes().unwrap()).unwrap(), vk);
}

/// Review 17's attack at the setup: the wide model's tables under the narrow shapes.
#[test]
fn a_key_with_non_zero_padding_is_refused_by_its_setup_proof() {
    let (narrow, wide) = (weights(24), weights(32));
    let (n_metas, _) = zk_weight_tables(&narrow).unwrap();
    let binding = [9u8; 32];
    // Control: the narrow model's own key proves and verifies.
    let (hk, s, tables) = key(&narrow, 3);
    let proof = prove(&hk, &n_metas, &s, &tables, PaddingCheck::Refuse, &binding).expect("the honest setup proof");
    verify_zk_setup_on(&hk, &n_metas, &binding, &proof).expect("control: the narrow key's setup proof verifies");
    // The wide tables under the narrow shapes (same padded sizes).
    let (hk, s, tables) = key(&wide, 3);
    assert_eq!(hk.poly_num_vars, zkinfer_verifier::zk_key::weight_num_vars(&n_metas));
    let e = prove(&hk, &n_metas, &s, &tables, PaddingCheck::Refuse, &binding).expect_err("the honest prover refuses");
    assert!(e.contains("tok") && e.contains("padding"), "{e}");
    // The malicious author opens the false zero claims anyway: refused by the verifier.
    let forged = prove(&hk, &n_metas, &s, &tables, PaddingCheck::Skip, &binding).expect("a forged opening is produced");
    let e = verify_zk_setup_on(&hk, &n_metas, &binding, &forged).expect_err("non-zero padding is refused").to_string();
    assert!(e.contains("setup proof"), "{e}");
    // Under its own (wide) shapes the same key has no padding and verifies: the refusal is the padding's.
    let (w_metas, _) = zk_weight_tables(&wide).unwrap();
    let proof = prove(&hk, &w_metas, &s, &tables, PaddingCheck::Refuse, &binding).expect("the wide key's own setup proof");
    verify_zk_setup_on(&hk, &w_metas, &binding, &proof).expect("control: the wide key under its own shapes");
}

#[test]
fn tampered_or_missing_setup_proofs_are_refused() {
    let vk = tiny_key();
    let p = &vk.setup_proof;
    let judge = |bytes: &[u8], what: &str| {
        let k = ZkVerifyingKey { setup_proof: bytes.to_vec(), ..vk.clone() };
        assert!(verify_zk_setup(&k).is_err(), "{what}: accepted");
    };
    let step = (p.len() / 24).max(1);
    for i in (0..p.len()).step_by(step) {
        let mut bad = p.clone();
        bad[i] ^= 0x04;
        judge(&bad, &format!("bit 2 of byte {i} of {}", p.len()));
    }
    judge(&p[..p.len() / 2], "half");
    judge(&p[..p.len() - 1], "one byte short");
    let mut long = p.clone();
    long.push(0);
    judge(&long, "a trailing byte");

    // verify_zk refuses a key without a setup proof, naming it, before the proof's transcript.
    let bare = ZkVerifyingKey { setup_proof: Vec::new(), ..vk.clone() };
    let file = ZkProofFile {
        model_commitment: bare.digest().unwrap(),
        ticket: FIRST_PROOF_TICKET,
        max_new_tokens: 1,
        prompt_ids: vec![1, 2],
        completion_ids: vec![3],
        transcript: Vec::new(),
    };
    let e = verify_zk(&bare, &file).expect_err("a key without a setup proof").to_string();
    assert!(e.contains("no setup proof"), "{e}");
    // Another key's setup proof (another setup of the same model: same shapes, other tickets; the
    // shared second setup).
    let other = &crate::common::zk_keys("gpt2-tiny-random.gguf").keys[1].0;
    verify_zk_setup(other).expect("control: the other key's own proof");
    let swapped = ZkVerifyingKey { setup_proof: other.setup_proof.clone(), ..vk.clone() };
    let file = ZkProofFile { model_commitment: swapped.digest().unwrap(), ..file };
    let e = verify_zk(&swapped, &file).expect_err("another key's setup proof").to_string();
    assert!(e.contains("setup proof"), "{e}");

    // A version-5 key (a setup proof of the padding only) is refused by the decoder, naming the versions.
    let mut v5 = vk.to_bytes().unwrap();
    v5[8..12].copy_from_slice(&5u32.to_le_bytes());
    let e = ZkVerifyingKey::from_bytes(&v5).expect_err("a v5 key").to_string();
    assert!(e.contains('5') && e.contains('6'), "{e}");
}

/// A `[32, 32]` table of `I16` (`wide = false`, values in `[−30, 30]`) or `I64` (`wide`, values
/// in `[−2^17 + 1, 2^17 − 1]`); `outside` puts `2^bits` at one entry and `−2^bits` at another
/// (`bits` 5 or 17).
fn range_weights(wide: bool, outside: bool) -> Weights {
    let bits: u32 = if wide { 17 } else { 5 };
    let values: Vec<i64> = (0..32 * 32i64)
        .map(|i| {
            let v = ((i * 7919) % 61) - 30;
            if wide { v * 4321 } else { v }
        })
        .collect();
    let mut values = values;
    if outside {
        values[5] = 1i64 << bits;
        values[700] = -(1i64 << bits);
    }
    let tensor = |values: Vec<i64>| {
        let v = if wide { WeightValues::I64(values) } else { WeightValues::I16(values.into_iter().map(|v| v as i16).collect()) };
        WeightTensor { shape: vec![32, 32], frac_bits: 0, values: v }
    };
    let mut w = Weights::default();
    w.insert("a_honest", tensor(((0..32 * 32i64).map(|i| (i % 50) - 25)).collect()));
    w.insert("w", tensor(values));
    w
}

/// The key's metas with `w` declaring `bits`.
fn declared(w: &Weights, bits: u32) -> Vec<WeightMeta> {
    let (mut metas, _) = zk_weight_tables(w).unwrap();
    for m in &mut metas {
        if m.name == "w" {
            m.bits = bits;
        }
    }
    metas
}

/// A weight beyond its declared range: `2^bits` and `−2^bits` under `bits`.
#[test]
fn a_key_whose_weights_exceed_their_declared_ranges_is_refused() {
    let binding = [5u8; 32];
    for wide in [false, true] {
        let bits = if wide { 17 } else { 5 };
        let what = if wide { "wide" } else { "narrow" };
        // Control: the in-range tables under their bits prove and verify.
        let honest = range_weights(wide, false);
        let metas = declared(&honest, bits);
        let (hk, s, tables) = key(&honest, 4);
        let proof = prove(&hk, &metas, &s, &tables, PaddingCheck::Refuse, &binding).expect("the honest setup proof");
        verify_zk_setup_on(&hk, &metas, &binding, &proof).unwrap_or_else(|e| panic!("control ({what}): the in-range key verifies: {e}"));
        // Control: the forger's route on in-range tables changes nothing and verifies.
        let proof = prove_with(&hk, &metas, &s, &tables, PaddingCheck::Refuse, RangeCheck::Forge, &binding).expect("the forger's route, in range");
        verify_zk_setup_on(&hk, &metas, &binding, &proof).unwrap_or_else(|e| panic!("control ({what}): the forger's route in range verifies: {e}"));

        let bad = range_weights(wide, true);
        let metas = declared(&bad, bits);
        let (hk, s, tables) = key(&bad, 4);
        let e = prove(&hk, &metas, &s, &tables, PaddingCheck::Refuse, &binding).expect_err("the honest prover refuses");
        assert!(e.contains("weight w") && e.contains("outside its declared"), "{what}: {e}");
        // The malicious author proves anyway: refused by the verifier — wide: at the limb relation
        // (its limbs were reduced into range); narrow: the lookups ran over the entries clamped into
        // range, so the leaf values are not the committed weight's and ticket 0's opening refuses
        // them (the unclamped rows cannot be proven: the zk logUp's prover refuses leaves that do
        // not sum to zero).
        let forged = prove_with(&hk, &metas, &s, &tables, PaddingCheck::Refuse, RangeCheck::Forge, &binding).expect("a forged setup proof is produced");
        let e = verify_zk_setup_on(&hk, &metas, &binding, &forged).expect_err("an out-of-range weight is refused").to_string();
        let at = if wide { "the limbs of" } else { "commitment opening" };
        assert!(e.contains("setup proof fails") && e.contains(at), "{what}: {e}");
        // Control: one more declared bit (the same tables are then in range) proves and verifies.
        let metas = declared(&bad, bits + 1);
        let proof = prove(&hk, &metas, &s, &tables, PaddingCheck::Refuse, &binding).expect("in range under one more bit");
        verify_zk_setup_on(&hk, &metas, &binding, &proof).unwrap_or_else(|e| panic!("control ({what}): one more bit verifies: {e}"));
    }
}
