//! The playground's components. Each takes the shared [`AppState`](crate::state::AppState)
//! from context; `App` lays them out.

mod checklist;
mod checks;
mod controls;
mod editor;
mod library;
mod output;
mod toolbar;

pub use checklist::ChecklistPanel;
pub use checks::ChecksPanel;
pub use controls::Controls;
pub use editor::EditorPanel;
pub use library::LibraryPanel;
pub use output::OutputPanel;
pub use toolbar::Toolbar;
