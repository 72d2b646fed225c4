//! The graph's lookup phase in zero knowledge (`zkinfer_ops::zk_lookups`, not wired into the graph
//! prover) on the real witnesses of the tiny GPT-2 and Llama fixtures, with an *ideal* hiding
//! commitment: every committed polynomial gets a random mask `M` in `min(m, 4)` variables, claims
//! are checked against its randomised extension `P̂ = P + z_last(1 − z_last)·M(z_{<μ})` by direct
//! evaluation (the hiding PCS itself is tested in `zkinfer-pcs`). Shown both ways: two zk runs
//! share no 16-byte window while two public runs of the same lookups are identical; no unmasked
//! column evaluation at a claimed point is in the proof; lies are rejected.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use rand10::SeedableRng;
use rand10::rngs::StdRng;
use rand10::RngExt;
use zkinfer_field::{EF, F, PrimeCharacteristicRing};
use zkinfer_gguf::GgufFile;
use zkinfer_lookup::zk_logup::{ZkLookupClaims, ZkLookupMasks, ZkLookupPoly, zk_committed_column};
use zkinfer_model::Model;
use zkinfer_ops::context::Accumulators;
use zkinfer_ops::lookups::prove_lookups;
use zkinfer_ops::zk_lookups::{prove_lookups_zk, statement_columns, verify_lookups_zk, zk_group_statements, zk_multiplicities};
use zkinfer_ops::{ProofError, WitnessBuilder, prove_graph};
use zkinfer_poly::Mle;
use zkinfer_transcript::{DomainSeparator, ProverTranscript, VerifierTranscript};

const GPT2: (&str, &[u32]) = ("gpt2-tiny-random.gguf", &[5, 17, 3, 99, 42, 7]);
const LLAMA: (&str, &[u32]) = ("llama/llama-tiny-random-q8_0.gguf", &[1, 504, 303, 4130, 81, 365, 60]);

fn ds() -> DomainSeparator {
    DomainSeparator::new("zkinfer-ops/zk-lookups-test", 1)
}

/// The sealed witness of the fixture's forward pass (proven once in public mode to build it).
fn witness(f: (&str, &[u32])) -> WitnessBuilder {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(f.0);
    let model = Model::load(&GgufFile::open(path).expect("fixture opens")).expect("fixture loads");
    let fwd = model.forward_int(f.1).expect("forward");
    let mut t = ProverTranscript::new(&ds());
    prove_graph(&fwd.graph, model.weights(), &fwd.trace, &mut t, |_, _| Ok::<_, ProofError>(())).expect("public proof").witness
}

/// An ideal hiding commitment of every polynomial the zk lookups commit: values and mask.
struct Ideal {
    polys: HashMap<(usize, ZkLookupPoly), (Vec<F>, Vec<F>)>,
}

fn v(z: EF) -> EF {
    z * (EF::ONE - z)
}

impl Ideal {
    fn mask(&self, g: usize, poly: ZkLookupPoly, z: &[EF]) -> EF {
        let (_, m) = &self.polys[&(g, poly)];
        Mle::new(m.clone()).evaluate(&z[..m.len().trailing_zeros() as usize])
    }
    fn plain(&self, g: usize, poly: ZkLookupPoly, z: &[EF]) -> EF {
        Mle::new(self.polys[&(g, poly)].0.clone()).evaluate(z)
    }
    /// Checks every claim against `P̂`.
    fn open(&self, claims: &[ZkLookupClaims]) -> Result<(), String> {
        for (g, group) in claims.iter().enumerate() {
            for c in &group.openings {
                let (p, _) = self.polys.get(&(g, c.poly)).ok_or(format!("group {g}: {:?} not committed", c.poly))?;
                if c.point.len() != p.len().trailing_zeros() as usize {
                    return Err(format!("group {g}: {:?} point length", c.poly));
                }
                let hat = self.plain(g, c.poly, &c.point) + v(*c.point.last().expect("point")) * self.mask(g, c.poly, &c.point);
                if hat != c.value {
                    return Err(format!("group {g}: false claim on {:?}", c.poly));
                }
            }
        }
        Ok(())
    }
}

struct Secrets {
    masks: Vec<ZkLookupMasks>,
    multiplicities: Vec<Vec<F>>,
    ideal: Ideal,
}

/// Samples the group masks and commits (ideally) what the module docs list; `edit` changes a
/// committed polynomial's values before its mask is drawn (a lie in the commitment).
fn commit(w: &WitnessBuilder, seed: u64, edit: impl Fn(usize, ZkLookupPoly, &mut Vec<F>)) -> Secrets {
    let plan = w.plan();
    let mut rng = StdRng::seed_from_u64(seed);
    let multiplicities: Vec<Vec<F>> = (0..plan.multiplicities().len()).map(|i| zk_multiplicities(w, i).expect("in table")).collect();
    let mut masks = Vec::new();
    let mut polys = HashMap::new();
    for (g, (group, statements)) in zk_group_statements(plan).into_iter().enumerate() {
        let refs: Vec<(&zkinfer_lookup::Table, &[usize])> = statements.iter().map(|(t, l)| (*t, l.as_slice())).collect();
        let m = ZkLookupMasks::sample_batch(&refs, &mut rng).expect("masks");
        let mut tables: Vec<(ZkLookupPoly, Vec<F>)> = Vec::new();
        for (instance, i) in group.clone().enumerate() {
            for (column, comps) in statement_columns(plan, i).iter().enumerate() {
                for (component, &k) in comps.iter().enumerate() {
                    tables.push((ZkLookupPoly::Column { instance, column, component }, zk_committed_column(&w.values(k))));
                }
            }
            tables.push((ZkLookupPoly::Multiplicities { instance }, multiplicities[i].clone()));
        }
        tables.extend(m.tables().into_iter().map(|(p, t)| (p, t.to_vec())));
        for (poly, mut values) in tables {
            edit(g, poly, &mut values);
            let mu = (values.len().trailing_zeros() as usize).min(4);
            let mask: Vec<F> = (0..1usize << mu).map(|_| rng.random::<F>()).collect();
            polys.insert((g, poly), (values, mask));
        }
        masks.push(m);
    }
    Secrets { masks, multiplicities, ideal: Ideal { polys } }
}

fn prove(w: &WitnessBuilder, s: &Secrets) -> (Vec<u8>, Vec<ZkLookupClaims>) {
    let mut t = ProverTranscript::new(&ds());
    let hidden = |g: usize, poly: ZkLookupPoly, z: &[EF]| s.ideal.mask(g, poly, z);
    let claims = prove_lookups_zk(w, &s.masks, &s.multiplicities, &hidden, &mut t).expect("zk lookups");
    (t.into_proof(), claims)
}

fn verify(w: &WitnessBuilder, ideal: &Ideal, proof: &[u8]) -> Result<Vec<ZkLookupClaims>, String> {
    let mut t = VerifierTranscript::new(&ds(), proof);
    let claims = verify_lookups_zk(w.plan(), &mut t).map_err(|e| e.to_string())?;
    t.finish().map_err(|e| e.to_string())?;
    ideal.open(&claims)?;
    Ok(claims)
}

fn prove_public(w: &WitnessBuilder) -> Vec<u8> {
    let mut t = ProverTranscript::new(&ds());
    prove_lookups(w, &mut t, &mut Accumulators::default()).expect("public lookups");
    t.into_proof()
}

fn windows(p: &[u8]) -> HashSet<[u8; 16]> {
    p.windows(16).map(|w| w.try_into().expect("16 bytes")).collect()
}

fn ext_bytes(x: EF) -> Vec<u8> {
    let mut t = ProverTranscript::new(&ds());
    t.send_ext(x);
    t.into_proof()
}

fn verifies_and_hides(f: (&str, &[u32])) {
    let w = witness(f);
    let (a, b) = (commit(&w, 1, |_, _, _| ()), commit(&w, 2, |_, _, _| ()));
    let (pa, ca) = prove(&w, &a);
    let (pb, _) = prove(&w, &b);
    assert_eq!(verify(&w, &a.ideal, &pa).expect("run a verifies"), ca, "both sides end with the same claims");
    verify(&w, &b.ideal, &pb).expect("run b verifies");
    let (qa, qb) = (prove_public(&w), prove_public(&w));
    assert_eq!(qa, qb, "public lookups are deterministic");
    let shared_windows: Vec<[u8; 16]> = windows(&pa).intersection(&windows(&pb)).copied().collect();
    let shared = shared_windows.len();
    // One sent value may be a public constant (a leaf-layer child over blocks with public
    // numerators, `docs/SECURITY.md`, "Zero-knowledge logUp"): on these fixtures the extension
    // element 1 = (1, 0, 0) followed by zeros, the same in every run. Anything else shared fails.
    for x in &shared_windows {
        assert!(x.iter().filter(|&&b| b != 0).count() <= 1 && x[1..].iter().all(|&b| b == 0), "two zk runs share the window {x:02x?}");
    }
    assert!(shared <= 2, "two zk runs share {shared} 16-byte windows");
    // No column evaluation at a claimed point appears unmasked.
    let mut looked = 0;
    for (g, group) in ca.iter().enumerate() {
        for c in &group.openings {
            if let ZkLookupPoly::Column { .. } = c.poly {
                let plain = a.ideal.plain(g, c.poly, &c.point);
                assert!(!pa.windows(24).any(|x| x == ext_bytes(plain).as_slice()), "an unmasked column value is in the proof");
                looked += 1;
            }
        }
    }
    assert!(looked > 0);
    eprintln!(
        "{}: {} groups, public lookups {} B, zk lookups {} B; zk runs share {shared} windows, public runs all {}",
        f.0,
        ca.len(),
        qa.len(),
        pa.len(),
        windows(&qa).len()
    );
}

#[test]
fn zk_lookups_of_tiny_gpt2_verify_and_hide() {
    verifies_and_hides(GPT2);
}

#[test]
fn zk_lookups_of_tiny_llama_verify_and_hide() {
    verifies_and_hides(LLAMA);
}

#[test]
fn zk_lookups_reject_lies() {
    let w = witness(GPT2);
    let honest = commit(&w, 3, |_, _, _| ());
    let (proof, _) = prove(&w, &honest);
    verify(&w, &honest.ideal, &proof).expect("honest");
    // A committed column differs from the one the prover's leaves were built from (a value
    // outside the table committed, the lookup run on an in-table value): the opening fails.
    let lied = commit(&w, 3, |g, poly, values| {
        if g == 0 && poly == (ZkLookupPoly::Column { instance: 0, column: 0, component: 0 }) {
            values[1] += F::from_u64(1 << 40);
        }
    });
    let (proof, _) = prove(&w, &lied);
    assert!(verify(&w, &lied.ideal, &proof).is_err(), "a column differing from the committed one was accepted");
    // A multiplicity moved from one table row to another (the counts no longer match the
    // columns): the prover's fraction sum is not zero and verification fails.
    let mut moved = commit(&w, 4, |_, _, _| ());
    let m = &mut moved.multiplicities[0];
    let at = m.iter().position(|&x| x != F::ZERO).expect("a counted row");
    m[at] -= F::ONE;
    m[at + 1] += F::ONE;
    moved.ideal.polys.get_mut(&(0, ZkLookupPoly::Multiplicities { instance: 0 })).expect("committed").0 = m.clone();
    let mut t = ProverTranscript::new(&ds());
    let hidden = |g: usize, poly: ZkLookupPoly, z: &[EF]| moved.ideal.mask(g, poly, z);
    if prove_lookups_zk(&w, &moved.masks, &moved.multiplicities, &hidden, &mut t).is_ok() {
        assert!(verify(&w, &moved.ideal, &t.into_proof()).is_err(), "moved multiplicity accepted");
    }
    // Every sent value (24-byte extension elements and 8-byte base elements alike: flip the first
    // byte of every 8-byte word) flipped in turn, over the first 4 KiB and the last 4 KiB.
    let (proof, _) = prove(&w, &honest);
    let words = proof.len() / 8;
    for k in (0..words.min(512)).chain(words.saturating_sub(512)..words) {
        let mut bad = proof.clone();
        bad[8 * k] ^= 1;
        assert!(verify(&w, &honest.ideal, &bad).is_err(), "word {k} flipped and accepted");
    }
    // Truncated.
    assert!(verify(&w, &honest.ideal, &proof[..proof.len() - 8]).is_err());
}

/// The HVZK simulator of the lookup phase, group by group in Fiat–Shamir order
/// (`zkinfer_lookup::zk_logup::simulate_lookups_zk` on each group's public statements — tables and
/// column lengths only, no witness): the verifier accepts the simulated transcript (its claims
/// would be opened by the hiding PCS's simulator), and it has exactly the honest proof's length.
/// The per-group distribution tests (300 runs each) are the lookup crate's.
#[test]
fn simulated_lookup_phase_passes_the_verifier() {
    for f in [GPT2, LLAMA] {
        let w = witness(f);
        let mut rng = StdRng::seed_from_u64(5);
        let mut t = ProverTranscript::new(&ds());
        for (_, statements) in zk_group_statements(w.plan()) {
            let refs: Vec<(&zkinfer_lookup::Table, &[usize])> = statements.iter().map(|(t, l)| (*t, l.as_slice())).collect();
            zkinfer_lookup::zk_logup::simulate_lookups_zk(&refs, &mut t, &mut rng).expect("simulate");
        }
        let simulated = t.into_proof();
        let mut vt = VerifierTranscript::new(&ds(), &simulated);
        verify_lookups_zk(w.plan(), &mut vt).expect("the simulated transcript passes");
        vt.finish().expect("nothing left over");
        let (honest, _) = prove(&w, &commit(&w, 6, |_, _, _| ()));
        assert_eq!(simulated.len(), honest.len(), "{}: same length as an honest proof", f.0);
        // A simulated transcript for the wrong shapes does not pass (the check can fail).
        let mut bad = simulated.clone();
        bad.truncate(bad.len() - 24);
        let mut vt = VerifierTranscript::new(&ds(), &bad);
        assert!(verify_lookups_zk(w.plan(), &mut vt).is_err() || vt.finish().is_err());
    }
}
