//! Static lint of one pattern: render it over a range of seeds and check what comes out.
//! Pure (no threads, no I/O): the CLI runs it in parallel, the browser runs it as is.

use std::collections::HashSet;
use std::ops::Range;

use plse_sampling::Overrides;
use plse_schema::{Code, Diagnostic, ParamKind, Pattern, SourceFile, TemplateText, templates};

use crate::article::{Article, literal_mistakes, sites, wanted};
use crate::prepared::Prepared;

/// What linting one pattern found.
#[derive(Debug, Clone, Default)]
pub struct LintReport {
    /// Problems, deduplicated across seeds.
    pub diagnostics: Vec<Diagnostic>,
    /// Seeds that rendered.
    pub rendered: u64,
    /// Seeds tried.
    pub tried: u64,
    /// Distinct codes among the rendered samples.
    pub distinct: usize,
}

impl LintReport {
    /// Whether any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The templates whose output is prose a model learns from.
fn prose_templates(pattern: &Pattern) -> impl Iterator<Item = &TemplateText> {
    std::iter::once(&pattern.instruction).chain(pattern.explanation.as_ref()).chain(pattern.answer.as_ref())
}

fn article_warning(source: &SourceFile, t: &TemplateText, range: &Range<usize>, have: Article, want: Article, word: &str) -> Diagnostic {
    // The message names no value, so one site is one warning whatever values hit it.
    Diagnostic::warning(
        Code::Article,
        templates::locate(source, t, range.clone()),
        format!("`{}` in `{}` needs `{}` for some values", &t.text[range.clone()], t.name, want.as_str()),
    )
    .with_label(format!("renders as `{} {word}`", have.as_str()))
    .with_help(
        "rephrase so no article depends on the value, or derive the article with the value (`{{ 'an' if x[0] in 'aeio' else 'a' }}`)",
    )
}

/// Renders sample 0 of every seed in `seeds` and checks: rendering succeeds, code and
/// instruction are not empty, the two sides of a paired pattern differ, the parameters
/// produce more than one distinct code, and the pattern has tests.
pub fn lint(pattern: &Pattern, category: &str, source: &SourceFile, seeds: Range<u64>) -> LintReport {
    let mut report = LintReport { tried: seeds.end.saturating_sub(seeds.start), ..LintReport::default() };
    let prepared = match Prepared::new(pattern, category) {
        Ok(p) => p,
        Err(e) => {
            report.diagnostics.push(e.to_diagnostic(pattern, source));
            return report;
        }
    };
    let mut codes = HashSet::new();
    let mut failures: Vec<(Diagnostic, Vec<u64>)> = Vec::new();
    let mut note = |d: Diagnostic, seed: u64| match failures.iter_mut().find(|(x, _)| x.span == d.span && x.message == d.message) {
        Some((_, seeds)) => seeds.push(seed),
        None => failures.push((d, vec![seed])),
    };
    for seed in seeds {
        let sample = match prepared.render(seed, 0, &Overrides::none()) {
            Ok(s) => s,
            Err(e) => {
                note(e.to_diagnostic(pattern, source), seed);
                continue;
            }
        };
        report.rendered += 1;
        if sample.code.trim().is_empty() {
            note(
                Diagnostic::error(Code::EmptyOutput, pattern.pattern_id_span.clone(), "the code rendered empty")
                    .with_label("in this pattern"),
                seed,
            );
        }
        if sample.instruction.trim().is_empty() {
            note(
                Diagnostic::error(Code::EmptyOutput, pattern.instruction.span.clone(), "the instruction rendered empty")
                    .with_label("instruction"),
                seed,
            );
        }
        if let Some(pair) = &sample.pair
            && pair.flawed.code == pair.fixed.code
        {
            let span = pattern.parameter(plse_schema::PAIRED_PARAM).map_or(pattern.pattern_id_span.clone(), |p| p.span.clone());
            note(
                Diagnostic::error(Code::IdenticalSides, span, "flawed and fixed sides rendered the same code")
                    .with_label("this switch changes nothing in the code")
                    .with_help("use `{% if is_anti_pattern %}` in the code template to write the flaw and the fix"),
                seed,
            );
        }
        for t in prose_templates(pattern) {
            for site in sites(&t.text) {
                let Some(text) = prepared.eval_text(&site.expr, &sample.parameters) else { continue };
                let word = text.split_whitespace().next().unwrap_or("");
                let shown = if site.code { format!("`{word}") } else { word.to_owned() };
                if let Some(want) = wanted(&shown).filter(|w| *w != site.article) {
                    note(article_warning(source, t, &site.range, site.article, want, word), seed);
                }
            }
        }
        codes.insert(sample.code);
    }
    for t in prose_templates(pattern) {
        for (range, fix) in literal_mistakes(&t.text) {
            let at = templates::locate(source, t, range.clone());
            report.diagnostics.push(
                Diagnostic::warning(Code::Article, at, format!("`{}` in `{}`: the article does not fit the word", &t.text[range], t.name))
                    .with_label("wrong article")
                    .with_help(format!("write `{fix}`")),
            );
        }
    }
    report.distinct = codes.len();
    for (d, seeds) in failures {
        let list: Vec<String> = seeds.iter().take(8).map(u64::to_string).collect();
        let more = if seeds.len() > 8 { format!(" and {} more", seeds.len() - 8) } else { String::new() };
        report.diagnostics.push(d.with_note(format!("seen with seeds {}{more}", list.join(", "))));
    }
    let randomised = pattern.parameters.iter().any(|p| match &p.kind {
        ParamKind::Choice { options, .. } => options.len() > 1,
        ParamKind::Bool { probability } => *probability > 0.0 && *probability < 1.0,
        ParamKind::Int { range } => range.is_some_and(|r| r.max > r.min),
        ParamKind::Float { range } => range.is_some_and(|r| r.max > r.min),
        ParamKind::String { options } => options.as_ref().is_some_and(|o| o.len() > 1),
        ParamKind::List { .. } => true,
        ParamKind::Derived { .. } => false,
    });
    if report.rendered > 1 && report.distinct == 1 && randomised {
        report.diagnostics.push(
            Diagnostic::warning(
                Code::NoVariety,
                pattern.pattern_id_span.clone(),
                format!("all {} seeds rendered the same code", report.rendered),
            )
            .with_label("no variety")
            .with_help("let the parameters change the code, not only the instruction"),
        );
    }
    if pattern.validation.unit_test_snippets.is_empty() {
        report.diagnostics.push(
            Diagnostic::warning(Code::NoTests, pattern.pattern_id_span.clone(), "the pattern has no unit-test snippets")
                .with_label("samples cannot be validated")
                .with_help("add `validation: {unit_test_snippets: [...]}` with asserts on the code's behaviour"),
        );
    }
    report
}
