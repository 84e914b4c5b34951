//! `plse-batch`: the native command line of PLSE. Thin glue over the shared crates: it owns
//! files, threads and the terminal; all pattern logic lives in `plse-schema`,
//! `plse-sampling` and `plse-render`.

mod artifact;
mod atomic;
mod bench;
mod cli;
mod discover;
mod exec;
mod export;
mod generate;
mod lint;
mod lint_py;
mod list;
mod pyenv;
mod render;
mod report;
mod sandbox;
mod store;
mod validate;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let result = match &cli.command {
        cli::Command::List(a) => list::run(a),
        cli::Command::Render(a) => render::run(a),
        cli::Command::Lint(a) => lint::run(a),
        cli::Command::Generate(a) => generate::run(a),
        cli::Command::Export(a) => export::run(a),
        cli::Command::Diff(a) => export::diff(a),
        cli::Command::Setup(a) => {
            let dir = a.venv.clone().unwrap_or_else(pyenv::default_dir);
            pyenv::setup(&dir, a.tier, a.python.as_deref()).map(|_| 0)
        }
        cli::Command::SandboxWorker(a) => sandbox::launch::run(a),
        cli::Command::Bench(a) => bench::run(a),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            2
        }
    };
    std::process::exit(code);
}
