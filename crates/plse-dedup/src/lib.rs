//! PLSE deduplication, shared by `plse-batch` and the browser: exact duplicates by a hash of
//! normalised code, near-duplicates by MinHash over 5-token shingles with LSH banding
//! (BigCode's recipe: Jaccard 0.7, 256 permutations).
//!
//! **Invariant:** no I/O and deterministic: signatures are identical across runs, processes
//! and platforms (fixed permutation seed, `xxh3` shingle hashes).
pub mod decontam;
pub mod index;
pub mod minhash;
pub mod normalize;

pub use index::{Counts, Deduper, Duplicate, Fingerprint};
pub use minhash::{Params, optimal_banding};
pub use normalize::{exact_key, normalize, structure_key};
