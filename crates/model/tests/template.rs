//! Graph templates: the graph as data. Round trips, instantiation at every length, and the
//! malformed templates a key could carry (cycles, shape mismatches, bounds over the field's
//! headroom, huge length fields, random corruption): each is refused with an error, never a panic.
#![allow(clippy::unwrap_used)] // tests: a panic is a failure report

use zkinfer_model::codec::{Reader, Writer};
use zkinfer_model::ops::rescale::Rescale;
use zkinfer_model::ops::slice::SliceCols;
use zkinfer_model::template::TensorDecl;
use zkinfer_model::{GraphTemplate, MemorySource, Model, Op, QuantConfig, WeightMeta};

fn model() -> Model {
    Model::from_source(&MemorySource::random_gpt2(2, 32, 2, 16, 97, 5, true), QuantConfig::default()).unwrap()
}

fn encode(t: &GraphTemplate) -> Vec<u8> {
    let mut w = Writer::new();
    t.encode(&mut w);
    w.into_bytes()
}

fn decode(b: &[u8]) -> Result<GraphTemplate, String> {
    let mut r = Reader::new(b);
    let t = GraphTemplate::decode(&mut r).map_err(|e| e.to_string())?;
    r.finish().map_err(|e| e.to_string())?;
    Ok(t)
}

/// Decoding and the key's check together (what `VerifyingKey::from_bytes` runs).
fn accept(b: &[u8], w: &[WeightMeta]) -> Result<GraphTemplate, String> {
    let t = decode(b)?;
    t.check(w).map_err(|e| e.to_string())?;
    Ok(t)
}

fn node_of(t: &GraphTemplate, name: &str) -> usize {
    let id = t.tensors.iter().position(|d| matches!(d, TensorDecl::Activation { name: n, .. } if n == name)).unwrap();
    t.nodes.iter().position(|n| n.output.0 == id).unwrap()
}

#[test]
fn template_round_trips_and_instantiates_to_the_builders_graph_at_every_length() {
    let m = model();
    let w = m.weights().metas();
    let t = m.graph_template().unwrap();
    let decoded = accept(&encode(&t), &w).unwrap();
    assert_eq!(decoded, t);
    for len in 1..=16 {
        assert_eq!(decoded.instantiate(&[len, len], &w).unwrap(), m.graph(len).unwrap(), "T = {len}");
        for n_out in [1, len / 2 + 1] {
            assert_eq!(decoded.instantiate(&[len, n_out], &w).unwrap(), m.graph_with_outputs(len, n_out).unwrap(), "T = {len}, N = {n_out}");
        }
    }
    assert!(t.instantiate(&[0, 1], &w).is_err(), "T below its range");
    assert!(t.instantiate(&[17, 1], &w).is_err(), "T above its range");
    assert!(t.instantiate(&[1, 0], &w).is_err(), "N below its range");
    assert!(t.instantiate(&[1], &w).is_err(), "too few symbol values");
    assert!(t.instantiate(&[1, 1, 1], &w).is_err(), "too many symbol values");
}

#[test]
fn cycles_and_out_of_order_nodes_are_refused() {
    let m = model();
    let w = m.weights().metas();
    let t = m.graph_template().unwrap();
    // A consumer moved before its producer.
    let p = node_of(&t, "blk.0.attn_qkv.acc");
    let c = t.nodes.iter().position(|n| n.inputs.contains(&t.nodes[p].output)).unwrap();
    let mut bad = t.clone();
    bad.nodes.swap(p, c);
    let e = accept(&encode(&bad), &w).unwrap_err();
    assert!(e.contains("not produced before"), "{e}");
    // A node reading its own output (the smallest cycle).
    let mut bad = t.clone();
    let out = bad.nodes[p].output;
    bad.nodes[p].inputs[0] = out;
    assert!(accept(&encode(&bad), &w).unwrap_err().contains("not produced before"));
    // Two producers of one activation.
    let mut bad = t.clone();
    let dup = bad.nodes[p].clone();
    bad.nodes.insert(p + 1, dup);
    assert!(accept(&encode(&bad), &w).unwrap_err().contains("fresh activation"));
    // An activation nobody produces.
    let mut bad = t.clone();
    bad.tensors.push(TensorDecl::Activation { name: "orphan".into(), frac_bits: 0 });
    assert!(accept(&encode(&bad), &w).unwrap_err().contains("never produced"));
}

#[test]
fn shape_mismatches_are_refused_by_the_ops_rules() {
    let m = model();
    let w = m.weights().metas();
    let t = m.graph_template().unwrap();
    // The query columns sliced one column short: the head split no longer divides.
    let mut bad = t.clone();
    let n = node_of(&t, "blk.0.attn_q.cols");
    bad.nodes[n].op = Op::SliceCols(SliceCols { start: 0, len: 31 });
    let e = accept(&encode(&bad), &w).unwrap_err();
    assert!(e.contains("shape"), "{e}");
    // A matmul pointed at a weight of another shape.
    let mut bad = t.clone();
    let n = node_of(&t, "blk.0.attn_qkv.acc");
    let other = w.iter().position(|m| m.name == "blk.0.ffn_up.weight").unwrap();
    let wid = bad.nodes[n].inputs[1].0;
    bad.tensors[wid] = TensorDecl::Weight(other);
    assert!(accept(&encode(&bad), &w).is_err());
    // A weight index outside the key's list.
    let mut bad = t.clone();
    bad.tensors[wid] = TensorDecl::Weight(w.len());
    assert!(accept(&encode(&bad), &w).unwrap_err().contains("outside the key"));
    // A weight where an activation is expected.
    let mut bad = t.clone();
    let n = node_of(&t, "blk.0.attn_resid");
    bad.nodes[n].inputs[0] = bad.nodes[node_of(&t, "blk.0.attn_qkv.acc")].inputs[1];
    assert!(accept(&encode(&bad), &w).unwrap_err().contains("wrong kind"));
}

#[test]
fn bounds_over_the_fields_headroom_are_refused() {
    let m = model();
    let w = m.weights().metas();
    let t = m.graph_template().unwrap();
    // A rescale that multiplies by 2^40 instead of dividing.
    let mut bad = t.clone();
    let n = node_of(&t, "blk.0.attn_qkv.out");
    bad.nodes[n].op = Op::Rescale(Rescale { shift: -40 });
    let e = accept(&encode(&bad), &w).unwrap_err();
    assert!(e.contains("2^62") || e.contains("exceeds") || e.contains("need"), "{e}");
    // A weight declared wider than the matmul accepts.
    let mut wide = w.clone();
    let i = wide.iter().position(|m| m.name == "blk.0.attn_qkv.weight").unwrap();
    wide[i].bits = 40;
    assert!(t.check(&wide).is_err());
    // A weight bound over 2^62.
    wide[i].bits = 63;
    assert!(t.check(&wide).unwrap_err().to_string().contains("2^62"));
    // An input bound over 2^62 never decodes.
    let mut bad = t.clone();
    let TensorDecl::Input { bits, .. } = &mut bad.tensors[t.inputs[0].0] else { panic!("input") };
    *bits = 63;
    assert!(decode(&encode(&bad)).unwrap_err().contains("headroom"));
    // A sequence length whose scores would exceed the size caps.
    let mut bad = t.clone();
    bad.symbols[0].max = 1 << 30;
    assert!(accept(&encode(&bad), &w).is_err());
}

#[test]
fn huge_length_fields_and_corruption_are_refused_without_panicking() {
    let m = model();
    let w = m.weights().metas();
    let t = m.graph_template().unwrap();
    let good = encode(&t);
    // The first field is the symbol count; then per symbol (T, N) name, min, max; then the
    // tensor count.
    for (at, v) in [(0usize, u32::MAX), (0, 5)] {
        let mut b = good.clone();
        b[at..at + 4].copy_from_slice(&v.to_le_bytes());
        assert!(decode(&b).is_err());
    }
    let tensors_at = 4 + 2 * (4 + 1 + 16);
    let mut b = good.clone();
    b[tensors_at..tensors_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(decode(&b).unwrap_err().contains("exceeds what the remaining"));
    let mut b = good.clone();
    b[4 + 4 + 1 + 8..4 + 4 + 1 + 16].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(decode(&b).unwrap_err().contains("symbol range"));
    for cut in (0..good.len()).step_by(7) {
        assert!(decode(&good[..cut]).is_err(), "truncation to {cut} bytes accepted");
    }
    // Random byte corruption: decoded or refused, never a panic; whatever decodes and passes the
    // check instantiates without panicking.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    // (Each accepted decode rebuilds the GELU and exp tables with the integer builders, ~20 ms.)
    for _ in 0..400 {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let mut b = good.clone();
        let at = (state >> 33) as usize % b.len();
        b[at] ^= (state >> 7) as u8 | 1;
        if let Ok(t) = accept(&b, &w) {
            let _ = t.instantiate(&[3, 2], &w);
        }
    }
}

#[test]
fn every_llama_op_round_trips_through_the_key_codec() {
    use zkinfer_model::ops::TableCache;
    use zkinfer_model::ops::{mul::Mul, repeat_kv::RepeatKv, rmsnorm::RmsNorm, rope::Rope, silu::Silu};
    let ops = [
        Op::RmsNorm(RmsNorm { eps: 3, k: 20, shift: 25 }),
        Op::Rope(Rope::new(16, 10000.0, 14, 32).unwrap()),
        Op::Rope(Rope::with_freq_factors(8, 500000.0, 16, 40, vec![1.0, 1.5, 7.25, 8.0].into()).unwrap()),
        Op::Mul(Mul),
        Op::Silu(Silu::new(10, 12, 15)),
        Op::RepeatKv(RepeatKv { group: 3 }),
    ];
    for op in ops {
        let mut w = Writer::new();
        op.encode(&mut w);
        let b = w.into_bytes();
        let mut r = Reader::new(&b);
        assert_eq!(Op::decode(&mut r, &mut TableCache::default()).unwrap(), op);
        r.finish().unwrap();
    }
    // A SiLU descriptor outside its builder's range is refused, not silently normalised.
    let mut w = Writer::new();
    Op::Silu(Silu::new(10, 12, 15)).encode(&mut w);
    let mut b = w.into_bytes();
    b[1..5].copy_from_slice(&40u32.to_le_bytes());
    assert!(Op::decode(&mut Reader::new(&b), &mut TableCache::default()).is_err());
}

/// Review: decoding rebuilds every table-driven op's table from its descriptor. A hostile key of a
/// few hundred kilobytes listing many table ops with *distinct* descriptors (a RoPE table alone
/// may have 2^22 entries, 32 MiB) made the decoder build them all (one per node, RoPE and SiLU
/// were not even shared) before any other check: tens of gigabytes from a small file. Now tables
/// are shared by descriptor and the distinct ones are capped in total, checked before building.
#[test]
fn hostile_table_descriptors_are_refused_before_building() {
    use zkinfer_model::graph::{Node, TensorId};
    use zkinfer_model::ops::rope::Rope;
    use zkinfer_model::ops::{MAX_TABLE_ENTRIES, TableCache};
    // Decoding alone (no wiring check yet): one input tensor, nodes reading and writing it.
    let template = |ops: Vec<Op>| GraphTemplate {
        symbols: Vec::new(),
        tensors: vec![TensorDecl::Input { name: "x".into(), shape: Vec::new(), frac_bits: 0, bits: 1 }],
        nodes: ops.into_iter().map(|op| Node { op, inputs: vec![TensorId(0), TensorId(0)], output: TensorId(0) }).collect(),
        inputs: Vec::new(),
        outputs: Vec::new(),
    };
    // Small stand-in tables are encoded (only the descriptor is written); the decoder builds
    // the real ones. 64 RoPE descriptors of 2^22 entries: 2 GiB if all were built.
    let rope = |n_ctx: usize| Op::Rope(Rope { n_rot: 2, base: 10000.0, frac: 16, n_ctx, freq_factors: std::sync::Arc::from(Vec::new()), table: std::sync::Arc::from(Vec::new()) });
    let hostile = template((0..64).map(|i| rope((1 << 21) - i)).collect());
    let start = std::time::Instant::now();
    let e = decode(&encode(&hostile)).unwrap_err();
    assert!(e.contains("function tables"), "{e}");
    assert!(start.elapsed().as_secs() < 5, "refused only after {:?}", start.elapsed());
    // Distinct SiLU descriptors (2^16 entries each) hit the same cap.
    let silu = |f: u32| Op::Silu(zkinfer_model::ops::silu::Silu { in_frac: f % 31, out_frac: f / 31, in_bits: 16, f: zkinfer_model::ops::silu::SiluFn, table: std::sync::Arc::from(Vec::new()) });
    let n = MAX_TABLE_ENTRIES / (1 << 16) + 1;
    assert!(decode(&encode(&template((0..n as u32).map(silu).collect()))).unwrap_err().contains("function tables"));
    // Identical descriptors share one table: many RoPE nodes of one descriptor decode, and cost
    // one table.
    let honest = template(vec![rope(1 << 21); 200]);
    let decoded = decode(&encode(&honest)).unwrap();
    let tables: Vec<_> = decoded.nodes.iter().map(|n| match &n.op {
        Op::Rope(r) => r.table.clone(),
        _ => unreachable!(),
    }).collect();
    assert_eq!(tables[0].len(), 1 << 22);
    assert!(tables.iter().all(|t| std::sync::Arc::ptr_eq(t, &tables[0])), "one table per descriptor");
    let mut cache = TableCache::default();
    let mut w = Writer::new();
    rope(1 << 21).encode(&mut w);
    let b = w.into_bytes();
    Op::decode(&mut Reader::new(&b), &mut cache).unwrap();
    Op::decode(&mut Reader::new(&b), &mut cache).unwrap();
    assert_eq!(cache.entries(), 1 << 22);
}

/// Review: the template's invariant "every bound below 2^62" relied on each op's rule; GELU's
/// (and SiLU's) returned the bits of its largest table entry unchecked, and a GELU table with 62
/// output fractional bits saturates at 2^63 − 1, so a key's graph could carry a 63-bit tensor.
/// (Every protocol that reads such a tensor refuses it today; the graph invariant is now checked
/// by the op rule and once more at instantiation.)
#[test]
fn a_table_op_with_a_63_bit_output_is_refused() {
    use zkinfer_model::graph::{Node, TensorId};
    use zkinfer_model::ops::gelu::Gelu;
    use zkinfer_model::template::{Dim, Symbol};
    let t = GraphTemplate {
        symbols: vec![Symbol { name: "T".into(), min: 1, max: 4 }],
        tensors: vec![
            TensorDecl::Input { name: "x".into(), shape: vec![Dim::Sym(0)], frac_bits: 0, bits: 15 },
            TensorDecl::Activation { name: "y".into(), frac_bits: 62 },
        ],
        nodes: vec![Node { op: Op::Gelu(Gelu::new(0, 62)), inputs: vec![TensorId(0)], output: TensorId(1) }],
        inputs: vec![TensorId(0)],
        outputs: vec![TensorId(1)],
    };
    let e = accept(&encode(&t), &[]).unwrap_err();
    assert!(e.contains("2^62"), "{e}");
    // The same graph at 12 output bits is fine.
    let mut ok = t.clone();
    ok.nodes[0].op = Op::Gelu(Gelu::new(0, 12));
    accept(&encode(&ok), &[]).unwrap();
}
