//! `generate --rephrase FRACTION`: LLM-assisted variety. A share of the accepted rows, chosen
//! from the seed, get their instruction said another way by a model (`plse_dataset::rephrase`
//! builds the request, checks the answer and swaps the instruction); their code, tests and
//! answer stay the pattern's, as the sandbox verified them. Answers are cached in the run's
//! store like the factory's (keyed by the request and a per-row seed), so a rerun asks nobody
//! and writes the same bytes; a rephrasing that fails the check leaves the row as it was.

use std::sync::{Arc, Mutex};

use anyhow::{Context, Result};
use rayon::prelude::*;

use plse_dataset::TrainingRow;
use plse_dataset::rephrase;
use plse_llm::{ChatRequest, Message, Provider};

use crate::cli::GenerateArgs;
use crate::shards;
use crate::store::Store;
use crate::store::factory::LlmCache;

/// The rephrasing of one run.
pub struct Rephraser {
    provider: Box<dyn Provider>,
    model: String,
    fraction: f64,
    seed: u64,
    pool: rayon::ThreadPool,
    /// Rows whose instruction was replaced.
    pub rephrased: u64,
    /// Rows chosen whose rephrasing failed the check (kept as they were).
    pub refused: u64,
}

impl Rephraser {
    /// The rephraser of `args`' run, when it rephrases: a provider behind the run store's
    /// response cache (a connection of its own to `OUT/plse-run.sqlite`).
    pub fn new(args: &GenerateArgs) -> Result<Option<Self>> {
        let r = &args.rephrase;
        if !r.enabled() {
            return Ok(None);
        }
        let model =
            r.model.clone().ok_or_else(|| shards::config_error("--rephrase needs --rephrase-model (the model the server knows)"))?;
        let store = Store::open(&args.out).context("opening the run store as the rephrasing cache")?;
        let cache = LlmCache::new(Arc::new(Mutex::new(store)));
        let provider = crate::llm::provider(&r.provider_args(), args.seed, cache)?;
        let pool = rayon::ThreadPoolBuilder::new().num_threads(r.concurrency as usize).build()?;
        Ok(Some(Self { provider, model, fraction: r.fraction, seed: args.seed, pool, rephrased: 0, refused: 0 }))
    }

    /// The row's own seed: which rows are chosen, and each request's cache key and sampling seed.
    fn row_seed(&self, row: &TrainingRow) -> u64 {
        let hex = plse_sampling::rng::hex_digest(format!("rephrase\0{}\0{}", self.seed, row.id).as_bytes(), 16);
        u64::from_str_radix(&hex, 16).unwrap_or(0)
    }

    /// Whether `row` is one of the share that gets rephrased.
    fn chosen(&self, row: &TrainingRow) -> bool {
        (self.row_seed(row) as f64) < self.fraction * (u64::MAX as f64)
    }

    fn request(&self, row: &TrainingRow) -> ChatRequest {
        let [(_, system), (_, user)] = rephrase::prompt(&row.instruction);
        let mut req = ChatRequest::new(self.model.clone(), vec![Message::system(system), Message::user(user)]);
        req.temperature = 0.7;
        req.max_tokens = 512;
        req.seed = Some(self.row_seed(row));
        req
    }

    /// Rephrases the chosen rows of a batch (requests in parallel); an answer that fails the
    /// check, or was cut short, leaves its row as it was. A request that fails after its
    /// retries fails the batch (nothing of it is committed; a rerun asks again).
    pub fn apply<'a>(&mut self, rows: impl Iterator<Item = &'a mut TrainingRow>) -> Result<()> {
        let mut picked: Vec<&mut TrainingRow> = rows.filter(|r| self.chosen(r)).collect();
        let requests: Vec<(ChatRequest, u64)> = picked.iter().map(|r| (self.request(r), self.row_seed(r))).collect();
        let provider = &self.provider;
        let answers: Vec<_> = self.pool.install(|| requests.par_iter().map(|(req, seed)| provider.complete(req, *seed)).collect());
        for (row, answer) in picked.iter_mut().zip(answers) {
            let answer = answer.context("rephrasing an instruction")?;
            let text = (!answer.response.is_truncated()).then_some(answer.response.content.as_str());
            match text.map(|t| rephrase::check(&row.instruction, t)) {
                Some(Ok(instruction)) => {
                    **row = rephrase::apply(row, &instruction, &self.model);
                    self.rephrased += 1;
                }
                _ => self.refused += 1,
            }
        }
        Ok(())
    }

    /// One line for the run's summary.
    pub fn report(&self) -> String {
        format!(
            "rephrased {} instruction(s) with {}; {} rephrasing(s) refused by the check (those rows keep their own)",
            self.rephrased, self.model, self.refused
        )
    }
}
