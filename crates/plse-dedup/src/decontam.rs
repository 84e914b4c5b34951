//! Decontamination: does a sample contain text of a benchmark a model will be evaluated on?
//!
//! Two checks, after StarCoder and NeMo Curator: word n-grams (13 by default) of normalised
//! text shared with a benchmark item, and benchmark docstrings found verbatim (normalised) in
//! the sample. Generic snippets every dataset contains (`return a + b`, `for i in
//! range(len(...))`) are on an allow-list: n-grams drawn only from it never count as a hit.

use std::collections::{HashMap, HashSet};

use xxhash_rust::xxh3::xxh3_64;

/// Default n-gram length (NeMo Curator's task decontamination).
pub const DEFAULT_NGRAM: usize = 13;

/// Shortest docstring (in words) worth matching verbatim: shorter ones are generic.
pub const MIN_DOCSTRING_WORDS: usize = 8;

/// Snippets that appear in any code corpus: their n-grams are not evidence of contamination.
pub const ALLOW_LIST: &[&str] = &[
    "return a + b",
    "return x + y",
    "for i in range(len(numbers)):",
    "for i in range(len(arr)):",
    "for i in range(len(lst)):",
    "if __name__ == \"__main__\":",
    "import doctest\ndoctest.testmod()",
    "return sorted(set(l))",
    "return len(string)",
    "return [x for x in strings if substring in x]",
    "result = []\nfor i in range(len(numbers)):",
    "def is_prime(n):\n    if n < 2:\n        return False\n    for i in range(2, n):\n        if n % i == 0:\n            return False\n    return True",
];

/// Where a hit came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Benchmark name (`humaneval`, or the file the user named).
    pub benchmark: String,
    /// The benchmark item (`HumanEval/0`, or the line number of a JSONL file).
    pub item: String,
    /// `ngram` or `docstring`.
    pub kind: &'static str,
    /// The shared text (normalised), shortened.
    pub evidence: String,
}

/// The words of `text` for matching: lower-cased runs of letters, digits and `_`.
/// Punctuation, layout, quoting and case do not count, so an n-gram is n real words (names,
/// keywords, numbers) and type annotations or operators alone never make a match.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

fn gram_hashes(words: &[String], n: usize) -> impl Iterator<Item = (u64, usize)> + '_ {
    (0..words.len().saturating_sub(n - 1)).map(move |i| (xxh3_64(words[i..i + n].join(" ").as_bytes()), i))
}

/// An index of benchmark texts to check samples against.
#[derive(Debug, Clone)]
pub struct Index {
    n: usize,
    grams: HashMap<u64, u32>,
    docstrings: Vec<(String, u32)>,
    items: Vec<(String, String)>,
    allowed: HashSet<u64>,
}

impl Index {
    /// An empty index matching `n`-grams (n ≥ 4).
    pub fn new(n: usize) -> Self {
        let n = n.max(4);
        let allowed = ALLOW_LIST.iter().flat_map(|t| gram_hashes(&words(t), n).map(|(h, _)| h).collect::<Vec<_>>()).collect();
        Self { n, grams: HashMap::new(), docstrings: Vec::new(), items: Vec::new(), allowed }
    }

    /// The n-gram length.
    pub fn ngram(&self) -> usize {
        self.n
    }

    /// Benchmark items indexed.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is indexed.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds a benchmark item: its text (prompt, solution, ...) and the docstrings in it.
    pub fn add(&mut self, benchmark: &str, item: &str, text: &str) {
        let id = self.items.len() as u32;
        self.items.push((benchmark.to_owned(), item.to_owned()));
        for (h, _) in gram_hashes(&words(text), self.n) {
            if !self.allowed.contains(&h) {
                self.grams.entry(h).or_insert(id);
            }
        }
        for doc in docstrings(text) {
            let w = words(&doc);
            if w.len() >= MIN_DOCSTRING_WORDS {
                self.docstrings.push((w.join(" "), id));
            }
        }
    }

    /// The first benchmark item `text` shares an n-gram or a docstring with.
    pub fn check(&self, text: &str) -> Option<Hit> {
        let w = words(text);
        for (h, i) in gram_hashes(&w, self.n) {
            if let Some(&id) = self.grams.get(&h) {
                return Some(self.hit(id, "ngram", w[i..i + self.n].join(" ")));
            }
        }
        if !self.docstrings.is_empty() {
            let joined = format!(" {} ", w.join(" "));
            for (doc, id) in &self.docstrings {
                if joined.contains(&format!(" {doc} ")) {
                    return Some(self.hit(*id, "docstring", doc.clone()));
                }
            }
        }
        None
    }

    fn hit(&self, id: u32, kind: &'static str, evidence: String) -> Hit {
        let (benchmark, item) = self.items[id as usize].clone();
        let evidence: String = evidence.chars().take(160).collect();
        Hit { benchmark, item, kind, evidence }
    }
}

/// The triple-quoted strings of Python source.
pub fn docstrings(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for q in ["\"\"\"", "'''"] {
        let mut rest = text;
        while let Some(start) = rest.find(q) {
            let after = &rest[start + 3..];
            let Some(end) = after.find(q) else { break };
            out.push(after[..end].to_owned());
            rest = &after[end + 3..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HAS_CLOSE: &str = "from typing import List\n\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n    \"\"\" Check if in given list of numbers, are any two numbers closer to each other than\n    given threshold.\n    >>> has_close_elements([1.0, 2.0, 3.0], 0.5)\n    False\n    \"\"\"\n    for idx, elem in enumerate(numbers):\n        for idx2, elem2 in enumerate(numbers):\n            if idx != idx2:\n                distance = abs(elem - elem2)\n                if distance < threshold:\n                    return True\n\n    return False\n";

    #[test]
    fn finds_ngrams_and_docstrings_whatever_the_layout() {
        let mut idx = Index::new(DEFAULT_NGRAM);
        idx.add("humaneval", "HumanEval/0", HAS_CLOSE);
        // The solution body, re-indented and with other quotes: an n-gram hit.
        let planted = "def f(numbers, threshold):\n  for idx, elem in enumerate(numbers):\n    for idx2, elem2 in enumerate(numbers):\n      if idx != idx2:\n        distance = abs(elem - elem2)\n        if distance < threshold:\n          return True\n  return False\n";
        let hit = idx.check(planted).expect("a hit");
        assert_eq!((hit.benchmark.as_str(), hit.item.as_str(), hit.kind), ("humaneval", "HumanEval/0", "ngram"));
        // The docstring alone, in another function: its 18 words are an n-gram hit too.
        let doc = "def g():\n    '''Check if in given list of numbers, are any two numbers closer to each other than given threshold.'''\n";
        assert_eq!(idx.check(doc).map(|h| h.item), Some("HumanEval/0".to_owned()));
        // A docstring shorter than an n-gram is still found verbatim.
        idx.add(
            "humaneval",
            "HumanEval/9",
            "def f(xs):\n    \"\"\"Return the sum of squares of the odd numbers given.\"\"\"\n    return 0\n",
        );
        let short = "def total(values):\n    '''Return the SUM of squares of the odd numbers given.'''\n    return sum(v * v for v in values if v % 2)\n";
        let hit = idx.check(short).expect("the docstring");
        assert_eq!((hit.item.as_str(), hit.kind), ("HumanEval/9", "docstring"));
        // Ordinary code that shares only generic fragments: no hit.
        assert_eq!(idx.check("def add(a, b):\n    return a + b\n\nfor i in range(len(numbers)):\n    print(i)\n"), None);
    }

    #[test]
    fn allow_listed_snippets_and_punctuation_never_hit() {
        let mut idx = Index::new(4);
        idx.add("bench", "1", "def f(numbers):\n    for i in range(len(numbers)):\n        print(i)\n");
        // Every 4-gram the sample shares with the benchmark is allow-listed.
        assert_eq!(idx.check("for i in range(len(numbers)):\n    total += 1\n"), None);
        assert!(idx.check("def f(numbers): for").is_some());
        // Annotations and operators are not words: `-> list[float]` shares nothing.
        let mut idx = Index::new(DEFAULT_NGRAM);
        idx.add("bench", "2", "def g(x: list[float]) -> tuple[float, float]:\n    return (min(x), max(x))\n");
        assert_eq!(idx.check("def h(y: list[float]) -> tuple[float, float]:\n    return (y[0], y[-1])\n"), None);
    }
}
