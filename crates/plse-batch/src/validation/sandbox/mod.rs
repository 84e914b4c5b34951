//! Running untrusted pattern code: warm workers, each inside its own sandbox.
//!
//! The host never executes sample code and never reads the sandbox's scratch files (they live
//! on a tmpfs inside the worker's mount namespace); results come back over the worker's stdout
//! as JSON. See `launch.rs` for the layers and `python/worker.py` for the per-run child.

pub mod launch;
pub mod pool;
pub mod worker;

/// Workers run as uids from `BASE_UID` up, which no account uses: different per worker (and,
/// by blocks of 64, per plse-batch process), so RLIMIT_NPROC counts each worker's processes
/// alone and concurrent runs do not share a cap.
pub const BASE_UID: u32 = 61_000;

/// Uids available above `BASE_UID`.
pub const UID_SPAN: u32 = 3_840;

/// The uid of worker `slot` of this process.
pub fn slot_uid(slot: u32) -> u32 {
    let block = (std::process::id() % (UID_SPAN / 64)) * 64;
    BASE_UID + (block + slot % 64)
}

/// Settings every worker runs with, sandboxed or not (besides `PATH`, `HOME`, `TMPDIR`):
/// headless plots, and one thread per BLAS/OpenMP pool (numpy, scipy, scikit-learn, torch) —
/// runs are already parallel across workers, and thread pools would hit `RLIMIT_NPROC`.
pub const RUN_ENV: &[(&str, &str)] = &[
    ("LANG", "C.UTF-8"),
    ("PYTHONDONTWRITEBYTECODE", "1"),
    ("MPLBACKEND", "Agg"),
    ("OMP_NUM_THREADS", "1"),
    ("OPENBLAS_NUM_THREADS", "1"),
    ("MKL_NUM_THREADS", "1"),
];

/// The worker script, embedded so the binary is self-contained.
pub const WORKER_PY: &str = include_str!("../../../python/worker.py");

/// The static security scan the worker runs on each sample's code (imported by the worker).
pub const SECURITY_SCAN_PY: &str = include_str!("../../../python/security_scan.py");

/// What a run can leave behind for the next: the checks that let consecutive runs share a child
/// (imported by the worker).
pub const RUN_STATE_PY: &str = include_str!("../../../python/run_state.py");
