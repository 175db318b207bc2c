//! Reads: the queries steps declare, and the answers kept from the read-ahead until a
//! run's first write.
//!
//! Steps declare their reads in [`Step::observe`](crate::step::Step::observe), so a
//! playbook is first run in an *observe pass* that only collects them; they are then
//! answered in one batch and kept. Steps read from what is kept until the run's first
//! write, after which every read goes to the org again. The observe pass may take
//! another path through the playbook than the real run (it sees no real results): a
//! read it did not foresee is simply sent when it comes.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::client::{ClientError, QueryResult, RecordTypeVisibility, SfClient};
use crate::failure::StepFailure;

/// Which API answers a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReadApi {
    /// REST `/query`: batched with the other reads.
    Rest,
    /// Tooling `/tooling/query`, for fields only Tooling has (`Profile.FullName`).
    /// Composite Batch lists no Tooling resource, so each is a request of its own.
    Tooling,
}

/// A named read: a SOQL query whose result `apply` finds under `name`.
#[derive(Debug, Clone)]
pub struct Read {
    pub name: &'static str,
    pub soql: String,
    pub api: ReadApi,
    /// Salesforce's refusal of this query is an answer the step inspects
    /// ([`Observed::failure`]) rather than the step's failure.
    pub may_fail: bool,
}

impl Read {
    pub fn new(name: &'static str, soql: impl Into<String>) -> Self {
        Read { name, soql: soql.into(), api: ReadApi::Rest, may_fail: false }
    }

    pub fn tooling(name: &'static str, soql: impl Into<String>) -> Self {
        Read { api: ReadApi::Tooling, ..Read::new(name, soql) }
    }

    /// Lets the step decide what a refusal means (an object the org lacks, a
    /// permission the running user lacks) instead of failing with Salesforce's text.
    pub fn may_fail(mut self) -> Self {
        self.may_fail = true;
        self
    }

    /// The key under which the read-ahead keeps this read's answer.
    pub(crate) fn key(&self) -> String {
        match self.api {
            ReadApi::Rest => self.soql.clone(),
            ReadApi::Tooling => format!("tooling:{}", self.soql),
        }
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
pub struct ReadAhead {
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

/// Answers the reads an observe pass collected: the REST queries in one batch, each
/// Tooling query on its own. A transport or session failure leaves them unanswered:
/// the steps then read for themselves and meet the failure where it can be reported.
pub(crate) async fn answer(
    client: &SfClient,
    reads: Vec<Read>,
) -> (HashMap<String, Result<QueryResult, StepFailure>>, Option<String>) {
    let mut answers = HashMap::new();
    let mut unanswered = None;
    let (rest, tooling): (Vec<Read>, Vec<Read>) = reads.into_iter().partition(|r| r.api == ReadApi::Rest);
    if !rest.is_empty() {
        let soqls: Vec<String> = rest.iter().map(|r| r.soql.clone()).collect();
        match client.query_batch(&soqls).await {
            Ok(results) => {
                for (read, result) in rest.iter().zip(results) {
                    answers.insert(read.key(), result.map_err(StepFailure::from));
                }
            }
            Err(err) => unanswered = Some(format!("the batch of {} reads was not answered ({err})", soqls.len())),
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
            Err(err) => unanswered = Some(format!("a Tooling read was not answered ({err})")),
        }
    }
    (answers, unanswered)
}
