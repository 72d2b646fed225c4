//! Integer vs float accuracy on one model: per-position logit cosine similarity and
//! teacher-forced top-1 agreement over an English paragraph (tokenized with the model's own
//! tokenizer).
//!
//! `cargo run --release -p zkinfer-model --example accuracy -- MODEL.gguf [MAX_POSITIONS]`

use zkinfer_gguf::GgufFile;
use zkinfer_model::{Model, argmax_f32};
use zkinfer_tokenizer::Tokenizer;

const TEXT: &str = "The quick brown fox jumps over the lazy dog. Once upon a time, in a small village \
at the edge of a great forest, there lived an old clockmaker who repaired watches for everyone in the \
valley. Every morning he opened his shop at seven, swept the floor, and listened to the ticking of a \
hundred clocks. Travellers said that his clocks never lost a second, and children came to watch him \
work through the window while their parents bought bread at the bakery across the street.";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).ok_or("usage: accuracy MODEL.gguf [MAX_POSITIONS]")?;
    let max: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(128);
    let gguf = GgufFile::open(path)?;
    let tok = Tokenizer::from_gguf(&gguf)?;
    let model = Model::load(&gguf)?;
    let mut ids = tok.encode(TEXT);
    ids.truncate(max.min(model.config().n_ctx));
    let f = model.logits_f32(&ids)?;
    let i = model.logits_int(&ids)?;
    let (mut min_cos, mut sum_cos, mut agree, mut max_abs, mut max_tie_gap) = (1f64, 0f64, 0usize, 0f64, 0f64);
    for (a, b) in f.iter().zip(&i) {
        let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
        let na = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
        let nb = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
        let c = dot / (na * nb);
        min_cos = min_cos.min(c);
        sum_cos += c;
        let (fa, ia) = (argmax_f32(a) as usize, argmax_f32(b) as usize);
        agree += (fa == ia) as usize;
        // On a disagreement: how far apart the two choices are in the float logits.
        if fa != ia {
            max_tie_gap = max_tie_gap.max((a[fa] - a[ia]) as f64);
        }
        max_abs = a.iter().zip(b).fold(max_abs, |m, (x, y)| m.max((*x as f64 - *y as f64).abs()));
    }
    let n = ids.len();
    println!("model {path}: {n} positions");
    println!("logit cosine: mean {:.6}, min {:.6}", sum_cos / n as f64, min_cos);
    println!("teacher-forced top-1 agreement: {agree}/{n} ({:.1}%)", 100.0 * agree as f64 / n as f64);
    println!("max |logit_int - logit_f32|: {max_abs:.5}");
    println!("largest float-logit gap between the two choices on a disagreement: {max_tie_gap:.5}");
    Ok(())
}
