//! The zk plan on the tiny fixtures: the one-pass GPT-2 and Llama graphs and a KV-cache step
//! graph have a zk prover for every node (no op kind is left without one, so the coverage check
//! has no failing case to show; the constraint check's control is the T = 6 padding), the roles are the public protocols', and the constraints the wiring
//! must meet at small `T` are listed.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests: a panic is a failure report

use std::path::PathBuf;

use zkinfer_gguf::GgufFile;
use zkinfer_model::Model;

use super::*;

fn model(file: &str) -> Model {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(file);
    let gguf = GgufFile::open(path).expect("fixture opens");
    Model::load(&gguf).expect("fixture loads")
}

#[test]
fn every_node_of_the_one_pass_gpt2_graph_has_a_zk_prover() {
    let m = model("gpt2-tiny-random.gguf");
    for t in [6, 40] {
        let graph = m.graph(t).expect("graph");
        let plan = plan_zk(&graph).expect("plan");
        assert_eq!(plan.missing_ops(), BTreeSet::new(), "T = {t}");
        let kinds: BTreeSet<ZkProver> = plan.nodes.iter().map(|n| n.prover.unwrap()).collect();
        // Every zk prover but Mul and RoPE (Llama only) is used by GPT-2.
        assert_eq!(kinds.len(), 11, "{kinds:?}");
        // The roles are the public protocols' (virtual outputs of the walk ops get R masks).
        for (i, node) in graph.nodes.iter().enumerate() {
            assert_eq!(plan.roles[node.output.0], protocol_for(&graph, i).unwrap().output_role());
        }
        for (k, bits) in plan.r_mask_bits.iter().enumerate() {
            match bits {
                // A virtual tensor's R mask, or the public Argmax output's (the gaps' output mask).
                Some(d) => assert!(
                    ((plan.roles[k] == TensorRole::Virtual && (1usize << d) > plan.claims[k]) || graph.nodes.iter().any(|n| n.output.0 == k && matches!(n.op, Op::Argmax(_))))
                        && *d >= 2
                ),
                // No R mask: not virtual, unclaimed, or an Add's output (its operands' masks).
                None => assert!(
                    plan.roles[k] != TensorRole::Virtual || plan.claims[k] == 0 || graph.nodes.iter().any(|n| n.output.0 == k && matches!(n.op, Op::Add(_)))
                ),
            }
        }
        assert!(plan.r_mask_bits.iter().any(Option::is_some), "GPT-2 has virtual tensors");
        let constrained: Vec<&ZkNodePlan> = plan.constrained().collect();
        eprintln!("tiny GPT-2, T = {t}: {} nodes, {} with zk shape constraints:", plan.nodes.len(), constrained.len());
        for n in &constrained {
            eprintln!("  {} ({}): {}", n.output, n.op, n.constraints.join("; "));
        }
        // At T = 6 the norms' rows (6 < 17) must be padded; at T = 40 they need not be.
        let norms_flagged = constrained.iter().any(|n| n.op == "LayerNorm" && n.constraints.iter().any(|c| c.contains("zk norm")));
        assert_eq!(norms_flagged, t < 17, "T = {t}");
    }
}

#[test]
fn llama_and_kv_cache_graphs_are_covered() {
    let llama = model("llama/llama-tiny-random-q8_0.gguf");
    let plan = plan_zk(&llama.graph(7).expect("graph")).expect("plan");
    assert_eq!(plan.missing_ops(), BTreeSet::new());
    assert!(plan.nodes.iter().any(|n| n.prover == Ok(ZkProver::Mul)), "SwiGLU's Mul");
    assert!(plan.nodes.iter().any(|n| n.prover == Ok(ZkProver::Rope)), "RoPE");
    let gpt2 = model("gpt2-tiny-random.gguf");
    let step = gpt2.step_graph(2, 4).expect("step graph");
    let plan = plan_zk(&step).expect("plan");
    assert_eq!(plan.missing_ops(), BTreeSet::new());
    assert_eq!(plan.nodes.iter().filter(|n| n.op == "ConcatSeq").count(), 4, "K and V of both blocks");
}
