//! A pattern with its templates compiled once, ready to render many samples.

use minijinja::value::Serde;
use minijinja::{Environment, Value};
use serde_json::{Map, Value as Json};
use thiserror::Error;

use plse_sampling::Overrides;
use plse_sampling::draw::Keys;
use plse_schema::{ArtifactKind, Code, CodeSource, Diagnostic, PAIRED_PARAM, ParamKind, Pattern, SourceFile, TemplateText, templates};

use crate::imports::prepend_requires;
use crate::record::{Pair, Sample, Side};

/// Rendering failed in one template.
#[derive(Debug, Error)]
#[error("rendering `{template}` failed: {source}")]
pub struct RenderError {
    /// Name of the template (`instruction`, `validation.unit_test_snippets[0]`, ...).
    pub template: String,
    /// The engine's error.
    #[source]
    pub source: minijinja::Error,
}

impl RenderError {
    /// The error as a diagnostic located in the pattern file.
    pub fn to_diagnostic(&self, pattern: &Pattern, file: &SourceFile) -> Diagnostic {
        let derived = pattern.parameters.iter().filter_map(|p| match &p.kind {
            ParamKind::Derived { expression } => Some(expression),
            _ => None,
        });
        let t = pattern.templates().into_iter().chain(derived).find(|t| t.name == self.template);
        match t {
            Some(t) => templates::template_error(file, t, &self.source, Code::RenderError),
            None => Diagnostic::error(Code::RenderError, 0..0, self.to_string()),
        }
    }
}

/// A pattern whose templates are compiled into one environment.
pub struct Prepared<'p> {
    pattern: &'p Pattern,
    category: String,
    env: Environment<'static>,
    script_path: String,
    /// Parameter stream keys of the last seed rendered (they do not depend on the index).
    keys: std::sync::Mutex<Option<Keys>>,
    /// Whether the pattern has derived parameters (computed by the `DERIVED` template).
    has_derived: bool,
}

/// One side as rendered: its full parameters, its texts and its import lines.
type RenderedSide = (Map<String, Json>, Side, Vec<String>);

/// Name of the template that computes every derived parameter.
const DERIVED: &str = "<derived parameters>";

impl<'p> Prepared<'p> {
    /// Compiles every template of `pattern`. Fails only if a template does not parse, which
    /// a pattern that loaded without errors never does.
    pub fn new(pattern: &'p Pattern, category: &str) -> Result<Self, RenderError> {
        let mut env = plse_schema::jinja::environment(pattern.format);
        for t in pattern.templates() {
            env.add_template_owned(t.name.clone(), t.text.clone()).map_err(|source| RenderError { template: t.name.clone(), source })?;
        }
        // All derived parameters are computed by one template compiled here: each expression
        // `set` in declaration order (later ones see earlier ones), then all printed as one JSON
        // object. Parsing the expressions for every sample used to cost more than rendering all
        // the other templates; minijinja balances braces, so any expression fits in `( )`.
        let derived: Vec<(&str, &str)> = pattern
            .parameters
            .iter()
            .filter_map(|p| match &p.kind {
                ParamKind::Derived { expression } => Some((p.name.as_str(), expression.text.as_str())),
                _ => None,
            })
            .collect();
        let has_derived = !derived.is_empty();
        if has_derived {
            let mut src: String = derived.iter().map(|(name, expr)| format!("{{% set {name} = ({expr}) %}}")).collect();
            let fields: Vec<String> = derived.iter().map(|(name, _)| format!("{name:?}: {name}")).collect();
            src.push_str(&format!("{{{{ {{{}}} | tojson }}}}", fields.join(", ")));
            // A failure here only means the fast path is unavailable; `side` then evaluates
            // each expression on its own and reports the precise error.
            let _ = env.add_template_owned(DERIVED, src);
        }
        let script_path = pattern.artifact.path.clone().unwrap_or_else(|| default_file_name(pattern.artifact.kind).to_owned());
        Ok(Self { pattern, category: category.to_owned(), env, script_path, keys: std::sync::Mutex::new(None), has_derived })
    }

    /// The pattern.
    pub fn pattern(&self) -> &Pattern {
        self.pattern
    }

    /// Renders sample `(seed, index)`.
    pub fn render(&self, seed: u64, index: u64, overrides: &Overrides) -> Result<Sample, RenderError> {
        let p = self.pattern;
        let drawn = {
            let mut cache = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if cache.as_ref().is_none_or(|k| k.seed() != seed) {
                *cache = Some(Keys::new(p, seed));
            }
            cache.as_ref().unwrap_or_else(|| unreachable!()).draw(p, index, overrides)
        };
        let id = sample_id(p, &drawn);
        let (parameters, side, requires, pair) = if p.is_paired() {
            // Render each side once; the drawn side is one of them.
            let drawn_flawed = drawn.get(PAIRED_PARAM) == Some(&Json::Bool(true));
            let mut sides = [true, false].into_iter().map(|flawed| {
                let mut params = drawn.clone();
                params.insert(PAIRED_PARAM.to_owned(), Json::Bool(flawed));
                self.side(params)
            });
            let (flawed_params, flawed, flawed_requires) = sides.next().unwrap_or_else(|| unreachable!())?;
            let (fixed_params, fixed, fixed_requires) = sides.next().unwrap_or_else(|| unreachable!())?;
            let (parameters, side, requires) =
                if drawn_flawed { (flawed_params, flawed.clone(), flawed_requires) } else { (fixed_params, fixed.clone(), fixed_requires) };
            (parameters, side, requires, Some(Pair { flawed, fixed }))
        } else {
            let (parameters, side, requires) = self.side(drawn)?;
            (parameters, side, requires, None)
        };
        Ok(Sample {
            id,
            pattern_id: p.pattern_id.clone(),
            pattern_version: p.version.clone(),
            category: self.category.clone(),
            difficulty: p.metadata.difficulty,
            tags: p.metadata.tags.clone(),
            concept: p.metadata.concept.clone(),
            seed,
            index,
            parameters,
            instruction: side.instruction,
            code: side.code,
            tests: side.tests,
            explanation: side.explanation,
            requires,
            artifact: p.artifact.clone(),
            pair,
        })
    }

    /// Every parameter of a sample: `drawn` plus the derived ones, in declaration order.
    fn full_params(&self, mut params: Map<String, Json>) -> Result<Map<String, Json>, RenderError> {
        let p = self.pattern;
        if self.has_derived {
            let ctx = Value::from(Serde(&params));
            let printed = self.env.get_template(DERIVED).and_then(|t| t.render(&ctx));
            match printed.as_deref().map(serde_json::from_str::<Map<String, Json>>) {
                Ok(Ok(values)) => params.extend(values),
                // Slow path, for the precise error: one expression at a time.
                _ => {
                    for param in &p.parameters {
                        if let ParamKind::Derived { expression } = &param.kind {
                            let value = self.eval(expression, &params)?;
                            params.insert(param.name.clone(), value);
                        }
                    }
                }
            }
        }
        // Keep declaration order in the record even when derived parameters sit in between.
        Ok(p.parameters.iter().filter_map(|q| params.get(&q.name).map(|v| (q.name.clone(), v.clone()))).collect())
    }

    /// Computes derived parameters, then renders instruction, code, tests and explanation
    /// from the one context.
    fn side(&self, params: Map<String, Json>) -> Result<RenderedSide, RenderError> {
        let p = self.pattern;
        let params = self.full_params(params)?;
        let ctx = Value::from(Serde(&params));
        let instruction = self.render_one(&p.instruction, &ctx)?;
        let code = match &p.code {
            CodeSource::Template(t) => self.render_one(t, &ctx)?,
            CodeSource::Components(c) => {
                let mut parts = Vec::with_capacity(c.parts.len());
                for t in &c.parts {
                    let part = self.render_one(t, &ctx)?;
                    if !part.trim().is_empty() {
                        parts.push(part);
                    }
                }
                parts.join("\n\n")
            }
        };
        let requires = self.requires(&ctx)?;
        let code = match p.artifact.kind {
            ArtifactKind::Python => prepend_requires(&code, &requires),
            _ => code,
        };
        let test_ctx = Value::from(Serde(&TestContext { params: &params, raw_code: &code, script_path: &self.script_path }));
        let tests = p.validation.unit_test_snippets.iter().map(|t| self.render_one(t, &test_ctx)).collect::<Result<Vec<_>, _>>()?;
        let explanation = p.explanation.as_ref().map(|t| self.render_one(t, &ctx)).transpose()?;
        Ok((params, Side { instruction, code, tests, explanation }, requires))
    }

    /// The sample's import lines: the static `requires` entries, then each templated entry
    /// rendered (a line each; an entry that renders empty adds nothing).
    fn requires(&self, ctx: &Value) -> Result<Vec<String>, RenderError> {
        let p = self.pattern;
        let mut out = p.requires.clone();
        for t in &p.requires_templates {
            for line in self.render_one(t, ctx)?.lines().map(str::trim).filter(|l| !l.is_empty()) {
                if !plse_schema::is_import_spec(line) {
                    let message = format!("`{line}` is not an import");
                    let source = minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, message);
                    return Err(RenderError { template: t.name.clone(), source });
                }
                if !out.iter().any(|r| r == line) {
                    out.push(line.to_owned());
                }
            }
        }
        Ok(out)
    }

    /// Renders the pattern's `answer` template (format 3), if it has one, in the context of
    /// the answer's side of `sample` (the fixed side of a paired pattern) plus `globals`.
    pub fn render_answer(&self, sample: &Sample, globals: &AnswerGlobals<'_>) -> Option<Result<String, RenderError>> {
        let t = self.pattern.answer.as_ref()?;
        let mut params = sample.parameters.clone();
        if self.pattern.is_paired() && params.get(PAIRED_PARAM) != Some(&Json::Bool(false)) {
            params.insert(PAIRED_PARAM.to_owned(), Json::Bool(false));
            params = match self.full_params(params) {
                Ok(p) => p,
                Err(e) => return Some(Err(e)),
            };
        }
        let ctx = Value::from(Serde(&AnswerContext { params: &params, globals }));
        Some(self.render_one(t, &ctx))
    }

    /// Evaluates a Jinja expression of this pattern (e.g. one found inside `{{ }}` of a
    /// template) with a sample's parameters, as the text it would render to. `None` when it
    /// does not evaluate.
    pub fn eval_text(&self, expr: &str, params: &Map<String, Json>) -> Option<String> {
        let value = self.env.compile_expression(expr).ok()?.eval(Value::from(Serde(params))).ok()?;
        Some(value.to_string())
    }

    fn render_one(&self, t: &TemplateText, ctx: &Value) -> Result<String, RenderError> {
        let err = |source| RenderError { template: t.name.clone(), source };
        self.env.get_template(&t.name).map_err(err)?.render(ctx).map_err(err)
    }

    fn eval(&self, t: &TemplateText, params: &Map<String, Json>) -> Result<Json, RenderError> {
        let err = |source| RenderError { template: t.name.clone(), source };
        let expr = self.env.compile_expression(&t.text).map_err(err)?;
        let value = expr.eval(Value::from(Serde(params))).map_err(err)?;
        serde_json::to_value(&value).map_err(|e| err(minijinja::Error::new(minijinja::ErrorKind::BadSerialization, e.to_string())))
    }
}

/// What the `answer` template sees besides the parameters (see `plse_schema::jinja::ANSWER_GLOBALS`).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct AnswerGlobals<'a> {
    /// `write`, `fix` or `compare`.
    #[serde(rename = "__task__")]
    pub task: &'a str,
    /// The answer's code as a fenced Markdown block.
    #[serde(rename = "__code_block__")]
    pub code_block: &'a str,
    /// The reflowed explanation of the answer's side.
    #[serde(rename = "__explanation__")]
    pub explanation: &'a str,
    /// For a fix, the reflowed explanation of the flaw; empty otherwise.
    #[serde(rename = "__flaw__")]
    pub flaw: &'a str,
}

#[derive(serde::Serialize)]
struct AnswerContext<'a> {
    #[serde(flatten)]
    params: &'a Map<String, Json>,
    #[serde(flatten)]
    globals: &'a AnswerGlobals<'a>,
}

/// Context of test snippets: the parameters plus the code and its file name.
#[derive(serde::Serialize)]
struct TestContext<'a> {
    #[serde(flatten)]
    params: &'a Map<String, Json>,
    #[serde(rename = "__raw_code__")]
    raw_code: &'a str,
    #[serde(rename = "SCRIPT_PATH")]
    script_path: &'a str,
}

/// File name the code is written as when the pattern does not name one.
pub fn default_file_name(kind: ArtifactKind) -> &'static str {
    match kind {
        ArtifactKind::Python => "sample.py",
        ArtifactKind::Toml => "sample.toml",
        ArtifactKind::Yaml => "sample.yaml",
        ArtifactKind::Dockerfile => "Dockerfile",
        ArtifactKind::Shell => "sample.sh",
        ArtifactKind::Text => "sample.txt",
    }
}

/// Stable id of a sample: SHA-256 of the canonical JSON of pattern id, version and drawn
/// parameters (declaration order), first 16 hex digits.
fn sample_id(p: &Pattern, drawn: &Map<String, Json>) -> String {
    let key = serde_json::json!({ "pattern_id": p.pattern_id, "version": p.version, "parameters": drawn });
    plse_sampling::rng::hex_digest(key.to_string().as_bytes(), 16)
}
