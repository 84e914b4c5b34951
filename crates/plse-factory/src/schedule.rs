//! Which parts of the repository a run asks about, and in which order: a pure function of the
//! scanned repository and the seed, never of timing, concurrency or interruptions.
//!
//! Exchange `i` of a scene (one request and its answer) is about the `i`-th target in the
//! scene's order: for questions the eligible chunks ([`qa_targets`]), for designs the files with
//! code ([`design_targets`]), each ranked by a hash of (seed, scene, location). Its sample seed
//! ([`sample_seed`]) is drawn the same way, so a rerun sends the same requests.

use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::repo::{Chunk, ChunkKind, Repo};

/// What a run produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scene {
    /// Scene 1: questions about a chunk, answered from the code, with citations.
    Qa,
    /// Scene 2: a design proposal for a new requirement, from the project's skeleton.
    Design,
}

impl Scene {
    /// Both scenes, in run order.
    pub const ALL: [Scene; 2] = [Scene::Qa, Scene::Design];

    /// The scene's name (`qa`, `design`): its task in rows, its key in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Scene::Qa => "qa",
            Scene::Design => "design",
        }
    }

    /// The category of its rows in a release.
    pub fn category(self) -> &'static str {
        match self {
            Scene::Qa => "codebase-qa",
            Scene::Design => "codebase-design",
        }
    }

    /// The scene named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Scene {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// SHA-256 of (seed, scope, key): the order key of seeded choices.
pub fn rank(seed: u64, scope: &str, key: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"plse-factory/rank/v1\n");
    h.update(seed.to_le_bytes());
    h.update(scope.as_bytes());
    h.update(b"\0");
    h.update(key.as_bytes());
    h.finalize().into()
}

/// The per-sample seed of exchange `index` of `scene`: part of the response cache's key (and
/// sent as the server's sampling seed), so two exchanges never share an answer by accident.
pub fn sample_seed(seed: u64, scene: Scene, index: u64) -> u64 {
    let r = rank(seed, "sample-seed", &format!("{scene}/{index}"));
    // The top bit is cleared: servers that read `seed` as a signed 64-bit integer accept it.
    u64::from_le_bytes([r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]]) >> 1
}

/// Which chunks questions may be asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eligibility {
    /// Chunks shorter than this many lines are too small to ask about.
    pub min_lines: usize,
}

impl Default for Eligibility {
    /// Three lines.
    fn default() -> Self {
        Eligibility { min_lines: 3 }
    }
}

impl Eligibility {
    /// Whether a question may be asked about `chunk`: code (a function, method, class or
    /// block, not top-level statements or text) of at least `min_lines` lines.
    pub fn allows(&self, chunk: &Chunk) -> bool {
        matches!(chunk.kind, ChunkKind::Function | ChunkKind::Method | ChunkKind::Class | ChunkKind::Block)
            && chunk.end_line + 1 - chunk.start_line >= self.min_lines
    }
}

/// The chunks questions are asked about, in the order of the run's exchanges.
pub fn qa_targets<'r>(repo: &'r Repo, eligibility: &Eligibility, seed: u64) -> Vec<&'r Chunk> {
    let mut chunks: Vec<&Chunk> = repo.chunks().filter(|c| eligibility.allows(c)).collect();
    chunks.sort_by_cached_key(|c| (rank(seed, "qa", &format!("{}\0{}", c.location(), c.name)), c.location()));
    chunks
}

/// The files design requirements are centred on (those with a code definition), in the order
/// of the run's exchanges.
pub fn design_targets(repo: &Repo, seed: u64) -> Vec<&str> {
    let mut files: Vec<&str> = repo
        .files
        .iter()
        .filter(|f| f.chunks.iter().any(|c| matches!(c.kind, ChunkKind::Function | ChunkKind::Class | ChunkKind::Method)))
        .map(|f| f.path.as_str())
        .collect();
    files.sort_by_cached_key(|p| rank(seed, "design", p));
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_stable_and_distinct() {
        assert_eq!(sample_seed(1, Scene::Qa, 0), sample_seed(1, Scene::Qa, 0));
        assert_ne!(sample_seed(1, Scene::Qa, 0), sample_seed(1, Scene::Qa, 1));
        assert_ne!(sample_seed(1, Scene::Qa, 0), sample_seed(1, Scene::Design, 0));
        assert_ne!(sample_seed(1, Scene::Qa, 0), sample_seed(2, Scene::Qa, 0));
        assert!(sample_seed(7, Scene::Design, 3) < 1 << 63);
    }

    #[test]
    fn scenes_parse() {
        assert_eq!(Scene::parse("qa"), Some(Scene::Qa));
        assert_eq!(Scene::parse("design"), Some(Scene::Design));
        assert_eq!(Scene::parse("all"), None);
    }
}
