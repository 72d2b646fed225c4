//! `zkinfer demo`: generate, prove and verify on the tiny GPT-2 embedded in the binary
//! (`testdata/gpt2-tiny-random.gguf`: random weights, the real GPT-2 tokenizer), then show that
//! a tampered proof and a changed completion are rejected.

use super::zk;
use anyhow::Context;
use std::time::Instant;
use zkinfer_gguf::GgufFile;
use zkinfer_proof::ProofFile;

/// The embedded default model.
static TINY_GPT2: &[u8] = include_bytes!("../../../../testdata/gpt2-tiny-random.gguf");

/// Arguments of `zkinfer demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Prompt text.
    #[arg(long, default_value = "The quick brown fox")]
    pub prompt: String,
    /// Number of tokens to generate and prove.
    #[arg(short = 'n', long = "n-tokens", default_value_t = 8)]
    pub n: usize,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<()> {
    let gguf = GgufFile::from_bytes(TINY_GPT2.to_vec()).context("embedded model")?;
    let loaded = zk::load(&gguf, "the embedded tiny GPT-2")?;
    let cfg = *loaded.model.config();
    println!(
        "model: embedded tiny GPT-2 ({} layers, width {}, {} heads, vocabulary {}; random weights)",
        cfg.n_layer, cfg.n_embd, cfg.n_head, cfg.n_vocab
    );

    let start = Instant::now();
    let pk = zk::run_setup(&loaded, false)?;
    println!(
        "setup: committed every weight in {:.2} s; model commitment {}",
        start.elapsed().as_secs_f64(),
        pk.vk.model_commitment_hex()
    );
    println!("       verifying key: {} bytes", pk.vk.to_bytes().len());

    let (vk, weights) = zk::weight_commitment(pk);
    let prompt = loaded.tokenizer.encode(&args.prompt);
    let bar = zk::spinner(false, "proving");
    let (proof, t) = zkinfer_proof::prove_consuming(&loaded.model, &vk, weights, &prompt, args.n, |s| bar.set_message(zk::stage_message(s)), |_, _| {})
        .context("proving failed")?;
    bar.finish_and_clear();
    let text = loaded.tokenizer.decode(&proof.completion_ids).unwrap_or_default();
    println!("prompt: {:?} → {} tokens {:?}", args.prompt, prompt.len(), prompt);
    println!("generated (integer model, KV cache): {text:?} {:?}", proof.completion_ids);
    let bytes = proof.to_bytes();
    println!(
        "prove: {:.2} s (trace {:.2}, graph {:.2}, open {:.2}); proof {} bytes",
        t.prove_s(),
        t.trace_s,
        t.prove_graph_s,
        t.open_s,
        bytes.len()
    );

    let start = Instant::now();
    let verified = zkinfer_proof::verify(&vk, &ProofFile::from_bytes(&bytes)?).context("the honest proof was rejected")?;
    println!(
        "verify: VALID in {:.3} s, without the weights: the committed model produced {:?}",
        start.elapsed().as_secs_f64(),
        verified.text
    );

    let mut forged = proof.clone();
    let last = forged.completion_ids.len() - 1;
    forged.completion_ids[last] = (forged.completion_ids[last] + 1) % cfg.n_vocab as u32;
    match zkinfer_proof::verify(&vk, &forged) {
        Err(e) => println!("forged completion ({:?}): REJECTED ({e})", loaded.tokenizer.decode(&forged.completion_ids).unwrap_or_default()),
        Ok(_) => anyhow::bail!("a forged completion was accepted"),
    }
    let mut flipped = bytes.clone();
    let i = flipped.len() / 2;
    flipped[i] ^= 1;
    let rejected = match ProofFile::from_bytes(&flipped) {
        Err(e) => format!("{e}"),
        Ok(p) => match zkinfer_proof::verify(&vk, &p) {
            Err(e) => format!("{e}"),
            Ok(_) => anyhow::bail!("a proof with a flipped byte was accepted"),
        },
    };
    println!("proof with one flipped bit: REJECTED ({rejected})");
    Ok(())
}
