//! PLSE pattern schema: loads pattern YAML with spans, validates it, and reports every problem
//! as a [`Diagnostic`] with `file:line:col` and a snippet.
//!
//! **Invariant:** this crate does no I/O (no files, processes, clocks or threads) and never
//! panics on input; it compiles for `wasm32-unknown-unknown` so the browser shows the very
//! same diagnostics as the CLI.
//!
//! ```
//! let file = plse_schema::load("p.yaml", b"plse_version: \"2.0\"\npattern_id: x\n");
//! assert!(file.pattern.is_none());
//! let text = plse_schema::render_all(&file.diagnostics, &file.source, plse_schema::RenderStyle::Plain);
//! assert!(text.contains("p.yaml:1:1"), "{text}");
//! ```
mod detect;
pub mod diagnostic;
mod fields;
pub mod jinja;
pub mod library;
mod load;
pub mod model;
mod params;
mod pycompat;
mod schema;
pub mod source;
pub mod templates;
pub mod yaml;

pub use detect::v2_artifact;
pub use diagnostic::{Code, Diagnostic, DiagnosticView, RenderStyle, Severity, render_all};
pub use fields::did_you_mean;
pub use library::{Entry, Library, category_of};
pub use load::{LoadedFile, MAX_FILE_BYTES, load, too_large};
pub use model::*;
pub use params::RESERVED_NAMES;
pub use schema::{is_distribution, is_import_spec};
pub use source::SourceFile;
