//! Read-ahead: the reads of a whole playbook, gathered before its first write and sent
//! in as few round trips as the API allows.
//!
//! Steps declare their reads in [`Step::observe`](crate::step::Step::observe), so the
//! playbook is first run in an *observe pass*: native steps only report the queries they
//! would make, `sf::query` reports its SOQL, writes and prints do nothing. The queries are
//! then answered in one batch and kept. During the real run a step's read is served
//! from them until the run's first write, after which every read goes to the org again.
//! A re-run on an org that is already set up, a check-mode run and an audit therefore
//! cost one round trip of reads. The observe pass may take another path through the
//! playbook than the real run (it sees no real results): a read it did not foresee is
//! simply sent when it comes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use indexmap::IndexMap;
use rhai::{Dynamic, FnPtr, NativeCallContext};

use crate::client::{ClientError, QueryResult, RecordTypeVisibility, SfClient};
use crate::run::RunShared;
use crate::step::{Read, ReadApi, Registry, StepCtx, StepFailure};

/// The reads an observe pass collected, in first-seen order, by their read-ahead key.
#[derive(Default)]
pub(crate) struct Collector {
    reads: Mutex<IndexMap<String, Read>>,
}

impl Collector {
    fn add(&self, read: Read) {
        if let Ok(mut reads) = self.reads.lock() {
            reads.entry(read.key()).or_insert(read);
        }
    }

    pub(crate) fn take(&self) -> Vec<Read> {
        self.reads.lock().map(|mut r| r.drain(..).map(|(_, read)| read).collect()).unwrap_or_default()
    }
}

/// What the read-ahead answered: query results (or Salesforce's refusal of a query,
/// which is an answer too) and profile metadata.
#[derive(Default)]
struct Answers {
    queries: HashMap<String, Result<QueryResult, StepFailure>>,
    profiles: HashMap<String, Vec<RecordTypeVisibility>>,
    /// Set by the run's first write: from then on nothing is kept or served.
    closed: bool,
}

/// Answers kept from the read-ahead and from reads made before the first write.
#[derive(Default)]
pub(crate) struct ReadAhead {
    answers: Mutex<Answers>,
}

impl ReadAhead {
    pub(crate) fn fill(&self, queries: HashMap<String, Result<QueryResult, StepFailure>>) {
        if let Ok(mut answers) = self.answers.lock()
            && !answers.closed
        {
            answers.queries.extend(queries);
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<Result<QueryResult, StepFailure>> {
        let answers = self.answers.lock().ok()?;
        if answers.closed { None } else { answers.queries.get(key).cloned() }
    }

    /// Keeps an answer read before the first write, so that a second planning pass
    /// (or the run after it) does not send the same read again.
    pub(crate) fn keep(&self, key: String, answer: &Result<QueryResult, StepFailure>) {
        if let Ok(mut answers) = self.answers.lock()
            && !answers.closed
        {
            answers.queries.insert(key, answer.clone());
        }
    }

    pub(crate) fn profile(&self, full_name: &str) -> Option<Vec<RecordTypeVisibility>> {
        let answers = self.answers.lock().ok()?;
        if answers.closed { None } else { answers.profiles.get(full_name).cloned() }
    }

    pub(crate) fn keep_profile(&self, full_name: &str, visibilities: &[RecordTypeVisibility]) {
        if let Ok(mut answers) = self.answers.lock()
            && !answers.closed
        {
            answers.profiles.insert(full_name.to_string(), visibilities.to_vec());
        }
    }

    /// Called before any write: what was read may no longer be true, so every later
    /// read goes to the org.
    pub(crate) fn invalidate(&self) {
        if let Ok(mut answers) = self.answers.lock() {
            *answers = Answers { closed: true, ..Answers::default() };
        }
    }
}

/// Registers the observe pass's functions: the same names as a run, doing no I/O.
pub(crate) fn register_observe_functions(
    engine: &mut rhai::Engine,
    registry: &Registry,
    shared: &Arc<RunShared>,
    collector: &Arc<Collector>,
) {
    for step in registry.iter() {
        let name = step.meta().name;
        let (s, st, c) = (shared.clone(), step.clone(), collector.clone());
        engine.register_fn(name, move |args: Dynamic| -> Dynamic {
            if let Ok(json) = rhai::serde::from_dynamic::<serde_json::Value>(&args) {
                let ctx = StepCtx { run: s.clone(), step: name.to_string(), changes: Vec::new() };
                for read in st.reads(json, &ctx) {
                    c.add(read);
                }
            }
            Dynamic::from_map(rhai::Map::new())
        });
        engine.register_fn(name, || Dynamic::from_map(rhai::Map::new()));
    }
    engine.register_fn("step", |ctx: NativeCallContext, _name: &str, body: FnPtr| -> Dynamic {
        body.call_within_context::<Dynamic>(&ctx, ()).unwrap_or(Dynamic::UNIT)
    });
    engine.register_fn("with_check_mode", |ctx: NativeCallContext, body: FnPtr| -> Dynamic {
        body.call_within_context::<Dynamic>(&ctx, ()).unwrap_or(Dynamic::UNIT)
    });
    let mut sf = rhai::Module::new();
    let c = collector.clone();
    sf.set_native_fn("query", move |soql: &str| {
        c.add(Read::new("sf::query", soql));
        Ok(rhai::Array::new())
    });
    sf.set_native_fn("get", |_: &str, _: &str| Ok(Dynamic::from_map(rhai::Map::new())));
    sf.set_native_fn("create", |_: &str, _: rhai::Map| Ok(String::new()));
    sf.set_native_fn("update", |_: &str, _: &str, _: rhai::Map| Ok(()));
    sf.set_native_fn("delete", |_: &str, _: &str| Ok(()));
    engine.register_static_module("sf", sf.into());
    engine.on_print(|_| {});
    engine.on_debug(|_, _, _| {});
}

/// Answers the reads an observe pass collected: the REST queries in one batch, each
/// Tooling query on its own. A transport or session failure leaves them unanswered:
/// the steps then read for themselves and meet the failure where it can be reported.
pub(crate) async fn answer(client: &SfClient, reads: Vec<Read>) -> HashMap<String, Result<QueryResult, StepFailure>> {
    let mut answers = HashMap::new();
    let (rest, tooling): (Vec<Read>, Vec<Read>) = reads.into_iter().partition(|r| r.api == ReadApi::Rest);
    if !rest.is_empty() {
        let soqls: Vec<String> = rest.iter().map(|r| r.soql.clone()).collect();
        if let Ok(results) = client.query_batch(&soqls).await {
            for (read, result) in rest.iter().zip(results) {
                answers.insert(read.key(), result.map_err(StepFailure::from));
            }
        }
    }
    for read in tooling {
        match client.query_tooling(&read.soql).await {
            Ok(result) => {
                answers.insert(read.key(), Ok(result));
            }
            Err(err @ ClientError::Api { .. }) => {
                answers.insert(read.key(), Err(StepFailure::from(err)));
            }
            Err(_) => {}
        }
    }
    answers
}
