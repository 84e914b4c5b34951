//! The factory's side of the run store: its batches (rows, rejects, the exchanges with the
//! model, the scenes' cursors and stage counts) in one transaction each, and the LLM response
//! cache ([`LlmCache`], `plse_llm::Cache` over the `llm_cache` table).
//!
//! The cache holds the canonical request (which has no API key) and the response body exactly
//! as received (the provider scrubs a key a server echoes before anything sees the body), so a
//! rerun answered from it is byte-identical and the store never holds a secret.

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::{Context, Result, bail};
use plse_llm::{Cache, LlmError};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use super::{Cursor, DB_FILE, Store};

/// An accepted factory row on its way to the store.
#[derive(Debug, Clone)]
pub struct FactoryAccepted {
    /// Row id.
    pub id: String,
    /// The file the row is about (the `pattern_id` column: what splits group by).
    pub source: String,
    /// Its category (`codebase-qa`, `codebase-design`).
    pub category: String,
    /// The scene (`qa`, `design`), stored as the row's task.
    pub scene: String,
    /// The exchange's index.
    pub index: u64,
    /// The text duplicates are judged on.
    pub text: String,
    /// The row (JSON).
    pub row: String,
}

/// A rejected factory candidate.
#[derive(Debug, Clone)]
pub struct FactoryRejected {
    /// The scene.
    pub scene: String,
    /// The exchange's index.
    pub index: u64,
    /// The stage it failed.
    pub stage: String,
    /// Why.
    pub reason: String,
    /// The reject record (JSON).
    pub record: String,
}

/// One factory batch, committed at once.
#[derive(Debug, Default)]
pub struct FactoryBatch {
    /// Accepted rows, in acceptance order.
    pub rows: Vec<FactoryAccepted>,
    /// Rejected candidates.
    pub rejects: Vec<FactoryRejected>,
    /// The exchanges consumed: (scene, index, record as `raw.jsonl` holds it).
    pub exchanges: Vec<(String, u64, String)>,
    /// The scenes' cursors after the batch.
    pub cursors: Vec<(String, Cursor)>,
    /// Stage outcomes: (scene, stage, passed).
    pub stages: Vec<(String, String, bool)>,
}

impl Store {
    /// Commits a factory batch atomically.
    pub fn commit_factory(&mut self, batch: &FactoryBatch) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut ins = tx.prepare_cached(
                "INSERT INTO samples (id, pattern_id, category, task, idx, text, row) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for a in &batch.rows {
                ins.execute(params![a.id, a.source, a.category, a.scene, a.index as i64, a.text, a.row])?;
            }
            let mut rej = tx.prepare_cached("INSERT INTO rejects (pattern_id, idx, stage, reason, record) VALUES (?1, ?2, ?3, ?4, ?5)")?;
            for r in &batch.rejects {
                rej.execute(params![r.scene, r.index as i64, r.stage, r.reason, r.record])?;
            }
            let mut ex = tx.prepare_cached("INSERT INTO exchanges (scene, idx, record) VALUES (?1, ?2, ?3)")?;
            for (scene, idx, record) in &batch.exchanges {
                ex.execute(params![scene, *idx as i64, record])?;
            }
            let mut cur = tx.prepare_cached(
                "INSERT INTO cursors (pattern_id, next_index, attempts, accepted, failed, streak, quarantined) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(pattern_id) DO UPDATE SET next_index = ?2, attempts = ?3, accepted = ?4, failed = ?5, streak = ?6, quarantined = ?7",
            )?;
            for (scene, c) in &batch.cursors {
                cur.execute(params![
                    scene,
                    c.next_index as i64,
                    c.attempts as i64,
                    c.accepted as i64,
                    c.failed as i64,
                    c.streak as i64,
                    c.quarantined
                ])?;
            }
            let mut st = tx.prepare_cached(
                "INSERT INTO stages (pattern_id, stage, passed, failed, ms) VALUES (?1, ?2, ?3, ?4, 0)
                 ON CONFLICT(pattern_id, stage) DO UPDATE SET passed = passed + ?3, failed = failed + ?4",
            )?;
            for (scene, stage, ok) in &batch.stages {
                st.execute(params![scene, stage, i64::from(*ok), i64::from(!*ok)])?;
            }
        }
        tx.commit().context("committing a factory batch")?;
        Ok(())
    }

    /// Accepted rows as (id, task, dedup text), in acceptance order (the factory's dedup index
    /// is rebuilt from them on resume; its tasks are scene names).
    pub fn texts(&self) -> Result<Vec<(String, String, String)>> {
        let mut stmt = self.conn.prepare("SELECT id, task, text FROM samples ORDER BY seq")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Rejected candidates per (pattern id — a factory's scene —, stage), sorted.
    pub fn reject_counts(&self) -> Result<Vec<(String, String, u64)>> {
        let mut stmt =
            self.conn.prepare("SELECT pattern_id, stage, COUNT(*) FROM rejects GROUP BY pattern_id, stage ORDER BY pattern_id, stage")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Streams the recorded exchanges as JSON lines into `w`, in order; returns how many.
    pub fn export_exchanges(&self, w: &mut dyn std::io::Write) -> Result<u64> {
        let mut stmt = self.conn.prepare("SELECT record FROM exchanges ORDER BY seq")?;
        let mut rows = stmt.query([])?;
        let mut n = 0;
        while let Some(r) = rows.next()? {
            w.write_all(r.get::<_, String>(0)?.as_bytes())?;
            w.write_all(b"\n")?;
            n += 1;
        }
        Ok(n)
    }

    /// The cached response body for `key`.
    pub fn cache_get(&self, key: &str) -> rusqlite::Result<Option<String>> {
        self.conn.query_row("SELECT response FROM llm_cache WHERE key = ?1", params![key], |r| r.get(0)).optional()
    }

    /// Caches a response body under `key` (a key already present keeps its first body, so a
    /// cached answer never changes).
    pub fn cache_put(&self, key: &str, request: &str, response: &str) -> rusqlite::Result<()> {
        self.conn
            .execute("INSERT OR IGNORE INTO llm_cache (key, request, response) VALUES (?1, ?2, ?3)", params![key, request, response])?;
        Ok(())
    }

    /// Responses cached.
    pub fn cache_len(&self) -> Result<u64> {
        Ok(self.conn.query_row("SELECT COUNT(*) FROM llm_cache", [], |r| r.get::<_, i64>(0))? as u64)
    }

    /// Copies the response cache of the run in `dir` into this store (entries already here
    /// are kept); returns how many were new.
    pub fn import_cache(&mut self, dir: &Path) -> Result<u64> {
        let path = dir.join(DB_FILE);
        if !path.is_file() {
            bail!("--cache-from {}: no run store there ({DB_FILE} is missing)", dir.display());
        }
        let other = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_context(|| format!("opening {}", path.display()))?;
        let has: i64 =
            other.query_row("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'llm_cache'", [], |r| r.get(0))?;
        if has == 0 {
            bail!("--cache-from {}: that store has no LLM response cache", dir.display());
        }
        let mut stmt = other.prepare("SELECT key, request, response FROM llm_cache ORDER BY key")?;
        let mut rows = stmt.query([])?;
        let tx = self.conn.transaction()?;
        let mut added = 0;
        {
            let mut ins = tx.prepare_cached("INSERT OR IGNORE INTO llm_cache (key, request, response) VALUES (?1, ?2, ?3)")?;
            while let Some(r) = rows.next()? {
                added += ins.execute(params![r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?])? as u64;
            }
        }
        tx.commit()?;
        Ok(added)
    }
}

/// The run store as the LLM response cache, shared by the threads that send requests.
#[derive(Clone)]
pub struct LlmCache {
    store: Arc<Mutex<Store>>,
}

impl LlmCache {
    /// The cache of `store`.
    pub fn new(store: Arc<Mutex<Store>>) -> Self {
        LlmCache { store }
    }
}

fn cache_err(e: rusqlite::Error) -> LlmError {
    LlmError::Cache(Box::new(e))
}

impl Cache for LlmCache {
    fn get(&self, key: &str) -> Result<Option<String>, LlmError> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner).cache_get(key).map_err(cache_err)
    }

    fn put(&self, key: &str, request_json: &str, response_json: &str) -> Result<(), LlmError> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner).cache_put(key, request_json, response_json).map_err(cache_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cache_returns_the_first_body_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Mutex::new(Store::open(dir.path()).unwrap()));
        let cache = LlmCache::new(Arc::clone(&store));
        assert_eq!(cache.get("k").unwrap(), None);
        cache.put("k", "{\"model\":\"m\"}", " {\"a\": 1} ").unwrap();
        cache.put("k", "{\"model\":\"m\"}", "{\"b\": 2}").unwrap();
        assert_eq!(cache.get("k").unwrap().as_deref(), Some(" {\"a\": 1} "));
        assert_eq!(store.lock().unwrap().cache_len().unwrap(), 1);

        let other = tempfile::tempdir().unwrap();
        let mut copy = Store::open(other.path()).unwrap();
        assert_eq!(copy.import_cache(dir.path()).unwrap(), 1);
        assert_eq!(copy.import_cache(dir.path()).unwrap(), 0, "entries present are kept");
        assert_eq!(copy.cache_get("k").unwrap().as_deref(), Some(" {\"a\": 1} "));
    }
}
