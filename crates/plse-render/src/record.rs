//! The sample record and the v2.0 output row.

use serde::Serialize;
use serde_json::{Map, Value as Json};

use plse_schema::{Artifact, Difficulty};

/// One side of a sample: everything rendered from one parameter context.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Side {
    /// The task.
    pub instruction: String,
    /// The code (imports from `requires` prepended for Python).
    pub code: String,
    /// Rendered test snippets, in order.
    pub tests: Vec<String>,
    /// The explanation, when the pattern has one.
    pub explanation: Option<String>,
}

/// Both sides of a paired anti-pattern, rendered with the same other parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pair {
    /// `is_anti_pattern: true`.
    pub flawed: Side,
    /// `is_anti_pattern: false`.
    pub fixed: Side,
}

/// A rendered sample with its provenance.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sample {
    /// Stable id: hash of pattern id, pattern version and drawn parameters.
    pub id: String,
    /// The pattern.
    pub pattern_id: String,
    /// The pattern's revision.
    pub pattern_version: String,
    /// Category (folder).
    pub category: String,
    /// Difficulty.
    pub difficulty: Difficulty,
    /// Tags.
    pub tags: Vec<String>,
    /// Concept taught.
    pub concept: String,
    /// The seed.
    pub seed: u64,
    /// The index within the seed.
    pub index: u64,
    /// Every parameter value, derived ones included, in declaration order.
    pub parameters: Map<String, Json>,
    /// Instruction of the drawn side.
    pub instruction: String,
    /// Code of the drawn side.
    pub code: String,
    /// Tests of the drawn side.
    pub tests: Vec<String>,
    /// Explanation of the drawn side.
    pub explanation: Option<String>,
    /// Import lines the code needs.
    pub requires: Vec<String>,
    /// Artifact kind and file name.
    pub artifact: Artifact,
    /// For paired anti-patterns: both sides.
    pub pair: Option<Pair>,
}

/// The earlier engine's output row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The instruction.
    pub instruction: String,
    /// Always empty in v2.0 rows.
    pub input: String,
    /// The code.
    pub output: String,
}

impl Sample {
    /// The sides a validator checks, labelled: `flawed` and `fixed` for a paired anti-pattern,
    /// else the drawn side as `sample`. (`plse-batch` validation and the browser's checks.)
    pub fn sides(&self) -> Vec<(&'static str, Side)> {
        match &self.pair {
            Some(pair) => vec![("flawed", pair.flawed.clone()), ("fixed", pair.fixed.clone())],
            None => vec![(
                "sample",
                Side {
                    instruction: self.instruction.clone(),
                    code: self.code.clone(),
                    tests: self.tests.clone(),
                    explanation: self.explanation.clone(),
                },
            )],
        }
    }

    /// The v2.0 row `{instruction, input: "", output: code}`.
    pub fn row(&self) -> Row {
        Row { instruction: self.instruction.clone(), input: String::new(), output: self.code.clone() }
    }
}
