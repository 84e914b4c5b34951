//! The user's commands, one module each: thin layers that parse, read and print around the
//! shared crates, the validation subsystem and the store.

pub mod continuous;
pub mod export;
pub mod factory;
pub mod generate;
pub mod lint;
pub mod list;
pub mod merge;
pub mod render;
pub mod rephrase;
pub mod setup;
pub mod shards;
