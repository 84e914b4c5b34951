//! The one Jinja environment configuration shared by the checker and the renderer.

use minijinja::syntax::SyntaxConfig;
use minijinja::{AutoEscape, Environment, UndefinedBehavior};

/// Instructions one render may execute: far above what a lesson needs (the largest starter
/// template uses a few thousand), low enough that an endless loop stops within milliseconds.
pub const FUEL: u64 = 250_000;

/// Nesting of macro calls and includes allowed while rendering. Well under minijinja's
/// maximum so the stack of a 2 MiB worker thread or a browser tab is never at risk.
pub const RECURSION_LIMIT: usize = 64;

/// Names every template may use without declaring them (minijinja's globals and `loop`).
pub const GLOBALS: &[&str] = &["range", "dict", "namespace", "debug", "loop"];

/// Names available only inside unit-test snippets.
pub const TEST_GLOBALS: &[&str] = &["__raw_code__", "SCRIPT_PATH"];

/// Names available only inside the `answer` template: the task (`write`, `fix`, `compare`),
/// the answer's code as a fenced Markdown block, the reflowed explanation of the answer's
/// side, and, for a fix, the reflowed explanation of the flaw (empty otherwise).
pub const ANSWER_GLOBALS: &[&str] = &["__task__", "__code_block__", "__explanation__", "__flaw__"];

/// A fresh environment configured like the v2.0 engine (`trim_blocks`, `lstrip_blocks`) but
/// strict about undefined variables, without HTML escaping, and with bounded work.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    if let Ok(syntax) = SyntaxConfig::builder().trim_blocks(true).lstrip_blocks(true).build() {
        env.set_syntax(syntax);
    }
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(RECURSION_LIMIT);
    // Keeps spans on runtime errors so they map back to `file:line:col`.
    env.set_debug(true);
    env
}
