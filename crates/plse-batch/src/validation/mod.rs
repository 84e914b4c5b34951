//! Validation of rendered samples: `plse-check`'s plan executed with what only a host has —
//! ruff over a batch (`lint_py`), the validators of non-Python artifacts (`artifact`), the
//! Python environment (`pyenv`) and the sandboxed workers (`sandbox`) — timed and in
//! parallel (`exec`), one sample's stages at a time (`validate`).

pub mod artifact;
pub mod compile;
pub mod exec;
pub mod lint_py;
pub mod pyenv;
pub mod sandbox;
pub mod validate;
