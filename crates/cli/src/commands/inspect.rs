//! `zkinfer inspect` (not yet implemented).

/// Arguments of `zkinfer inspect`.
#[derive(Debug, clap::Args)]
pub struct Args {}

/// Runs the command.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`inspect` is not implemented yet")
}
