//! `zkinfer bench -m MODEL -n T [--prompt-tokens P | -p TEXT [--chat]] [--json]`: one full run, timed stage by stage.
//!
//! Without a prompt the proven pass covers `T` positions: a prompt of `P` tokens
//! (`--prompt-tokens`, default 1: `"The"`; longer prompts repeat an English sentence, falling back
//! to id 0) and `T − P + 1` greedily generated tokens (the last generated token is not an input of
//! the pass), so `T` may be the full context length. Prompt positions other than the last get no
//! LM head and no argmax in the proof, so a long prompt is cheaper to prove than as many generated
//! tokens. With `-p TEXT` (and `--chat` to render it with the model's chat template) the prompt is
//! that text and `T` tokens are generated. Llama-family models may stop early at an
//! end-of-generation token (the report gives the tokens generated).
//! With more positions than the chunk size (`--chunk C`, default chosen by memory as `prove`
//! does) the chunked prover runs and the proof stream is verified record by record.
//! Reports integer inference (KV-cache generation) time, setup, prove and verify times, proof
//! bytes, peak resident memory and prove ÷ inference.

use super::prompt::DEFAULT_N_PREDICT;
use super::proving;
use crate::ui::{self, Kind, Progress, Tag as _};
use std::path::PathBuf;
use std::time::Instant;

/// Arguments of `zkinfer bench`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// GGUF model file.
    #[arg(short = 'm', long)]
    pub model: PathBuf,
    /// Positions in the proven forward pass (= tokens generated after a one-token prompt; at
    /// most the context length).
    #[arg(short = 'n', long = "n-predict", visible_alias = "tokens", default_value_t = DEFAULT_N_PREDICT)]
    pub tokens: usize,
    /// Prompt text (default: the one token "The").
    #[arg(short = 'p', long, allow_hyphen_values = true, value_name = "TEXT")]
    pub prompt: Option<String>,
    /// Wrap the prompt as one user message with the model's chat template.
    #[arg(long, requires = "prompt")]
    pub chat: bool,
    /// Without `-p`: how many of the `T` positions are prompt (1 ≤ P ≤ T); the other `T − P`
    /// positions and one more token are generated.
    #[arg(long = "prompt-tokens", default_value_t = 1, conflicts_with = "prompt")]
    pub prompt_tokens: usize,
    /// Prove in chunks of C positions (a power of two; docs/PROOF_FORMAT.md, "Proof stream");
    /// default: chosen by memory as `prove` does. `T ≤ C` is one pass.
    #[arg(long, value_name = "C")]
    pub chunk: Option<usize>,
    /// No progress on standard error.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Zero knowledge: a `setup --zk` key of one proof, `prove --zk` and `verify`, same JSON
    /// fields (and `"zk": true`). A model whose graph the zk prover cannot walk yet is refused,
    /// naming the node (docs/SECURITY.md).
    #[arg(long)]
    pub zk: bool,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    if args.tokens == 0 {
        return Err(ui::fail(Kind::Usage, "-n/--n-predict must be at least 1"));
    }
    if args.prompt_tokens == 0 || args.prompt_tokens > args.tokens {
        return Err(ui::fail(Kind::Usage, format!("--prompt-tokens must be in [1, T = {}]", args.tokens)));
    }
    let gguf = proving::open_gguf(&args.model)?;
    let mut loaded = proving::load(&gguf, &args.model.display().to_string())?;
    let (prompt, n) = match &args.prompt {
        Some(text) => (proving::prompt_ids(&gguf, &loaded.tokenizer, text, args.chat, false)?, args.tokens),
        None => {
            let p = args.prompt_tokens;
            let text = if p == 1 { "The".to_string() } else { "The quick brown fox jumps over the lazy dog. ".repeat(p) };
            let mut prompt = loaded.tokenizer.encode(&text);
            prompt.truncate(p);
            prompt.resize(p, 0);
            (prompt, args.tokens - p + 1)
        }
    };
    drop(gguf);
    proving::check_request(&prompt, n, loaded.model.config().n_ctx, loaded.model.config().n_vocab)?;
    let stop = loaded.vocabulary().eog;

    let mut progress = Progress::new(args.quiet, 7);
    progress.stage("inference (integer model, KV cache)");
    let start = Instant::now();
    loaded.model.generate_int_until(&prompt, n, &stop, |_| {}).tag(Kind::Internal, || "inference failed".into())?;
    let inference_s = start.elapsed().as_secs_f64();

    if args.zk {
        return bench_zk(&args, &loaded, &prompt, n, inference_s, progress);
    }
    progress.stage("setup: committing the weights");
    let start = Instant::now();
    let pk = proving::run_setup(&loaded)?;
    let setup_s = start.elapsed().as_secs_f64();

    let (vk, weights) = proving::weight_commitment(pk);
    let positions = prompt.len() + n - 1;
    if let Some(c) = args.chunk
        && (c == 0 || !c.is_power_of_two() || c > zkinfer_proof::chunked::MAX_CHUNK as usize)
    {
        return Err(ui::fail(Kind::Usage, format!("--chunk {c} is not a power of two in [1, {}]", zkinfer_proof::chunked::MAX_CHUNK)));
    }
    let chunk = args.chunk.unwrap_or_else(|| proving::default_chunk(&vk, positions));
    let estimated = proving::estimated_peak_bytes(&vk, chunk, positions);
    if chunk < positions {
        return bench_chunked(&args, &loaded, &vk, weights, &prompt, n, chunk, estimated, (inference_s, setup_s), progress);
    }
    let (proof, timings) = zkinfer_proof::prove_spilling(
        &mut loaded.model,
        &vk,
        weights,
        &prompt,
        n,
        |s| proving::show_stage(&mut progress, s, prompt.len(), n),
    )
    .map_err(|e| proving::proof_error(e, "proving failed"))?;
    let bytes = proof.to_bytes();

    progress.stage("verifying");
    let start = Instant::now();
    let decoded = zkinfer_proof::ProofFile::from_bytes(&bytes).tag(Kind::Internal, || "proof does not decode".into())?;
    zkinfer_proof::verify(&vk, &decoded).map_err(|e| proving::proof_error(e, "verification failed"))?;
    let verify_s = start.elapsed().as_secs_f64();
    progress.finish();

    let prove_s = timings.prove_s();
    let out = serde_json::json!({
        "model": args.model.display().to_string(),
        "architecture": vk.architecture,
        "prompt_tokens": prompt.len(),
        "max_new_tokens": n,
        "tokens": proof.completion_ids.len(),
        "positions": prompt.len() + proof.completion_ids.len() - 1,
        "setup_s": setup_s,
        "inference_s": inference_s,
        "prove_s": prove_s,
        "prove_trace_s": timings.trace_s,
        "prove_graph_s": timings.prove_graph_s,
        "prove_open_s": timings.open_s,
        "prove_weight_recommit_s": timings.weight_commit_s,
        "prove_phases": timings.phases.iter().map(|(n, s, b)| serde_json::json!({"phase": n, "s": s, "bytes": b})).collect::<Vec<_>>(),
        "verify_s": verify_s,
        "proof_bytes": bytes.len(),
        "vk_bytes": vk.to_bytes().len(),
        "peak_rss_bytes": proving::peak_rss_bytes(),
        "estimated_peak_bytes": estimated,
        "chunk": chunk,
        "chunks": 1,
        "prove_over_inference": prove_s / inference_s.max(1e-9),
    });
    if args.json {
        ui::out_json(out)
    } else {
        ui::outln(format_args!("model:               {}", args.model.display()))?;
        ui::outln(format_args!("prompt tokens:       {}", prompt.len()))?;
        ui::outln(format_args!("tokens proven:       {} (at most {n})", proof.completion_ids.len()))?;
        ui::outln(format_args!("positions proven:    {}", prompt.len() + proof.completion_ids.len() - 1))?;
        ui::outln(format_args!("inference (int, KV): {inference_s:.3} s"))?;
        ui::outln(format_args!("setup:               {setup_s:.2} s"))?;
        ui::outln(format_args!(
            "prove:               {prove_s:.2} s (trace {:.2}, graph {:.2}, open {:.2}, weight recommit {:.2})",
            timings.trace_s, timings.prove_graph_s, timings.open_s, timings.weight_commit_s
        ))?;
        ui::outln(format_args!("verify:              {verify_s:.3} s"))?;
        ui::outln(format_args!("proof:               {} bytes", bytes.len()))?;
        ui::outln(format_args!("peak memory:         {:.2} GiB", proving::peak_rss_bytes() as f64 / (1u64 << 30) as f64))?;
        ui::outln(format_args!("prove / inference:   {:.0}×", prove_s / inference_s.max(1e-9)))
    }
}

/// The chunked run: the proof stream into memory, then verified as a stream.
#[allow(clippy::too_many_arguments)]
fn bench_chunked(
    args: &Args,
    loaded: &proving::Loaded,
    vk: &zkinfer_proof::VerifyingKey,
    weights: zkinfer_proof::WeightCommitment,
    prompt: &[u32],
    n: usize,
    chunk: usize,
    estimated: u64,
    (inference_s, setup_s): (f64, f64),
    progress: Progress,
) -> anyhow::Result<()> {
    let progress = std::sync::Mutex::new(progress);
    let generated = std::sync::atomic::AtomicUsize::new(0);
    let chunks = (prompt.len() + n - 1).div_ceil(chunk);
    let mut bytes = Vec::new();
    let (_, completion, timings) = zkinfer_proof::chunked::prove_chunked(&loaded.model, vk, weights, prompt, n, chunk, &mut bytes, |stage| {
        if let zkinfer_proof::chunked::ChunkStage::Token { generated: g, .. } = stage {
            generated.store(g, std::sync::atomic::Ordering::Relaxed);
        }
        if let Ok(mut p) = progress.lock() {
            proving::show_chunk_stage(&mut p, stage, chunks, generated.load(std::sync::atomic::Ordering::Relaxed), n);
        }
    })
    .map_err(|e| proving::proof_error(e, "proving failed"))?;
    let mut progress = progress.into_inner().map_err(|_| ui::fail(Kind::Internal, "progress"))?;
    progress.stage("verifying the proof stream");
    let start = Instant::now();
    let (_, summary) = zkinfer_proof::chunked::verify_stream(vk, &mut bytes.as_slice()).map_err(|e| proving::proof_error(e, "verification failed"))?;
    let verify_s = start.elapsed().as_secs_f64();
    progress.finish();
    let prove_s = timings.prove_s();
    let positions = prompt.len() + completion.len() - 1;
    let out = serde_json::json!({
        "model": args.model.display().to_string(),
        "architecture": vk.architecture,
        "prompt_tokens": prompt.len(),
        "max_new_tokens": n,
        "tokens": completion.len(),
        "positions": positions,
        "setup_s": setup_s,
        "inference_s": inference_s,
        "prove_s": prove_s,
        "prove_chunks_s": timings.chunks_s,
        "prove_waits_s": timings.waits_s,
        "prove_close_s": timings.close_s,
        "chunk_bytes": timings.chunk_bytes.iter().map(|phases| phases.iter().map(|(n, b)| (n.clone(), serde_json::Value::from(*b))).collect::<serde_json::Map<_, _>>()).collect::<Vec<_>>(),
        "close_bytes": timings.close_bytes.iter().map(|(n, b)| (n.clone(), serde_json::Value::from(*b))).collect::<serde_json::Map<_, _>>(),
        "chunk_seconds": timings.chunk_seconds.iter().map(|phases| phases.iter().map(|(n, s)| (n.clone(), serde_json::Value::from(*s))).collect::<serde_json::Map<_, _>>()).collect::<Vec<_>>(),
        "chunk_witness_groups": timings.chunk_witness_groups,
        "chunk_witness_entries": timings.chunk_witness_entries,
        "close_seconds": timings.close_seconds.iter().map(|(n, s)| (n.clone(), serde_json::Value::from(*s))).collect::<serde_json::Map<_, _>>(),
        "generate_overlapped_s": timings.generate_s,
        "verify_s": verify_s,
        "proof_bytes": bytes.len(),
        "vk_bytes": vk.to_bytes().len(),
        "peak_rss_bytes": proving::peak_rss_bytes(),
        "estimated_peak_bytes": estimated,
        "chunk": chunk,
        "chunks": summary.chunks,
        "prove_over_inference": prove_s / inference_s.max(1e-9),
    });
    if args.json {
        ui::out_json(out)
    } else {
        ui::outln(format_args!("model:               {}", args.model.display()))?;
        ui::outln(format_args!("prompt tokens:       {}", prompt.len()))?;
        ui::outln(format_args!("tokens proven:       {} (at most {n})", completion.len()))?;
        ui::outln(format_args!("positions proven:    {positions} in {} chunks of {chunk}", summary.chunks))?;
        ui::outln(format_args!("inference (int, KV): {inference_s:.3} s"))?;
        ui::outln(format_args!("setup:               {setup_s:.2} s"))?;
        ui::outln(format_args!(
            "prove:               {prove_s:.2} s (chunks {:.2}, close {:.2}; generation overlapped {:.2})",
            timings.chunks_s.iter().sum::<f64>(),
            timings.close_s,
            timings.generate_s
        ))?;
        ui::outln(format_args!("verify:              {verify_s:.3} s"))?;
        ui::outln(format_args!("proof:               {} bytes", bytes.len()))?;
        ui::outln(format_args!("peak memory:         {:.2} GiB", proving::peak_rss_bytes() as f64 / (1u64 << 30) as f64))?;
        ui::outln(format_args!("prove / inference:   {:.0}×", prove_s / inference_s.max(1e-9)))
    }
}

/// `bench --zk`: the zero-knowledge run of the same request — `setup --zk` with a budget of one
/// proof (its secret in a private temporary directory, removed afterwards), `prove --zk` on its
/// ticket, `verify` — reported with `bench`'s JSON fields (`prove_open_s` is inside
/// `prove_graph_s`, `prove_weight_recommit_s` is the ticket's recommitment, `estimated_peak_bytes`
/// is null: no zk estimate) and `"zk": true`. A graph the zk prover cannot walk yet is refused,
/// naming the node.
fn bench_zk(args: &Args, loaded: &proving::Loaded, prompt: &[u32], n: usize, inference_s: f64, mut progress: Progress) -> anyhow::Result<()> {
    if let Some(c) = args.chunk
        && c < prompt.len() + n - 1
    {
        return Err(ui::fail(Kind::Usage, format!("--chunk {c}: zero-knowledge proofs are one pass; proof streams are not built in zk mode")));
    }
    progress.stage("setup --zk: the hiding weight key (one proof ticket)");
    let start = Instant::now();
    let budget = zkinfer_proof::zk::KeyBudget { tickets: 1, ..Default::default() };
    let (vk, pk) = zkinfer_proof::zk::setup_zk(&loaded.model, loaded.vocabulary(), budget).map_err(|e| proving::proof_error(e, "zero-knowledge setup failed"))?;
    let setup_s = start.elapsed().as_secs_f64();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("zkinfer-bench-zk-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&dir).tag(Kind::Io, || format!("cannot create the temporary directory {}", dir.display()))?;
    let pk_path = dir.join(super::setup::ZK_PK_FILE);
    let proved = zkinfer_proof::fsio::write_atomic_private(&pk_path, &pk.to_bytes())
        .tag(Kind::Io, || "cannot write the temporary proving key".into())
        .and_then(|()| {
            zkinfer_proof::zk::prove_zk(&loaded.model, &vk, &pk_path, prompt, n, |s| proving::show_stage(&mut progress, s, prompt.len(), n))
                .map_err(|e| proving::proof_error(e, "zero-knowledge proving failed"))
        });
    // The one-proof key's secret is of no further use: removed whatever happened.
    let _ = std::fs::remove_dir_all(&dir);
    let (proof, lease, timings) = proved?;
    drop(lease);
    let bytes = proof.to_bytes();
    progress.stage("verifying");
    let start = Instant::now();
    let decoded = zkinfer_proof::zk_proof::ZkProofFile::from_bytes(&bytes).tag(Kind::Internal, || "proof does not decode".into())?;
    zkinfer_proof::zk_proof::verify_zk(&vk, &decoded).map_err(|e| proving::proof_error(e, "verification failed"))?;
    let verify_s = start.elapsed().as_secs_f64();
    progress.finish();
    let vk_bytes = vk.to_bytes().map_err(|e| proving::proof_error(e, "zero-knowledge key"))?.len();
    let prove_s = timings.prove_s();
    let positions = prompt.len() + proof.completion_ids.len() - 1;
    let out = serde_json::json!({
        "model": args.model.display().to_string(),
        "architecture": vk.public.architecture,
        "zk": true,
        "prompt_tokens": prompt.len(),
        "max_new_tokens": n,
        "tokens": proof.completion_ids.len(),
        "positions": positions,
        "setup_s": setup_s,
        "inference_s": inference_s,
        "prove_s": prove_s,
        "prove_trace_s": timings.trace_s,
        "prove_graph_s": timings.prove_graph_s,
        "prove_open_s": 0.0,
        "prove_weight_recommit_s": timings.ticket_s,
        "prove_phases": Vec::<serde_json::Value>::new(),
        "verify_s": verify_s,
        "proof_bytes": bytes.len(),
        "vk_bytes": vk_bytes,
        "peak_rss_bytes": proving::peak_rss_bytes(),
        "estimated_peak_bytes": serde_json::Value::Null,
        "chunk": positions,
        "chunks": 1,
        "prove_over_inference": prove_s / inference_s.max(1e-9),
    });
    if args.json {
        ui::out_json(out)
    } else {
        ui::outln(format_args!("model:               {} (zero knowledge)", args.model.display()))?;
        ui::outln(format_args!("tokens proven:       {} (at most {n})", proof.completion_ids.len()))?;
        ui::outln(format_args!("positions proven:    {positions}"))?;
        ui::outln(format_args!("inference (int, KV): {inference_s:.3} s"))?;
        ui::outln(format_args!("setup --zk:          {setup_s:.2} s"))?;
        ui::outln(format_args!(
            "prove:               {prove_s:.2} s (trace {:.2}, ticket recommit {:.2}, hiding graph proof {:.2})",
            timings.trace_s, timings.ticket_s, timings.prove_graph_s
        ))?;
        ui::outln(format_args!("verify:              {verify_s:.3} s"))?;
        ui::outln(format_args!("proof:               {} bytes", bytes.len()))?;
        ui::outln(format_args!("peak memory:         {:.2} GiB", proving::peak_rss_bytes() as f64 / (1u64 << 30) as f64))
    }
}
