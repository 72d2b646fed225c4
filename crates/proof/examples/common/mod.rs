//! Shared by the plan examples (`chunk_plan`, `lookup_plan`): the chunks of a synthetic
//! transcript, each chunk's graph with its public values and deferred inputs, as the verifier's
//! chunk walk sees them, without proving. Every position after the first is a completion
//! position (the bench's `--prompt-tokens 1`).

use std::collections::HashMap;

use zkinfer_gguf::GgufFile;
use zkinfer_model::graph::TensorId;
use zkinfer_model::{Graph, Model};
use zkinfer_ops::{TensorRole, protocol_for};

/// One chunk: index `k`, first position `s`, `n` new positions, its graph, the public values the
/// verifier holds and the inputs deferred to commitments (the cached keys/values).
pub struct Chunk<'a> {
    pub k: usize,
    pub s: usize,
    pub n: usize,
    pub graph: &'a Graph,
    pub public: HashMap<TensorId, &'a [i64]>,
    pub deferred: Vec<TensorId>,
}

/// Runs the integer model over `total` synthetic tokens in chunks of `chunk` and calls `each`
/// per chunk, in order.
pub fn for_each_chunk(
    path: &str,
    total: usize,
    chunk: usize,
    mut each: impl FnMut(Chunk<'_>) -> Result<(), Box<dyn std::error::Error>>,
) -> Result<(), Box<dyn std::error::Error>> {
    let gguf = GgufFile::open(path)?;
    let mut model = Model::load(&gguf)?;
    model.drop_float_reference();
    drop(gguf);
    let mut cache = model.new_int_cache();
    let (mut s, mut k) = (0, 0);
    while s < total {
        let n = chunk.min(total - s);
        let ids: Vec<u32> = (s..s + n).map(|i| ((i * 7919 + 13) % 40000) as u32).collect();
        // Predictions at every row from position P − 1 = 0 on.
        let fwd = model.step_forward_int(&mut cache, &ids, n)?;
        let graph = &fwd.graph;
        let values = |t: TensorId| fwd.trace.get(t).map_or(&[][..], |v| v.data.as_slice());
        let mut public: HashMap<TensorId, &[i64]> = HashMap::new();
        let mut deferred = Vec::new();
        for &i in &graph.inputs {
            let name = &graph.meta(i).name;
            if ["tokens", "positions", "out_rows"].contains(&name.as_str()) {
                public.insert(i, values(i));
            } else {
                deferred.push(i);
            }
        }
        for (j, node) in graph.nodes.iter().enumerate() {
            if protocol_for(graph, j)?.output_role() == TensorRole::Public {
                public.insert(node.output, values(node.output));
            }
        }
        each(Chunk { k, s, n, graph, public, deferred })?;
        s += n;
        k += 1;
    }
    Ok(())
}
