//! Training rows: a rendered sample drawn as a task becomes a chat exchange (user turn,
//! assistant turn), the same exchange as an Alpaca triple, and its metadata. Paired patterns
//! also give preference pairs.
//!
//! The assistant turn is the training target: it is always the answer's side (the fixed side
//! of a paired pattern), never the flawed code; the flawed code appears only in the user turn
//! of a fix, in Alpaca's `input`, and as the `rejected` answer of a preference pair.

use serde::Serialize;
use serde_json::{Map, Value as Json};

use plse_render::{AnswerGlobals, Prepared, RenderError, Sample, Side};
use plse_schema::{Artifact, Capability, Difficulty, PAIRED_PARAM};

use crate::markdown::{artifact_block, language, reflow};
use crate::task::Task;

/// One chat message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    /// `user` or `assistant`.
    pub role: &'static str,
    /// Markdown text.
    pub content: String,
}

/// Instruction and code of one side of a paired sample (its tests stay out: the flawed side's
/// tests assert the bug and must never serve as a verifier).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SideCode {
    /// The side's instruction.
    pub instruction: String,
    /// The side's code.
    pub code: String,
}

/// Both sides of a paired sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PairCode {
    /// The code the lesson calls wrong.
    pub flawed: SideCode,
    /// Its fix.
    pub fixed: SideCode,
}

/// A lint or validator finding, the same shape for every artifact kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Finding {
    /// Rule code (`B006`, `S603`, `SEC020`, `dockerfile-latest-tag`, ...).
    pub code: String,
    /// What is wrong.
    pub message: String,
    /// 1-based line (0 when the finding is about the whole file).
    pub line: u32,
    /// 1-based column (0 when unknown).
    pub column: u32,
}

/// The findings on one side (`sample`, `flawed` or `fixed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SideFindings {
    /// Which side.
    pub side: String,
    /// What the checks found (recorded; only some rules reject).
    pub findings: Vec<Finding>,
}

/// One stage's outcome as a row records it: deterministic (timings go to the run's stats).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StageOutcome {
    /// `syntax`, `artifact`, `lint`, `security`, `tests`, `expected-output`, `defect-shown`.
    pub stage: String,
    /// `flawed` / `fixed` for paired samples.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub side: Option<String>,
    /// Passed.
    pub ok: bool,
    /// What happened.
    pub message: String,
}

/// How the row was verified (added by `plse-batch`, which runs the checks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// Stages every side passed, in pipeline order.
    pub verified: Vec<String>,
    /// Every stage's outcome.
    pub stages: Vec<StageOutcome>,
    /// Findings of lint and of the artifact validators, per side.
    pub lint: Vec<SideFindings>,
    /// For a fix: why the answer is right by construction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
}

/// What a fix row's verification proves.
pub const FIX_PROOF: &str = "the fixed code in the answer passes the pattern's tests, and the same tests fail on the flawed code in the prompt (stage defect-shown)";

/// One line of `training_dataset.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TrainingRow {
    /// Sample id (pattern, version and parameters; unique within a run).
    pub id: String,
    /// What the row asks.
    pub task: Task,
    /// The exchange: user turn, then assistant turn (Markdown).
    pub messages: Vec<Message>,
    /// Alpaca: the instruction (without the code of a fix).
    pub instruction: String,
    /// Alpaca: the flawed code of a fix; empty otherwise.
    pub input: String,
    /// Alpaca: the assistant turn.
    pub output: String,
    /// The pattern.
    pub pattern_id: String,
    /// Its revision.
    pub pattern_version: String,
    /// Its category (folder).
    pub category: String,
    /// Difficulty.
    pub difficulty: Difficulty,
    /// Concept taught.
    pub concept: String,
    /// Tags.
    pub tags: Vec<String>,
    /// Language tag of the answer's code block.
    pub language: &'static str,
    /// The seed.
    pub seed: u64,
    /// The index within the seed.
    pub index: u64,
    /// Parameter values (derived ones included).
    pub parameters: Map<String, Json>,
    /// The answer's code, raw.
    pub code: String,
    /// The prose of the answer, reflowed (for a fix: the flaw, then the fix).
    pub explanation: String,
    /// Tests the answer's code passes (a verifier for it; never the flawed side's tests).
    pub tests: Vec<String>,
    /// Import lines the code needs.
    pub requires: Vec<String>,
    /// Artifact kind and file name.
    pub artifact: Artifact,
    /// What the code may do that the security stage otherwise rejects.
    pub capabilities: Vec<Capability>,
    /// Both sides' instruction and code, for paired patterns.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pair: Option<PairCode>,
    /// How the row was verified.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// When a model rephrased the instruction (`generate --rephrase`): the pattern's own and
    /// the model.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rephrased: Option<crate::rephrase::Rephrased>,
}

impl TrainingRow {
    /// The text duplicates are judged on: the answer's code, and for a fix also the flawed code
    /// of the prompt (two fixes of different flaws are different lessons).
    pub fn dedup_text(&self) -> String {
        match (&self.pair, self.task) {
            (Some(pair), Task::Fix) => format!("{}\n{}", pair.flawed.code, self.code),
            _ => self.code.clone(),
        }
    }
}

/// A TRL conversational preference pair from a paired pattern: the prompt asks for the code,
/// `chosen` is the fixed code (it passed the tests) and `rejected` the flawed code (the same
/// tests fail on it). Both answers are bare code blocks, so the preference is about the code
/// alone, not about the presence of prose.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PreferenceRow {
    /// Id of the pair (pattern, version and the parameters other than the switch): a fix row
    /// and a write row of the same pair share it.
    pub id: String,
    /// The pattern.
    pub pattern_id: String,
    /// Its revision.
    pub pattern_version: String,
    /// Its category.
    pub category: String,
    /// Difficulty.
    pub difficulty: Difficulty,
    /// Concept taught.
    pub concept: String,
    /// Tags.
    pub tags: Vec<String>,
    /// The user turn.
    pub prompt: Vec<Message>,
    /// The preferred answer.
    pub chosen: Vec<Message>,
    /// The dispreferred answer.
    pub rejected: Vec<Message>,
    /// Tests `chosen` passes and `rejected` fails.
    pub tests: Vec<String>,
}

/// The row of `sample` drawn as `task`. The sample must have been rendered with
/// [`Task::overrides`] (the flawed side drawn for a fix).
pub fn compose(prepared: &Prepared, sample: &Sample, task: Task) -> Result<TrainingRow, RenderError> {
    let pattern = prepared.pattern();
    let fallback = || pattern.metadata.description.clone();
    let prose = |side: &Side| reflow(side.explanation.as_deref().map_or_else(fallback, str::to_owned).trim());
    let answer_side: Side = match &sample.pair {
        Some(pair) => pair.fixed.clone(),
        None => sample.sides().swap_remove(0).1,
    };
    let flawed = sample.pair.as_ref().filter(|_| task == Task::Fix).map(|p| &p.flawed);
    let instruction = flawed.map_or(&answer_side.instruction, |f| &f.instruction).trim().to_owned();
    let explanation = prose(&answer_side);
    let flaw = flawed.map(prose).unwrap_or_default();
    let code_block = artifact_block(&sample.artifact, &answer_side.code);
    let globals = AnswerGlobals { task: task.as_str(), code_block: &code_block, explanation: &explanation, flaw: &flaw };
    let answer = match prepared.render_answer(sample, &globals) {
        Some(rendered) => rendered?.trim().to_owned(),
        None => match task {
            Task::Write => format!("{code_block}\n\n{explanation}"),
            Task::Fix => format!("{flaw}\n\n{code_block}\n\n{explanation}"),
            Task::Compare => format!("{explanation}\n\n{code_block}"),
        },
    };
    let user = match flawed {
        Some(f) => format!("{instruction}\n\n{}", artifact_block(&sample.artifact, &f.code)),
        None => instruction.clone(),
    };
    let explanation = if flaw.is_empty() { explanation } else { format!("{flaw}\n\n{explanation}") };
    Ok(TrainingRow {
        id: sample.id.clone(),
        task,
        messages: vec![Message { role: "user", content: user }, Message { role: "assistant", content: answer.clone() }],
        input: flawed.map(|f| f.code.clone()).unwrap_or_default(),
        instruction,
        output: answer,
        pattern_id: sample.pattern_id.clone(),
        pattern_version: sample.pattern_version.clone(),
        category: sample.category.clone(),
        difficulty: sample.difficulty,
        concept: sample.concept.clone(),
        tags: sample.tags.clone(),
        language: language(&sample.artifact, &answer_side.code),
        seed: sample.seed,
        index: sample.index,
        parameters: sample.parameters.clone(),
        code: answer_side.code,
        explanation,
        tests: answer_side.tests,
        requires: sample.requires.clone(),
        artifact: sample.artifact.clone(),
        capabilities: pattern.capabilities.clone(),
        pair: sample.pair.as_ref().map(|p| PairCode {
            flawed: SideCode { instruction: p.flawed.instruction.trim().to_owned(), code: p.flawed.code.clone() },
            fixed: SideCode { instruction: p.fixed.instruction.trim().to_owned(), code: p.fixed.code.clone() },
        }),
        verification: None,
        rephrased: None,
    })
}

/// The id of the preference pair of a paired pattern's sample: a hash of the pattern, its
/// version and the parameters other than the switch, so both sides' rows name the same pair.
pub fn pair_id(pattern_id: &str, version: &str, parameters: &serde_json::Map<String, serde_json::Value>) -> String {
    let mut key = parameters.clone();
    key.remove(PAIRED_PARAM);
    let id_src = serde_json::json!({ "pattern_id": pattern_id, "version": version, "parameters": key });
    plse_sampling::rng::hex_digest(id_src.to_string().as_bytes(), 16)
}

/// The preference pair of a paired sample (`None` for other patterns).
pub fn preference(sample: &Sample) -> Option<PreferenceRow> {
    let pair = sample.pair.as_ref()?;
    let answer = |code: &str| vec![Message { role: "assistant", content: artifact_block(&sample.artifact, code) }];
    Some(PreferenceRow {
        id: pair_id(&sample.pattern_id, &sample.pattern_version, &sample.parameters),
        pattern_id: sample.pattern_id.clone(),
        pattern_version: sample.pattern_version.clone(),
        category: sample.category.clone(),
        difficulty: sample.difficulty,
        concept: sample.concept.clone(),
        tags: sample.tags.clone(),
        prompt: vec![Message { role: "user", content: pair.fixed.instruction.trim().to_owned() }],
        chosen: answer(&pair.fixed.code),
        rejected: answer(&pair.flawed.code),
        tests: pair.fixed.tests.clone(),
    })
}
