//! `plse-batch shards status|template`: what a sharded run has done, and the files that
//! submit it to a scheduler (`crate::shards`).

use anyhow::Result;
use serde_json::json;

use crate::cli::{Scheduler, ShardsArgs, ShardsCommand, TemplateArgs};
use crate::shards::{self, code, config_error, layout, template};

/// Runs `shards`. Returns the process exit code.
pub fn run(args: &ShardsArgs) -> Result<i32> {
    match &args.command {
        ShardsCommand::Status { out, json } => status(out, *json),
        ShardsCommand::Template(t) => {
            print!("{}", template_text(t)?);
            Ok(code::OK)
        }
    }
}

/// Prints which shards are complete; exit 3 while any is missing.
fn status(out: &std::path::Path, as_json: bool) -> Result<i32> {
    let st = layout::status(out)?;
    let complete: Vec<u64> = st.complete.iter().map(|m| m.shard).collect();
    let rows: u64 = st.complete.iter().map(|m| m.rows).sum();
    let array = shards::array_list(&st.missing);
    if as_json {
        let v = json!({ "num_shards": st.total, "complete": complete, "missing": st.missing, "started": st.started,
            "rows": rows, "array": array });
        println!("{v}");
    } else {
        println!("{}: {} of {} shards complete ({rows} rows)", out.display(), complete.len(), st.total);
        if st.missing.is_empty() {
            println!("all shards complete: run `plse-batch merge {}`", out.display());
        } else {
            println!("missing: {array}");
            if !st.started.is_empty() {
                println!("started (running or interrupted): {}", shards::array_list(&st.started));
            }
            println!("rerun them with: sbatch --array={array} ...");
        }
    }
    Ok(if st.missing.is_empty() { code::OK } else { code::INCOMPLETE })
}

/// The template's text: settings from the flags, else from OUT/run.json.
pub fn template_text(t: &TemplateArgs) -> Result<String> {
    let pinned = layout::read_pin(&t.out).ok().map(|(v, _)| v);
    let from_pin = |key: &str| pinned.as_ref().and_then(|p| p[key].as_u64());
    let num_shards = t
        .num_shards
        .or_else(|| from_pin("num_shards"))
        .ok_or_else(|| config_error(format!("{} holds no run.json yet: give --num-shards and --count", t.out.display())))?;
    let count = t.count.or_else(|| from_pin("count")).ok_or_else(|| config_error("give --count"))?;
    if num_shards == 0 {
        return Err(config_error("--num-shards must be at least 1"));
    }
    let s = template::Settings {
        out: t.out.display().to_string(),
        num_shards,
        count,
        seed: t.seed.or_else(|| from_pin("seed")).unwrap_or(0),
        parallelism: t.parallelism.unwrap_or(num_shards),
        bin: t.bin.clone(),
        patterns: t.patterns.clone(),
        image: t.image.clone(),
        extra: t.extra.clone(),
    };
    Ok(match t.scheduler {
        Scheduler::Slurm => template::slurm(&s),
        Scheduler::K8s => template::k8s(&s),
    })
}
