//! `plse-batch`: the native command line of PLSE. Thin glue over the shared crates: it owns
//! files, threads and the terminal; all pattern logic lives in `plse-schema`,
//! `plse-sampling` and `plse-render`.

mod atomic;
mod cli;
mod discover;
mod lint;
mod list;
mod render;
mod report;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let result = match &cli.command {
        cli::Command::List(a) => list::run(a),
        cli::Command::Render(a) => render::run(a),
        cli::Command::Lint(a) => lint::run(a),
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
