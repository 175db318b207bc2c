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

use crate::client::{ApiError, ClientError, QueryResult, RecordTypeVisibility, SfClient};
use crate::facts::OrgFacts;
use crate::report::{Change, FailureInfo};
use crate::run::RunShared;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The type of a step parameter, for `runner steps NAME` and for `runner check`'s
/// pre-flight of literal arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    Bool,
    Int,
    StringList,
    /// An object map, e.g. `defaults: #{ Account: "Business_Account" }`.
    Map,
}

impl ParamType {
    pub fn describe(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Bool => "bool",
            ParamType::Int => "int",
            ParamType::StringList => "array of strings",
            ParamType::Map => "object map",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ParamDoc {
    pub name: &'static str,
    pub ty: ParamType,
    pub required: bool,
    /// The default, as a human reads it (`"Salesforce API Integration"`, `false`).
    pub default: Option<&'static str>,
    pub doc: &'static str,
}

/// A step's name, its one-line summary, its longer description and its parameters.
#[derive(Debug)]
pub struct StepMeta {
    pub name: &'static str,
    pub summary: &'static str,
    pub description: &'static str,
    pub params: &'static [ParamDoc],
}

impl StepMeta {
    pub fn param(&self, name: &str) -> Option<&ParamDoc> {
        self.params.iter().find(|p| p.name == name)
    }
}

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

/// The answers to a step's reads.
#[derive(Debug, Default)]
pub struct Observed {
    results: IndexMap<&'static str, Result<QueryResult, StepFailure>>,
}

impl Observed {
    /// The rows of a read; none when the read was refused (see [`Observed::failure`]).
    pub fn rows(&self, name: &str) -> &[Map<String, Value>] {
        match self.results.get(name) {
            Some(Ok(result)) => result.records.as_slice(),
            _ => &[],
        }
    }

    pub fn first(&self, name: &str) -> Option<&Map<String, Value>> {
        self.rows(name).first()
    }

    pub fn total(&self, name: &str) -> u64 {
        match self.results.get(name) {
            Some(Ok(result)) => result.total_size,
            _ => 0,
        }
    }

    /// Salesforce's refusal of a read declared with [`Read::may_fail`].
    pub fn failure(&self, name: &str) -> Option<&StepFailure> {
        self.results.get(name).and_then(|r| r.as_ref().err())
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

/// A structured step failure: a stable code, a message, the Salesforce error where
/// there is one, and a hint saying what to do. Playbooks can `catch` it and read
/// `err.code`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct StepFailure {
    pub code: String,
    pub message: String,
    pub sf_error: Option<Box<ApiError>>,
    pub hint: Option<String>,
    /// The failed write may or may not have been applied (a dropped connection, a
    /// timeout): re-read by natural key before deciding anything.
    pub ambiguous: bool,
}

impl StepFailure {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        StepFailure { code: code.to_string(), message: message.into(), sf_error: None, hint: None, ambiguous: false }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// Arguments that did not decode: names the step and the field.
    pub fn bad_argument(step: &str, path: &str, problem: &str) -> Self {
        let field = if path.is_empty() || path == "." { String::new() } else { format!(" `{path}`") };
        StepFailure::new("runner::playbook::bad_argument", format!("{step}: argument{field}: {problem}"))
            .hint(format!("`runner steps {step}` lists its parameters and their types"))
    }

    /// The Salesforce error code, when the failure came from Salesforce.
    pub fn error_code(&self) -> Option<&str> {
        self.sf_error.as_ref().map(|e| e.error_code.as_str())
    }

    pub fn info(&self) -> FailureInfo {
        FailureInfo {
            code: self.code.clone(),
            message: self.message.clone(),
            error_code: self.sf_error.as_ref().map(|e| e.error_code.clone()),
            fields: self.sf_error.as_ref().map(|e| e.fields.clone()).unwrap_or_default(),
            hint: self.hint.clone(),
            location: None,
        }
    }
}

impl From<ClientError> for StepFailure {
    fn from(err: ClientError) -> Self {
        use miette::Diagnostic;
        let code = err.code().map(|c| c.to_string()).unwrap_or_else(|| "runner::sf::error".to_string());
        let hint = err.help().map(|h| h.to_string());
        let sf_error = err.first_api_error().cloned().map(Box::new);
        let ambiguous = err.is_ambiguous_write();
        StepFailure { code, message: err.to_string(), sf_error, hint, ambiguous }
    }
}

/// A write a step wants made, with the changes it stands for.
#[derive(Debug, Clone)]
pub enum Write {
    Create {
        sobject: String,
        fields: Map<String, Value>,
        change: Change,
    },
    Update {
        sobject: String,
        id: String,
        fields: Map<String, Value>,
        changes: Vec<Change>,
    },
    Delete {
        sobject: String,
        id: String,
        change: Change,
    },
    ProfileRecordTypes {
        profile: String,
        visibilities: Vec<RecordTypeVisibility>,
        changes: Vec<Change>,
    },
    /// A user's password (`POST /sobjects/User/{id}/password`, salesforce-api.md C.2).
    Password {
        user_id: String,
        password: secrecy::SecretString,
        change: Change,
    },
}

impl Write {
    fn changes(&self) -> Vec<Change> {
        match self {
            Write::Create { change, .. } | Write::Delete { change, .. } | Write::Password { change, .. } => {
                vec![change.clone()]
            }
            Write::Update { changes, .. } | Write::ProfileRecordTypes { changes, .. } => changes.clone(),
        }
    }

    fn is_create(&self) -> bool {
        matches!(self, Write::Create { .. })
    }
}

/// What a write gave back.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    /// Sent and applied. `id` is set for creates.
    Done { id: Option<String> },
    /// Check mode: not sent.
    Planned,
}

impl Written {
    pub fn id(&self) -> Option<&str> {
        match self {
            Written::Done { id } => id.as_deref(),
            Written::Planned => None,
        }
    }
}

/// What a step sees of the run: the org's facts, reads, and writes that honour check mode.
pub struct StepCtx {
    pub(crate) run: Arc<RunShared>,
    pub(crate) step: String,
    pub(crate) changes: Vec<Change>,
}

impl StepCtx {
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

    /// The client, for reads the batch cannot express (Metadata SOAP). Writes go
    /// through [`StepCtx::write`] so that check mode and the journal apply.
    pub fn client(&self) -> &SfClient {
        &self.run.client
    }

    /// Answers named reads in as few round trips as the API allows: what the read-ahead
    /// already holds, then the REST queries in one batch and each Tooling query.
    pub async fn read(&self, reads: Vec<Read>) -> Result<Observed, StepFailure> {
        let mut observed = Observed::default();
        let tolerated: Vec<&'static str> = reads.iter().filter(|r| r.may_fail).map(|r| r.name).collect();
        let mut misses = Vec::new();
        for read in reads {
            match self.run.read_ahead.get(&read.key()) {
                Some(answer) => {
                    observed.results.insert(read.name, answer);
                }
                None => misses.push(read),
            }
        }
        let (rest, tooling): (Vec<Read>, Vec<Read>) = misses.into_iter().partition(|r| r.api == ReadApi::Rest);
        if !rest.is_empty() {
            let soqls: Vec<String> = rest.iter().map(|r| r.soql.clone()).collect();
            let answers = self.run.client.query_batch(&soqls).await?;
            for (read, answer) in rest.into_iter().zip(answers) {
                let answer = answer.map_err(StepFailure::from);
                self.run.read_ahead.keep(read.key(), &answer);
                observed.results.insert(read.name, answer);
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

    /// The profile's record type visibilities (Metadata API readMetadata), kept with the
    /// read-ahead until the run's first write so that planning does not read it twice.
    pub async fn profile_record_types(&self, full_name: &str) -> Result<Vec<RecordTypeVisibility>, StepFailure> {
        if let Some(kept) = self.run.read_ahead.profile(full_name) {
            return Ok(kept);
        }
        let visibilities = self.run.client.read_profile_record_types(full_name).await?;
        self.run.read_ahead.keep_profile(full_name, &visibilities);
        Ok(visibilities)
    }

    /// Whether an earlier step of this check-mode run planned to create `key` of `kind`
    /// (`"User"`, username). Lets later steps report "would …" instead of "not found".
    pub fn is_planned(&self, kind: &str, key: &str) -> bool {
        self.run.planned.lock().map(|p| p.contains(&(kind.to_string(), key.to_ascii_lowercase()))).unwrap_or(false)
    }

    /// Notes, in check mode, that this run would have created `key` of `kind`.
    pub fn plan(&self, kind: &str, key: &str) {
        if let Ok(mut planned) = self.run.planned.lock() {
            planned.insert((kind.to_string(), key.to_ascii_lowercase()));
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
        if self.run.check_mode() {
            for write in &writes {
                self.changes.extend(write.changes());
            }
            return Ok(vec![Written::Planned; writes.len()]);
        }
        // Checked before each request below too: a signal that arrives while one write is in flight lets it
        // finish (and be journaled), and no later write start.
        self.run.interrupt.check()?;
        self.run.read_ahead.invalidate();
        let journal = self.run.journal_context(&self.step);
        let mut out = vec![Written::Planned; writes.len()];
        let creates: Vec<usize> = (0..writes.len()).filter(|&i| writes[i].is_create()).collect();
        let batched = creates.len() > 1;
        if batched {
            let batch: Vec<&Write> = creates.iter().map(|&i| &writes[i]).collect();
            let ids = crate::run::send_creates(&self.run.client, &journal, &batch).await?;
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
            out[i] = crate::run::send_one(&self.run.client, &journal, write).await?;
            self.changes.extend(write.changes());
        }
        Ok(out)
    }

    /// Runs a secondary read outside the batch (for reads that depend on the first).
    pub async fn query(&self, soql: &str) -> Result<QueryResult, StepFailure> {
        Ok(self.run.client.query(soql).await?)
    }
}

/// The contract of a native step.
pub trait Step: Send + Sync + 'static {
    /// Decoded strictly from the playbook's object map: use
    /// `#[serde(deny_unknown_fields)]` so a misspelt field is an error.
    type Params: DeserializeOwned + Send + Sync + 'static;

    fn meta(&self) -> &'static StepMeta;

    /// The reads this step needs, answered in one round trip before [`Step::apply`].
    fn observe(&self, params: &Self::Params, ctx: &StepCtx) -> Result<Vec<Read>, StepFailure>;

    /// Turns what was read into writes (through `ctx.write`), and says what it did.
    fn apply<'a>(
        &'a self,
        params: Self::Params,
        observed: Observed,
        ctx: &'a mut StepCtx,
    ) -> BoxFuture<'a, Result<StepOutput, StepFailure>>;
}

/// A step with its parameter type erased, as the registry holds it.
pub trait DynStep: Send + Sync {
    fn meta(&self) -> &'static StepMeta;
    /// The reads the step would make with these arguments (none if they do not decode).
    fn reads(&self, args: Value, ctx: &StepCtx) -> Vec<Read>;
    fn run<'a>(&'a self, args: Value, ctx: &'a mut StepCtx) -> BoxFuture<'a, Result<StepOutput, StepFailure>>;
}

impl<S: Step> DynStep for S {
    fn meta(&self) -> &'static StepMeta {
        Step::meta(self)
    }

    fn reads(&self, args: Value, ctx: &StepCtx) -> Vec<Read> {
        serde_json::from_value::<S::Params>(args)
            .ok()
            .and_then(|params| self.observe(&params, ctx).ok())
            .unwrap_or_default()
    }

    fn run<'a>(&'a self, args: Value, ctx: &'a mut StepCtx) -> BoxFuture<'a, Result<StepOutput, StepFailure>> {
        Box::pin(async move {
            let params = decode_params::<S::Params>(Step::meta(self), args)?;
            let reads = self.observe(&params, ctx)?;
            let observed = ctx.read(reads).await?;
            self.apply(params, observed, ctx).await
        })
    }
}

/// Decodes a step's arguments strictly, naming the step and the offending field.
pub fn decode_params<P: DeserializeOwned>(meta: &StepMeta, args: Value) -> Result<P, StepFailure> {
    if let Value::Object(map) = &args {
        for param in meta.params.iter().filter(|p| p.required) {
            if map.get(param.name).is_none_or(Value::is_null) {
                return Err(StepFailure::bad_argument(
                    meta.name,
                    param.name,
                    &format!("required {} is missing", param.ty.describe()),
                ));
            }
        }
    }
    serde_path_to_error::deserialize(args).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner().to_string();
        let problem = match suggest_field(meta, &inner) {
            Some(hint) => format!("{inner}; {hint}"),
            None => inner,
        };
        StepFailure::bad_argument(meta.name, &path, &problem)
    })
}

fn suggest_field(meta: &StepMeta, serde_message: &str) -> Option<String> {
    let unknown = serde_message.strip_prefix("unknown field `")?.split('`').next()?;
    let best = meta
        .params
        .iter()
        .map(|p| (strsim::jaro_winkler(unknown, p.name), p.name))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))?;
    Some(format!("did you mean `{}`?", best.1))
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
        self.steps.insert(Step::meta(&step).name, Arc::new(step));
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
