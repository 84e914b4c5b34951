//! `plse-batch render`: one sample, as text, a JSON record, or a v2.0 row.

use std::path::Path;

use anyhow::{Result, anyhow};

use plse_dataset::entry::{EntryError, Rendered, Request, TaskChoice, render_loaded};
use plse_dataset::markdown::row_text;
use plse_dataset::{Drawn, preference};
use plse_render::text::sample_text;
use plse_schema::{Library, LoadedFile, category_of, did_you_mean};

use crate::cli::RenderArgs;
use crate::discover::{is_pattern_file, load_file, load_library, pattern_files, rel_path};
use crate::report::print_diagnostics;

/// Runs `render`. Returns the process exit code.
pub fn run(args: &RenderArgs) -> Result<i32> {
    let (file, name, category) = target(args)?;
    if let Some(base) = &args.permalink {
        return permalink(args, base, &file, name, category);
    }
    print_diagnostics(&file, &[]);
    let task = match args.task {
        Some(task) => TaskChoice::Forced(task),
        None => TaskChoice::Scheduled(&args.tasks),
    };
    let req = Request { name: "", bytes: &[], category: &category, seed: args.seed, index: args.index, params: &args.params, task };
    let rendered = render_loaded(file, &req);
    match &rendered.outcome {
        Ok(drawn) => print(args, &rendered, drawn),
        Err(e) => report(&rendered, e),
    }
}

/// The file to render, its path relative to the library (its file name when outside it) and
/// its category: a path (anywhere), or a pattern id of the library.
fn target(args: &RenderArgs) -> Result<(LoadedFile, String, String)> {
    let root = &args.library.patterns;
    let target = Path::new(&args.target);
    if target.is_file() || is_pattern_file(target) {
        let rel = rel_path(root, target);
        return Ok((load_file(target)?, rel.clone(), category_of(&rel)));
    }
    let lib = load_library(root, &pattern_files(root)?)?;
    match lib.find(&args.target) {
        Some((e, _)) => Ok((e.file.clone(), e.rel_path.clone(), e.category.clone())),
        None => Err(unknown_id(&lib, &args.target)),
    }
}

/// `--permalink URL`: prints the link (stdout) that opens the file as it is on disk, at this
/// seed, index and parameters, in the playground at `base`. The file's problems, if any, go to
/// stderr as `render` reports them, with exit code 1: the link still opens, and the playground
/// shows them at the same places.
fn permalink(args: &RenderArgs, base: &str, file: &LoadedFile, name: String, category: String) -> Result<i32> {
    let session = plse_permalink::Session {
        name,
        category,
        text: file.source.text().to_owned(),
        seed: args.seed.to_string(),
        index: args.index.to_string(),
        params: args.params.clone(),
    };
    let link = session.link(base).map_err(|e| anyhow!("--permalink: {e}"))?;
    print_diagnostics(file, &[]);
    println!("{link}");
    Ok(i32::from(file.has_errors()))
}

/// Why nothing was rendered, with the exit code: 1 for problems in the pattern, 2 for usage.
fn report(rendered: &Rendered, e: &EntryError) -> Result<i32> {
    match e {
        EntryError::NotLoaded => {
            eprintln!("error: {} has errors; nothing rendered", rendered.file.source.name());
            Ok(1)
        }
        EntryError::Prepare(e) => Err(anyhow!("{e}")),
        EntryError::Render(_) => {
            print_diagnostics(&rendered.file, &rendered.diagnostic().into_iter().collect::<Vec<_>>());
            Ok(1)
        }
        EntryError::Overrides(_) | EntryError::Unsupported { .. } | EntryError::Contradicts(_) | EntryError::NoTask { .. } => {
            eprintln!("error: {e}");
            Ok(2)
        }
    }
}

fn print(args: &RenderArgs, rendered: &Rendered, drawn: &Drawn) -> Result<i32> {
    if args.json {
        println!("{}", serde_json::to_string_pretty(&drawn.sample)?);
    } else if args.row {
        println!("{}", serde_json::to_string(&drawn.row)?);
    } else if args.preference {
        let Some(p) = preference(&drawn.sample) else {
            let id = rendered.pattern().map_or("", |p| p.pattern_id.as_str());
            eprintln!("error: `{id}` is not a paired pattern: it has no preference pair");
            return Ok(2);
        };
        println!("{}", serde_json::to_string(&p)?);
    } else {
        print!("{}", sample_text(&drawn.sample));
        print!("{}", row_text(&drawn.row));
    }
    Ok(0)
}

fn unknown_id(lib: &Library, id: &str) -> anyhow::Error {
    let ids = lib.patterns().map(|(_, p)| p.pattern_id.as_str());
    match did_you_mean(id, ids) {
        Some(c) => anyhow!("no pattern `{id}` in the library and no such file; did you mean `{c}`?"),
        None => anyhow!("no pattern `{id}` in the library and no such file; `plse-batch list` shows the ids"),
    }
}
