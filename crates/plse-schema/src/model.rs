//! The validated pattern: what the sampler and renderer consume.

use std::ops::Range;

use serde::Serialize;
use serde_json::Value as Json;

use crate::yaml::Origin;

/// The format version a file declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum FormatVersion {
    /// `plse_version: "2.0"`: the earlier engine's format, loaded unchanged.
    #[serde(rename = "2.0")]
    V2,
    /// `plse_version: "3"`: v2.0 plus the extensions.
    #[serde(rename = "3")]
    V3,
}

impl FormatVersion {
    /// The version a `plse_version` value names (`"2.0"`/`"2"`, `"3"`/`"3.0"`), if any.
    pub fn from_declared(text: &str) -> Option<Self> {
        match text {
            "2.0" | "2" => Some(Self::V2),
            "3" | "3.0" => Some(Self::V3),
            _ => None,
        }
    }
}

/// A Jinja template with where it came from in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateText {
    /// Name used in render errors (`instruction`, `validation.unit_test_snippets[1]`, ...).
    pub name: String,
    /// The template source.
    pub text: String,
    /// Span of the YAML scalar holding it.
    pub span: Range<usize>,
    /// Where its content starts, to map template offsets to file offsets.
    pub origin: Origin,
}

/// How difficult a lesson is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Difficulty {
    /// First steps.
    Beginner,
    /// Working knowledge.
    Intermediate,
    /// Needs experience.
    Advanced,
    /// Blind spots of experienced engineers.
    Expert,
}

impl Difficulty {
    /// All values, easiest first.
    pub const ALL: [Difficulty; 4] = [Self::Beginner, Self::Intermediate, Self::Advanced, Self::Expert];

    /// The YAML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Beginner => "beginner",
            Self::Intermediate => "intermediate",
            Self::Advanced => "advanced",
            Self::Expert => "expert",
        }
    }
}

/// Descriptive metadata.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metadata {
    /// Who wrote the pattern.
    pub author: String,
    /// What it is about.
    pub description: String,
    /// Free-form tags.
    pub tags: Vec<String>,
    /// The concept taught.
    pub concept: String,
    /// How hard it is.
    pub difficulty: Difficulty,
    /// Ids of related patterns.
    pub related_patterns: Vec<String>,
}

/// One parameter of a pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    /// The name templates refer to.
    pub name: String,
    /// Span of the name in the file.
    pub span: Range<usize>,
    /// What it is for.
    pub description: String,
    /// The value used when nothing else is chosen (`Json::Null` for derived parameters).
    pub default: Json,
    /// Type and constraints.
    pub kind: ParamKind,
}

/// A parameter's type together with its validated constraints.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamKind {
    /// One of `options`, uniformly or by `weights`.
    Choice {
        /// The options (any scalar or structured value).
        options: Vec<Json>,
        /// Relative weights, one per option.
        weights: Option<Vec<f64>>,
    },
    /// `true` with `probability`.
    Bool {
        /// Chance of `true`.
        probability: f64,
    },
    /// `min + k*step` up to `max`; fixed to the default without a range.
    Int {
        /// The range, if given.
        range: Option<IntRange>,
    },
    /// Uniform in `[min, max]`, on `step` if given, rounded to `decimals`.
    Float {
        /// The range, if given.
        range: Option<FloatRange>,
    },
    /// One of `options`; fixed to the default without options.
    String {
        /// The options, if given.
        options: Option<Vec<String>>,
    },
    /// A subset of `options` (kept in their order) of `min_items..=max_items` elements.
    List {
        /// The pool.
        options: Vec<Json>,
        /// Fewest items.
        min_items: usize,
        /// Most items.
        max_items: usize,
    },
    /// Computed from earlier parameters by a Jinja expression.
    Derived {
        /// The expression.
        expression: TemplateText,
    },
}

impl ParamKind {
    /// The YAML `type` spelling.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Choice { .. } => "choice",
            Self::Bool { .. } => "bool",
            Self::Int { .. } => "int",
            Self::Float { .. } => "float",
            Self::String { .. } => "string",
            Self::List { .. } => "list",
            Self::Derived { .. } => "derived",
        }
    }
}

/// An integer range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntRange {
    /// Smallest value.
    pub min: i64,
    /// Largest value.
    pub max: i64,
    /// Distance between values (≥ 1).
    pub step: i64,
}

/// A float range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FloatRange {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Grid spacing, if the values are on a grid.
    pub step: Option<f64>,
    /// Decimal places kept.
    pub decimals: u32,
}

/// Where the code comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum CodeSource {
    /// A single `template` (the `model_definition` component).
    Template(TemplateText),
    /// Named components, joined in [`Components::ORDER`].
    Components(Components),
}

/// The v2.0 named components.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Components {
    /// Present components in join order.
    pub parts: Vec<TemplateText>,
}

impl Components {
    /// The order the earlier engine joined components in (a Dockerfile's `CMD` sits in
    /// `model_definition`, last).
    pub const ORDER: [&'static str; 5] = ["imports", "data_setup", "training_loop", "evaluation", "model_definition"];
}

/// What kind of artifact the code is; decides which validator checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArtifactKind {
    /// Python source (the default).
    Python,
    /// A TOML file.
    Toml,
    /// A YAML file.
    Yaml,
    /// A Dockerfile.
    Dockerfile,
    /// A shell script.
    Shell,
    /// Plain text.
    Text,
}

impl ArtifactKind {
    /// All kinds.
    pub const ALL: [ArtifactKind; 6] = [Self::Python, Self::Toml, Self::Yaml, Self::Dockerfile, Self::Shell, Self::Text];

    /// The YAML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Python => "python",
            Self::Toml => "toml",
            Self::Yaml => "yaml",
            Self::Dockerfile => "dockerfile",
            Self::Shell => "shell",
            Self::Text => "text",
        }
    }
}

/// The artifact's kind and file name.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Artifact {
    /// Which validator applies.
    pub kind: ArtifactKind,
    /// File name the artifact is written as (`pyproject.toml`); `None` means a generated name.
    pub path: Option<String>,
}

/// Something sample code may do that the security stage rejects unless the pattern declares
/// it under `capabilities` (format 3). Declared or not, the code still runs in the sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// Sockets, HTTP clients and servers, DNS.
    Network,
    /// Starting other programs or forking (`subprocess`, `os.system`, `os.exec*`, `os.fork`).
    Subprocess,
    /// Reading or changing environment variables (`os.environ`, `os.getenv`).
    Environment,
    /// Paths outside the sample's working directory: absolute paths, the home directory.
    Filesystem,
    /// Sending signals to other processes (`os.kill`, `os.killpg`).
    Signals,
    /// Leaving the process group or session (`os.setsid`, `start_new_session=True`).
    Detach,
    /// Foreign function calls (`ctypes`, `cffi`).
    Native,
    /// Running code built from strings (`eval`, `exec`, `compile`, computed imports).
    DynamicCode,
    /// Namespaces, mounts and root changes (`os.unshare`, `os.setns`, `os.chroot`).
    Namespaces,
}

impl Capability {
    /// All capabilities.
    pub const ALL: [Capability; 9] = [
        Self::Network,
        Self::Subprocess,
        Self::Environment,
        Self::Filesystem,
        Self::Signals,
        Self::Detach,
        Self::Native,
        Self::DynamicCode,
        Self::Namespaces,
    ];

    /// The YAML spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Network => "network",
            Self::Subprocess => "subprocess",
            Self::Environment => "environment",
            Self::Filesystem => "filesystem",
            Self::Signals => "signals",
            Self::Detach => "detach",
            Self::Native => "native",
            Self::DynamicCode => "dynamic-code",
            Self::Namespaces => "namespaces",
        }
    }

    /// The capability of that spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }

    /// The capability a ruff `S` (flake8-bandit) finding shows the code using, for the rules
    /// the pipeline's rule set selects.
    pub fn for_ruff_rule(code: &str) -> Option<Self> {
        match code {
            "S102" | "S307" => Some(Self::DynamicCode),
            "S104" | "S310" => Some(Self::Network),
            "S108" => Some(Self::Filesystem),
            "S602" | "S603" | "S604" | "S605" | "S606" | "S607" => Some(Self::Subprocess),
            _ => None,
        }
    }
}

/// The `validation` block.
#[derive(Debug, Clone, PartialEq)]
pub struct Validation {
    /// Whether the linter runs on the code.
    pub linter_checks: bool,
    /// Test snippets (templates).
    pub unit_test_snippets: Vec<TemplateText>,
    /// Expected output, as given.
    pub expected_output: Json,
}

/// A validated pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    /// Declared format version.
    pub format: FormatVersion,
    /// Unique id.
    pub pattern_id: String,
    /// Span of the id's value.
    pub pattern_id_span: Range<usize>,
    /// Revision of the lesson (`"1"` when not given).
    pub version: String,
    /// Metadata.
    pub metadata: Metadata,
    /// Instruction template.
    pub instruction: TemplateText,
    /// Parameters in declaration order.
    pub parameters: Vec<Parameter>,
    /// Import lines the code needs (the `requires` entries that are import specs).
    pub requires: Vec<String>,
    /// `requires` entries that are Jinja templates (`{% if m == 'SVC' %}from sklearn.svm import
    /// SVC{% endif %}`), rendered per sample into import lines (an empty result adds none).
    pub requires_templates: Vec<TemplateText>,
    /// `requires` entries that name a distribution rather than a module (`python-multipart`,
    /// `scikit-learn>=1.4`): needed installed, never imported by the sample.
    pub distributions: Vec<String>,
    /// The code template(s).
    pub code: CodeSource,
    /// Explanation template.
    pub explanation: Option<TemplateText>,
    /// Answer template (format 3): the assistant turn of a training row, when the author
    /// composes it instead of the default composition.
    pub answer: Option<TemplateText>,
    /// What the code may do that the security stage otherwise rejects (format 3).
    pub capabilities: Vec<Capability>,
    /// Artifact kind and path.
    pub artifact: Artifact,
    /// Tests and lint settings.
    pub validation: Validation,
}

/// Name of the bool parameter that makes a pattern a paired anti-pattern.
pub const PAIRED_PARAM: &str = "is_anti_pattern";

impl Pattern {
    /// Whether the pattern yields a flawed and a fixed side.
    pub fn is_paired(&self) -> bool {
        self.parameters.iter().any(|p| p.name == PAIRED_PARAM && matches!(p.kind, ParamKind::Bool { .. }))
    }

    /// The parameter of that name.
    pub fn parameter(&self, name: &str) -> Option<&Parameter> {
        self.parameters.iter().find(|p| p.name == name)
    }

    /// Every template of the pattern, in a stable order.
    pub fn templates(&self) -> Vec<&TemplateText> {
        let mut out = vec![&self.instruction];
        match &self.code {
            CodeSource::Template(t) => out.push(t),
            CodeSource::Components(c) => out.extend(c.parts.iter()),
        }
        out.extend(self.requires_templates.iter());
        out.extend(self.validation.unit_test_snippets.iter());
        out.extend(self.explanation.iter());
        out.extend(self.answer.iter());
        out
    }
}
