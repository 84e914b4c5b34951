//! The scenes' prompts: Jinja templates (shipped in `templates/`, or the user's own) rendered
//! with the pattern engine's environment (`plse_schema::jinja`, format `"3"`: strict undefined
//! names, bounded work). A template defines two blocks, `system` and `user`, the two messages
//! sent. A broken template is reported like a broken pattern: located diagnostics
//! (`file:line:col`, the line, carets), all of them at once.

use std::collections::BTreeSet;
use std::fmt;

use minijinja::{Environment, Value};
use plse_schema::jinja::GLOBALS;
use plse_schema::{Code, Diagnostic, FormatVersion, RenderStyle, SourceFile, did_you_mean, render_all};
use serde::Serialize;

use crate::context::{DesignContext, QaContext, Shown};
use crate::repo::MIN_QUOTE_CHARS;
use crate::schedule::Scene;

/// The question template shipped with the crate.
pub const QA_TEMPLATE: &str = include_str!("../templates/qa.jinja");
/// The design template shipped with the crate.
pub const DESIGN_TEMPLATE: &str = include_str!("../templates/design.jinja");

/// The blocks every template defines: the system message, then the user message.
pub const BLOCKS: [&str; 2] = ["system", "user"];

/// The variables a question template may use.
pub const QA_VARIABLES: &[&str] = &["repo", "focus", "enclosing", "blocks", "questions", "min_quote_chars"];
/// The variables a design template may use.
pub const DESIGN_VARIABLES: &[&str] = &["repo", "tree", "focus", "samples", "min_quote_chars"];

impl Scene {
    /// The file name of the scene's template (`qa.jinja`, `design.jinja`).
    pub fn template_file(self) -> &'static str {
        match self {
            Scene::Qa => "qa.jinja",
            Scene::Design => "design.jinja",
        }
    }

    fn builtin_template(self) -> &'static str {
        match self {
            Scene::Qa => QA_TEMPLATE,
            Scene::Design => DESIGN_TEMPLATE,
        }
    }

    fn variables(self) -> &'static [&'static str] {
        match self {
            Scene::Qa => QA_VARIABLES,
            Scene::Design => DESIGN_VARIABLES,
        }
    }
}

/// The two messages of a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prompt {
    /// The system message.
    pub system: String,
    /// The user message.
    pub user: String,
}

/// A template that does not parse, uses an unknown variable, lacks a block, or fails to
/// render: every problem found, located in its file.
#[derive(Debug, Clone)]
pub struct TemplateError {
    /// The template as read.
    pub file: SourceFile,
    /// What is wrong, with spans into `file`.
    pub diagnostics: Vec<Diagnostic>,
}

impl TemplateError {
    /// The diagnostics rendered rustc-style (`--> file:line:col`, snippet, carets).
    pub fn render(&self, style: RenderStyle) -> String {
        render_all(&self.diagnostics, &self.file, style).trim_end().to_owned()
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(RenderStyle::Plain))
    }
}

impl std::error::Error for TemplateError {}

/// The templates of a run, checked.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
    files: Vec<(Scene, SourceFile)>,
}

impl Templates {
    /// The templates shipped with the crate.
    pub fn builtin() -> Self {
        // The shipped templates are checked by this crate's tests.
        Self::new(None, None).unwrap_or_else(|e| panic!("a shipped template is broken:\n{e}"))
    }

    /// The templates of both scenes: `(name, text)` of a user's template (the name is how
    /// diagnostics call the file), or the shipped one. Checks syntax, variables and blocks.
    pub fn new(qa: Option<(String, String)>, design: Option<(String, String)>) -> Result<Self, TemplateError> {
        let mut env = plse_schema::jinja::environment(FormatVersion::V3);
        let mut files = Vec::new();
        for (scene, given) in [(Scene::Qa, qa), (Scene::Design, design)] {
            let (name, text) =
                given.unwrap_or_else(|| (format!("templates/{}", scene.template_file()), scene.builtin_template().to_owned()));
            let file = SourceFile::new(name, text);
            check(&env, scene, &file)?;
            env.add_template_owned(scene.template_file(), file.text().to_owned())
                .map_err(|e| TemplateError { diagnostics: vec![syntax_error(&file, &e)], file: file.clone() })?;
            files.push((scene, file));
        }
        Ok(Templates { env, files })
    }

    /// The template text of `scene` (what the run's configuration hashes).
    pub fn text(&self, scene: Scene) -> &str {
        self.file(scene).text()
    }

    fn file(&self, scene: Scene) -> &SourceFile {
        // Both scenes are always present: `new` adds them in order.
        &self.files.iter().find(|(s, _)| *s == scene).unwrap_or(&self.files[0]).1
    }

    /// The prompt of a question exchange.
    pub fn render_qa(&self, ctx: &QaContext, questions: usize) -> Result<Prompt, TemplateError> {
        let value = Value::from(minijinja::value::Serde(QaView {
            repo: &ctx.repo,
            focus: ShownView::of(&ctx.focus),
            enclosing: ctx.enclosing.as_deref(),
            blocks: ctx.blocks.iter().map(ShownView::of).collect(),
            questions,
            min_quote_chars: MIN_QUOTE_CHARS,
        }));
        self.render(Scene::Qa, value)
    }

    /// The prompt of a design exchange.
    pub fn render_design(&self, ctx: &DesignContext) -> Result<Prompt, TemplateError> {
        let value = Value::from(minijinja::value::Serde(DesignView {
            repo: &ctx.repo,
            tree: &ctx.tree,
            focus: &ctx.focus,
            samples: ctx.samples.iter().map(ShownView::of).collect(),
            min_quote_chars: MIN_QUOTE_CHARS,
        }));
        self.render(Scene::Design, value)
    }

    fn render(&self, scene: Scene, value: Value) -> Result<Prompt, TemplateError> {
        let file = self.file(scene);
        let fail = |e: &minijinja::Error| TemplateError { file: file.clone(), diagnostics: vec![render_error(file, e)] };
        let tmpl = self.env.get_template(scene.template_file()).map_err(|e| fail(&e))?;
        let mut captured = tmpl.render_captured(value).map_err(|e| fail(&e))?;
        let mut blocks = Vec::new();
        for name in BLOCKS {
            let text = captured.with_state_mut(|state| state.render_block(name)).map_err(|e| fail(&e))?;
            blocks.push(text.trim().to_owned());
        }
        let user = blocks.pop().unwrap_or_default();
        let system = blocks.pop().unwrap_or_default();
        Ok(Prompt { system, user })
    }
}

/// A shown block as templates see it: its fields plus the numbered text and its fences.
#[derive(Serialize)]
struct ShownView<'a> {
    #[serde(flatten)]
    shown: &'a Shown,
    numbered: String,
    fence_open: String,
    fence_close: String,
}

impl<'a> ShownView<'a> {
    fn of(shown: &'a Shown) -> Self {
        let (fence_open, fence_close) = shown.fence();
        ShownView { shown, numbered: shown.numbered(), fence_open, fence_close }
    }
}

#[derive(Serialize)]
struct QaView<'a> {
    repo: &'a crate::context::RepoSummary,
    focus: ShownView<'a>,
    enclosing: Option<&'a str>,
    blocks: Vec<ShownView<'a>>,
    questions: usize,
    min_quote_chars: usize,
}

#[derive(Serialize)]
struct DesignView<'a> {
    repo: &'a crate::context::RepoSummary,
    tree: &'a str,
    focus: &'a str,
    samples: Vec<ShownView<'a>>,
    min_quote_chars: usize,
}

/// Every static problem of `file` as the template of `scene`.
fn check(env: &Environment<'static>, scene: Scene, file: &SourceFile) -> Result<(), TemplateError> {
    let fail = |diagnostics| Err(TemplateError { file: file.clone(), diagnostics });
    let tmpl = match env.template_from_named_str(file.name(), file.text()) {
        Ok(t) => t,
        Err(e) => return fail(vec![syntax_error(file, &e)]),
    };
    let mut diagnostics = Vec::new();
    let known = scene.variables();
    let mut undeclared: Vec<String> = tmpl.undeclared_variables(false).into_iter().collect();
    undeclared.sort();
    for name in undeclared {
        if known.contains(&name.as_str()) || GLOBALS.contains(&name.as_str()) {
            continue;
        }
        let at = find_name(file.text(), &name).map_or(0..0, |o| o..o + name.len());
        let help = match did_you_mean(&name, known.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("the {scene} template is given: {}", known.join(", ")),
        };
        diagnostics.push(
            Diagnostic::error(Code::UndefinedVariable, at, format!("`{name}` is not a variable of the {scene} template"))
                .with_label("not defined")
                .with_help(help),
        );
    }
    let defined = block_names(file.text());
    for block in BLOCKS {
        if !defined.contains(block) {
            let end = file.text().len();
            diagnostics.push(
                Diagnostic::error(Code::MissingField, end..end, format!("the template defines no `{block}` block"))
                    .with_label("expected before the end")
                    .with_help(format!("a prompt template has two blocks: {{% block system %}}…{{% endblock %}} and {{% block user %}}…{{% endblock %}}; `{block}` is missing")),
            );
        }
    }
    if diagnostics.is_empty() { Ok(()) } else { fail(diagnostics) }
}

/// The names of the `{% block NAME %}` tags of a template.
fn block_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(open) = rest.find("{%") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("%}") else { break };
        let inner = after[..close].trim_matches(|c: char| c == '-' || c == '+' || c.is_whitespace());
        let mut words = inner.split_whitespace();
        if words.next() == Some("block")
            && let Some(name) = words.next()
        {
            names.insert(name.to_owned());
        }
        rest = &after[close + 2..];
    }
    names
}

/// The first place `name` occurs as a whole word inside a `{{ }}` or `{% %}` tag.
fn find_name(text: &str, name: &str) -> Option<usize> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(open) = ["{{", "{%"].iter().filter_map(|t| text[from..].find(t)).min().map(|o| from + o) {
        let close_tag = if text[open..].starts_with("{{") { "}}" } else { "%}" };
        let end = text[open..].find(close_tag).map_or(text.len(), |c| open + c);
        let inner = &text[open..end];
        let mut search = 0;
        while let Some(i) = inner[search..].find(name) {
            let at = search + i;
            let before = inner[..at].chars().next_back();
            let after = inner[at + name.len()..].chars().next();
            if !before.is_some_and(|c| is_word(c) || c == '.') && !after.is_some_and(is_word) {
                return Some(open + at);
            }
            search = at + name.len();
        }
        from = end;
    }
    None
}

fn span_of(file: &SourceFile, err: &minijinja::Error) -> std::ops::Range<usize> {
    err.range().or_else(|| err.line().map(|l| file.line_start(l)..file.line_start(l))).unwrap_or(0..0)
}

fn syntax_error(file: &SourceFile, err: &minijinja::Error) -> Diagnostic {
    let detail = err.detail().map_or_else(|| err.kind().to_string(), str::to_owned);
    Diagnostic::error(Code::TemplateSyntax, span_of(file, err), format!("template syntax error: {detail}"))
        .with_label(err.kind().to_string())
        .with_help("check the `{{ }}` / `{% %}` delimiters and that every block is closed")
}

fn render_error(file: &SourceFile, err: &minijinja::Error) -> Diagnostic {
    let detail = err.detail().map_or_else(|| err.kind().to_string(), str::to_owned);
    let help = match err.kind() {
        minijinja::ErrorKind::UndefinedError => {
            "a variable or attribute the template reads is not given; see the variables in the template's header"
        }
        minijinja::ErrorKind::OutOfFuel => "the template does too much work (an endless or huge loop?)",
        _ => "fix the template",
    };
    Diagnostic::error(Code::RenderError, span_of(file, err), format!("rendering the template failed: {detail}"))
        .with_label(err.kind().to_string())
        .with_help(help)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user_qa(text: &str) -> Result<Templates, TemplateError> {
        Templates::new(Some(("my/qa.jinja".to_owned(), text.to_owned())), None)
    }

    #[test]
    fn the_shipped_templates_load() {
        let t = Templates::builtin();
        assert_eq!(t.text(Scene::Qa), QA_TEMPLATE);
        assert_eq!(t.text(Scene::Design), DESIGN_TEMPLATE);
    }

    #[test]
    fn a_syntax_error_is_located() {
        let err = user_qa("{% block system %}hi{% endblock %}\n{% block user %}{{ focus.name }{% endblock %}\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("error[template-syntax]"), "{text}");
        assert!(text.contains("--> my/qa.jinja:2:"), "{text}");
        assert!(text.contains("{% block user %}{{ focus.name }"), "the snippet shows the line: {text}");
    }

    #[test]
    fn unknown_variables_and_missing_blocks_are_all_reported() {
        let err = user_qa("{% block system %}{{ repository.name }} and {{ focuss.name }}{% endblock %}\n").unwrap_err();
        let text = err.to_string();
        assert_eq!(err.diagnostics.len(), 3, "{text}");
        assert!(text.contains("`focuss` is not a variable of the qa template"), "{text}");
        assert!(text.contains("did you mean `focus`?"), "{text}");
        assert!(text.contains("--> my/qa.jinja:1:22"), "{text}");
        assert!(text.contains("the template defines no `user` block"), "{text}");
    }

    #[test]
    fn a_render_error_is_located() {
        let t = user_qa("{% block system %}s{% endblock %}\n{% block user %}\n{{ focus.nme }}\n{% endblock %}\n").unwrap();
        let repo = crate::repo::Repo { root: "r".into(), files: Vec::new(), skipped: Vec::new(), warnings: Vec::new() };
        let chunk = crate::repo::chunk_source("a.py", crate::repo::Language::Python, "def f():\n    return 1\n", &Default::default())
            .chunks
            .remove(0);
        let ctx = crate::context::qa_context(&repo, &chunk, 1000);
        let err = t.render_qa(&ctx, 1).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("error[render-error]"), "{text}");
        assert!(text.contains("--> my/qa.jinja:3:"), "{text}");
    }
}
