//! `plse-batch lint`: schema and template checks plus rendering over K seeds, in parallel.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::Result;
use rayon::prelude::*;

use plse_render::lint::{LintReport, lint};
use plse_schema::Severity;

use crate::cli::LintArgs;
use crate::discover::{load_library, pattern_files};
use crate::report::{print_diagnostics, table};

/// Runs `lint`. Returns the process exit code.
pub fn run(args: &LintArgs) -> Result<i32> {
    let root = &args.library.patterns;
    // The whole library is loaded even when some paths are given, so an id clash with a file
    // that is not being linted is still found.
    let mut files: Vec<PathBuf> = if root.is_dir() { pattern_files(root)? } else { Vec::new() };
    let mut wanted: Option<HashSet<PathBuf>> = None;
    if !args.paths.is_empty() {
        let mut set = HashSet::new();
        for p in &args.paths {
            let found = if p.is_dir() {
                pattern_files(p)?
            } else if p.exists() {
                vec![p.clone()]
            } else {
                anyhow::bail!("no such file or directory: {}", p.display())
            };
            for f in found {
                let canon = f.canonicalize().unwrap_or(f.clone());
                if !files.iter().any(|x| x.canonicalize().ok().as_ref() == Some(&canon)) {
                    files.push(f);
                }
                set.insert(canon);
            }
        }
        wanted = Some(set);
    }
    let lib = load_library(root, &files)?;
    let selected: Vec<_> = lib
        .entries
        .iter()
        .filter(|e| {
            wanted.as_ref().is_none_or(|w| {
                files.iter().any(|f| crate::discover::rel_path(root, f) == e.rel_path && w.contains(&f.canonicalize().unwrap_or(f.clone())))
            })
        })
        .collect();
    let seeds = 0..args.seeds;
    let reports: Vec<Option<LintReport>> =
        selected.par_iter().map(|e| e.file.pattern.as_ref().map(|p| lint(p, &e.category, &e.file.source, seeds.clone()))).collect();

    let mut rows = Vec::new();
    let (mut failed, mut warned) = (0, 0);
    for (e, report) in selected.iter().zip(&reports) {
        let extra = report.as_ref().map_or(&[][..], |r| &r.diagnostics[..]);
        print_diagnostics(&e.file, extra);
        let all = e.file.diagnostics.iter().chain(extra);
        let errors = all.clone().filter(|d| d.severity == Severity::Error).count();
        let warnings = all.filter(|d| d.severity == Severity::Warning).count();
        let fails = errors > 0 || (args.deny_warnings && warnings > 0);
        failed += usize::from(fails);
        warned += usize::from(warnings > 0);
        let id = e.file.pattern.as_ref().map_or_else(|| "—".to_owned(), |p| p.pattern_id.clone());
        let (rendered, distinct) = report
            .as_ref()
            .map_or(("—".to_owned(), "—".to_owned()), |r| (format!("{}/{}", r.rendered, r.tried), r.distinct.to_string()));
        rows.push(vec![
            if fails {
                "FAIL"
            } else if warnings > 0 {
                "warn"
            } else {
                "ok"
            }
            .to_owned(),
            e.rel_path.clone(),
            id,
            rendered,
            distinct,
            errors.to_string(),
            warnings.to_string(),
        ]);
    }
    print!("{}", table(&["STATUS", "FILE", "PATTERN", "RENDERED", "DISTINCT", "ERRORS", "WARNINGS"], &rows));
    println!(
        "{} files linted over {} seeds: {} ok, {} failed, {} with warnings",
        rows.len(),
        args.seeds,
        rows.len() - failed,
        failed,
        warned
    );
    Ok(if failed > 0 { 1 } else { 0 })
}
