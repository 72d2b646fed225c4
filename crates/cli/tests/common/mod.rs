//! Helpers shared by the CLI tests that run the `zkinfer` binary on the fixtures in testdata.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the `zkinfer` binary built for these tests with `args`.
pub fn zkinfer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zkinfer")).args(args).output().expect("run zkinfer")
}

/// The path of the fixture `name` in the repository's testdata.
pub fn model(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata").join(name).display().to_string()
}

/// `p` as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}
