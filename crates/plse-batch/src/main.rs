//! `plse-batch`: the native command line of PLSE. Thin glue: it parses the command and maps
//! the result to an exit code; the commands live in the library (`commands`).

use clap::Parser;

use plse_batch::cli::{Cli, Command};
use plse_batch::commands::{export, factory, generate, lint, list, merge, render, setup, shards};
use plse_batch::validation::sandbox::launch;

fn main() {
    plse_batch::process_start();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::List(a) => list::run(a),
        Command::Render(a) => render::run(a),
        Command::Lint(a) => lint::run(a),
        Command::Generate(a) => generate::run(a),
        Command::Export(a) => export::run(a),
        Command::Diff(a) => export::diff(a),
        Command::Setup(a) => setup::run(a),
        Command::Shards(a) => shards::run(a),
        Command::Merge(a) => merge::run(a),
        Command::Factory(a) => factory::run(a),
        Command::SandboxWorker(a) => launch::run(a),
    };
    let code = match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            // Configuration errors by default; the sharding layer marks transient (1) and
            // incomplete (3) ones.
            plse_batch::shards::exit_code(&e, 2)
        }
    };
    std::process::exit(code);
}
