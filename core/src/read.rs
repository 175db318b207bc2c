//! Reads: the queries steps declare, and the answers kept from the read-ahead and after.
//!
//! Steps declare their reads in [`Step::observe`](crate::step::Step::observe), so a
//! playbook is first run in an *observe pass* that only collects them; they are then
//! answered in one round trip and kept. Steps read from what is kept, and what they
//! read on top is kept too. A write drops only the answers it may change (see
//! [`changes`]: a created user changes the user's own rows and those derived from it,
//! not the record types), and a step that knows what a read now answers, having just
//! written it, keeps that ([`StepCtx::wrote_answer`](crate::step::StepCtx::wrote_answer)),
//! so a later step does not ask the org for what this run wrote. A write to any other
//! object drops every answer, and nothing is kept after it. The observe pass may take
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
    /// Composite Batch lists no Tooling resource, so each is a request of its own, sent
    /// at the same time as the batch.
    Tooling,
    /// Metadata API: every Profile's Id and full name (`listMetadata`) and the record
    /// type visibilities of the Profiles named (`readMetadata`; the `soql` holds the full
    /// names, one a line), for [`StepCtx::profile_full_name`](crate::step::StepCtx::profile_full_name)
    /// and [`StepCtx::profile_record_types`](crate::step::StepCtx::profile_record_types).
    /// Read ahead only, in two SOAP requests beside the batch.
    Metadata,
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
    /// A guess worth a place in the read-ahead, where it costs no round trip, but not a
    /// request of its own: once the read-ahead is over, the step does without it.
    pub ahead_only: bool,
}

impl Read {
    pub fn new(name: &'static str, soql: impl Into<String>) -> Self {
        Read { name, soql: soql.into(), api: ReadApi::Rest, may_fail: false, ahead_only: false }
    }

    pub fn tooling(name: &'static str, soql: impl Into<String>) -> Self {
        Read { api: ReadApi::Tooling, ..Read::new(name, soql) }
    }

    /// Every Profile's full name by Id, and the record type visibilities of these
    /// Profiles (by Metadata full name, a guess), read ahead beside the batch: the step
    /// that needs a profile's record types then has them without two more round trips
    /// (Tooling `FullName` by Id, then `readMetadata`). A name that is no profile's is
    /// simply not kept.
    pub fn profile_metadata(name: &'static str, full_names: &[&str]) -> Self {
        Read { api: ReadApi::Metadata, ahead_only: true, ..Read::new(name, full_names.join("\n")) }
    }

    /// See [`Read::ahead_only`](Read#structfield.ahead_only).
    pub fn ahead_only(mut self) -> Self {
        self.ahead_only = true;
        self
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
            ReadApi::Metadata => format!("metadata:{}", self.soql),
        }
    }
}

/// What the read-ahead answered: query results (or Salesforce's refusal of a query,
/// which is an answer too) and profile metadata.
#[derive(Default)]
struct Answers {
    queries: HashMap<String, Result<QueryResult, StepFailure>>,
    profiles: HashMap<String, Vec<RecordTypeVisibility>>,
    /// Profile full names by the first 15 characters of their Id (`listMetadata`).
    profile_names: HashMap<String, String>,
    /// Metadata reads already sent, found or not: a later observe round does not send them again.
    asked: std::collections::HashSet<String>,
    /// Every REST read the observe passes collected, by key: what the playbook's steps
    /// are expected to read (see [`ReadAhead::refill`]).
    expected: indexmap::IndexMap<String, Read>,
    /// Set by a write whose effects are not known: from then on nothing is kept or served.
    closed: bool,
}

/// Answers kept from the read-ahead and from the reads made since, less what writes changed.
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

    /// Whether the read-ahead already has an answer to `read` (or, for a Metadata read,
    /// has asked it).
    pub(crate) fn has(&self, read: &Read) -> bool {
        let Ok(answers) = self.answers.lock() else { return false };
        match read.api {
            ReadApi::Metadata => answers.asked.contains(&read.key()),
            _ => answers.queries.contains_key(&read.key()),
        }
    }

    /// Notes the reads an observe pass collected, for [`ReadAhead::refill`].
    pub(crate) fn expect(&self, reads: &[Read]) {
        if let Ok(mut answers) = self.answers.lock() {
            for read in reads.iter().filter(|r| r.api == ReadApi::Rest && !r.ahead_only) {
                answers.expected.entry(read.key()).or_insert_with(|| read.clone());
            }
        }
    }

    /// Forgets the reads expected so far: an observe pass with other facts is about to say
    /// what the playbook reads.
    pub(crate) fn forget_expected(&self) {
        if let Ok(mut answers) = self.answers.lock() {
            answers.expected.clear();
        }
    }

    /// The expected reads a write has dropped (or that were never answered), at most
    /// `room`, other than `sending`: when a step must ask the org anyway, they go in the
    /// same batch, so that the steps after it find them kept instead of each asking in a
    /// round trip of its own. A later write drops what it changes of them, as of any answer.
    pub(crate) fn refill(&self, sending: &[String], room: usize) -> Vec<Read> {
        let Ok(answers) = self.answers.lock() else { return Vec::new() };
        if answers.closed {
            return Vec::new();
        }
        // Last first: the expected reads are in the order of the last step that asks for
        // each (the observe pass's), so these are the ones the steps still to come want.
        answers
            .expected
            .iter()
            .rev()
            .filter(|(key, _)| !answers.queries.contains_key(*key) && !sending.contains(key))
            .map(|(_, read)| read.clone())
            .take(room)
            .collect()
    }

    /// [`ReadAhead::refill`] for queries that go in the same request as `writes`, after
    /// them: none that those writes may change, since whether a query sees what the
    /// request's own writes derive is not documented (see `StepCtx::write_then_confirm`).
    pub(crate) fn refill_beside(&self, writes: &[crate::write::Write], sending: &[String], room: usize) -> Vec<Read> {
        let changed: Vec<Option<Changed>> = writes.iter().map(changes).collect();
        if changed.iter().any(Option::is_none) {
            return Vec::new();
        }
        self.refill(sending, usize::MAX)
            .into_iter()
            .filter(|read| !changed.iter().flatten().any(|c| c.touches(&read.key())))
            .take(room)
            .collect()
    }

    pub(crate) fn fill_profiles(&self, answered: &mut Answered) {
        if let Ok(mut answers) = self.answers.lock()
            && !answers.closed
        {
            answers.asked.extend(answered.asked.drain(..));
            answers.profiles.extend(answered.profiles.drain());
            for (id, name) in answered.profile_names.drain(..) {
                answers.profile_names.insert(id.chars().take(15).collect(), name);
            }
        }
    }

    /// The full name of the profile with this Id, when the read-ahead listed profiles.
    pub(crate) fn profile_name(&self, profile_id: &str) -> Option<String> {
        let answers = self.answers.lock().ok()?;
        if answers.closed {
            return None;
        }
        answers.profile_names.get(&profile_id.chars().take(15).collect::<String>()).cloned()
    }

    /// Whether answers are still kept: after a write whose effects are not known, every
    /// read goes to the org.
    pub(crate) fn is_open(&self) -> bool {
        self.answers.lock().is_ok_and(|a| !a.closed)
    }

    pub(crate) fn get(&self, key: &str) -> Option<Result<QueryResult, StepFailure>> {
        let answers = self.answers.lock().ok()?;
        if answers.closed { None } else { answers.queries.get(key).cloned() }
    }

    /// Keeps an answer read since the read-ahead, so that a second planning pass
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

    /// Called before a write is sent (so an ambiguous failure counts as written): the
    /// answers the write may change are dropped, and later reads of them go to the org;
    /// every other answer stays (see [`changes`]). A write whose effects are not known
    /// drops them all and ends the keeping, as any write did before.
    pub(crate) fn wrote(&self, write: &crate::write::Write) {
        let Ok(mut answers) = self.answers.lock() else { return };
        if answers.closed {
            return;
        }
        let Some(changed) = changes(write) else {
            *answers = Answers { closed: true, ..Answers::default() };
            return;
        };
        answers.queries.retain(|key, _| !changed.touches(key));
        if let Some(profile) = changed.profile {
            answers.profiles.remove(&profile);
        }
    }
}

/// What one write may change, as far as the kept answers go.
struct Changed {
    /// Objects whose rows the write may add, change or remove; `Object:Field` for an
    /// object of which only that field changes.
    objects: &'static [&'static str],
    /// Whether rows of other objects that reach these through a relationship
    /// (`Assignee.IsActive = …`) may now match or read differently: when an existing
    /// user changes (an update, a password). A created record is reached by no
    /// relationship of a row read before it existed.
    relationships: bool,
    /// A profile whose Metadata the write changes.
    profile: Option<String>,
}

impl Changed {
    /// Whether a kept query (its key: the SOQL, `tooling:`-prefixed or not) reads any
    /// of the objects: every `FROM` of it, semi-join sub-selects included, and with
    /// [`Changed::relationships`] any relationship path naming one.
    fn touches(&self, key: &str) -> bool {
        let soql = key.strip_prefix("tooling:").unwrap_or(key);
        // A parent-child sub-select in the field list (`(SELECT … FROM Assignments)`) names
        // a relationship, not an object: any of these writes may change it.
        let upper = soql.to_ascii_uppercase();
        if let Some(first_from) = upper.find(" FROM ")
            && upper[..first_from].contains("(SELECT")
        {
            return true;
        }
        let words: Vec<&str> = soql.split(|c: char| c.is_whitespace() || c == '(' || c == ',').collect();
        let from = words.windows(2).filter(|w| w[0].eq_ignore_ascii_case("FROM")).map(|w| w[1]);
        // `Object:Field`: only a query that names the field (a licence's seat count).
        let reads = |entry: &str, object: &str| match entry.split_once(':') {
            Some((o, field)) => o.eq_ignore_ascii_case(object) && soql.contains(field),
            None => entry.eq_ignore_ascii_case(object),
        };
        if from.into_iter().any(|object| self.objects.iter().any(|o| reads(o, object))) {
            return true;
        }
        // The field read through a relationship (`Assignee.LastPasswordChangeDate`).
        if self.objects.iter().filter_map(|o| o.split_once(':')).any(|(_, field)| soql.contains(&format!(".{field}"))) {
            return true;
        }
        self.relationships && soql.contains('.')
    }
}

/// The objects a write to setup objects may change, besides its own rows, from what
/// Salesforce documents of them; `None` for any other write. A flow or trigger on
/// these objects may do more; a step meets that as it meets a change made by someone
/// else since the read (a `DUPLICATE_VALUE` on a create, CONTRIBUTING.md).
/// - a User: `UserLicense.UsedLicenses` counts its licence's users; `UserLogin` and
///   `TwoFactorMethodsInfo` have a row per user (object reference pages of each); its
///   profile's own permission set is assigned to it (a `PermissionSetAssignment` with
///   `PermissionSet.IsOwnedByProfile = true`, object reference, PermissionSet);
/// - a PermissionSetLicenseAssign: `PermissionSetLicense.UsedLicenses`;
/// - a TwoFactorInfo: `TwoFactorMethodsInfo.HasTotp` (object reference, TwoFactorMethodsInfo);
/// - a password: the User's `LastPasswordChangeDate` (salesforce-api.md C.2) and its `UserLogin`.
fn changes(write: &crate::write::Write) -> Option<Changed> {
    use crate::write::Write;
    const USER: &[&str] =
        &["User", "UserLicense:UsedLicenses", "UserLogin", "TwoFactorMethodsInfo", "PermissionSetAssignment"];
    let objects: &'static [&'static str] = match write {
        Write::Password { .. } => &["User:LastPasswordChangeDate", "UserLogin"],
        Write::ProfileRecordTypes { profile, .. } => {
            return Some(Changed { objects: &[], relationships: false, profile: Some(profile.clone()) });
        }
        Write::Create { sobject, .. } | Write::Update { sobject, .. } | Write::Delete { sobject, .. } => {
            match sobject.as_str() {
                "User" => USER,
                "PermissionSetLicenseAssign" => &["PermissionSetLicenseAssign", "PermissionSetLicense:UsedLicenses"],
                "PermissionSetAssignment" => &["PermissionSetAssignment"],
                "TwoFactorInfo" => &["TwoFactorInfo", "TwoFactorMethodsInfo"],
                _ => return None,
            }
        }
    };
    let relationships = match write {
        // A password changes no field but the one named above, which that rule follows
        // through relationships too.
        Write::Update { .. } => true,
        // A deleted row is gone from the rows that reached it, which are of its own
        // object or the derived ones above; a created user's rows elsewhere are those too.
        _ => false,
    };
    Some(Changed { objects, relationships, profile: None })
}

/// What the read-ahead's one round trip answered.
#[derive(Default)]
pub(crate) struct Answered {
    pub(crate) queries: HashMap<String, Result<QueryResult, StepFailure>>,
    /// The Metadata reads sent, and the profiles found, by full name.
    pub(crate) asked: Vec<String>,
    pub(crate) profiles: HashMap<String, Vec<RecordTypeVisibility>>,
    /// Every profile's (Id, full name).
    pub(crate) profile_names: Vec<(String, String)>,
    /// Why some reads went unanswered (a transport or session failure).
    pub(crate) unanswered: Option<String>,
}

/// Answers the reads an observe pass collected in one round trip: the REST queries in
/// one batch, and at the same time each Tooling query and one `readMetadata` of every
/// profile named (none of them depends on another). A transport or session failure
/// leaves them unanswered: the steps then read for themselves and meet the failure
/// where it can be reported.
pub(crate) async fn answer(client: &SfClient, reads: Vec<Read>) -> Answered {
    let mut answered = Answered::default();
    let rest: Vec<&Read> = reads.iter().filter(|r| r.api == ReadApi::Rest).collect();
    let tooling: Vec<&Read> = reads.iter().filter(|r| r.api == ReadApi::Tooling).collect();
    let metadata: Vec<&Read> = reads.iter().filter(|r| r.api == ReadApi::Metadata).collect();
    let mut full_names: Vec<&str> = metadata.iter().flat_map(|r| r.soql.lines()).collect();
    full_names.sort_unstable();
    full_names.dedup();
    let soqls: Vec<String> = rest.iter().map(|r| r.soql.clone()).collect();
    let batch = async { if soqls.is_empty() { Ok(Vec::new()) } else { client.query_batch(&soqls).await } };
    let tooling_answers = async {
        let mut set = tokio::task::JoinSet::new();
        for (i, read) in tooling.iter().enumerate() {
            let (client, soql) = (client.clone(), read.soql.clone());
            set.spawn(async move { (i, client.query_tooling(&soql).await) });
        }
        let mut answers: Vec<Option<Result<QueryResult, ClientError>>> = (0..tooling.len()).map(|_| None).collect();
        while let Some(joined) = set.join_next().await {
            if let Ok((i, answer)) = joined {
                answers[i] = Some(answer);
            }
        }
        answers
    };
    let profiles = async {
        if full_names.is_empty() { Ok(Vec::new()) } else { client.read_profiles_record_types(&full_names).await }
    };
    let profile_names = async { if metadata.is_empty() { Ok(Vec::new()) } else { client.list_profiles().await } };
    let (batch, tooling_answers, profiles, profile_names) =
        tokio::join!(batch, tooling_answers, profiles, profile_names);
    match batch {
        Ok(results) => {
            for (read, result) in rest.iter().zip(results) {
                answered.queries.insert(read.key(), result.map_err(StepFailure::from));
            }
        }
        Err(err) => answered.unanswered = Some(format!("the batch of {} reads was not answered ({err})", soqls.len())),
    }
    for (read, result) in tooling.iter().zip(tooling_answers) {
        match result {
            None => answered.unanswered = Some("a Tooling read was not answered (its task stopped)".into()),
            Some(Ok(result)) => {
                answered.queries.insert(read.key(), Ok(result));
            }
            Some(Err(err @ ClientError::Api { .. })) => {
                answered.queries.insert(read.key(), Err(StepFailure::from(err)));
            }
            Some(Err(err)) => answered.unanswered = Some(format!("a Tooling read was not answered ({err})")),
        }
    }
    // A Metadata read is a guess (see `Read::profile_metadata`): a refusal only means
    // the step reads for itself.
    answered.asked = metadata.iter().map(|r| r.key()).collect();
    if let Ok(found) = profiles {
        answered.profiles.extend(found);
    }
    if let Ok(names) = profile_names {
        answered.profile_names = names;
    }
    answered
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Change;
    use serde_json::Map;

    fn create(sobject: &str) -> crate::write::Write {
        crate::write::Write::Create {
            sobject: sobject.into(),
            fields: Map::new(),
            change: Change::added("x".to_string(), "y".to_string()),
        }
    }

    #[test]
    fn a_write_drops_only_the_answers_it_may_change() {
        let user = "SELECT Id FROM User WHERE Username = 'u'";
        let psla = "SELECT Id FROM PermissionSetLicenseAssign WHERE Assignee.Username = 'u'";
        let semi = "SELECT Id FROM PermissionSet WHERE ProfileId IN (SELECT ProfileId FROM User WHERE Id = 'x')";
        let rt = "tooling:SELECT Id FROM RecordType";
        let kept = ReadAhead::default();
        let empty = || Ok(QueryResult { total_size: 0, records: Vec::new() });
        kept.fill([user, psla, semi, rt].iter().map(|k| (k.to_string(), empty())).collect());
        kept.wrote(&create("User"));
        assert!(kept.get(user).is_none() && kept.get(semi).is_none(), "the user's own and the semi-join on it");
        assert!(kept.get(psla).is_some() && kept.get(rt).is_some(), "a new user has no licence assignment yet");
        kept.wrote(&create("PermissionSetLicenseAssign"));
        assert!(kept.get(psla).is_none());
        assert!(kept.get(rt).is_some());
        let children = "SELECT Id, (SELECT Id FROM Assignments) FROM PermissionSet";
        kept.keep(children.to_string(), &empty());
        kept.wrote(&create("TwoFactorInfo"));
        assert!(kept.get(children).is_none(), "a child sub-select names no object: any write may change it");
        // What a write dropped is what a refill asks again, beside a read that must go anyway.
        kept.expect(&[
            Read::new("user", user),
            Read::new("psla", psla),
            Read::tooling("rt", "SELECT Id FROM RecordType"),
        ]);
        let again: Vec<String> = kept.refill(&[], 25).iter().map(Read::key).collect();
        assert_eq!(again, vec![psla.to_string(), user.to_string()], "REST reads only, the dropped ones, last first");
        assert!(kept.refill(&[user.to_string()], 25).iter().all(|r| r.key() != user), "not what is being sent");
        assert_eq!(kept.refill(&[], 1).len(), 1, "within the room of one batch");
        kept.wrote(&create("Account"));
        assert!(kept.get(rt).is_none(), "a write of another object drops everything");
        kept.keep(rt.to_string(), &empty());
        assert!(kept.get(rt).is_none(), "and ends the keeping");
    }
}
