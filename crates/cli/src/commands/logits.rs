//! `zkinfer logits` (not yet implemented).

/// Arguments of `zkinfer logits`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`logits` is not implemented yet")
}
