//! The pattern library and its search. The site carries every file of `patterns/` as data
//! (`library.json`, staged by `web/js/build.mjs`), fetched once at start and loaded with the
//! same loader `plse-batch` uses; it is not compiled into the wasm, so the app's size does not
//! grow with the library.

use plse_schema::{Difficulty, category_of};
use serde::{Deserialize, Serialize};

#[cfg(test)]
mod files {
    include!(concat!(env!("OUT_DIR"), "/library.rs"));
}

/// One library pattern, as listed in the browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// Path relative to `patterns/`, e.g. `anti_patterns/bare_except_swallowing.yaml`.
    pub path: String,
    /// The YAML text (the engine worker's copy only: the page fetches a file's text when it
    /// opens it, so the listing it receives stays small).
    #[serde(skip)]
    pub text: String,
    /// Category (first folder; `best_practices` at the root).
    pub category: String,
    /// `pattern_id`, or the file stem when the file does not load.
    pub id: String,
    /// One-line description.
    pub description: String,
    /// Difficulty, when the file loads.
    pub difficulty: Option<Difficulty>,
    /// Tags.
    pub tags: Vec<String>,
}

/// One file of `library.json`.
#[derive(Debug, Deserialize)]
struct File {
    path: String,
    text: String,
}

/// Parses `library.json` (`[{path, text}]`) into items, sorted by path.
pub fn parse_bundle(json: &str) -> Result<Vec<Item>, String> {
    let files: Vec<File> = serde_json::from_str(json).map_err(|e| format!("library.json is not a pattern bundle: {e}"))?;
    if files.is_empty() {
        return Err("library.json holds no pattern".into());
    }
    Ok(items_from(files.into_iter().map(|f| (f.path, f.text)).collect()))
}

/// The library in this checkout (tests: what `library.json` is built from).
#[cfg(test)]
pub fn bundled() -> Vec<Item> {
    items_from(files::FILES.iter().map(|&(p, t)| (p.to_owned(), t.to_owned())).collect())
}

/// Items from (path, text) pairs, sorted by path.
pub fn items_from(mut files: Vec<(String, String)>) -> Vec<Item> {
    files.sort();
    files
        .into_iter()
        .map(|(path, text)| {
            let file = plse_schema::load(&path, text.as_bytes());
            let stem = path.rsplit('/').next().unwrap_or(&path).trim_end_matches(".yaml").to_owned();
            let category = category_of(&path);
            match file.pattern {
                Some(p) => Item {
                    path,
                    text,
                    category,
                    id: p.pattern_id,
                    description: p.metadata.description,
                    difficulty: Some(p.metadata.difficulty),
                    tags: p.metadata.tags,
                },
                None => Item { path, text, category, id: stem, description: String::new(), difficulty: None, tags: Vec::new() },
            }
        })
        .collect()
}

/// What the library list is narrowed to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Free text: every word must occur in the id, description, path or tags (any case).
    pub query: String,
    /// Only this category ("" = any).
    pub category: String,
    /// Only this difficulty ("" = any), by its YAML name.
    pub difficulty: String,
    /// Only patterns with this tag ("" = any).
    pub tag: String,
}

impl Filter {
    /// Whether `item` passes.
    pub fn matches(&self, item: &Item) -> bool {
        let haystack = format!("{} {} {} {}", item.id, item.description, item.path, item.tags.join(" ")).to_lowercase();
        self.query.split_whitespace().all(|w| haystack.contains(&w.to_lowercase()))
            && (self.category.is_empty() || item.category == self.category)
            && (self.difficulty.is_empty() || item.difficulty.map(difficulty_name) == Some(self.difficulty.as_str()))
            && (self.tag.is_empty() || item.tags.contains(&self.tag))
    }
}

/// The YAML name of a difficulty (`beginner`, ...).
pub fn difficulty_name(d: Difficulty) -> &'static str {
    match d {
        Difficulty::Beginner => "beginner",
        Difficulty::Intermediate => "intermediate",
        Difficulty::Advanced => "advanced",
        Difficulty::Expert => "expert",
    }
}

/// Sorted, distinct values of one facet over `items` (for the filter dropdowns).
pub fn facet(items: &[Item], f: impl Fn(&Item) -> Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = items.iter().flat_map(f).collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_library_file_is_bundled_and_loads() {
        let items = bundled();
        let on_disk = walk(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../patterns")));
        assert_eq!(items.len(), on_disk, "build.rs must bundle every YAML file of patterns/");
        assert!(items.len() >= 110);
        for item in &items {
            assert!(item.difficulty.is_some(), "{} does not load", item.path);
        }
        assert!(items.iter().any(|i| i.category == "anti_patterns"));
        assert!(items.iter().any(|i| i.category == "best_practices"));
    }

    fn walk(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .map(|p| if p.is_dir() { walk(&p) } else { usize::from(p.extension().is_some_and(|e| e == "yaml")) })
            .sum()
    }

    #[test]
    fn filter_by_words_category_difficulty_and_tag() {
        let items = bundled();
        let count = |f: &Filter| items.iter().filter(|i| f.matches(i)).count();
        assert_eq!(count(&Filter::default()), items.len());
        // Every word must match, in any case.
        let bare = Filter { query: "BARE_except SWALLOWING.yaml".into(), ..Filter::default() };
        let hits: Vec<&str> = items.iter().filter(|i| bare.matches(i)).map(|i| i.id.as_str()).collect();
        assert_eq!(hits, ["python.anti.bare_except_swallowing"]);
        let anti = Filter { category: "anti_patterns".into(), ..Filter::default() };
        assert_eq!(count(&anti), walk(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../patterns/anti_patterns"))));
        let nothing = Filter { query: "zzzz-no-such-word".into(), ..Filter::default() };
        assert_eq!(count(&nothing), 0);
        let tag = items[0].tags[0].clone();
        let tagged = Filter { tag: tag.clone(), ..Filter::default() };
        assert!(items.iter().filter(|i| tagged.matches(i)).all(|i| i.tags.contains(&tag)));
        let d = difficulty_name(items[0].difficulty.unwrap());
        let by_difficulty = Filter { difficulty: d.into(), ..Filter::default() };
        assert!(count(&by_difficulty) >= 1 && count(&by_difficulty) < items.len());
    }

    #[test]
    fn bundle_parses_and_bad_bundles_are_refused() {
        let json = serde_json::to_string(&[
            serde_json::json!({"path": "b.yaml", "text": "x: 1"}),
            serde_json::json!({"path": "a/c.yaml", "text": ""}),
        ])
        .unwrap();
        let items = parse_bundle(&json).unwrap();
        assert_eq!(items.iter().map(|i| i.path.as_str()).collect::<Vec<_>>(), ["a/c.yaml", "b.yaml"]);
        assert_eq!(items[0].category, "a");
        assert_eq!(items[1].id, "b", "a file that does not load is listed by its stem");
        assert!(parse_bundle("[]").unwrap_err().contains("no pattern"));
        assert!(parse_bundle("<html>").unwrap_err().contains("not a pattern bundle"));
    }

    #[test]
    fn facets_are_sorted_and_distinct() {
        let items = bundled();
        let cats = facet(&items, |i| vec![i.category.clone()]);
        assert_eq!(cats, ["anti_patterns", "best_practices", "meta", "orchestration", "tradeoffs"]);
    }
}
