//! Where a model's metadata and tensors come from: a GGUF file, or memory (tests, tiny models).

use crate::ModelError;
use std::collections::HashMap;

/// Read access to hyperparameters and float tensors.
pub trait ModelSource {
    /// `general.architecture`.
    fn architecture(&self) -> Result<String, ModelError>;
    /// An unsigned metadata value.
    fn meta_u32(&self, key: &str) -> Result<u32, ModelError>;
    /// A float metadata value.
    fn meta_f32(&self, key: &str) -> Result<f32, ModelError>;
    /// A tensor's shape, outermost axis first (`[out, in]` for a matrix), or `None` if absent.
    fn tensor_shape(&self, name: &str) -> Option<Vec<usize>>;
    /// A tensor's values as `f32`, row-major.
    fn tensor_f32(&self, name: &str) -> Result<Vec<f32>, ModelError>;
    /// Whether a metadata key is present (optional keys: a present key of the wrong type is
    /// then an error of `meta_u32`/`meta_f32`, not a silent default).
    fn has_meta(&self, key: &str) -> bool {
        self.meta_u32(key).is_ok() || self.meta_f32(key).is_ok()
    }
    /// A string metadata value (a source without strings answers with an error).
    fn meta_str(&self, key: &str) -> Result<String, ModelError> {
        Err(ModelError::Metadata { key: key.to_owned(), msg: "no string metadata in this source".into() })
    }
}

impl ModelSource for zkinfer_gguf::GgufFile {
    fn architecture(&self) -> Result<String, ModelError> {
        zkinfer_gguf::GgufFile::architecture(self).map(str::to_owned).map_err(|e| ModelError::Source(e.to_string()))
    }
    fn meta_u32(&self, key: &str) -> Result<u32, ModelError> {
        self.get_u32(key).map_err(|e| ModelError::Metadata { key: key.to_owned(), msg: e.to_string() })
    }
    fn meta_f32(&self, key: &str) -> Result<f32, ModelError> {
        self.get_f32(key).map_err(|e| ModelError::Metadata { key: key.to_owned(), msg: e.to_string() })
    }
    fn tensor_shape(&self, name: &str) -> Option<Vec<usize>> {
        let t = self.tensor(name)?;
        t.dims.iter().rev().map(|&d| usize::try_from(d).ok()).collect()
    }
    fn has_meta(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
    fn meta_str(&self, key: &str) -> Result<String, ModelError> {
        self.get_str(key).map(str::to_owned).map_err(|e| ModelError::Metadata { key: key.to_owned(), msg: e.to_string() })
    }
    fn tensor_f32(&self, name: &str) -> Result<Vec<f32>, ModelError> {
        self.dequantize(name).map_err(|e| ModelError::Source(format!("tensor {name}: {e}")))
    }
}

/// An in-memory model: metadata and row-major float tensors.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    /// `general.architecture`.
    pub arch: String,
    /// Unsigned metadata.
    pub u32s: HashMap<String, u32>,
    /// Float metadata.
    pub f32s: HashMap<String, f32>,
    /// Tensors: shape (outermost first) and values.
    pub tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
}

impl MemorySource {
    /// A GPT-2 with the given shape and deterministic pseudo-random weights (`seed`), with
    /// non-trivial biases and LayerNorm parameters; `tied` omits `output.weight`.
    pub fn random_gpt2(n_layer: u32, n_embd: u32, n_head: u32, n_ctx: u32, n_vocab: usize, seed: u64, tied: bool) -> Self {
        let mut s = MemorySource { arch: "gpt2".into(), ..Default::default() };
        for (k, v) in [
            ("gpt2.block_count", n_layer),
            ("gpt2.embedding_length", n_embd),
            ("gpt2.attention.head_count", n_head),
            ("gpt2.context_length", n_ctx),
            ("gpt2.feed_forward_length", 4 * n_embd),
        ] {
            s.u32s.insert(k.into(), v);
        }
        s.f32s.insert("gpt2.attention.layer_norm_epsilon".into(), 1e-5);
        let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut next = move || {
            // xorshift64*, mapped to a uniform value in [-1, 1).
            rng ^= rng >> 12;
            rng ^= rng << 25;
            rng ^= rng >> 27;
            let r = rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
            (r >> 11) as f32 / (1u64 << 52) as f32 * 2.0 - 1.0
        };
        let (d, f) = (n_embd as usize, 4 * n_embd as usize);
        let mut add = |name: String, shape: Vec<usize>, scale: f32, offset: f32| {
            let n = shape.iter().product();
            let v = (0..n).map(|_| offset + scale * next()).collect();
            s.tensors.insert(name, (shape, v));
        };
        add("token_embd.weight".into(), vec![n_vocab, d], 0.2, 0.0);
        add("position_embd.weight".into(), vec![n_ctx as usize, d], 0.05, 0.0);
        for l in 0..n_layer {
            let p = |n: &str| format!("blk.{l}.{n}");
            add(p("attn_norm.weight"), vec![d], 0.2, 1.0);
            add(p("attn_norm.bias"), vec![d], 0.1, 0.0);
            add(p("attn_qkv.weight"), vec![3 * d, d], 0.2, 0.0);
            add(p("attn_qkv.bias"), vec![3 * d], 0.1, 0.0);
            add(p("attn_output.weight"), vec![d, d], 0.1, 0.0);
            add(p("attn_output.bias"), vec![d], 0.05, 0.0);
            add(p("ffn_norm.weight"), vec![d], 0.2, 1.0);
            add(p("ffn_norm.bias"), vec![d], 0.1, 0.0);
            add(p("ffn_up.weight"), vec![f, d], 0.2, 0.0);
            add(p("ffn_up.bias"), vec![f], 0.1, 0.0);
            add(p("ffn_down.weight"), vec![d, f], 0.1, 0.0);
            add(p("ffn_down.bias"), vec![d], 0.05, 0.0);
        }
        add("output_norm.weight".into(), vec![d], 0.2, 1.0);
        add("output_norm.bias".into(), vec![d], 0.1, 0.0);
        if !tied {
            add("output.weight".into(), vec![n_vocab, d], 0.2, 0.0);
        }
        s
    }
}

impl ModelSource for MemorySource {
    fn architecture(&self) -> Result<String, ModelError> {
        Ok(self.arch.clone())
    }
    fn meta_u32(&self, key: &str) -> Result<u32, ModelError> {
        self.u32s.get(key).copied().ok_or_else(|| ModelError::Metadata { key: key.into(), msg: "missing".into() })
    }
    fn meta_f32(&self, key: &str) -> Result<f32, ModelError> {
        self.f32s.get(key).copied().ok_or_else(|| ModelError::Metadata { key: key.into(), msg: "missing".into() })
    }
    fn tensor_shape(&self, name: &str) -> Option<Vec<usize>> {
        self.tensors.get(name).map(|t| t.0.clone())
    }
    fn tensor_f32(&self, name: &str) -> Result<Vec<f32>, ModelError> {
        self.tensors.get(name).map(|t| t.1.clone()).ok_or_else(|| ModelError::MissingTensor(name.into()))
    }
}

/// Another source with one tensor multiplied by a factor (tests and what-if experiments, e.g. a
/// model whose LayerNorm gains are tiny).
pub struct ScaledTensor<'a> {
    /// The source read through.
    pub inner: &'a dyn ModelSource,
    /// The tensor changed.
    pub name: String,
    /// Its factor.
    pub factor: f32,
}

impl std::fmt::Debug for ScaledTensor<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScaledTensor").field("name", &self.name).field("factor", &self.factor).finish_non_exhaustive()
    }
}

impl ModelSource for ScaledTensor<'_> {
    fn architecture(&self) -> Result<String, ModelError> {
        self.inner.architecture()
    }
    fn meta_u32(&self, key: &str) -> Result<u32, ModelError> {
        self.inner.meta_u32(key)
    }
    fn meta_f32(&self, key: &str) -> Result<f32, ModelError> {
        self.inner.meta_f32(key)
    }
    fn tensor_shape(&self, name: &str) -> Option<Vec<usize>> {
        self.inner.tensor_shape(name)
    }
    fn tensor_f32(&self, name: &str) -> Result<Vec<f32>, ModelError> {
        let v = self.inner.tensor_f32(name)?;
        Ok(if name == self.name { v.into_iter().map(|x| x * self.factor).collect() } else { v })
    }
}
