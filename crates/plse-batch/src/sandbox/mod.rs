//! Running untrusted pattern code: warm workers, each inside its own sandbox.
//!
//! The host never executes sample code and never reads the sandbox's scratch files (they live
//! on a tmpfs inside the worker's mount namespace); results come back over the worker's stdout
//! as JSON. See `launch.rs` for the layers and `python/worker.py` for the per-run child.

pub mod launch;
pub mod pool;
pub mod worker;

/// Worker `slot` runs as uid/gid `BASE_UID + slot`: a uid no account uses, different per worker,
/// so RLIMIT_NPROC counts each worker's processes alone.
pub const BASE_UID: u32 = 61_000;

/// The worker script, embedded so the binary is self-contained.
pub const WORKER_PY: &str = include_str!("../../python/worker.py");
