//! GPT-2 as a graph of primitive integer ops, the exact integer inference that gets proven, a
//! float reference, and KV-cache generation on both.
//!
//! * [`graph`], [`ops`], [`template`], [`tables`], [`codec`], [`tensor`]: the integer graph IR
//!   (one module per op, each a small pure integer function with its proof relation), re-exported
//!   from `zkinfer-graph`, which the verifier uses without this crate.
//! * [`gpt2`]: hyperparameters, weight quantization, the graph builder.
//! * [`float`]: the `f32` reference.
//! * [`Model`]: loading from a GGUF file and the inference API.
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

pub mod float;
pub mod gpt2;
pub mod llama;
pub mod quant;
pub mod source;

// The graph IR lives in `zkinfer-graph` (shared with the verifier); re-exported under its old paths.
pub use zkinfer_graph::{codec, graph, ops, tables, template, tensor};

pub use float::{FloatCache, FloatModel};
pub use gpt2::Gpt2Config;
pub use llama::{LlamaConfig, LlamaModel, LlamaQuant};
pub use graph::{Graph, GraphBuilder, GraphError, IntTrace, Node, TensorId, TensorKind, TensorMeta, Weights, execute};
pub use ops::{IntOp, Op, OpError, Operand};
pub use quant::QuantConfig;
pub use source::{MemorySource, ModelSource, ScaledTensor};
pub use template::{Dim, GraphTemplate, Symbol, WeightMeta};
pub use tensor::{IntTensor, WeightTensor, WeightValues};

use gpt2::GraphParts;
use ops::gelu::Gelu;
use std::sync::Arc;

/// Errors loading or running a model.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// Float inference was asked of a model whose float reference was dropped.
    #[error("the float reference of this model was dropped (integer-only model)")]
    NoFloatReference,
    /// The file declares another architecture.
    #[error("unsupported architecture \"{0}\" (supported: gpt2, llama)")]
    UnsupportedArchitecture(String),
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

/// A loaded GPT-2: integer weights, float weights, and the lookup tables.
#[derive(Debug)]
pub struct Model {
    config: Gpt2Config,
    quant: QuantConfig,
    weights: Weights,
    /// The float reference (`None` once dropped with [`Model::drop_float_reference`]).
    float: Option<FloatModel>,
    gelu: Gelu,
    exp_table: Arc<[i64]>,
}

/// The integer forward pass over a whole sequence: the graph and every tensor's values.
#[derive(Debug)]
pub struct IntForward {
    /// The graph (`n_past = 0`).
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

/// Integer KV-cache state: per layer the cached key and value heads `[H, n, d]`.
#[derive(Debug, Clone)]
pub struct IntCache {
    kv: Vec<(IntTensor, IntTensor)>,
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
}

impl Model {
    /// Loads a GPT-2 from a GGUF file with the default [`QuantConfig`].
    pub fn load(gguf: &zkinfer_gguf::GgufFile) -> Result<Model, ModelError> {
        Self::from_source(gguf, QuantConfig::default())
    }

    /// Loads a GPT-2 from any source.
    pub fn from_source(src: &dyn ModelSource, quant: QuantConfig) -> Result<Model, ModelError> {
        let config = Gpt2Config::from_source(src)?;
        let tensors = gpt2::load_float_tensors(&config, src)?;
        let weights = gpt2::quantize_weights(&quant, &tensors);
        let float = FloatModel::new(config, tensors)?;
        let model = Model {
            config,
            quant,
            weights,
            float: Some(float),
            gelu: Gelu::new(quant.gelu_in_frac, quant.act_frac),
            exp_table: ops::softmax::exp_table(quant.score_frac, quant.exp_frac),
        };
        // Fail at load time, not at the first request, if the graph cannot be built.
        model.graph(1)?;
        Ok(model)
    }

    /// Hyperparameters.
    pub fn config(&self) -> &Gpt2Config {
        &self.config
    }
    /// Fixed-point choices.
    pub fn quant(&self) -> &QuantConfig {
        &self.quant
    }
    /// The committed integer weights.
    pub fn weights(&self) -> &Weights {
        &self.weights
    }
    /// The float reference (an error once it was dropped).
    pub fn float_model(&self) -> Result<&FloatModel, ModelError> {
        self.float.as_ref().ok_or(ModelError::NoFloatReference)
    }

    /// Frees the `f32` reference weights (4 bytes per parameter): proving needs only the
    /// integer model. Float inference then fails with [`ModelError::NoFloatReference`].
    pub fn drop_float_reference(&mut self) {
        self.float = None;
    }

    fn parts(&self) -> GraphParts<'_> {
        GraphParts { cfg: &self.config, quant: &self.quant, weights: &self.weights, gelu: &self.gelu, exp_table: &self.exp_table }
    }

    /// The integer graph of the causal forward pass over `seq_len` positions, with the LM head
    /// and argmax at every position.
    pub fn graph(&self, seq_len: usize) -> Result<Graph, ModelError> {
        self.parts().build(seq_len, 0)
    }

    /// The graph that is proven: the causal forward pass over `seq_len` positions with the LM
    /// head and argmax only at the `n_out` rows of the public input `out_rows` (the last
    /// prompt position and the completion; see [`ops::gather`]).
    pub fn graph_with_outputs(&self, seq_len: usize, n_out: usize) -> Result<Graph, ModelError> {
        self.parts().build_with_outputs(seq_len, 0, n_out)
    }

    /// The graph of the proven forward pass as data: [`Model::graph_with_outputs`] with the
    /// sequence length left as the symbol `T ∈ [1, n_ctx]` (inputs `tokens: [T]`,
    /// `positions: [T]`) and the number of predicted positions as `N ∈ [1, n_ctx]` (input
    /// `out_rows: [N]`), its weights referenced in [`Weights::metas`] order. Checked to reproduce
    /// the graph exactly at `T = N = 1` and `T = N = n_ctx` (see [`template`] for why both ends
    /// suffice).
    pub fn graph_template(&self) -> Result<GraphTemplate, ModelError> {
        graph_template_of(&self.weights, self.config.n_ctx, |t| self.graph(t))
    }

    /// The graph of a KV-cache step: `n_new` positions after `n_past` cached ones.
    pub fn step_graph(&self, n_new: usize, n_past: usize) -> Result<Graph, ModelError> {
        self.parts().build(n_new, n_past)
    }

    fn check_ids(&self, ids: &[u32], past: usize) -> Result<(), ModelError> {
        if ids.is_empty() {
            return Err(ModelError::Empty);
        }
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= self.config.n_vocab) {
            return Err(ModelError::TokenOutOfRange { id: id as u64, vocab: self.config.n_vocab });
        }
        if past + ids.len() > self.config.n_ctx {
            return Err(ModelError::TooLong { len: past + ids.len(), ctx: self.config.n_ctx });
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
        self.check_ids(ids, 0)?;
        if n_out == 0 || n_out > ids.len() {
            return Err(ModelError::Graph(GraphError::Invalid(format!("{n_out} predicted positions of {}", ids.len()))));
        }
        let graph = self.graph_with_outputs(ids.len(), n_out)?;
        let trace = execute(&graph, &self.weights, self.step_inputs(ids, 0, None, n_out))?;
        Ok(IntForward { graph, trace })
    }

    fn step_inputs(&self, ids: &[u32], past: usize, cache: Option<&IntCache>, n_out: usize) -> Vec<IntTensor> {
        let n = ids.len();
        let mut inputs = vec![
            IntTensor { shape: vec![n], data: ids.iter().map(|&i| i as i64).collect() },
            IntTensor { shape: vec![n], data: (past..past + n).map(|p| p as i64).collect() },
        ];
        if let Some(c) = cache {
            for (k, v) in &c.kv {
                inputs.push(k.clone());
                inputs.push(v.clone());
            }
        }
        inputs.push(last_rows(n, n_out));
        inputs
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

    /// [`Model::step_int`] with the logits of the last `n_out` new positions only.
    fn step_int_outputs(&self, cache: &mut IntCache, ids: &[u32], n_out: usize) -> Result<IntTensor, ModelError> {
        self.check_ids(ids, cache.len)?;
        let past = cache.len;
        let graph = self.parts().build_with_outputs(ids.len(), past, n_out)?;
        let inputs = self.step_inputs(ids, past, (past > 0).then_some(&*cache), n_out);
        let mut trace = execute(&graph, &self.weights, inputs)?;
        let mut kv = Vec::with_capacity(self.config.n_layer);
        for l in 0..self.config.n_layer {
            let mut take = |n: String| {
                graph
                    .find(&n)
                    .and_then(|id| trace.values.get_mut(id.0).and_then(Option::take))
                    .ok_or_else(|| ModelError::Graph(GraphError::Invalid(format!("missing {n}"))))
            };
            kv.push((take(format!("blk.{l}.attn_k"))?, take(format!("blk.{l}.attn_v"))?));
        }
        let logits = graph.outputs.first().and_then(|&id| trace.values.get_mut(id.0).and_then(Option::take));
        let logits = logits.ok_or_else(|| ModelError::Graph(GraphError::Invalid("missing logits".into())))?;
        cache.kv = kv;
        cache.len += ids.len();
        Ok(logits)
    }

    /// Fractional bits of the integer logits.
    pub fn logits_frac_bits(&self) -> i32 {
        let lm = self.weights.get(self.config.lm_head()).map_or(0, |w| w.frac_bits);
        self.quant.act_frac as i32 + lm
    }

    /// Dequantized integer logits of every position (`[ids.len()][vocab]`).
    pub fn logits_int(&self, ids: &[u32]) -> Result<Vec<Vec<f32>>, ModelError> {
        let fwd = self.forward_int(ids)?;
        let f = fwd.logits_frac_bits();
        let logits = fwd.logits()?;
        Ok(logits.data.chunks(self.config.n_vocab).map(|r| r.iter().map(|&v| (v as f64 * (-f as f64).exp2()) as f32).collect()).collect())
    }

    /// Float logits of every position (`[ids.len()][vocab]`).
    pub fn logits_f32(&self, ids: &[u32]) -> Result<Vec<Vec<f32>>, ModelError> {
        self.check_ids(ids, 0)?;
        let float = self.float_model()?;
        float.forward(&mut float.new_cache(), ids)
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
    pub fn generate_int(&self, prompt: &[u32], n: usize, mut on_token: impl FnMut(u32)) -> Result<Vec<u32>, ModelError> {
        self.check_generation(prompt, n)?;
        let mut cache = self.new_int_cache();
        let mut out = Vec::with_capacity(n);
        let mut input = prompt.to_vec();
        while out.len() < n {
            // Only the last position's prediction is needed.
            let logits = self.step_int_outputs(&mut cache, &input, 1)?;
            let v = self.config.n_vocab;
            let last = &logits.data[logits.data.len() - v..];
            let next = ops::argmax::argmax_row(last) as u32;
            on_token(next);
            out.push(next);
            input = vec![next];
        }
        Ok(out)
    }

    /// Greedy generation with the float reference and a KV cache.
    pub fn generate_f32(&self, prompt: &[u32], n: usize, mut on_token: impl FnMut(u32)) -> Result<Vec<u32>, ModelError> {
        self.check_generation(prompt, n)?;
        let float = self.float_model()?;
        let mut cache = float.new_cache();
        let mut out = Vec::with_capacity(n);
        let mut input = prompt.to_vec();
        while out.len() < n {
            let logits = float.forward(&mut cache, &input)?;
            let last = logits.last().ok_or(ModelError::Empty)?;
            let next = argmax_f32(last);
            on_token(next);
            out.push(next);
            input = vec![next];
        }
        Ok(out)
    }
}

/// The graph of a causal forward pass as a [`GraphTemplate`] with the sequence length as the
/// symbol `T ∈ [1, n_ctx]` (inputs `tokens: [T]`, `positions: [T]`) and the number of predicted
/// positions as `N ∈ [1, n_ctx]` (input `out_rows: [N]`), weights referenced in
/// [`Weights::metas`] order; `graph(t)` builds the pass over `t` positions with predictions at
/// every one. Checked to reproduce `graph(t)` exactly at `T = N = 1` and `T = N = n_ctx` (see
/// [`template`] for why both ends suffice).
pub fn graph_template_of(weights: &Weights, n_ctx: usize, graph: impl Fn(usize) -> Result<Graph, ModelError>) -> Result<GraphTemplate, ModelError> {
    let metas = weights.metas();
    let symbols = vec![Symbol { name: "T".into(), min: 1, max: n_ctx }, Symbol { name: "N".into(), min: 1, max: n_ctx }];
    let (seq, out) = (vec![Dim::Sym(0)], vec![Dim::Sym(1)]);
    let template = GraphTemplate::from_graph(&graph(1)?, symbols, &[seq.clone(), seq, out], &metas)?;
    for t in [1, n_ctx] {
        if template.instantiate(&[t, t], &metas)? != graph(t)? {
            return Err(ModelError::Graph(GraphError::Invalid(format!(
                "the graph's structure changes with the sequence length (T = {t}); it cannot be one template"
            ))));
        }
    }
    Ok(template)
}

/// The public input `out_rows` selecting the last `n_out` of `n` positions.
pub fn last_rows(n: usize, n_out: usize) -> IntTensor {
    let n_out = n_out.min(n);
    IntTensor { shape: vec![n_out], data: ((n - n_out) as i64..n as i64).collect() }
}

/// Smallest index of the maximum (NaN never wins).
pub fn argmax_f32(row: &[f32]) -> u32 {
    let mut best = 0;
    for (j, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = j;
        }
    }
    best as u32
}
