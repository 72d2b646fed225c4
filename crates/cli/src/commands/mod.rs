//! One module per subcommand.

pub mod arch;
pub mod bench;
pub mod demo;
pub mod generate;
pub mod inspect;
pub mod logits;
pub mod prompt;
pub mod prove;
pub mod proving;
pub mod serve;
pub mod setup;
pub mod tokenize;
pub mod verify;
pub mod vk_check;
