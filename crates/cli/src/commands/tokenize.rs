//! `zkinfer tokenize` and `zkinfer detokenize` (not yet implemented).

/// Arguments of `zkinfer tokenize`.
#[derive(Debug, clap::Args)]
pub struct TokenizeArgs {}

/// Arguments of `zkinfer detokenize`.
#[derive(Debug, clap::Args)]
pub struct DetokenizeArgs {}

/// Runs `tokenize`.
pub fn run_tokenize(_args: TokenizeArgs) -> anyhow::Result<()> {
    anyhow::bail!("`tokenize` is not implemented yet")
}

/// Runs `detokenize`.
pub fn run_detokenize(_args: DetokenizeArgs) -> anyhow::Result<()> {
    anyhow::bail!("`detokenize` is not implemented yet")
}
