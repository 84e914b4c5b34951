//! `plse-batch lint`: schema and template checks plus rendering over K seeds, in parallel.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::Result;
use rayon::prelude::*;

use plse_dataset::{Capacity, TaskMix, capacity};
use plse_dedup::Params;
use plse_render::Prepared;
use plse_render::lint::{LintReport, lint};
use plse_schema::Severity;

use crate::cli::LintArgs;
use crate::discover::{load_library, pattern_files};
use crate::report::{print_diagnostics, table};

/// Runs `lint`. Returns the process exit code.
pub fn run(args: &LintArgs) -> Result<i32> {
    let root = &args.library.patterns;
    let (files, wanted) = files_to_lint(args)?;
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
    let capacities: Vec<Option<Capacity>> = selected
        .par_iter()
        .map(|e| {
            let p = e.file.pattern.as_ref()?;
            let prepared = Prepared::new(p, &e.category).ok()?;
            Some(capacity(&prepared, &e.category, 0, args.draws, &TaskMix::default(), Params::default()))
        })
        .collect();
    let exec = if args.exec { Some(exec_results(args, &selected, seeds)?) } else { None };

    let mut tally = Tally::default();
    for (n, ((e, report), cap)) in selected.iter().zip(&reports).zip(&capacities).enumerate() {
        tally.add(args, e, report.as_ref(), cap.as_ref(), exec.as_ref().map(|x| &x[n]));
    }
    print_tables(args, &tally, exec.is_some(), &capacities);
    Ok(if tally.failed > 0 { 1 } else { 0 })
}

/// The files to load (the whole library, plus given paths outside it) and, when paths are
/// given, which of them to lint. The whole library is loaded even then, so an id clash with a
/// file that is not being linted is still found.
fn files_to_lint(args: &LintArgs) -> Result<(Vec<PathBuf>, Option<HashSet<PathBuf>>)> {
    let root = &args.library.patterns;
    let mut files: Vec<PathBuf> = if root.is_dir() { pattern_files(root)? } else { Vec::new() };
    if args.paths.is_empty() {
        return Ok((files, None));
    }
    let mut wanted = HashSet::new();
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
            wanted.insert(canon);
        }
    }
    Ok((files, Some(wanted)))
}

/// The table rows and counts, one file at a time.
#[derive(Default)]
struct Tally {
    rows: Vec<Vec<String>>,
    capacity_rows: Vec<Vec<String>>,
    failed: usize,
    warned: usize,
}

impl Tally {
    /// Prints the file's diagnostics and failures, and adds its rows.
    fn add(
        &mut self,
        args: &LintArgs,
        e: &plse_schema::Entry,
        report: Option<&LintReport>,
        cap: Option<&Capacity>,
        exec: Option<&Option<ExecRow>>,
    ) {
        let extra = report.map_or(&[][..], |r| &r.diagnostics[..]);
        print_diagnostics(&e.file, extra);
        let all = e.file.diagnostics.iter().chain(extra);
        let errors = all.clone().filter(|d| d.severity == Severity::Error).count();
        let warnings = all.filter(|d| d.severity == Severity::Warning).count();
        if let Some(Some(x)) = exec {
            for (reason, seeds) in &x.failures {
                let list: Vec<String> = seeds.iter().take(6).map(u64::to_string).collect();
                eprintln!("error[validation]: {}: {reason}\n  = note: seeds {}\n", e.rel_path, list.join(", "));
            }
        }
        let exec_failed = exec.is_some_and(|x| x.as_ref().is_some_and(|x| x.passed < x.tried));
        let below_floor = args.capacity && cap.is_some_and(|c| c.unique < args.min_capacity);
        if let (true, Some(c)) = (args.capacity, cap) {
            self.capacity_rows.push(capacity_row(args, &e.rel_path, c, below_floor));
        }
        let fails = errors > 0 || exec_failed || below_floor || (args.deny_warnings && warnings > 0);
        self.failed += usize::from(fails);
        self.warned += usize::from(warnings > 0);
        let status = match (fails, warnings > 0) {
            (true, _) => "FAIL",
            (false, true) => "warn",
            (false, false) => "ok",
        };
        let id = e.file.pattern.as_ref().map_or_else(|| "—".to_owned(), |p| p.pattern_id.clone());
        let (rendered, distinct) =
            report.map_or(("—".to_owned(), "—".to_owned()), |r| (format!("{}/{}", r.rendered, r.tried), r.distinct.to_string()));
        let capacity = cap.map_or("—".to_owned(), |c| format!("{}/{}", c.unique, c.structures));
        let mut row =
            vec![status.to_owned(), e.rel_path.clone(), id, rendered, distinct, capacity, errors.to_string(), warnings.to_string()];
        if let Some(x) = exec {
            row.push(x.as_ref().map_or("—".into(), |x| format!("{}/{}", x.passed, x.tried)));
            row.push(x.as_ref().map_or("—".into(), |x| format!("{:.1}", x.mean_ms)));
        }
        self.rows.push(row);
    }
}

/// A file's row of the capacity table; reports the floor when it is missed.
fn capacity_row(args: &LintArgs, rel_path: &str, c: &Capacity, below_floor: bool) -> Vec<String> {
    if below_floor {
        eprintln!(
            "error[capacity]: {rel_path}: {} near-unique rows over {} draws, below the floor of {}\n  = help: let parameters change structure and logic (algorithm, data shape, error handling, API variant), not only names; CONTRIBUTING.md shows how\n",
            c.unique, c.draws, args.min_capacity
        );
    }
    let tasks: Vec<String> = c.by_task.iter().map(|(t, n)| format!("{t} {n}")).collect();
    let status = if below_floor { "FAIL" } else { "ok" };
    vec![status.to_owned(), rel_path.to_owned(), c.unique.to_string(), c.structures.to_string(), tasks.join(", ")]
}

fn print_tables(args: &LintArgs, tally: &Tally, exec: bool, capacities: &[Option<Capacity>]) {
    let mut header = vec!["STATUS", "FILE", "PATTERN", "RENDERED", "DISTINCT", "CAPACITY", "ERRORS", "WARNINGS"];
    if exec {
        header.extend(["VALIDATED", "MS/SAMPLE"]);
    }
    print!("{}", table(&header, &tally.rows));
    if args.capacity {
        let total: u64 = capacities.iter().flatten().map(|c| c.unique).sum();
        let shapes: u64 = capacities.iter().flatten().map(|c| c.structures).sum();
        println!("\ncapacity over {} draws per pattern (seed 0, default task mix, dedup threshold 0.7):", args.draws);
        print!("{}", table(&["STATUS", "FILE", "NEAR-UNIQUE", "STRUCTURES", "BY TASK"], &tally.capacity_rows));
        println!("total: {total} near-unique rows, {shapes} code structures; floor {} per pattern", args.min_capacity);
    }
    let n = tally.rows.len();
    println!(
        "{n} files linted over {} seeds: {} ok, {} failed, {} with warnings",
        args.seeds,
        n - tally.failed,
        tally.failed,
        tally.warned
    );
}

/// What executing one pattern's samples found.
struct ExecRow {
    tried: usize,
    passed: usize,
    mean_ms: f64,
    failures: Vec<(String, Vec<u64>)>,
}

/// Renders sample 0 of each seed of every usable pattern and runs the full pipeline on them.
fn exec_results(args: &LintArgs, selected: &[&plse_schema::Entry], seeds: std::ops::Range<u64>) -> Result<Vec<Option<ExecRow>>> {
    use plse_sampling::Overrides;
    let usable: Vec<&plse_schema::Pattern> = selected.iter().filter_map(|e| e.file.pattern.as_ref()).collect();
    let ctx = crate::validation::exec::Context::new(&args.exec_args, usable.iter().copied())?;
    let mut samples = Vec::new();
    let mut owner = Vec::new();
    for (n, e) in selected.iter().enumerate() {
        let Some(p) = &e.file.pattern else { continue };
        let Ok(prepared) = Prepared::new(p, &e.category) else { continue };
        for seed in seeds.clone() {
            if let Ok(s) = prepared.render(seed, 0, &Overrides::none()) {
                samples.push((p, s));
                owner.push((n, seed));
            }
        }
    }
    let started = std::time::Instant::now();
    let refs: Vec<(&plse_schema::Pattern, &plse_render::Sample)> = samples.iter().map(|(p, s)| (*p, s)).collect();
    let verdicts = ctx.validate_all(&refs)?;
    eprintln!("validated {} samples in {:.1}s on {} workers", samples.len(), started.elapsed().as_secs_f64(), ctx.jobs);
    let mut rows: Vec<Option<ExecRow>> = selected
        .iter()
        .map(|e| e.file.pattern.as_ref().map(|_| ExecRow { tried: 0, passed: 0, mean_ms: 0.0, failures: Vec::new() }))
        .collect();
    for ((n, seed), v) in owner.into_iter().zip(verdicts) {
        let Some(row) = rows[n].as_mut() else { continue };
        row.tried += 1;
        row.mean_ms += v.stages.iter().map(|s| s.duration_ms).sum::<f64>();
        if v.ok {
            row.passed += 1;
        } else if let Some(reason) = v.reason() {
            match row.failures.iter_mut().find(|(r, _)| *r == reason) {
                Some((_, seeds)) => seeds.push(seed),
                None => row.failures.push((reason, vec![seed])),
            }
        }
    }
    for row in rows.iter_mut().flatten() {
        row.mean_ms /= row.tried.max(1) as f64;
    }
    Ok(rows)
}
