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

use indexmap::IndexSet;
use rhai::{Dynamic, FnPtr, NativeCallContext};

use crate::client::QueryResult;
use crate::run::RunShared;
use crate::step::{Registry, StepCtx};

/// The queries an observe pass collected, in first-seen order.
#[derive(Default)]
pub(crate) struct Collector {
    soqls: Mutex<IndexSet<String>>,
}

impl Collector {
    fn add(&self, soql: String) {
        if let Ok(mut soqls) = self.soqls.lock() {
            soqls.insert(soql);
        }
    }

    pub(crate) fn take(&self) -> Vec<String> {
        self.soqls.lock().map(|mut s| s.drain(..).collect()).unwrap_or_default()
    }
}

/// Answers kept from the read-ahead, valid until the run's first write.
#[derive(Default)]
pub(crate) struct ReadAhead {
    answers: Mutex<Option<HashMap<String, QueryResult>>>,
}

impl ReadAhead {
    pub(crate) fn fill(&self, answers: HashMap<String, QueryResult>) {
        if let Ok(mut slot) = self.answers.lock() {
            *slot = Some(answers);
        }
    }

    pub(crate) fn get(&self, soql: &str) -> Option<QueryResult> {
        self.answers.lock().ok()?.as_ref()?.get(soql).cloned()
    }

    /// Called before any write: what was read ahead may no longer be true.
    pub(crate) fn invalidate(&self) {
        if let Ok(mut slot) = self.answers.lock() {
            *slot = None;
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
                    c.add(read.soql);
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
        c.add(soql.to_string());
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
