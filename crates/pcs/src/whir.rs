//! The p3-whir 0.8 backend: commit one Goldilocks multilinear polynomial, prove and verify its
//! value at ONE point of `EF^n`.
//!
//! WHIR (ePrint 2024/1586) commits to the Reed–Solomon encoding of the polynomial's coefficient
//! vector (rate `2^-log_inv_rate`) with a Blake3 Merkle tree. An opening `P(z) = y` is proven by
//! a sumcheck on `eq(z, x)·P(x)` interleaved with folding the codeword `k` variables at a time
//! (`k` = folding factor); after each fold the prover commits the folded codeword, answers
//! out-of-domain samples and opens `t` queried positions of the previous codeword, with a
//! proof-of-work grind before each query phase.
//!
//! Rate schedule: round `i` folds `k_i` variables and shrinks the evaluation domain by `2^s_i`,
//! so its codeword has `2^(n − Σ_{j≤i} k_j + ρ_i)` entries of EF with `ρ_i = ρ_{i−1} + k_i − s_i`
//! (`ρ_{−1}` = the committed `log_inv_rate`). Queries to a codeword at rate `2^-ρ` number about
//! `λ / (ρ/2)` (Johnson bound), so a larger `s_i` trades more queries for smaller codewords.
//! The default folds `k_0 = 5` with `s_0 = 3`, then `k = 4` with `s = 1` (see [`WhirParams`]).
//!
//! Everything here is single-polynomial and single-point: packing many polynomials and reducing
//! many claims to one point is done above, in [`crate::packing`] and [`crate::batching`].
//!
//! Transcript binding: the WHIR run uses a *fork* of the caller's challenger taken just before
//! the proof bytes are written/read. Prover: fork, run WHIR on the fork, `send_bytes(proof)`.
//! Verifier: fork, `receive_bytes()`, verify WHIR on the fork. Both forks start from the same
//! state (which already binds the commitment, the claims and every earlier message), and both
//! main transcripts then absorb the same proof bytes, so the protocol continues in sync.

use p3_blake3::Blake3;
use p3_commit::{Mmcs, MultilinearPcs};
use p3_dft::Radix2DFTSmallBatch;
use p3_matrix::dense::RowMajorMatrix;
use p3_merkle_tree::MerkleTreeMmcs;
use p3_multilinear_util::point::Point;
use p3_sumcheck::layout::{Layout, SuffixProver, Table};
use p3_sumcheck::{OpeningBatch, OpeningProtocol, PrescribedPointPcs, TableShape, TableSpec};
use p3_symmetric::{CompressionFunctionFromHasher, SerializingHasher};
use p3_whir::parameters::{FoldingFactor, ProtocolParameters, SecurityAssumption, WhirConfig};
use p3_whir::WhirProverData;
use p3_whir::pcs::proof::PcsProof;
use p3_whir::pcs::prover::WhirProver;
use serde::{Deserialize, Serialize};
use zkinfer_field::{EF, F, PrimeCharacteristicRing};

use crate::PcsError;

/// The Fiat–Shamir challenger WHIR runs on: the transcript's own.
pub type Challenger = zkinfer_transcript::Challenger;

type LeafHash = SerializingHasher<Blake3>;
type NodeCompress = CompressionFunctionFromHasher<Blake3, 2, 32>;
/// Blake3 Merkle tree over Goldilocks rows (rows serialised to bytes, 32-byte digests).
pub(crate) type ValMmcs = MerkleTreeMmcs<F, u8, LeafHash, NodeCompress, 2, 32>;
type Dft = Radix2DFTSmallBatch<F>;
/// Single table, single column: the stacked layout degenerates to the polynomial itself.
type WhirLayout = SuffixProver<F, EF>;
type Whir = WhirProver<EF, F, Dft, ValMmcs, Challenger, WhirLayout>;

/// The Merkle root (cap of height 0) of the committed codeword.
pub type MerkleRoot = <ValMmcs as Mmcs<F>>::Commitment;
/// p3-whir's opening proof object (serialised with bincode into the proof bytes).
pub(crate) type WhirOpeningProof = PcsProof<F, EF, ValMmcs>;
/// Prover state kept between commit and open.
pub(crate) type WhirData = WhirProverData<F, EF, ValMmcs, WhirLayout>;

/// Which Reed–Solomon proximity bound the query counts are derived from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProximityBound {
    /// Unique decoding radius `(1−ρ)/2`: proven, most queries.
    UniqueDecoding,
    /// Johnson bound `1−√ρ`: proven list-decoding regime.
    JohnsonBound,
    /// Up to capacity `1−ρ`: conjectured (WHIR's "capacity" conjecture), fewest queries.
    CapacityBound,
}

impl ProximityBound {
    fn to_p3(self) -> SecurityAssumption {
        match self {
            Self::UniqueDecoding => SecurityAssumption::UniqueDecoding,
            Self::JohnsonBound => SecurityAssumption::JohnsonBound,
            Self::CapacityBound => SecurityAssumption::CapacityBound,
        }
    }
}

/// User-facing WHIR parameters. See `docs/SECURITY.md` for the resulting soundness.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhirParams {
    /// Target bits per error term (p3-whir derives queries/OOD samples/PoW from it).
    pub security_bits: usize,
    /// Maximum proof-of-work bits any single grind may use.
    pub max_pow_bits: usize,
    /// `log2(1/rate)` of the first codeword.
    pub log_inv_rate: usize,
    /// Variables folded per WHIR round (from the second round on).
    pub folding_factor: usize,
    /// Variables folded by the first round (the committed codeword's rows hold `2^this` values).
    pub first_folding_factor: usize,
    /// `log2` of how much the evaluation domain shrinks in the first round: the first folded
    /// codeword has `log_inv_rate` larger by `first_folding_factor − first_log_domain_shrink`.
    /// 1 is WHIR's standard schedule (domain halves); larger values make the first folded
    /// codeword (the largest one the opening computes) smaller, at the price of more queries to
    /// it in the next round.
    pub first_log_domain_shrink: usize,
    /// `log2` of the domain shrink in every later round (rate grows by `folding_factor − this`).
    pub log_domain_shrink: usize,
    /// Proximity bound the query counts rely on.
    pub bound: ProximityBound,
    /// Small polynomials are encoded at a lower rate, so that their first codeword has about
    /// `2^small_codeword_vars` entries: a polynomial of `n` variables starts at `log_inv_rate`
    /// [`WhirParams::starting_log_inv_rate`] `= max(log_inv_rate, min(small_codeword_vars − n,
    /// MAX_SMALL_LOG_INV_RATE))`. Fewer queries at a lower rate (Johnson: `≈ λ/(ρ/2)`), so a
    /// much smaller proof (2^19 entries: 192 KB at rate 1/2, 84 KB at rate 1/16) for a codeword
    /// that is still small (`0` turns this off).
    pub small_codeword_vars: usize,
}

/// Largest `log_inv_rate` [`WhirParams::small_codeword_vars`] raises a small polynomial's rate to
/// (beyond 1/16 the proof hardly shrinks: queries fall as `1/ρ` but each opens a longer path).
pub const MAX_SMALL_LOG_INV_RATE: usize = 4;

impl WhirParams {
    /// `log2(1/rate)` of the committed codeword of a polynomial in `num_vars` variables (see
    /// [`WhirParams::small_codeword_vars`]).
    pub fn starting_log_inv_rate(&self, num_vars: usize) -> usize {
        self.log_inv_rate.max(self.small_codeword_vars.saturating_sub(num_vars).min(MAX_SMALL_LOG_INV_RATE))
    }
}

impl Default for WhirParams {
    /// Rate 1/2; the first round folds 5 variables and shrinks the domain 8× (first folded
    /// codeword: rate 1/8, `2^(n−2)` EF entries, 3/8 of the committed codeword's bytes, where
    /// the standard schedule's has `2^n`), later rounds fold 4 and halve the domain (rate ×1/8
    /// per round); proven Johnson bound, ≤ 20 bits of grinding, 132 bits
    /// per error term, which p3-whir's union over all terms turns into ≥ 129.9 bits for every
    /// packed size up to 2^28, so that a proof's two openings (witness and weights) together
    /// with the graph proof still compose to ≥ 128 bits (see `docs/SECURITY.md`; checked by a
    /// test). Compared with WHIR's
    /// standard schedule (fold 4, halve the domain every round) this opens 2^24 in ~40 % of the
    /// CPU time, and the first folded codeword at 2^27 takes 0.75 GiB instead of 3 GiB, for a
    /// proof ~15 % larger (`docs/BENCHMARKS.md`). Polynomials of fewer than 2^22 entries start at
    /// a lower rate ([`WhirParams::small_codeword_vars`] = 23: rate 1/16 up to 2^19 entries).
    fn default() -> Self {
        Self {
            security_bits: 132,
            max_pow_bits: 20,
            log_inv_rate: 1,
            folding_factor: 4,
            first_folding_factor: 5,
            first_log_domain_shrink: 3,
            log_domain_shrink: 1,
            bound: ProximityBound::JohnsonBound,
            small_codeword_vars: 23,
        }
    }
}

/// Smallest number of variables the packed polynomial is padded to, so that every folding
/// schedule p3-whir derives is valid (tiny polynomials are padded with zeros).
pub const MIN_NUM_VARS: usize = 8;
/// Largest packed polynomial we accept (2^32 Goldilocks elements = 32 GiB, far above any model).
pub const MAX_NUM_VARS: usize = 32;

/// The WHIR engine: parameters plus the reusable DFT twiddle cache and Merkle hasher.
#[derive(Clone, Debug)]
pub struct WhirEngine {
    params: WhirParams,
    dft: Dft,
    mmcs: ValMmcs,
}

impl WhirEngine {
    pub fn new(params: WhirParams) -> Self {
        let mmcs = ValMmcs::new(
            LeafHash::new(Blake3 {}),
            NodeCompress::new(Blake3 {}),
            0,
        );
        Self { params, dft: Dft::default(), mmcs }
    }

    pub fn params(&self) -> &WhirParams {
        &self.params
    }

    /// This engine with an empty DFT twiddle cache of its own. The cache only grows (p3's
    /// `Radix2DFTSmallBatch` keeps the tables of the largest transform it ran: about 16 bytes per
    /// codeword row, 256 MiB after committing a 2^28-entry polynomial at rate 1/2), and every
    /// prover this engine makes shares it; a commitment made with a detached engine frees its
    /// tables when the detached engine is dropped. Same codewords, roots and proofs.
    pub fn detached(&self) -> Self {
        Self { params: self.params, dft: Dft::default(), mmcs: self.mmcs.clone() }
    }

    fn folding(&self) -> FoldingFactor {
        let (first, k) = (self.params.first_folding_factor, self.params.folding_factor);
        if first == k { FoldingFactor::Constant(k) } else { FoldingFactor::ConstantFromSecondRound(first, k) }
    }

    /// The per-round rate schedule: round `i` folds `k_i` variables and shrinks the domain by
    /// `2^s_i` (`s_0 = first_log_domain_shrink`, then `log_domain_shrink`), so `log_inv_rate`
    /// grows by `k_i − s_i` (`s_i = 1` is the standard WHIR schedule).
    fn protocol_parameters(&self, num_vars: usize) -> Result<ProtocolParameters, PcsError> {
        let folding = self.folding();
        let schedule = folding
            .compute_folding_schedule(num_vars)
            .map_err(|e| PcsError::Config(e.to_string()))?;
        // The last scheduled fold leads into the final (direct-send) round: no codeword after it.
        let num_rounds = schedule.len() - 1;
        let starting_log_inv_rate = self.params.starting_log_inv_rate(num_vars);
        let mut rate = starting_log_inv_rate;
        let mut round_log_inv_rates = Vec::with_capacity(num_rounds);
        for (round, &k) in schedule.iter().take(num_rounds).enumerate() {
            let shrink = if round == 0 { self.params.first_log_domain_shrink } else { self.params.log_domain_shrink };
            // `rate ≥ 1` already, so `shrink ≤ k` keeps every later rate ≥ 1 (redundant).
            if shrink > k {
                return Err(PcsError::Config(format!(
                    "domain shrink 2^{shrink} is incompatible with folding {k} at rate 2^-{rate}"
                )));
            }
            rate += k - shrink;
            round_log_inv_rates.push(rate);
        }
        Ok(ProtocolParameters {
            security_level: self.params.security_bits,
            pow_bits: self.params.max_pow_bits,
            folding_factor: folding,
            soundness_type: self.params.bound.to_p3(),
            starting_log_inv_rate,
            round_log_inv_rates,
        })
    }

    /// The derived p3-whir configuration for a polynomial in `num_vars` variables.
    pub fn config(&self, num_vars: usize) -> Result<WhirConfig<EF, F, Challenger>, PcsError> {
        if !(MIN_NUM_VARS..=MAX_NUM_VARS).contains(&num_vars) {
            return Err(PcsError::Config(format!(
                "packed polynomial has {num_vars} variables, outside [{MIN_NUM_VARS}, {MAX_NUM_VARS}]"
            )));
        }
        let config = WhirConfig::<EF, F, Challenger>::new(num_vars, self.protocol_parameters(num_vars)?)
            .map_err(|e| PcsError::Config(e.to_string()))?;
        if !config.check_pow_bits() {
            return Err(PcsError::Config(format!(
                "WHIR needs {} proof-of-work bits, above the budget of {}",
                config.max_pow_bits(),
                self.params.max_pow_bits
            )));
        }
        Ok(config)
    }

    /// p3-whir's composed soundness for one prescribed-point opening of an `n`-variable
    /// polynomial: `(bits, log2 of the candidate-list size)`, where `bits = −log2` of the union
    /// of every algebraic error term (initial claim batching, OOD, folding, sumcheck, queries,
    /// each credited with its grinding). Hash collisions are not included.
    pub fn composed_security(&self, num_vars: usize) -> Result<(f64, f64), PcsError> {
        let whir = self.prover(num_vars)?;
        let report = whir
            .prescribed_security(&Self::protocol(num_vars))
            .ok_or_else(|| PcsError::Config("p3-whir gives no security report".into()))?;
        Ok((report.error().bits(), report.log2_max_candidates))
    }

    fn prover(&self, num_vars: usize) -> Result<Whir, PcsError> {
        Ok(Whir::new(self.config(num_vars)?, self.dft.clone(), self.mmcs.clone()))
    }

    fn protocol(num_vars: usize) -> OpeningProtocol {
        OpeningProtocol::new(vec![TableSpec::new(
            TableShape::new(num_vars, 1),
            vec![OpeningBatch::new(vec![0], vec![])],
        )])
    }

    /// Commits to the multilinear polynomial with hypercube evaluations `evals`
    /// (length `2^n`, `MIN_NUM_VARS ≤ n ≤ MAX_NUM_VARS`).
    pub fn commit(&self, evals: Vec<F>) -> Result<(MerkleRoot, WhirData), PcsError> {
        if !evals.len().is_power_of_two() {
            return Err(PcsError::Config("evaluation count is not a power of two".into()));
        }
        let num_vars = evals.len().trailing_zeros() as usize;
        let whir = self.prover(num_vars)?;
        let width = evals.len();
        // One polynomial per matrix row.
        let table = Table::new(RowMajorMatrix::new(evals, width));
        let witness = WhirLayout::new_witness(vec![table], self.params.first_folding_factor);
        // `commit` binds the root into a challenger; the real binding happens later in the
        // caller's transcript, so a throwaway challenger is used here.
        let mut scratch = fresh_challenger();
        <Whir as MultilinearPcs<EF, Challenger>>::commit(&whir, witness, &mut scratch)
            .map_err(|e| PcsError::Config(e.to_string()))
    }

    /// The Merkle root [`WhirEngine::commit`] gives `evals`, computed without keeping anything:
    /// the codeword and its Merkle tree are built exactly as p3-whir's commit builds them (the
    /// same `commit_base` call: the evaluations are the single-column suffix layout's message,
    /// encoded by the same DFT at the same rate and folding) and dropped once the root is read.
    /// [`WhirEngine::commit`] on the same evaluations later rebuilds the prover data (tests check
    /// that the roots agree; [`crate::WhirPcs::commit_owned_releasing`] checks it at every opening).
    pub fn commit_root(&self, evals: &[F]) -> Result<MerkleRoot, PcsError> {
        if !evals.len().is_power_of_two() {
            return Err(PcsError::Config("evaluation count is not a power of two".into()));
        }
        let num_vars = evals.len().trailing_zeros() as usize;
        let config = self.config(num_vars)?;
        let folding = config.round_folding_factor(0);
        let (root, tree) = p3_sumcheck::commit::commit_base(
            &self.dft,
            &self.mmcs,
            num_vars,
            folding,
            config.starting_log_inv_rate,
            |message: &mut [F]| message.copy_from_slice(evals),
        );
        drop(tree);
        Ok(root)
    }

    /// [`WhirEngine::commit_root`] of `evals` without `evals` resident while the codeword and
    /// its Merkle tree are: the evaluations are held compressed in memory ([`crate::compact`]) if
    /// that takes at most [`COMPACT_MAX_BYTES_PER_ENTRY`] bytes per entry, otherwise they go to an
    /// unlinked temporary file; either is read into the codeword buffer, and read back once the
    /// codeword and tree are dropped, so the commitment's peak is the codeword and tree (plus the
    /// compressed copy), not those plus the packed polynomial. If no temporary file can be
    /// written, the evaluations stay in memory (same root, higher peak); a read failing after they
    /// were dropped is an error.
    pub fn commit_root_spilling(&self, evals: Vec<F>) -> Result<(MerkleRoot, Vec<F>), PcsError> {
        if let Some(compact) = crate::compact::Compact::encode(&evals, evals.len() * COMPACT_MAX_BYTES_PER_ENTRY) {
            return self.commit_root_compact(evals, &compact);
        }
        let mut spill = match Spill::write(&evals) {
            Ok(spill) => spill,
            Err(_) => {
                let root = self.commit_root(&evals)?;
                return Ok((root, evals));
            }
        };
        let len = evals.len();
        drop(evals);
        self.commit_root_from(len, "commit: packed polynomial spilled", |out| {
            spill.read_into(out).map_err(|e| format!("cannot read the spilled packed polynomial back: {e}"))
        })
    }

    /// [`WhirEngine::commit_root_spilling`] with the evaluations held compressed in memory
    /// ([`crate::compact`]) instead of in a file: same root, same evaluations back.
    fn commit_root_compact(&self, evals: Vec<F>, compact: &crate::compact::Compact) -> Result<(MerkleRoot, Vec<F>), PcsError> {
        let len = evals.len();
        drop(evals);
        self.commit_root_from(len, &format!("commit: packed polynomial compressed ({} B)", compact.bytes()), |out| {
            compact.decode_into(out).map_err(|e| format!("cannot decompress the packed polynomial: {e}"))
        })
    }

    /// The root of `len` evaluations that are not resident: `source` writes them into a buffer,
    /// once into the codeword's and once more after the codeword and its tree are dropped (the
    /// evaluations returned).
    fn commit_root_from<S>(&self, len: usize, traced: &str, mut source: S) -> Result<(MerkleRoot, Vec<F>), PcsError>
    where
        S: FnMut(&mut [F]) -> Result<(), String>,
    {
        if !len.is_power_of_two() {
            return Err(PcsError::Config("evaluation count is not a power of two".into()));
        }
        let num_vars = len.trailing_zeros() as usize;
        let config = self.config(num_vars)?;
        crate::mem_trace(traced);
        let mut read = Ok(());
        let (root, tree) = p3_sumcheck::commit::commit_base(
            &self.dft,
            &self.mmcs,
            num_vars,
            config.round_folding_factor(0),
            config.starting_log_inv_rate,
            |message: &mut [F]| read = source(message),
        );
        crate::mem_trace("commit: codeword and Merkle tree built");
        drop(tree);
        read.map_err(PcsError::Config)?;
        let mut evals = F::zero_vec(len);
        source(&mut evals).map_err(PcsError::Config)?;
        Ok((root, evals))
    }

    /// The committed evaluations (hypercube order), as retained by the WHIR prover data.
    pub(crate) fn committed_evals(data: &WhirData) -> &[F] {
        data.table(0).iter_polys().next().unwrap_or(&[])
    }

    /// Proves `P(point) = value` (value computed by WHIR) on `challenger`, returns the proof.
    pub fn open(
        &self,
        root: &MerkleRoot,
        data: WhirData,
        point: &[EF],
        challenger: &mut Challenger,
    ) -> Result<WhirOpeningProof, PcsError> {
        let whir = self.prover(point.len())?;
        <Whir as MultilinearPcs<EF, Challenger>>::observe_commitment(&whir, root, challenger);
        let protocol = Self::protocol(point.len());
        whir.open_at(data, &protocol, &[Point::new(point.to_vec())], challenger)
            .map_err(|e| PcsError::Config(e.to_string()))
    }

    /// Verifies a WHIR opening proof at `point` and returns the value it proves.
    pub fn verify(
        &self,
        root: &MerkleRoot,
        point: &[EF],
        proof: &WhirOpeningProof,
        challenger: &mut Challenger,
    ) -> Result<EF, PcsError> {
        let whir = self.prover(point.len())?;
        <Whir as MultilinearPcs<EF, Challenger>>::observe_commitment(&whir, root, challenger);
        let protocol = Self::protocol(point.len());
        let evals = whir
            .verify_at(root, proof, &protocol, &[Point::new(point.to_vec())], challenger)
            .map_err(|e| PcsError::Whir(format!("{e:?}")))?;
        match evals.as_slice() {
            [batch] if batch.current().len() == 1 && batch.next().is_empty() => Ok(batch.current()[0]),
            _ => Err(PcsError::Malformed("WHIR proof carries an unexpected evaluation shape")),
        }
    }
}

/// Most bytes per entry a packed polynomial may take compressed in memory while its codeword is
/// built ([`WhirEngine::commit_root_spilling`]); above that it goes to a temporary file. A quarter
/// of its raw bytes: the commitment's resident memory stays below the opening's, which holds the
/// packed polynomial itself (8 B per entry) beside the same codeword and tree.
pub const COMPACT_MAX_BYTES_PER_ENTRY: usize = 2;

/// A packed polynomial in an unlinked temporary file (freed by the system when the handle drops,
/// however the process ends): canonical values, 8 little-endian bytes each.
struct Spill {
    file: std::fs::File,
    len: usize,
}

/// Values per read/write of a [`Spill`] (1 MiB of bytes).
const SPILL_CHUNK: usize = 1 << 17;

impl Spill {
    fn write(values: &[F]) -> std::io::Result<Self> {
        use std::io::Write;
        use std::sync::atomic::{AtomicU64, Ordering};
        use p3_field::PrimeField64;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!("zkinfer-spill-{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let path = std::env::temp_dir().join(name);
        let mut file = std::fs::OpenOptions::new().read(true).write(true).create_new(true).open(&path)?;
        // Unlinked at once: nothing is left behind, whatever happens next.
        std::fs::remove_file(&path)?;
        let mut buf = Vec::with_capacity(SPILL_CHUNK * 8);
        for chunk in values.chunks(SPILL_CHUNK) {
            buf.clear();
            for v in chunk {
                buf.extend_from_slice(&v.as_canonical_u64().to_le_bytes());
            }
            file.write_all(&buf)?;
        }
        file.flush()?;
        Ok(Self { file, len: values.len() })
    }

    /// Reads the whole polynomial into `out` (of exactly its length).
    fn read_into(&mut self, out: &mut [F]) -> std::io::Result<()> {
        use std::io::{Read, Seek, SeekFrom};
        if out.len() != self.len {
            return Err(std::io::Error::other("spill length mismatch"));
        }
        self.file.seek(SeekFrom::Start(0))?;
        let mut buf = vec![0u8; SPILL_CHUNK * 8];
        for chunk in out.chunks_mut(SPILL_CHUNK) {
            let bytes = &mut buf[..chunk.len() * 8];
            self.file.read_exact(bytes)?;
            for (v, b) in chunk.iter_mut().zip(bytes.chunks_exact(8)) {
                let mut word = [0u8; 8];
                word.copy_from_slice(b);
                *v = F::from_u64(u64::from_le_bytes(word));
            }
        }
        Ok(())
    }
}

/// A challenger in its initial state (used only where p3's API demands one but the state is
/// irrelevant).
pub(crate) fn fresh_challenger() -> Challenger {
    zkinfer_transcript::new_challenger(vec![])
}

/// Serialises a WHIR proof (fixed-width integers, field elements as 8 canonical LE bytes).
pub(crate) fn encode_proof(proof: &WhirOpeningProof) -> Result<Vec<u8>, PcsError> {
    use bincode::Options;
    bincode_options()
        .serialize(proof)
        .map_err(|e| PcsError::Config(format!("cannot serialise WHIR proof: {e}")))
}

/// Deserialises untrusted proof bytes: the size limit is the input length (so no length
/// prefix can make bincode allocate more than the bytes could describe), trailing bytes are
/// rejected, non-canonical field elements are rejected by Goldilocks' own decoder.
pub(crate) fn decode_proof(bytes: &[u8]) -> Result<WhirOpeningProof, PcsError> {
    use bincode::Options;
    bincode_options()
        .with_limit(bytes.len() as u64)
        .deserialize(bytes)
        .map_err(|_| PcsError::Malformed("WHIR proof bytes do not decode"))
}

fn bincode_options() -> impl bincode::Options {
    use bincode::Options;
    bincode::DefaultOptions::new()
        .with_fixint_encoding()
        .with_little_endian()
        .reject_trailing_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use rand::Rng;
    use zkinfer_field::{PrimeCharacteristicRing, BasedVectorSpace};

    /// Reference evaluation with x_0 = most significant bit of the hypercube index.
    fn eval_msb(evals: &[F], point: &[EF]) -> EF {
        let mut cur: Vec<EF> = evals.iter().map(|&v| EF::from(v)).collect();
        for &r in point {
            let half = cur.len() / 2;
            let (lo, hi) = cur.split_at(half);
            cur = lo.iter().zip(hi).map(|(&l, &h)| l + r * (h - l)).collect();
        }
        cur[0]
    }

    fn rand_ef(rng: &mut StdRng) -> EF {
        EF::from_basis_coefficients_fn(|_| F::from_u64(rng.random::<u64>() >> 1))
    }

    #[test]
    fn default_parameters_reach_128_composed_bits_up_to_2_pow_28() {
        let engine = WhirEngine::new(WhirParams::default());
        for n in MIN_NUM_VARS..=28 {
            let (bits, list) = engine.composed_security(n).expect("config");
            // A proof opens two commitments (witness, weights) and runs the graph proof before
            // either commitment's out-of-domain samples are drawn, so the graph's algebraic
            // error (≤ 2^32/|EF|, docs/SECURITY.md) is charged over both candidate lists:
            // 2^-bits + 2^-bits + 2^(2·list + 32 − 191) must stay ≤ 2^-128.
            let total = 2.0 * (-bits).exp2() + (2.0 * list + 32.0 - 191.0).exp2();
            assert!(-total.log2() >= 128.0, "n = {n}: {bits} bits per opening, {} composed", -total.log2());
            // Our batching sumcheck is charged over the candidate list: (claims + 2n)/|EF| per
            // candidate, |EF| ≥ 2^191; with 2^20 claims it stays far above 128 bits.
            assert!(191.0 - list - ((1u64 << 20) as f64 + 2.0 * n as f64).log2() > 160.0);
        }
    }

    #[test]
    fn first_folded_codeword_has_the_configured_size() {
        // The first folded codeword (the largest object the opening builds) has
        // 2^(n + log_inv_rate − first_log_domain_shrink) entries of EF, later ones shrink by
        // 2^log_domain_shrink per round: check p3-whir derived exactly that from our rates.
        for params in [WhirParams::default(), standard_schedule()] {
            let engine = WhirEngine::new(params);
            for n in [MIN_NUM_VARS, 16, 24, 27] {
                let config = engine.config(n).expect("config");
                let mut expected_log_size = n + params.starting_log_inv_rate(n) - params.first_log_domain_shrink;
                for (round, r) in config.round_parameters().iter().enumerate() {
                    assert_eq!(r.num_variables + r.log_inv_rate, expected_log_size, "n = {n}, round {round}");
                    expected_log_size -= params.log_domain_shrink;
                }
            }
        }
    }

    #[test]
    fn small_polynomials_are_encoded_at_a_lower_rate() {
        let params = WhirParams::default();
        let rates: Vec<usize> = [MIN_NUM_VARS, 19, 20, 21, 22, 23, 28].iter().map(|&n| params.starting_log_inv_rate(n)).collect();
        assert_eq!(rates, [4, 4, 3, 2, 1, 1, 1]);
        let engine = WhirEngine::new(params);
        let config = engine.config(19).expect("config");
        // The first folded codeword: 2^(19 + 4 − 3) entries.
        assert_eq!(config.round_parameters()[0].num_variables + config.round_parameters()[0].log_inv_rate, 20);
        // Off: the configured rate everywhere.
        assert_eq!(WhirParams { small_codeword_vars: 0, ..params }.starting_log_inv_rate(MIN_NUM_VARS), 1);
    }

    /// `commit_root` builds the root p3-whir's commit builds, at every starting rate the small
    /// polynomial rule gives (rate 1/16 up to 2^19, then 1/8, 1/4, 1/2) and for both schedules;
    /// a changed entry changes it (so the comparison can fail).
    #[test]
    fn commit_root_is_the_committed_root() {
        let mut rng = StdRng::seed_from_u64(13);
        for params in [WhirParams::default(), standard_schedule()] {
            let engine = WhirEngine::new(params);
            for n in [MIN_NUM_VARS, 11, 19, 20, 21, 22] {
                let evals: Vec<F> = (0..1usize << n).map(|_| F::from_u64(rng.random::<u64>() >> 1)).collect();
                let root = engine.commit_root(&evals).expect("root");
                let mut other = evals.clone();
                other[1 << (n - 1)] += F::ONE;
                assert_ne!(engine.commit_root(&other).expect("root"), root, "n = {n}");
                let (committed, data) = engine.commit(evals.clone()).expect("commit");
                assert_eq!(root, committed, "n = {n}");
                assert_eq!(WhirEngine::committed_evals(&data), &evals[..]);
            }
        }
        assert!(WhirEngine::new(WhirParams::default()).commit_root(&[F::ONE; 3]).is_err());
        // Through the temporary file: the same root, the same evaluations back (the top of the
        // field included, where a non-canonical write would show).
        let engine = WhirEngine::new(WhirParams::default());
        for n in [MIN_NUM_VARS, 18, 21] {
            let mut evals: Vec<F> = (0..1usize << n).map(|_| F::from_u64(rng.random::<u64>())).collect();
            evals[0] = -F::ONE;
            let root = engine.commit_root(&evals).expect("root");
            let (spilled, back) = engine.commit_root_spilling(evals.clone()).expect("spilled root");
            assert_eq!(spilled, root, "n = {n}");
            assert_eq!(back, evals, "n = {n}");
        }
        // Held compressed in memory (witness-like values: small signed integers, zero padding,
        // one entry at each end of the field): the same root, the same evaluations back.
        for n in [MIN_NUM_VARS, 18, 21] {
            let mut evals: Vec<F> = (0..1usize << n)
                .map(|i| if i % 3 == 0 { F::ZERO } else { zkinfer_field::from_i64_unchecked(rng.random_range(-16_000i64..16_000)) })
                .collect();
            evals[1] = -F::ONE;
            if n > MIN_NUM_VARS {
                evals[2] = F::from_u64(u64::MAX >> 1);
            }
            assert!(crate::compact::Compact::encode(&evals, evals.len() * COMPACT_MAX_BYTES_PER_ENTRY).is_some(), "n = {n}");
            let root = engine.commit_root(&evals).expect("root");
            let (compact, back) = engine.commit_root_spilling(evals.clone()).expect("compressed root");
            assert_eq!(compact, root, "n = {n}");
            assert_eq!(back, evals, "n = {n}");
        }
    }

    #[test]
    fn inconsistent_schedules_are_config_errors() {
        let base = WhirParams::default();
        // Shrinking the domain by more than the fold would need a rate above 1.
        let too_much_shrink = WhirParams { log_domain_shrink: base.folding_factor + 1, ..base };
        assert!(WhirEngine::new(too_much_shrink).config(20).is_err());
        let first_too_much = WhirParams { first_log_domain_shrink: base.first_folding_factor + 1, ..base };
        assert!(WhirEngine::new(first_too_much).config(20).is_err());
        // Rate 1 (no redundancy) has no proximity test at all.
        let rate_one = WhirParams { log_inv_rate: 0, small_codeword_vars: 0, ..base };
        assert!(WhirEngine::new(rate_one).config(20).is_err());
        let zero_first_fold = WhirParams { first_folding_factor: 0, ..base };
        assert!(WhirEngine::new(zero_first_fold).config(20).is_err());
    }

    /// WHIR's standard schedule (rate grows by `k − 1`), the default before the faster one.
    fn standard_schedule() -> WhirParams {
        WhirParams { first_folding_factor: 4, first_log_domain_shrink: 1, log_domain_shrink: 1, ..WhirParams::default() }
    }

    #[test]
    fn whir_opening_matches_msb_first_evaluation() {
        for params in [WhirParams::default(), standard_schedule()] {
            check_openings(WhirEngine::new(params));
        }
    }

    fn check_openings(engine: WhirEngine) {
        let mut rng = StdRng::seed_from_u64(7);
        for n in [MIN_NUM_VARS, 9, 12] {
            let evals: Vec<F> = (0..1usize << n).map(|_| F::from_u64(rng.random::<u32>() as u64)).collect();
            let point: Vec<EF> = (0..n).map(|_| rand_ef(&mut rng)).collect();
            let expected = eval_msb(&evals, &point);
            let (root, data) = engine.commit(evals.clone()).expect("commit");
            assert_eq!(WhirEngine::committed_evals(&data), &evals[..]);
            let mut pc = fresh_challenger();
            let proof = engine.open(&root, data, &point, &mut pc).expect("open");
            let bytes = encode_proof(&proof).expect("encode");
            let decoded = decode_proof(&bytes).expect("decode");
            let mut vc = fresh_challenger();
            let value = engine.verify(&root, &point, &decoded, &mut vc).expect("verify");
            assert_eq!(value, expected, "n = {n}");
            // The same proof checked at another point must not prove the honest value there.
            let mut other = point.clone();
            other[0] += EF::ONE;
            let mut vc = fresh_challenger();
            let other_value = engine.verify(&root, &other, &decoded, &mut vc);
            assert!(other_value.map_or(true, |v| v != eval_msb(&evals, &other)), "n = {n}");
        }
    }

    /// Structurally altered WHIR proofs (vectors shortened, lengthened or dropped — what bincode
    /// decodes from a hostile proof file) are errors, never panics, and never prove a value.
    #[test]
    fn structurally_altered_proofs_are_errors_not_panics() {
        use p3_whir::pcs::proof::QueryOpenings;
        macro_rules! rows {
            ($o:expr, $f:expr) => {
                match $o {
                    QueryOpenings::Base(x) => $f(&mut x.rows),
                    QueryOpenings::Extension(x) => $f(&mut x.rows),
                }
            };
        }
        fn pop<T>(v: &mut Vec<T>) {
            v.pop();
        }
        fn dup<T: Clone>(v: &mut Vec<T>) {
            if let Some(x) = v.last().cloned() {
                v.push(x);
            }
        }
        fn pop_inner<T>(v: &mut [Vec<T>]) {
            if let Some(r) = v.first_mut() {
                r.pop();
            }
        }
        fn dup_inner<T: Clone>(v: &mut [Vec<T>]) {
            if let Some(r) = v.first_mut() {
                dup(r);
            }
        }
        let engine = WhirEngine::new(WhirParams::default());
        let mut rng = StdRng::seed_from_u64(11);
        let n = 18;
        let evals: Vec<F> = (0..1usize << n).map(|_| F::from_u64(rng.random::<u32>() as u64)).collect();
        let point: Vec<EF> = (0..n).map(|_| rand_ef(&mut rng)).collect();
        let (root, data) = engine.commit(evals).expect("commit");
        let proof = engine.open(&root, data, &point, &mut fresh_challenger()).expect("open");
        type Edit = Box<dyn Fn(&mut WhirOpeningProof)>;
        let mut edits: Vec<(&str, Edit)> = vec![
            ("initial ood pop", Box::new(|p| pop(&mut p.whir.initial_ood_answers))),
            ("initial ood dup", Box::new(|p| dup(&mut p.whir.initial_ood_answers))),
            ("initial sumcheck evals pop", Box::new(|p| pop(&mut p.whir.initial_sumcheck.polynomial_evaluations))),
            ("initial sumcheck evals dup", Box::new(|p| dup(&mut p.whir.initial_sumcheck.polynomial_evaluations))),
            ("initial sumcheck pow pop", Box::new(|p| pop(&mut p.whir.initial_sumcheck.pow_witnesses))),
            ("initial sumcheck pow dup", Box::new(|p| dup(&mut p.whir.initial_sumcheck.pow_witnesses))),
            ("rounds pop", Box::new(|p| pop(&mut p.whir.rounds))),
            ("rounds dup", Box::new(|p| dup(&mut p.whir.rounds))),
            ("final poly dropped", Box::new(|p| p.whir.final_poly = None)),
            ("final openings rows pop", Box::new(|p| rows!(&mut p.whir.final_openings, pop))),
            ("final openings rows dup", Box::new(|p| rows!(&mut p.whir.final_openings, dup))),
            ("final openings row shortened", Box::new(|p| rows!(&mut p.whir.final_openings, pop_inner))),
            ("final openings row lengthened", Box::new(|p| rows!(&mut p.whir.final_openings, dup_inner))),
            ("final sumcheck dropped", Box::new(|p| p.whir.final_sumcheck = None)),
            ("final sumcheck emptied", Box::new(|p| p.whir.final_sumcheck = Some(Default::default()))),
            ("evals cleared", Box::new(|p| p.evals.clear())),
            ("evals dup", Box::new(|p| dup(&mut p.evals))),
        ];
        for r in 0..proof.whir.rounds.len() {
            let e: Vec<(&str, Edit)> = vec![
                ("round commitment dropped", Box::new(move |p| p.whir.rounds[r].commitment = None)),
                ("round ood pop", Box::new(move |p| pop(&mut p.whir.rounds[r].ood_answers))),
                ("round ood dup", Box::new(move |p| dup(&mut p.whir.rounds[r].ood_answers))),
                ("round rows pop", Box::new(move |p| rows!(&mut p.whir.rounds[r].openings, pop))),
                ("round rows dup", Box::new(move |p| rows!(&mut p.whir.rounds[r].openings, dup))),
                ("round row shortened", Box::new(move |p| rows!(&mut p.whir.rounds[r].openings, pop_inner))),
                ("round row lengthened", Box::new(move |p| rows!(&mut p.whir.rounds[r].openings, dup_inner))),
                ("round sumcheck evals pop", Box::new(move |p| pop(&mut p.whir.rounds[r].sumcheck.polynomial_evaluations))),
                ("round sumcheck evals dup", Box::new(move |p| dup(&mut p.whir.rounds[r].sumcheck.polynomial_evaluations))),
                ("round sumcheck pow pop", Box::new(move |p| pop(&mut p.whir.rounds[r].sumcheck.pow_witnesses))),
                ("round sumcheck pow dup", Box::new(move |p| dup(&mut p.whir.rounds[r].sumcheck.pow_witnesses))),
            ];
            edits.extend(e);
        }
        let mut failures = Vec::new();
        let mut reached = 0;
        for (name, edit) in &edits {
            let mut bad = proof.clone();
            edit(&mut bad);
            // Through the wire format, as a verifier receives it.
            let Ok(bytes) = encode_proof(&bad) else { continue };
            let Ok(decoded) = decode_proof(&bytes) else { continue };
            reached += 1;
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                engine.verify(&root, &point, &decoded, &mut fresh_challenger()).is_ok()
            }));
            match outcome {
                Err(_) => failures.push(format!("{name}: verifier panicked")),
                Ok(true) if bytes != encode_proof(&proof).expect("encode") => failures.push(format!("{name}: accepted")),
                Ok(_) => {}
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
        // Every edit is well-formed bincode: each one reached the WHIR verifier.
        assert_eq!(reached, edits.len());
        assert!(!proof.whir.rounds.is_empty(), "the fixture should have intermediate rounds");
    }
}

/// Byte breakdown of one opening (diagnostics: `ZKINFER_WHIR_BREAKDOWN_VARS=27 cargo test --release
/// -p zkinfer-pcs --lib whir_breakdown -- --ignored --nocapture`).
#[cfg(test)]
mod breakdown {
    use super::*;
    use p3_whir::pcs::proof::QueryOpenings;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use std::collections::HashMap;
    use zkinfer_field::{BasedVectorSpace, PrimeCharacteristicRing};

    fn size<T: Serialize>(x: &T) -> usize {
        use bincode::Options;
        bincode_options().serialize(x).map(|b| b.len()).unwrap_or(0)
    }

    #[test]
    #[ignore]
    fn whir_breakdown() {
        let n: usize = std::env::var("ZKINFER_WHIR_BREAKDOWN_VARS").ok().and_then(|s| s.parse().ok()).unwrap_or(20);
        // `ZKINFER_WHIR_BREAKDOWN_RATE=r`: start at rate 2^-r instead (what-if figures).
        let rate: Option<usize> = std::env::var("ZKINFER_WHIR_BREAKDOWN_RATE").ok().and_then(|s| s.parse().ok());
        let params = rate.map_or_else(WhirParams::default, |r| WhirParams { log_inv_rate: r, ..WhirParams::default() });
        let engine = WhirEngine::new(params);
        let mut rng = StdRng::seed_from_u64(5);
        let evals: Vec<F> = (0..1usize << n).map(|_| F::from_u64(rng.random::<u64>() >> 1)).collect();
        let point: Vec<EF> = (0..n).map(|_| EF::from_basis_coefficients_fn(|_| F::from_u64(rng.random::<u64>() >> 1))).collect();
        // The commitment's two halves, timed apart: the DFT (what recomputing a released codeword
        // costs at least) and the Merkle tree (what keeping the digest layers would save).
        {
            use p3_commit::Encoder;
            let config = engine.config(n).expect("config");
            let (folding, rate) = (config.round_folding_factor(0), config.starting_log_inv_rate);
            let mut values = zkinfer_field::F::zero_vec(evals.len() << rate);
            values[..evals.len()].copy_from_slice(&evals);
            let t = std::time::Instant::now();
            let encoded = engine.dft.encode_batch_padded(RowMajorMatrix::new(values, 1 << folding), rate);
            let dft_s = t.elapsed().as_secs_f64();
            let t = std::time::Instant::now();
            let (root, tree) = engine.mmcs.commit_matrix(encoded);
            let tree_s = t.elapsed().as_secs_f64();
            drop(tree);
            assert_eq!(root, engine.commit_root(&evals).expect("root"));
            eprintln!("2^{n}: DFT {dft_s:.2} s, Merkle tree {tree_s:.2} s");
        }
        let t = std::time::Instant::now();
        let (root, data) = engine.commit(evals).expect("commit");
        eprintln!("commit 2^{n}: {:.2} s", t.elapsed().as_secs_f64());
        let t = std::time::Instant::now();
        let proof = engine.open(&root, data, &point, &mut fresh_challenger()).expect("open");
        eprintln!("open: {:.2} s", t.elapsed().as_secs_f64());
        let total = encode_proof(&proof).expect("encode").len();
        let mut digests: HashMap<[u8; 32], usize> = HashMap::new();
        let mut lines = Vec::new();
        let mut open = |name: String, o: &QueryOpenings<F, EF, <ValMmcs as Mmcs<F>>::MultiProof>, lines: &mut Vec<String>| {
            let (rows, nrows, width, distinct, proof) = match o {
                QueryOpenings::Base(x) => {
                    let d: std::collections::HashSet<_> = x.rows.iter().collect();
                    (size(&x.rows), x.rows.len(), x.rows.first().map_or(0, Vec::len), d.len(), &x.proof)
                }
                QueryOpenings::Extension(x) => {
                    let d: std::collections::HashSet<_> = x.rows.iter().collect();
                    (size(&x.rows), x.rows.len(), x.rows.first().map_or(0, Vec::len), d.len(), &x.proof)
                }
            };
            for d in &proof.sibling_hashes {
                *digests.entry(*d).or_default() += 1;
            }
            lines.push(format!(
                "{name}: {nrows} rows ({distinct} distinct) of {width}: {rows} B; {} path digests: {} B",
                proof.sibling_hashes.len(),
                size(proof)
            ));
        };
        lines.push(format!("initial ood: {} B, initial sumcheck: {} B", size(&proof.whir.initial_ood_answers), size(&proof.whir.initial_sumcheck)));
        for (i, r) in proof.whir.rounds.iter().enumerate() {
            lines.push(format!(
                "round {i}: commitment {} B, ood {} B, pow {} B, sumcheck {} B",
                size(&r.commitment),
                size(&r.ood_answers),
                size(&r.pow_witness),
                size(&r.sumcheck)
            ));
            open(format!("round {i} openings"), &r.openings, &mut lines);
        }
        open("final openings".into(), &proof.whir.final_openings, &mut lines);
        lines.push(format!(
            "final poly {} B, final pow {} B, final sumcheck {} B, evals {} B",
            size(&proof.whir.final_poly),
            size(&proof.whir.final_pow_witness),
            size(&proof.whir.final_sumcheck),
            size(&proof.evals)
        ));
        let repeated: usize = digests.values().filter(|&&c| c > 1).map(|&c| c - 1).sum();
        lines.push(format!("total {total} B; digests {} distinct, {repeated} repeats", digests.len()));
        eprintln!("n = {n}\n{}", lines.join("\n"));
        eprintln!("{}", engine.config(n).map(|c| format!("{:?}", c.round_parameters().iter().map(|r| (r.num_variables, r.log_inv_rate, r.num_queries)).collect::<Vec<_>>())).expect("config"));
    }
}
