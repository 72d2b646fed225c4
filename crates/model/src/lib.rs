//! Models as graphs of primitive integer ops: the architectures, the exact integer inference that
//! gets proven, a float reference, and KV-cache generation on both.
//!
//! * [`graph`], [`ops`], [`template`], [`tables`], [`codec`], [`tensor`]: the integer graph IR
//!   (one module per op, each a small pure integer function with its proof relation), re-exported
//!   from `zkinfer-graph`, which the verifier uses without this crate.
//! * [`arch`]: the [`Architecture`] trait and the registry [`ARCHITECTURES`] keyed by
//!   `general.architecture`; [`gpt2`], [`llama`] and [`gemma`] implement it with the shared builder steps of
//!   [`build`].
//! * [`float`]: the `f32` reference — the same graph interpreted with float semantics per op.
//! * [`Model`]: loading any registered architecture from a GGUF file, and the inference API.
//!
//! The integer forward pass over prompt + completion ([`Model::forward_int`]) is the computation
//! the prover proves; [`Model::generate_int`] produces the same tokens with a KV cache, using the
//! same ops on step graphs whose attention reads the cached keys/values.
//!
//! # For provers
//!
//! `let fwd = model.forward_int(&ids)?` gives `fwd.graph` (inputs `tokens`, `positions`; outputs
//! `logits`, `next_token`) and `fwd.trace` (every activation by [`TensorId`]); weights come from
//! [`Model::weights`] by tensor name. Each node's relation is documented in its op module, and
//! the per-row witnesses that are not graph tensors are recomputed with the op's own helpers:
//! [`ops::rescale::rescale_value`], [`ops::layernorm::LayerNorm::row_stats`] (mean, var, inv),
//! [`ops::softmax::CausalSoftmax::row_parts`] (max, exps, sum), [`ops::argmax::argmax_row`].
//! [`MemorySource::random_gpt2`] builds small deterministic models for tests.

pub mod arch;
pub mod build;
pub mod float;
pub mod gemma;
pub mod gpt2;
pub mod llama;
pub mod quant;
pub mod source;

// The graph IR lives in `zkinfer-graph` (shared with the verifier); re-exported under its old paths.
pub use zkinfer_graph::{codec, graph, ops, tables, template, tensor};

pub use arch::{ARCHITECTURES, Architecture, ModelConfig, Registration, StepShape};
pub use float::{FloatCache, FloatSemantics, FloatTensor, FloatWeights, argmax_f32};
pub use gemma::{Gemma, GemmaConfig, GemmaQuant};
pub use gpt2::{Gpt2, Gpt2Config};
pub use llama::{Llama, LlamaConfig, LlamaIntCache, LlamaModel, LlamaQuant};
pub use graph::{Graph, GraphBuilder, GraphError, IntTrace, Node, TensorId, TensorSource, TensorMeta, Weights, execute};
pub use ops::{IntOp, Op, OpError, Operand};
pub use quant::QuantConfig;
pub use source::{MemorySource, ModelSource, ScaledTensor};
pub use template::{Dim, GraphTemplate, Symbol, WeightMeta};
pub use tensor::{IntTensor, WeightTensor, WeightValues};

/// Errors loading or running a model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// Float inference was asked of a model whose float reference was dropped.
    #[error("the float reference of this model was dropped (integer-only model)")]
    NoFloatReference,
    /// The file declares an architecture outside the registry ([`ARCHITECTURES`]).
    #[error("unsupported architecture \"{name}\" (supported: {supported})")]
    UnsupportedArchitecture {
        /// The file's `general.architecture`.
        name: String,
        /// The supported names, comma-separated.
        supported: String,
    },
    /// A metadata key is missing or has the wrong type.
    #[error("metadata {key}: {msg}")]
    Metadata {
        /// The key.
        key: String,
        /// What is wrong.
        msg: String,
    },
    /// A required tensor is absent.
    #[error("missing tensor {0}")]
    MissingTensor(String),
    /// A tensor has the wrong shape.
    #[error("tensor {name} has shape {got:?}, expected {expected:?}")]
    TensorShape {
        /// The tensor.
        name: String,
        /// Expected shape (outermost first).
        expected: Vec<usize>,
        /// Actual shape.
        got: Vec<usize>,
    },
    /// Inconsistent or unsupported hyperparameters.
    #[error("unsupported hyperparameters: {0}")]
    Hyperparameters(String),
    /// Reading the source failed.
    #[error("{0}")]
    Source(String),
    /// A token id is not in the vocabulary.
    #[error("token id {id} is out of range (vocabulary size {vocab})")]
    TokenOutOfRange {
        /// The id.
        id: u64,
        /// Vocabulary size.
        vocab: usize,
    },
    /// The sequence does not fit the context.
    #[error("sequence of {len} positions exceeds the context length {ctx}")]
    TooLong {
        /// Positions requested.
        len: usize,
        /// Context length.
        ctx: usize,
    },
    /// No input tokens.
    #[error("empty token sequence")]
    Empty,
    /// Graph construction or evaluation failed.
    #[error(transparent)]
    Graph(#[from] GraphError),
}

/// A loaded model of any registered [`Architecture`]: integer weights, the float reference's
/// weights, and the architecture (hyperparameters, tables, graph builder).
#[derive(Debug)]
pub struct Model {
    arch: Box<dyn Architecture>,
    config: ModelConfig,
    weights: Weights,
    /// The float reference's weights (`None` once dropped with [`Model::drop_float_reference`]).
    float: Option<FloatWeights>,
}

/// An integer forward step (a whole pass or a KV-cache step): the graph and every tensor's values.
#[derive(Debug)]
pub struct IntForward {
    /// The step graph (`n_past = 0` for a whole pass).
    pub graph: Graph,
    /// Every tensor's values.
    pub trace: IntTrace,
}

impl IntForward {
    fn output(&self, i: usize) -> Result<&IntTensor, ModelError> {
        self.graph
            .outputs
            .get(i)
            .and_then(|&id| self.trace.get(id))
            .ok_or_else(|| ModelError::Graph(GraphError::Invalid("missing output".into())))
    }
    /// The logits accumulator `[T, vocab]` (fractional bits: the graph's `logits` tensor).
    pub fn logits(&self) -> Result<&IntTensor, ModelError> {
        self.output(0)
    }
    /// The argmax of every position.
    pub fn next_tokens(&self) -> Result<Vec<u32>, ModelError> {
        Ok(self.output(1)?.data.iter().map(|&v| v as u32).collect())
    }
    /// Fractional bits of the logits.
    pub fn logits_frac_bits(&self) -> i32 {
        self.graph.outputs.first().map_or(0, |&id| self.graph.meta(id).frac_bits)
    }
}

/// Integer KV-cache state: the tensors [`Architecture::cached_tensors`] names (per layer the
/// cached key and value heads `[H_kv, n, d]`).
#[derive(Debug, Clone)]
pub struct IntCache {
    kv: Vec<IntTensor>,
    len: usize,
}

impl IntCache {
    /// Number of cached positions.
    pub fn len(&self) -> usize {
        self.len
    }
    /// True if nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// The cached tensors, in [`Architecture::cached_tensors`] order (`[H_kv, len, d]` each).
    pub fn tensors(&self) -> &[IntTensor] {
        &self.kv
    }
    /// The cached tensors, mutable (a malicious prover's tests perturb a cached key or value).
    pub fn tensors_mut(&mut self) -> &mut [IntTensor] {
        &mut self.kv
    }
}

/// The public inputs of a step: token ids, their positions, the cache, and the rows predicted
/// (the last `n_out` new positions).
fn step_inputs<T: Clone>(ids: &[u32], past: usize, cache: &[T], n_out: usize, make: impl Fn(Vec<usize>, Vec<i64>) -> T) -> Vec<T> {
    let n = ids.len();
    let mut inputs = vec![make(vec![n], ids.iter().map(|&i| i as i64).collect()), make(vec![n], (past..past + n).map(|p| p as i64).collect())];
    if past > 0 {
        inputs.extend(cache.iter().cloned());
    }
    let rows = last_rows(n, n_out);
    inputs.push(make(rows.shape, rows.data));
    inputs
}

/// The public input `out_rows` selecting the last `n_out` of `n` positions.
pub fn last_rows(n: usize, n_out: usize) -> IntTensor {
    let n_out = n_out.min(n);
    IntTensor { shape: vec![n_out], data: ((n - n_out) as i64..n as i64).collect() }
}

/// The graph ids of `names` (the tensors a step carries to the next).
fn find_all(graph: &Graph, names: &[String]) -> Result<Vec<TensorId>, ModelError> {
    names.iter().map(|n| graph.find(n).ok_or_else(|| ModelError::Graph(GraphError::Invalid(format!("missing {n}"))))).collect()
}

impl Model {
    /// Loads a model of any registered architecture from a GGUF file with the default
    /// [`QuantConfig`].
    pub fn load(gguf: &zkinfer_gguf::GgufFile) -> Result<Model, ModelError> {
        Self::from_source(gguf, QuantConfig::default())
    }

    /// Loads a model from any source: the architecture its `general.architecture` names (an
    /// unknown one is refused, naming the supported ones).
    pub fn from_source(src: &dyn ModelSource, quant: QuantConfig) -> Result<Model, ModelError> {
        Self::with_architecture(arch::read(src, quant)?, src)
    }

    /// Loads the tensors `arch` names from `src`, quantizes them, and keeps their real values for
    /// the float reference.
    pub fn with_architecture(arch: Box<dyn Architecture>, src: &dyn ModelSource) -> Result<Model, ModelError> {
        let tensors = arch::load_float_tensors(arch.tensor_shapes(), src)?;
        let weights = arch.quantize(&tensors);
        let float = FloatWeights::new(arch.float_weights(tensors));
        let model = Model { config: arch.config(), arch, weights, float: Some(float) };
        // Fail at load time, not at the first request, if the graph cannot be built.
        model.graph(1)?;
        Ok(model)
    }

    /// The architecture (its name is the GGUF's `general.architecture`).
    pub fn architecture(&self) -> &dyn Architecture {
        &*self.arch
    }
    /// The hyperparameters every architecture has.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }
    /// The architecture's own hyperparameters, if they are a `T` (e.g. [`Gpt2Config`],
    /// [`LlamaConfig`]).
    pub fn hyperparameters<T: 'static>(&self) -> Option<&T> {
        self.arch.hyperparameters().downcast_ref()
    }
    /// The architecture, if it is a `T` (e.g. [`Gpt2`], [`Llama`]).
    pub fn architecture_as<T: 'static>(&self) -> Option<&T> {
        self.arch.as_any().downcast_ref()
    }
    /// Fixed-point choices.
    pub fn quant(&self) -> &QuantConfig {
        self.arch.quant()
    }
    /// The committed integer weights.
    pub fn weights(&self) -> &Weights {
        &self.weights
    }
    /// Moves the committed integer weights out, leaving none: a prover that does not need them
    /// for a while (`zkinfer_proof` during the witness opening) keeps them elsewhere and gives
    /// them back with [`Model::restore_weights`]. Until then every graph, inference or commitment
    /// of this model sees no weights and fails.
    pub fn take_weights(&mut self) -> Weights {
        std::mem::take(&mut self.weights)
    }
    /// Puts back the weights [`Model::take_weights`] took (the caller checks they are the same,
    /// e.g. against the key's weight commitment).
    pub fn restore_weights(&mut self, weights: Weights) {
        self.weights = weights;
    }
    /// Whether the float reference is loaded.
    pub fn has_float_reference(&self) -> bool {
        self.float.is_some()
    }

    /// Frees the `f32` reference weights (4 bytes per parameter): proving needs only the
    /// integer model. Float inference then fails with [`ModelError::NoFloatReference`].
    pub fn drop_float_reference(&mut self) {
        self.float = None;
    }

    /// The integer graph of the causal forward pass over `seq_len` positions, with the LM head
    /// and argmax at every position.
    pub fn graph(&self, seq_len: usize) -> Result<Graph, ModelError> {
        self.graph_with_outputs(seq_len, seq_len)
    }

    /// The graph that is proven: the causal forward pass over `seq_len` positions with the LM
    /// head and argmax only at the `n_out` rows of the public input `out_rows` (the last prompt
    /// position and the completion; see [`ops::gather`]).
    pub fn graph_with_outputs(&self, seq_len: usize, n_out: usize) -> Result<Graph, ModelError> {
        self.arch.build(&self.weights, StepShape::pass(seq_len, n_out))
    }

    /// The graph of the proven forward pass as data: [`Model::graph_with_outputs`] with the
    /// sequence length left as the symbol `T ∈ [1, n_ctx]` (inputs `tokens: [T]`,
    /// `positions: [T]`) and the number of predicted positions as `N ∈ [1, n_ctx]` (input
    /// `out_rows: [N]`), its weights referenced in [`Weights::metas`] order. Checked to reproduce
    /// the graph exactly at `T = N = 1` and `T = N = n_ctx` (see [`template`] for why both ends
    /// suffice).
    pub fn graph_template(&self) -> Result<GraphTemplate, ModelError> {
        let metas = self.weights.metas();
        let n_ctx = self.config.n_ctx;
        let symbols = vec![Symbol { name: "T".into(), min: 1, max: n_ctx }, Symbol { name: "N".into(), min: 1, max: n_ctx }];
        let (seq, out) = (vec![Dim::Sym(0)], vec![Dim::Sym(1)]);
        let template = GraphTemplate::from_graph(&self.graph(1)?, symbols, &[seq.clone(), seq, out], &metas)?;
        for t in [1, n_ctx] {
            if template.instantiate(&[t, t], &metas)? != self.graph(t)? {
                return Err(ModelError::Graph(GraphError::Invalid(format!(
                    "the graph's structure changes with the sequence length (T = {t}); it cannot be one template"
                ))));
            }
        }
        Ok(template)
    }

    /// The graph of a KV-cache step as data: [`Architecture::build`] at
    /// `StepShape { n_new: T, n_past: P, n_out: N }` with the symbols `T`, `P`, `N ∈ [1, n_ctx − 1]`
    /// (inputs `tokens: [T]`, `positions: [T]`, every cached tensor `X_past: [·, P, ·]` in
    /// [`Architecture::cached_tensors`] order, `out_rows: [N]`); the verifier of a chunked proof
    /// instantiates it for every chunk after the first, and must itself refuse `T + P > n_ctx`.
    /// Checked to reproduce the builder's graph at `T = P = N = 1` and at the largest binding the
    /// context allows in each direction (`T = N = n_ctx − 1, P = 1` and `T = N = 1, P = n_ctx − 1`).
    pub fn step_graph_template(&self) -> Result<GraphTemplate, ModelError> {
        let metas = self.weights.metas();
        let n_ctx = self.config.n_ctx;
        if n_ctx < 2 {
            return Err(ModelError::Graph(GraphError::Invalid("a context of one position has no KV-cache step".into())));
        }
        let sym = |name: &str| Symbol { name: name.into(), min: 1, max: n_ctx - 1 };
        let symbols = vec![sym("T"), sym("P"), sym("N")];
        let small = self.arch.build(&self.weights, StepShape { n_new: 1, n_past: 1, n_out: 1 })?;
        let mut shapes: Vec<Vec<Dim>> = vec![vec![Dim::Sym(0)], vec![Dim::Sym(0)]];
        for name in self.arch.cached_tensors() {
            let id = small.find(&format!("{name}_past")).ok_or_else(|| ModelError::Graph(GraphError::Invalid(format!("missing {name}_past"))))?;
            let shape = &small.meta(id).shape;
            if shape.len() != 3 || small.inputs.get(shapes.len()) != Some(&id) {
                return Err(ModelError::Graph(GraphError::Invalid(format!("cached input {name}_past is not [·, P, ·] in cache order"))));
            }
            shapes.push(vec![Dim::Const(shape[0]), Dim::Sym(1), Dim::Const(shape[2])]);
        }
        shapes.push(vec![Dim::Sym(2)]);
        let template = GraphTemplate::from_graph(&small, symbols, &shapes, &metas)?;
        for (t, p) in [(n_ctx - 1, 1), (1, n_ctx - 1)] {
            if template.instantiate(&[t, p, t], &metas)? != self.arch.build(&self.weights, StepShape { n_new: t, n_past: p, n_out: t })? {
                return Err(ModelError::Graph(GraphError::Invalid(format!(
                    "the KV-cache step graph's structure changes with its sizes (T = {t}, P = {p}); it cannot be one template"
                ))));
            }
        }
        Ok(template)
    }

    /// The graph of a KV-cache step: `n_new` positions after `n_past` cached ones, predictions at
    /// every new position.
    pub fn step_graph(&self, n_new: usize, n_past: usize) -> Result<Graph, ModelError> {
        self.arch.build(&self.weights, StepShape { n_new, n_past, n_out: n_new })
    }

    fn check_ids(&self, ids: &[u32], past: usize) -> Result<(), ModelError> {
        if ids.is_empty() {
            return Err(ModelError::Empty);
        }
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= self.config.n_vocab) {
            return Err(ModelError::TokenOutOfRange { id: id as u64, vocab: self.config.n_vocab });
        }
        if past.saturating_add(ids.len()) > self.config.n_ctx {
            return Err(ModelError::TooLong { len: past.saturating_add(ids.len()), ctx: self.config.n_ctx });
        }
        Ok(())
    }

    /// The integer forward pass over `ids` (positions `0..len`), predictions at every position.
    pub fn forward_int(&self, ids: &[u32]) -> Result<IntForward, ModelError> {
        self.forward_int_outputs(ids, ids.len())
    }

    /// The proven computation: the integer forward pass over `ids` with the LM head and argmax at
    /// the last `n_out` positions only ([`Model::graph_with_outputs`]).
    pub fn forward_int_outputs(&self, ids: &[u32], n_out: usize) -> Result<IntForward, ModelError> {
        self.run_step_int(&[], 0, ids, n_out)
    }

    /// The step graph of `ids` after `past` cached positions (`cache`: the tensors of
    /// [`Architecture::cached_tensors`] over those positions) with predictions at the last `n_out`
    /// new positions, and its trace.
    fn run_step_int(&self, cache: &[IntTensor], past: usize, ids: &[u32], n_out: usize) -> Result<IntForward, ModelError> {
        self.check_ids(ids, past)?;
        if n_out == 0 || n_out > ids.len() {
            return Err(ModelError::Graph(GraphError::Invalid(format!("{n_out} predicted positions of {}", ids.len()))));
        }
        let graph = self.arch.build(&self.weights, StepShape { n_new: ids.len(), n_past: past, n_out })?;
        let trace = execute(&graph, &self.weights, step_inputs(ids, past, cache, n_out, |shape, data| IntTensor { shape, data }))?;
        Ok(IntForward { graph, trace })
    }

    /// One KV-cache step over `ids` as a provable pass, for every architecture: the step graph
    /// of [`Architecture::build`] at `StepShape { n_new: ids.len(), n_past: cache.len(), n_out }`
    /// (when the cache is not empty, the cached tensors are inputs `X_past`, prepended to the
    /// new ones by `ConcatSeq`, and the causal softmax runs at query offset `cache.len()`) with
    /// predictions at the last `n_out` new positions, and its trace. The cache is extended by
    /// the step's keys and values. A chunk of the chunked prover is such a step.
    pub fn step_forward_int(&self, cache: &mut IntCache, ids: &[u32], n_out: usize) -> Result<IntForward, ModelError> {
        let step = self.run_step_int(&cache.kv, cache.len, ids, n_out)?;
        let kv = find_all(&step.graph, &self.arch.cached_tensors())?
            .into_iter()
            .map(|id| step.trace.get(id).cloned().ok_or_else(|| ModelError::Graph(GraphError::Invalid(format!("missing {}", step.graph.meta(id).name)))))
            .collect::<Result<_, _>>()?;
        cache.kv = kv;
        cache.len += ids.len();
        Ok(step)
    }

    /// An empty integer KV cache.
    pub fn new_int_cache(&self) -> IntCache {
        IntCache { kv: Vec::new(), len: 0 }
    }

    /// Runs `ids` after the cached positions with the integer model; returns the logits
    /// accumulator rows `[ids.len(), vocab]` and updates the cache.
    pub fn step_int(&self, cache: &mut IntCache, ids: &[u32]) -> Result<IntTensor, ModelError> {
        self.step_int_outputs(cache, ids, ids.len())
    }

    /// Extends the cache by `ids` (the step's keys and values), computing the logits of the last
    /// position only: what the chunked prover runs ahead to commit an epoch's keys/values.
    pub fn advance_int_cache(&self, cache: &mut IntCache, ids: &[u32]) -> Result<(), ModelError> {
        self.step_int_outputs(cache, ids, 1).map(|_| ())
    }

    /// [`Model::step_int`] with the logits of the last `n_out` new positions only.
    fn step_int_outputs(&self, cache: &mut IntCache, ids: &[u32], n_out: usize) -> Result<IntTensor, ModelError> {
        let IntForward { graph, mut trace } = self.run_step_int(&cache.kv, cache.len, ids, n_out)?;
        let mut take = |id: TensorId| {
            trace.values.get_mut(id.0).and_then(Option::take).ok_or_else(|| ModelError::Graph(GraphError::Invalid(format!("missing {}", graph.meta(id).name))))
        };
        let kv = find_all(&graph, &self.arch.cached_tensors())?.into_iter().map(&mut take).collect::<Result<_, _>>()?;
        let logits = take(*graph.outputs.first().ok_or_else(|| ModelError::Graph(GraphError::Invalid("missing logits".into())))?)?;
        cache.kv = kv;
        cache.len += ids.len();
        Ok(logits)
    }

    /// An empty float KV cache.
    pub fn new_float_cache(&self) -> FloatCache {
        FloatCache::default()
    }

    /// Runs `ids` after the cached positions with the float reference (the same step graph, float
    /// semantics); returns their logits (`[ids.len()][vocab]`) and updates the cache.
    pub fn step_f32(&self, cache: &mut FloatCache, ids: &[u32]) -> Result<Vec<Vec<f32>>, ModelError> {
        self.step_f32_outputs(cache, ids, ids.len())
    }

    /// [`Model::step_f32`] with the logits of the last `n_out` new positions only.
    fn step_f32_outputs(&self, cache: &mut FloatCache, ids: &[u32], n_out: usize) -> Result<Vec<Vec<f32>>, ModelError> {
        let float = self.float.as_ref().ok_or(ModelError::NoFloatReference)?;
        self.check_ids(ids, cache.len)?;
        let past = cache.len;
        let graph = self.arch.build(&self.weights, StepShape { n_new: ids.len(), n_past: past, n_out })?;
        let inputs = step_inputs(ids, past, &cache.kv, n_out, |shape, data| FloatTensor { shape, data: data.into_iter().map(|v| v as f32).collect() });
        let keep = find_all(&graph, &self.arch.cached_tensors())?;
        let mut trace = float::execute_f32(&graph, float, &self.arch.float_semantics(), inputs, &keep)?;
        let mut take = |id: TensorId| {
            trace.values.get_mut(id.0).and_then(Option::take).ok_or_else(|| ModelError::Graph(GraphError::Invalid(format!("missing {}", graph.meta(id).name))))
        };
        let kv = keep.into_iter().map(&mut take).collect::<Result<_, _>>()?;
        let logits = take(*graph.outputs.first().ok_or_else(|| ModelError::Graph(GraphError::Invalid("missing logits".into())))?)?;
        cache.kv = kv;
        cache.len += ids.len();
        Ok(logits.data.chunks(self.config.n_vocab).map(|r| self.capped(r.iter().copied())).collect())
    }

    /// A row of reported logits: the architecture's final soft-cap applied (Gemma 2), else as is.
    fn capped(&self, row: impl Iterator<Item = f32>) -> Vec<f32> {
        match self.arch.final_logit_softcap() {
            Some(c) => row.map(|v| crate::ops::softcap::softcap_f64(f64::from(v), f64::from(c)) as f32).collect(),
            None => row.collect(),
        }
    }

    /// Fractional bits of the integer logits.
    pub fn logits_frac_bits(&self) -> i32 {
        let lm = self.weights.get(self.config.lm_head()).map_or(0, |w| w.frac_bits);
        self.quant().act_frac as i32 + lm
    }

    /// Dequantized integer logits of every position (`[ids.len()][vocab]`), with the
    /// architecture's final soft-cap applied ([`Architecture::final_logit_softcap`]).
    pub fn logits_int(&self, ids: &[u32]) -> Result<Vec<Vec<f32>>, ModelError> {
        let fwd = self.forward_int(ids)?;
        let f = fwd.logits_frac_bits();
        let logits = fwd.logits()?;
        Ok(logits.data.chunks(self.config.n_vocab).map(|r| self.capped(r.iter().map(|&v| (v as f64 * (-f as f64).exp2()) as f32))).collect())
    }

    /// Float logits of every position (`[ids.len()][vocab]`).
    pub fn logits_f32(&self, ids: &[u32]) -> Result<Vec<Vec<f32>>, ModelError> {
        self.check_ids(ids, 0)?;
        self.step_f32(&mut self.new_float_cache(), ids)
    }

    fn check_generation(&self, prompt: &[u32], n: usize) -> Result<(), ModelError> {
        self.check_ids(prompt, 0)?;
        // The proof covers one forward pass over prompt + completion − 1 positions: the last
        // generated token is never fed back, so `prompt + n − 1 ≤ n_ctx` (the same count as the
        // proof's request check and the CLI's).
        let positions = prompt.len().saturating_add(n.max(1) - 1);
        if positions > self.config.n_ctx {
            return Err(ModelError::TooLong { len: positions, ctx: self.config.n_ctx });
        }
        Ok(())
    }

    /// Greedy generation of `n` tokens with the integer model and a KV cache; `on_token` sees
    /// each token as soon as it is produced. `prompt.len() + n − 1` positions must fit the context.
    pub fn generate_int(&self, prompt: &[u32], n: usize, on_token: impl FnMut(u32)) -> Result<Vec<u32>, ModelError> {
        self.generate_int_until(prompt, n, &[], on_token)
    }

    /// [`Model::generate_int`] stopping after a token in `stop` (included in the output; see
    /// [`Architecture::stop_tokens`]).
    pub fn generate_int_until(&self, prompt: &[u32], n: usize, stop: &[u32], mut on_token: impl FnMut(u32)) -> Result<Vec<u32>, ModelError> {
        self.generate_int_while(prompt, n, stop, |tok| {
            on_token(tok);
            true
        })
    }

    /// [`Model::generate_int_until`] that also stops, returning the tokens so far, after a token
    /// for which `on_token` returns false (a consumer that went away cancels the generation).
    pub fn generate_int_while(&self, prompt: &[u32], n: usize, stop: &[u32], mut on_token: impl FnMut(u32) -> bool) -> Result<Vec<u32>, ModelError> {
        self.generate_int_with_cache(prompt, n, stop, |tok, _| on_token(tok))
    }

    /// [`Model::generate_int_while`] whose `on_token` also sees the KV cache right after the step
    /// that produced the token (it then holds the keys/values of every position fed so far:
    /// `prompt.len() + i` after the `i + 1`-th token). The chunked prover takes the keys/values
    /// it commits ahead of its chunks from here instead of recomputing them.
    pub fn generate_int_with_cache(&self, prompt: &[u32], n: usize, stop: &[u32], mut on_token: impl FnMut(u32, &IntCache) -> bool) -> Result<Vec<u32>, ModelError> {
        self.check_generation(prompt, n)?;
        let mut cache = self.new_int_cache();
        let v = self.config.n_vocab;
        let mut out = Vec::with_capacity(n);
        let mut input = prompt.to_vec();
        while out.len() < n {
            // Only the last position's prediction is needed.
            let logits = self.step_int_outputs(&mut cache, &input, 1)?;
            let next = ops::argmax::argmax_row(&logits.data[logits.data.len() - v..]) as u32;
            out.push(next);
            if !on_token(next, &cache) || stop.contains(&next) {
                break;
            }
            input = vec![next];
        }
        Ok(out)
    }

    /// Greedy generation with the float reference and a KV cache.
    pub fn generate_f32(&self, prompt: &[u32], n: usize, on_token: impl FnMut(u32)) -> Result<Vec<u32>, ModelError> {
        self.generate_f32_until(prompt, n, &[], on_token)
    }

    /// [`Model::generate_f32`] stopping after a token in `stop`.
    pub fn generate_f32_until(&self, prompt: &[u32], n: usize, stop: &[u32], on_token: impl FnMut(u32)) -> Result<Vec<u32>, ModelError> {
        self.check_generation(prompt, n)?;
        if self.float.is_none() {
            return Err(ModelError::NoFloatReference);
        }
        let mut cache = self.new_float_cache();
        self.greedy(prompt, n, stop, on_token, |input| {
            let logits = self.step_f32_outputs(&mut cache, input, 1)?;
            Ok(argmax_f32(logits.last().ok_or(ModelError::Empty)?))
        })
    }

    /// The greedy loop: `step` runs the new ids and returns the next token.
    fn greedy(
        &self,
        prompt: &[u32],
        n: usize,
        stop: &[u32],
        mut on_token: impl FnMut(u32),
        mut step: impl FnMut(&[u32]) -> Result<u32, ModelError>,
    ) -> Result<Vec<u32>, ModelError> {
        let mut out = Vec::with_capacity(n);
        let mut input = prompt.to_vec();
        while out.len() < n {
            let next = step(&input)?;
            on_token(next);
            out.push(next);
            if stop.contains(&next) {
                break;
            }
            input = vec![next];
        }
        Ok(out)
    }
}
