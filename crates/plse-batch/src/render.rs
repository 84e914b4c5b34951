//! `plse-batch render`: one sample, as text, a JSON record, or a v2.0 row.

use std::path::Path;

use anyhow::{Result, anyhow};

use plse_dataset::markdown::row_text;
use plse_dataset::{Task, draw, draw_as, preference};
use plse_render::Prepared;
use plse_render::text::sample_text;
use plse_sampling::Overrides;
use plse_schema::{Library, category_of, did_you_mean};

use crate::cli::RenderArgs;
use crate::discover::{is_pattern_file, load_file, load_library, pattern_files, rel_path};
use crate::report::print_diagnostics;

/// Runs `render`. Returns the process exit code.
pub fn run(args: &RenderArgs) -> Result<i32> {
    let root = &args.library.patterns;
    let target = Path::new(&args.target);
    let (file, category) = if target.is_file() || is_pattern_file(target) {
        let file = load_file(target)?;
        (file, category_of(&rel_path(root, target)))
    } else {
        let lib = load_library(root, &pattern_files(root)?)?;
        match lib.find(&args.target) {
            Some((e, _)) => (e.file.clone(), e.category.clone()),
            None => return Err(unknown_id(&lib, &args.target)),
        }
    };
    print_diagnostics(&file, &[]);
    let Some(pattern) = &file.pattern else {
        eprintln!("error: {} has errors; nothing rendered", file.source.name());
        return Ok(1);
    };
    let overrides = match Overrides::parse(pattern, &args.params) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(2);
        }
    };
    let prepared = Prepared::new(pattern, &category).map_err(|e| anyhow!("{e}"))?;
    let drawn = match args.task {
        Some(task) => {
            if !Task::supported(pattern, &category).contains(&task) {
                let names: Vec<&str> = Task::supported(pattern, &category).iter().map(|t| t.as_str()).collect();
                eprintln!("error: `{}` cannot be drawn as `{task}`; it supports: {}", pattern.pattern_id, names.join(", "));
                return Ok(2);
            }
            if Task::from_overrides(pattern, &overrides).is_some_and(|t| t != task) {
                eprintln!("error: --task {task} contradicts --param {}", plse_schema::PAIRED_PARAM);
                return Ok(2);
            }
            Some(draw_as(&prepared, args.seed, args.index, task, &overrides))
        }
        None => draw(&prepared, &category, args.seed, args.index, &args.tasks, &overrides),
    };
    let Some(drawn) = drawn else {
        eprintln!("error: the task mix `{}` gives `{}` no task", args.tasks.spec(), pattern.pattern_id);
        return Ok(2);
    };
    let drawn = match drawn {
        Ok(d) => d,
        Err(e) => {
            print_diagnostics(&file, &[e.to_diagnostic(pattern, &file.source)]);
            return Ok(1);
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&drawn.sample)?);
    } else if args.row {
        println!("{}", serde_json::to_string(&drawn.row)?);
    } else if args.preference {
        match preference(&drawn.sample) {
            Some(p) => println!("{}", serde_json::to_string(&p)?),
            None => {
                eprintln!("error: `{}` is not a paired pattern: it has no preference pair", pattern.pattern_id);
                return Ok(2);
            }
        }
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
