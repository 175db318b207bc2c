//! The step contract.
//!
//! A native step is a Rust type implementing [`Step`]. It runs in two phases that stay
//! apart: [`Step::observe`] names the reads it needs as SOQL queries (answered in one
//! round trip), and [`Step::apply`] turns what was read into writes through
//! [`StepCtx::write`], which sends nothing in check mode and records each change
//! before → after. Keeping reads declarative lets the runner batch them.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use indexmap::IndexMap;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::client::{ClientError, QueryResult, RecordTypeVisibility};
use crate::facts::OrgFacts;
pub use crate::read::{Read, ReadApi};
use crate::report::Change;
use crate::session::RunShared;
pub use crate::write::{Write, Written};

mod helpers;
mod params;
pub mod prelude;

pub use crate::failure::StepFailure;
pub use helpers::{id18, int_field, path_field, same_id, soql_list, str_field};
pub use params::{ParamDoc, ParamType, param_docs};

/// A future the erased step contract returns; native steps write `async fn apply`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A step's name, its one-line summary and its longer description. Its parameters come
/// from its `Params` type ([`param_docs`]).
#[derive(Debug)]
pub struct StepMeta {
    pub name: &'static str,
    pub summary: &'static str,
    pub description: &'static str,
}

/// The answers to a step's reads.
#[derive(Debug, Default)]
pub struct Observed {
    step: String,
    results: IndexMap<&'static str, Result<QueryResult, StepFailure>>,
}

impl Observed {
    fn answer(&self, name: &str) -> Result<&Result<QueryResult, StepFailure>, StepFailure> {
        self.results.get(name).ok_or_else(|| {
            StepFailure::new(
                "runner::step::undeclared_read",
                format!("{}: the step asked for the read `{name}`, which its observe does not declare", self.step),
            )
            .hint("a bug in the step: declare every read in observe, so that it is read ahead in one batch")
        })
    }

    /// The rows of a read; none when Salesforce refused a read declared with
    /// [`Read::may_fail`] (see [`Observed::failure`]).
    pub fn rows(&self, name: &str) -> Result<&[Map<String, Value>], StepFailure> {
        Ok(match self.answer(name)? {
            Ok(result) => result.records.as_slice(),
            Err(_) => &[],
        })
    }

    pub fn first(&self, name: &str) -> Result<Option<&Map<String, Value>>, StepFailure> {
        Ok(self.rows(name)?.first())
    }

    pub fn total(&self, name: &str) -> Result<u64, StepFailure> {
        Ok(match self.answer(name)? {
            Ok(result) => result.total_size,
            Err(_) => 0,
        })
    }

    /// Salesforce's refusal of a read declared with [`Read::may_fail`].
    pub fn failure(&self, name: &str) -> Result<Option<&StepFailure>, StepFailure> {
        Ok(self.answer(name)?.as_ref().err())
    }
}

/// What a step returns when it succeeds.
#[derive(Debug, Default)]
pub struct StepOutput {
    pub summary: String,
    /// Set only for a step that chose not to act; otherwise the outcome follows from
    /// the changes recorded through [`StepCtx::write`].
    pub skipped: bool,
    /// Returned to the playbook as an object map. Never put a secret here.
    pub data: Map<String, Value>,
    /// Things the consultant should know that do not stop the step.
    pub warnings: Vec<String>,
}

impl StepOutput {
    pub fn new(summary: impl Into<String>) -> Self {
        StepOutput { summary: summary.into(), ..Default::default() }
    }

    pub fn skipped(summary: impl Into<String>) -> Self {
        StepOutput { summary: summary.into(), skipped: true, ..Default::default() }
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.data.insert(key.to_string(), value.into());
        self
    }

    pub fn warn(mut self, warning: impl Into<String>) -> Self {
        self.warnings.push(warning.into());
        self
    }

    pub fn with_warnings(mut self, warnings: impl IntoIterator<Item = String>) -> Self {
        self.warnings.extend(warnings);
        self
    }
}

/// What a step sees of the run: the org's facts, reads, and writes that honour check mode.
pub struct StepCtx {
    pub(crate) run: Arc<RunShared>,
    pub(crate) step: String,
    pub(crate) changes: Vec<Change>,
    /// The steps whose requests carried this step's writes ahead (see [`crate::ahead`]).
    pub(crate) sent_with: Vec<String>,
}

impl StepCtx {
    pub(crate) fn new(run: Arc<RunShared>, step: impl Into<String>) -> StepCtx {
        StepCtx { run, step: step.into(), changes: Vec::new(), sent_with: Vec::new() }
    }

    pub fn check_mode(&self) -> bool {
        self.run.check_mode()
    }

    /// True when the writes this step plans will be made: a real run, or the planning
    /// pass before one. A step checks here what only the write would otherwise find out
    /// (a file it cannot write, no terminal to show a secret on).
    pub fn writes_follow(&self) -> bool {
        !self.run.check_mode() || self.run.planning_writes()
    }

    pub fn facts(&self) -> &OrgFacts {
        &self.run.facts
    }

    pub fn step_name(&self) -> &str {
        &self.step
    }

    /// Answers named reads in as few round trips as the API allows: what the read-ahead
    /// already holds, then the REST queries in one batch and each Tooling query.
    pub async fn read(&self, reads: Vec<Read>) -> Result<Observed, StepFailure> {
        let mut observed = Observed { step: self.step.clone(), ..Observed::default() };
        let tolerated: Vec<&'static str> = reads.iter().filter(|r| r.may_fail).map(|r| r.name).collect();
        let mut misses = Vec::new();
        for read in reads {
            // Metadata reads are answered into what `profile_record_types` keeps.
            if read.api == ReadApi::Metadata {
                continue;
            }
            match self.run.read_ahead.get(&read.key()) {
                Some(answer) => {
                    observed.results.insert(read.name, answer);
                }
                None if read.ahead_only => {}
                None => misses.push(read),
            }
        }
        let (rest, tooling): (Vec<Read>, Vec<Read>) = misses.into_iter().partition(|r| r.api == ReadApi::Rest);
        if !rest.is_empty() {
            let keys: Vec<String> = rest.iter().map(Read::key).collect();
            let refill = self.run.read_ahead.refill(&keys, REFILL_ROOM.saturating_sub(rest.len()));
            let soqls: Vec<String> = rest.iter().chain(&refill).map(|r| r.soql.clone()).collect();
            let mut answers = self.run.client.query_batch(&soqls).await?.into_iter();
            for read in rest {
                let Some(answer) = answers.next() else { break };
                let answer = answer.map_err(StepFailure::from);
                self.run.read_ahead.keep(read.key(), &answer);
                observed.results.insert(read.name, answer);
            }
            for (read, answer) in refill.iter().zip(answers) {
                self.run.read_ahead.keep(read.key(), &answer.map_err(StepFailure::from));
            }
        }
        for read in tooling {
            let answer = match self.run.client.query_tooling(&read.soql).await {
                Err(err @ ClientError::Api { .. }) => Err(StepFailure::from(err)),
                other => Ok(other?),
            };
            self.run.read_ahead.keep(read.key(), &answer);
            observed.results.insert(read.name, answer);
        }
        let refused = observed
            .results
            .iter()
            .find_map(|(name, answer)| answer.as_ref().err().filter(|_| !tolerated.contains(name)).cloned());
        match refused {
            Some(failure) => Err(failure),
            None => Ok(observed),
        }
    }

    /// The Metadata full name of the profile with this Id, when the read-ahead listed the
    /// profiles (a [`Read::profile_metadata`] read); `None` means: ask Tooling.
    pub fn profile_full_name(&self, profile_id: &str) -> Option<String> {
        self.run.read_ahead.profile_name(profile_id)
    }

    /// The profile's record type visibilities (Metadata API readMetadata), kept with the
    /// read-ahead (until a write changes the profile) so that planning does not read it twice.
    pub async fn profile_record_types(&self, full_name: &str) -> Result<Vec<RecordTypeVisibility>, StepFailure> {
        if let Some(kept) = self.run.read_ahead.profile(full_name) {
            return Ok(kept);
        }
        let visibilities = self.run.client.read_profile_record_types(full_name).await?;
        self.run.read_ahead.keep_profile(full_name, &visibilities);
        Ok(visibilities)
    }

    /// Whether an earlier step of this check-mode run planned to create `what`. Lets
    /// later steps report "would …" instead of "not found".
    pub fn is_planned(&self, what: &Planned) -> bool {
        self.run.planned.lock().map(|p| p.contains(&what.key())).unwrap_or(false)
    }

    /// Notes, in check mode, that this run would have created `what`.
    pub fn plan(&self, what: Planned) {
        if let Ok(mut planned) = self.run.planned.lock() {
            planned.insert(what.key());
        }
    }

    /// Records a change that needs no write of its own (e.g. reported by a check).
    pub fn note_change(&mut self, change: Change) {
        self.changes.push(change);
    }

    pub fn changes(&self) -> &[Change] {
        &self.changes
    }

    /// Makes one write, or in check mode records what it would change and sends nothing.
    pub async fn write(&mut self, write: Write) -> Result<Written, StepFailure> {
        let mut results = self.write_all(vec![write]).await?;
        Ok(results.pop().unwrap_or(Written::Planned))
    }

    /// Makes several writes in as few requests as the API allows: creates of setup
    /// objects go together in one sObject-collections request (all or none), other
    /// writes one by one. In check mode nothing is sent.
    pub async fn write_all(&mut self, writes: Vec<Write>) -> Result<Vec<Written>, StepFailure> {
        for write in &writes {
            write.register_secrets();
        }
        if self.run.check_mode() {
            if self.run.planning_writes()
                && let Some(plan) = &self.run.plan
            {
                plan.planned_writes(&self.step, &writes);
            }
            for write in &writes {
                self.changes.extend(write.changes());
            }
            return Ok(vec![Written::Planned; writes.len()]);
        }
        // Checked before each request below too: a signal that arrives while one write is in flight lets it
        // finish (and be journaled), and no later write start.
        self.run.interrupt.check()?;
        if let Some(made) = self.claim_ahead(&writes) {
            for write in &writes {
                self.run.read_ahead.wrote(write);
            }
            return Ok(made);
        }
        for write in &writes {
            self.run.read_ahead.wrote(write);
        }
        // The later steps must read the org as the plan did, from kept answers: with none
        // kept they would find the chain's records made and not ask for them.
        if self.run.read_ahead.is_open()
            && let Some(chain) = self.run.ahead.chain_for(&self.step, &writes)
        {
            match self.send_ahead(chain).await {
                Ok(()) => {
                    if let Some(made) = self.claim_ahead(&writes) {
                        return Ok(made);
                    }
                }
                Err(failure) => return Err(failure),
            }
        }
        let journal = self.run.journal_context(&self.step);
        let mut out = vec![Written::Planned; writes.len()];
        let creates: Vec<usize> = (0..writes.len()).filter(|&i| writes[i].is_create()).collect();
        let batched = creates.len() > 1;
        // What the chain readied goes beside this call's first request.
        let mut first = true;
        if batched {
            let batch: Vec<&Write> = creates.iter().map(|&i| &writes[i]).collect();
            let ids =
                self.beside_ready(&writes, crate::write::send_creates(&self.run.client, &journal, &batch)).await?;
            first = false;
            for (&i, id) in creates.iter().zip(ids) {
                out[i] = Written::Done { id: Some(id) };
                self.changes.extend(writes[i].changes());
            }
        }
        for (i, write) in writes.iter().enumerate() {
            if batched && write.is_create() {
                continue;
            }
            self.run.interrupt.check()?;
            let send = crate::write::send_one(&self.run.client, &journal, write);
            out[i] = if std::mem::take(&mut first) { self.beside_ready(&writes, send).await } else { send.await }?;
            self.changes.extend(write.changes());
        }
        Ok(out)
    }

    /// Makes writes and confirms them with one query, in one round trip where the API
    /// allows: the writes and the query as one all-or-none Composite request. `confirms`
    /// judges the query's answer. Whether a query in the same request sees what its
    /// writes derive (a password's `LastPasswordChangeDate`, TwoFactorMethodsInfo after a
    /// TwoFactorInfo) is not documented (salesforce-api.md A.7 says only that later
    /// subrequests see earlier ones' output), so an answer that does not confirm is read
    /// again on its own, after the request has committed, before the step says so.
    /// The answer is given when it confirms; in check mode nothing is written and none is.
    pub async fn write_then_confirm(
        &mut self,
        writes: Vec<Write>,
        soql: &str,
        confirms: impl Fn(&QueryResult) -> bool,
    ) -> Result<(Vec<Written>, Option<QueryResult>), StepFailure> {
        if self.run.check_mode() || !crate::write::composable(&writes) {
            let written = self.write_all(writes).await?;
            if self.run.check_mode() {
                return Ok((written, None));
            }
            let answer = self.query(soql).await?;
            return Ok((written, Some(answer).filter(&confirms)));
        }
        for write in &writes {
            write.register_secrets();
        }
        self.run.interrupt.check()?;
        for write in &writes {
            self.run.read_ahead.wrote(write);
        }
        // The expected reads the writes dropped ride along, as with any read that must go
        // to the org (`ReadAhead::refill`): the steps after this one find them kept.
        let refill =
            self.run.read_ahead.refill_beside(&writes, &[soql.to_string()], crate::write::COMPOSITE_QUERIES - 1);
        let soqls: Vec<String> =
            std::iter::once(soql.to_string()).chain(refill.iter().map(|r| r.soql.clone())).collect();
        let journal = self.run.journal_context(&self.step);
        let composed: Vec<crate::write::Composed> = writes
            .iter()
            .enumerate()
            .map(|(i, write)| crate::write::Composed { journal: &journal, reference: format!("w{i}"), write })
            .collect();
        let sent = self.beside_ready(&writes, crate::write::send_composite(&self.run.client, &composed, &soqls)).await;
        let (written, answers) = sent.map_err(crate::write::CompositeFailure::into_failure)?;
        for write in &writes {
            self.changes.extend(write.changes());
        }
        let mut answers = answers.into_iter();
        let answer = answers.next().flatten();
        for (read, kept) in refill.iter().zip(answers) {
            if let Some(kept) = kept {
                self.run.read_ahead.keep(read.key(), &Ok(kept));
            }
        }
        if let Some(answer) = answer.filter(&confirms) {
            return Ok((written, Some(answer)));
        }
        let again = self.query(soql).await?;
        Ok((written, Some(again).filter(&confirms)))
    }

    /// These writes' results when they were made ahead as planned (see [`crate::ahead`]):
    /// their changes are this step's, and the steps whose requests carried them are noted.
    fn claim_ahead(&mut self, writes: &[Write]) -> Option<Vec<Written>> {
        let made = self.run.ahead.claim(&self.step, writes)?;
        for write in writes {
            self.changes.extend(write.changes());
        }
        let mut out = Vec::with_capacity(made.len());
        for (written, by) in made {
            if by != self.step && !self.sent_with.contains(&by) {
                self.sent_with.push(by);
            }
            out.push(written);
        }
        Some(out)
    }

    /// Sends a chain of creates ahead (see [`crate::ahead`]) in one Composite request.
    /// `Ok` whether or not the chain was applied, unless the asking call's own write was
    /// refused or may have been applied: then that is this call's failure, as if it had
    /// been sent alone.
    async fn send_ahead(&mut self, chain: crate::ahead::Chain) -> Result<(), StepFailure> {
        use crate::write::{Composed, CompositeFailure};
        let journals: Vec<_> = chain.creates.iter().map(|e| self.run.journal_context(&e.step)).collect();
        let composed: Vec<Composed> = chain
            .creates
            .iter()
            .zip(&journals)
            .map(|(entry, journal)| Composed { journal, reference: entry.reference.clone(), write: &entry.write })
            .collect();
        match crate::write::send_composite(&self.run.client, &composed, &[]).await {
            Ok((written, _)) => {
                let ids: Vec<String> = written.iter().map(|w| w.id().unwrap_or_default().to_string()).collect();
                self.run.ahead.made(&chain, &ids, &self.step);
                Ok(())
            }
            Err(CompositeFailure::Refused { index, failure }) => {
                self.run.ahead.stop();
                if index < chain.own { Err(failure) } else { Ok(()) }
            }
            Err(CompositeFailure::Request(failure)) => {
                self.run.ahead.stop();
                if failure.ambiguous {
                    // Applied or not, no one knows: every step after reads again by natural key.
                    for entry in &chain.creates {
                        self.run.read_ahead.wrote(&entry.write);
                    }
                    return Err(failure);
                }
                Ok(())
            }
        }
    }

    /// Sends `request` and, beside it, the Metadata updates the plan's chain readied
    /// ([`crate::ahead`]), less those among `writes` (its step sends them itself).
    async fn beside_ready<T>(&self, writes: &[Write], request: impl Future<Output = T>) -> T {
        let ready = self.run.ahead.take_ready(writes);
        let run = &self.run;
        // One after another: there is seldom more than one profile.
        let beside = async {
            let mut results = Vec::with_capacity(ready.len());
            for entry in &ready {
                let journal = run.journal_context(&entry.step);
                results.push((entry, crate::write::send_one(&run.client, &journal, &entry.write).await));
            }
            results
        };
        let (out, beside) = tokio::join!(request, beside);
        for (entry, result) in beside {
            match result {
                Ok(_) => run.ahead.made_beside(entry, &self.step),
                // Its step reads again and meets the profile as it is now.
                Err(failure) if failure.ambiguous => run.read_ahead.wrote(&entry.write),
                // Its step sends it itself and meets the refusal there.
                Err(_) => {}
            }
        }
        out
    }

    /// The id a check-mode step writes for a record an earlier step plans to create
    /// (see [`crate::ahead`]): never sent.
    pub fn planned_id(&self, what: &Planned) -> String {
        let (sobject, key) = what.key();
        crate::ahead::placeholder(&sobject, &key)
    }

    /// Keeps what a step knows a read now answers, having just written it (a created
    /// record's row), so that a later step reads it without a round trip. Never after an
    /// ambiguous failure: the step re-reads by natural key then. Nothing in check mode.
    pub fn wrote_answer(&self, read: &Read, rows: Vec<Map<String, Value>>) {
        if self.run.check_mode() {
            return;
        }
        let answer = Ok(QueryResult { total_size: rows.len() as u64, records: rows });
        self.run.read_ahead.keep(read.key(), &answer);
    }

    /// Runs a secondary read outside the batch (for reads that depend on the first, or a
    /// write's confirmation). It is sent with the expected reads a write dropped
    /// ([`ReadAhead::refill`](crate::read::ReadAhead::refill)), in one batch; its own answer
    /// is not kept.
    pub async fn query(&self, soql: &str) -> Result<QueryResult, StepFailure> {
        let refill = self.run.read_ahead.refill(&[soql.to_string()], REFILL_ROOM - 1);
        if refill.is_empty() {
            return Ok(self.run.client.query(soql).await?);
        }
        let soqls: Vec<String> =
            std::iter::once(soql.to_string()).chain(refill.iter().map(|r| r.soql.clone())).collect();
        let mut answers = self.run.client.query_batch(&soqls).await?.into_iter();
        let own = answers.next();
        for (read, answer) in refill.iter().zip(answers) {
            self.run.read_ahead.keep(read.key(), &answer.map_err(StepFailure::from));
        }
        match own {
            Some(answer) => Ok(answer?),
            None => Ok(self.run.client.query(soql).await?),
        }
    }
}

/// Queries per refilled batch: one `/composite/batch` request (its limit is 25), so that a
/// refill never costs another round trip.
const REFILL_ROOM: usize = 25;

/// Something a check-mode run would have created, that later steps may rely on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// A user, by username.
    User { username: String },
    /// A permission set licence assigned to a user.
    PermissionSetLicense { username: String, license_id: String },
    /// Any other record, by object and a key of the step's choosing: for partners' steps.
    Record { sobject: String, key: String },
}

impl Planned {
    pub fn user(username: &str) -> Self {
        Planned::User { username: username.to_string() }
    }

    /// Usernames compare case-insensitively, as Salesforce compares them.
    pub(crate) fn key(&self) -> (String, String) {
        match self {
            Planned::User { username } => ("User".into(), username.to_ascii_lowercase()),
            Planned::PermissionSetLicense { username, license_id } => {
                ("PermissionSetLicenseAssign".into(), format!("{}/{license_id}", username.to_ascii_lowercase()))
            }
            Planned::Record { sobject, key } => (sobject.clone(), key.clone()),
        }
    }
}

/// The contract of a native step.
pub trait Step: Send + Sync + 'static {
    /// Decoded strictly from the playbook's object map: use
    /// `#[serde(deny_unknown_fields)]` so a misspelt field is an error. Its JSON Schema
    /// (doc comments, defaults) is what `runner steps` and `runner check` show.
    type Params: DeserializeOwned + schemars::JsonSchema + Send + Sync + 'static;

    fn meta(&self) -> &'static StepMeta;

    /// The reads this step needs, answered in one round trip before [`Step::apply`].
    fn observe(&self, params: &Self::Params, ctx: &StepCtx) -> Result<Vec<Read>, StepFailure>;

    /// Turns what was read into writes (through `ctx.write`), and says what it did.
    fn apply(
        &self,
        params: Self::Params,
        observed: Observed,
        ctx: &mut StepCtx,
    ) -> impl Future<Output = Result<StepOutput, StepFailure>> + Send;
}

/// A step with its parameter type erased, as the registry holds it.
pub trait DynStep: Send + Sync {
    fn meta(&self) -> &'static StepMeta;
    fn params(&self) -> &[ParamDoc];
    /// The reads the step would make with these arguments (none if they do not decode).
    fn reads(&self, args: Value, ctx: &StepCtx) -> Vec<Read>;
    fn run<'a>(&'a self, args: Value, ctx: &'a mut StepCtx) -> BoxFuture<'a, Result<StepOutput, StepFailure>>;
}

/// A registered step: the step and its parameters, read once from its schema.
struct Registered<S> {
    step: S,
    params: Vec<ParamDoc>,
}

impl<S: Step> DynStep for Registered<S> {
    fn meta(&self) -> &'static StepMeta {
        self.step.meta()
    }

    fn params(&self) -> &[ParamDoc] {
        &self.params
    }

    fn reads(&self, args: Value, ctx: &StepCtx) -> Vec<Read> {
        serde_json::from_value::<S::Params>(args)
            .ok()
            .and_then(|params| self.step.observe(&params, ctx).ok())
            .unwrap_or_default()
    }

    fn run<'a>(&'a self, args: Value, ctx: &'a mut StepCtx) -> BoxFuture<'a, Result<StepOutput, StepFailure>> {
        Box::pin(async move {
            let params = decode_params::<S::Params>(self.step.meta().name, &self.params, args)?;
            let reads = self.step.observe(&params, ctx)?;
            let observed = ctx.read(reads).await?;
            self.step.apply(params, observed, ctx).await
        })
    }
}

/// Decodes a step's arguments strictly, naming the step and the offending field.
pub fn decode_params<P: DeserializeOwned>(step: &str, params: &[ParamDoc], args: Value) -> Result<P, StepFailure> {
    if let Value::Object(map) = &args {
        for param in params.iter().filter(|p| p.required) {
            if map.get(&param.name).is_none_or(Value::is_null) {
                return Err(StepFailure::bad_argument(
                    step,
                    &param.name,
                    &format!("required {} is missing", param.ty.describe()),
                ));
            }
        }
    }
    serde_path_to_error::deserialize(args).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        let problem = match suggest_field(params, &inner) {
            Some(hint) => format!("{inner}; {hint}"),
            None => inner,
        };
        StepFailure::bad_argument(step, &path, &problem)
    })
}

fn suggest_field(params: &[ParamDoc], serde_message: &str) -> Option<String> {
    let unknown = serde_message.strip_prefix("unknown field `")?.split('`').next()?;
    let best = crate::suggest::closest(unknown, params.iter().map(|p| p.name.as_str()))?;
    Some(format!("did you mean `{best}`?"))
}

/// The native steps a build of `runner` knows, by name.
#[derive(Clone, Default)]
pub struct Registry {
    steps: BTreeMap<&'static str, Arc<dyn DynStep>>,
}

impl Registry {
    pub fn new() -> Self {
        Registry::default()
    }

    /// Adds a step. A partner's own build registers its steps the same way.
    pub fn register<S: Step>(&mut self, step: S) -> &mut Self {
        let params = param_docs::<S::Params>();
        self.steps.insert(step.meta().name, Arc::new(Registered { step, params }));
        self
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn DynStep>> {
        self.steps.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn DynStep>> {
        self.steps.values()
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.steps.keys().copied()
    }
}
