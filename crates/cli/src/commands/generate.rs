//! `zkinfer generate` (not yet implemented).

/// Arguments of `zkinfer generate`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`generate` is not implemented yet")
}
