//! Runs a bound [`Plan`] over the org's records and shapes the response records.

use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::ast::CmpOp;
use super::dates;
use super::plan::{ChildPlan, Column, FieldPath, LikeTok, NULL, Operand, Plan, Pred, Shape, SortKey};
use super::{QueryOutput, Scope};
use crate::model::{FieldDef, FieldType, ObjectDef, Org, Record, normalize_id};

/// The record a lookup field points to, if it is set and the record exists.
fn parent<'a>(org: &'a Org, record: &Record, via: &FieldDef) -> Option<(&'a ObjectDef, &'a Record)> {
    let id = record.get(&via.name)?.as_str()?;
    org.get(id)
}

/// A field of a record, as the API reads it: write-only fields read as null.
fn field_value<'a>(record: &'a Record, field: &FieldDef) -> &'a Value {
    if field.write_only {
        return &NULL;
    }
    record
        .get(&field.name)
        .or_else(|| record.iter().find(|(k, _)| k.eq_ignore_ascii_case(&field.name)).map(|(_, v)| v))
        .unwrap_or(&NULL)
}

/// The value at the end of a path; null when any lookup on the way is empty.
pub(crate) fn read<'a>(org: &'a Org, record: &'a Record, path: &FieldPath<'_>) -> &'a Value {
    let mut current = record;
    for hop in &path.hops {
        match parent(org, current, hop.via) {
            Some((_, next)) => current = next,
            None => return &NULL,
        }
    }
    field_value(current, path.field)
}

/// A record value in the same domain as [`Operand`], for comparing and sorting.
#[derive(Debug, Clone, PartialEq)]
enum Key {
    Null,
    Bool(bool),
    Num(f64),
    Text(String),
    Id(String),
    /// Days (date fields) or seconds (dateTime fields) since the epoch.
    Time(i64),
}

fn key_of(field: &FieldDef, value: &Value) -> Key {
    if value.is_null() {
        return Key::Null;
    }
    let text = || match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match field.ty {
        FieldType::Id | FieldType::Reference => {
            let raw = text();
            Key::Id(normalize_id(&raw).unwrap_or(raw))
        }
        FieldType::Boolean => value.as_bool().map(Key::Bool).unwrap_or_else(|| Key::Text(text().to_lowercase())),
        FieldType::Int | FieldType::Double | FieldType::Currency => {
            value.as_f64().map(Key::Num).unwrap_or_else(|| Key::Text(text().to_lowercase()))
        }
        FieldType::Date => value.as_str().and_then(dates::parse_date).map(Key::Time).unwrap_or(Key::Null),
        FieldType::DateTime => value.as_str().and_then(dates::parse_datetime).map(Key::Time).unwrap_or(Key::Null),
        _ => Key::Text(text().to_lowercase()),
    }
}

fn order_against(key: &Key, operand: &Operand) -> Option<Ordering> {
    match (key, operand) {
        (Key::Bool(a), Operand::Bool(b)) => Some(a.cmp(b)),
        (Key::Num(a), Operand::Num(b)) => a.partial_cmp(b),
        (Key::Text(a), Operand::Text(b)) => Some(a.as_str().cmp(b.as_str())),
        (Key::Id(a), Operand::Id(b)) => Some(a.as_str().cmp(b.as_str())),
        _ => None,
    }
}

fn compare(key: &Key, op: CmpOp, operand: &Operand) -> bool {
    // SOQL treats null as a value for = and !=; ordering operators never match null.
    match (key, operand) {
        (Key::Null, Operand::Null) => return op == CmpOp::Eq,
        (Key::Null, _) | (_, Operand::Null) => return op == CmpOp::Ne,
        (Key::Time(v), Operand::Range(lo, hi)) => {
            let v = *v;
            return match op {
                CmpOp::Eq => (*lo..*hi).contains(&v),
                CmpOp::Ne => !(*lo..*hi).contains(&v),
                CmpOp::Lt => v < *lo,
                CmpOp::Le => v < *hi,
                CmpOp::Gt => v >= *hi,
                CmpOp::Ge => v >= *lo,
            };
        }
        _ => {}
    }
    match order_against(key, operand) {
        Some(ord) => match op {
            CmpOp::Eq => ord == Ordering::Equal,
            CmpOp::Ne => ord != Ordering::Equal,
            CmpOp::Lt => ord == Ordering::Less,
            CmpOp::Le => ord != Ordering::Greater,
            CmpOp::Gt => ord == Ordering::Greater,
            CmpOp::Ge => ord != Ordering::Less,
        },
        None => op == CmpOp::Ne,
    }
}

/// LIKE matching over lower-cased characters, `%` by backtracking to the last star.
fn like(text: &str, pattern: &[LikeTok]) -> bool {
    let text: Vec<char> = text.chars().collect();
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(LikeTok::Any) => {
                star = Some((p, t));
                p += 1;
            }
            Some(LikeTok::One) => {
                t += 1;
                p += 1;
            }
            Some(LikeTok::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|tok| *tok == LikeTok::Any)
}

pub(crate) fn matches(org: &Org, record: &Record, pred: &Pred<'_>) -> bool {
    match pred {
        Pred::All(parts) => parts.iter().all(|p| matches(org, record, p)),
        Pred::Any(parts) => parts.iter().any(|p| matches(org, record, p)),
        Pred::Not(inner) => !matches(org, record, inner),
        Pred::Cmp { path, op, operand } => compare(&key_of(path.field, read(org, record, path)), *op, operand),
        Pred::In { path, negated, operands } => {
            let key = key_of(path.field, read(org, record, path));
            operands.iter().any(|o| compare(&key, CmpOp::Eq, o)) != *negated
        }
        Pred::Like { path, pattern } => match key_of(path.field, read(org, record, path)) {
            Key::Text(s) => like(&s, pattern),
            Key::Id(s) => like(&s.to_lowercase(), pattern),
            _ => false,
        },
        Pred::InSet { path, negated, ids } => {
            let hit = match key_of(path.field, read(org, record, path)) {
                Key::Id(id) => ids.contains(&id),
                _ => false,
            };
            hit != *negated
        }
    }
}

fn sort_order(a: &Key, b: &Key) -> Ordering {
    match (a, b) {
        (Key::Bool(x), Key::Bool(y)) => x.cmp(y),
        (Key::Num(x), Key::Num(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Key::Text(x), Key::Text(y)) | (Key::Id(x), Key::Id(y)) => x.cmp(y),
        (Key::Time(x), Key::Time(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

/// Stable sort by the ORDER BY keys; equal rows keep table order.
fn sort(org: &Org, rows: &mut Vec<&Record>, order: &[SortKey<'_>]) {
    if order.is_empty() {
        return;
    }
    let mut keyed: Vec<(Vec<Key>, &Record)> = rows
        .iter()
        .map(|r| (order.iter().map(|k| key_of(k.path.field, read(org, r, &k.path))).collect(), *r))
        .collect();
    keyed.sort_by(|(a, _), (b, _)| {
        for ((ka, kb), spec) in a.iter().zip(b).zip(order) {
            let ord = match (ka == &Key::Null, kb == &Key::Null) {
                (true, true) => Ordering::Equal,
                (true, false) => {
                    if spec.nulls_first {
                        Ordering::Less
                    } else {
                        Ordering::Greater
                    }
                }
                (false, true) => {
                    if spec.nulls_first {
                        Ordering::Greater
                    } else {
                        Ordering::Less
                    }
                }
                (false, false) => {
                    let o = sort_order(ka, kb);
                    if spec.descending { o.reverse() } else { o }
                }
            };
            if ord != Ordering::Equal {
                return ord;
            }
        }
        Ordering::Equal
    });
    *rows = keyed.into_iter().map(|(_, r)| r).collect();
}

fn page<T>(rows: Vec<T>, offset: Option<usize>, limit: Option<usize>) -> Vec<T> {
    rows.into_iter().skip(offset.unwrap_or(0)).take(limit.unwrap_or(usize::MAX)).collect()
}

fn attributes(object: &ObjectDef, record: &Record, api_version: &str) -> Value {
    let id = record.get("Id").and_then(Value::as_str).unwrap_or_default();
    json!({ "type": object.name, "url": format!("/services/data/v{api_version}/sobjects/{}/{id}", object.name) })
}

struct Shaper<'o, 'p> {
    org: &'o Org,
    api_version: &'p str,
    /// Per child sub-query: parent id → matching child records, in table order.
    children: Vec<HashMap<String, Vec<&'o Record>>>,
}

impl<'o> Shaper<'o, '_> {
    fn record(&self, object: &ObjectDef, record: &Record, columns: &[Column<'_>], child_slot: &mut usize) -> Value {
        let mut out = Map::new();
        out.insert("attributes".into(), attributes(object, record, self.api_version));
        for column in columns {
            match column {
                Column::Field { field, .. } => {
                    out.insert(field.name.clone(), field_value(record, field).clone());
                }
                Column::Parent { hop_via, rel, children, .. } => {
                    let value = match parent(self.org, record, hop_via) {
                        Some((obj, rec)) => self.record(obj, rec, children, &mut 0),
                        None => Value::Null,
                    };
                    out.insert((*rel).to_string(), value);
                }
                Column::Children(plan) => {
                    let slot = *child_slot;
                    *child_slot += 1;
                    out.insert(plan.rel.to_string(), self.child_result(plan, slot, record));
                }
            }
        }
        Value::Object(out)
    }

    fn child_result(&self, plan: &ChildPlan<'_>, slot: usize, parent: &Record) -> Value {
        let id = parent.get("Id").and_then(Value::as_str).unwrap_or_default();
        let Some(rows) = self.children.get(slot).and_then(|m| m.get(id)) else { return Value::Null };
        let mut rows = rows.clone();
        sort(self.org, &mut rows, &plan.order);
        let rows = page(rows, plan.offset, plan.limit);
        if rows.is_empty() {
            return Value::Null;
        }
        let records: Vec<Value> = rows.iter().map(|r| self.record(plan.object, r, &plan.columns, &mut 0)).collect();
        json!({ "totalSize": records.len(), "done": true, "records": records })
    }
}

/// The rows a query reads: live ones, or deleted ones too under `queryAll`.
pub(crate) fn rows<'o>(org: &'o Org, object: &str, scope: Scope) -> Box<dyn Iterator<Item = &'o Record> + 'o> {
    if scope.include_deleted { Box::new(org.records_including_deleted(object)) } else { Box::new(org.records(object)) }
}

/// Indexes a child sub-query's matching rows by parent id, for the given parents only.
fn index_children<'o>(
    org: &'o Org,
    plan: &ChildPlan<'_>,
    parents: &[&Record],
    scope: Scope,
) -> HashMap<String, Vec<&'o Record>> {
    let mut index: HashMap<String, Vec<&'o Record>> = HashMap::with_capacity(parents.len());
    if parents.is_empty() {
        return index;
    }
    for p in parents {
        if let Some(id) = p.get("Id").and_then(Value::as_str) {
            index.insert(id.to_string(), Vec::new());
        }
    }
    for child in rows(org, &plan.object.name, scope) {
        let Some(parent_id) = child.get(&plan.parent_field.name).and_then(Value::as_str).and_then(normalize_id) else {
            continue;
        };
        if let Some(bucket) = index.get_mut(&parent_id)
            && plan.filter.as_ref().is_none_or(|f| matches(org, child, f))
        {
            bucket.push(child);
        }
    }
    index
}

pub(crate) fn run(org: &Org, plan: &Plan<'_>, api_version: &str, scope: Scope) -> QueryOutput {
    let mut rows: Vec<&Record> = self::rows(org, &plan.object.name, scope)
        .filter(|r| plan.filter.as_ref().is_none_or(|f| matches(org, r, f)))
        .collect();
    match &plan.shape {
        Shape::CountOnly => {
            let total = page(rows, plan.offset, plan.limit).len();
            QueryOutput { total_size: total, records: Vec::new() }
        }
        Shape::Aggregates(aggregates) => {
            let mut out = Map::new();
            out.insert("attributes".into(), json!({ "type": "AggregateResult" }));
            for agg in aggregates {
                let n = rows.iter().filter(|r| !read(org, r, &agg.arg).is_null()).count();
                out.insert(agg.key.clone(), json!(n));
            }
            let records = page(vec![Value::Object(out)], plan.offset, plan.limit);
            QueryOutput { total_size: records.len(), records }
        }
        Shape::Rows(columns) => {
            sort(org, &mut rows, &plan.order);
            let rows = page(rows, plan.offset, plan.limit);
            let children = child_plans(columns).into_iter().map(|c| index_children(org, c, &rows, scope)).collect();
            let shaper = Shaper { org, api_version, children };
            let records: Vec<Value> = rows.iter().map(|r| shaper.record(plan.object, r, columns, &mut 0)).collect();
            QueryOutput { total_size: records.len(), records }
        }
    }
}

fn child_plans<'c, 'a>(columns: &'c [Column<'a>]) -> Vec<&'c ChildPlan<'a>> {
    columns
        .iter()
        .filter_map(|c| match c {
            Column::Children(plan) => Some(plan.as_ref()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(p: &str) -> Vec<LikeTok> {
        p.chars()
            .map(|c| match c {
                '%' => LikeTok::Any,
                '_' => LikeTok::One,
                c => LikeTok::Char(c),
            })
            .collect()
    }

    #[test]
    fn like_wildcards() {
        assert!(like("storeconnect sync", &pat("store%")));
        assert!(like("storeconnect sync", &pat("%sync")));
        assert!(like("storeconnect sync", &pat("%conn%")));
        assert!(like("abc", &pat("a_c")));
        assert!(!like("abbc", &pat("a_c")));
        assert!(like("", &pat("%")));
        assert!(!like("abc", &pat("ab")));
        assert!(like("a%c", &[LikeTok::Char('a'), LikeTok::Char('%'), LikeTok::Char('c')]));
        assert!(!like("abc", &[LikeTok::Char('a'), LikeTok::Char('%'), LikeTok::Char('c')]));
        assert!(like("xaxbxc", &pat("%a%b%c")));
    }

    #[test]
    fn null_semantics() {
        assert!(compare(&Key::Null, CmpOp::Eq, &Operand::Null));
        assert!(compare(&Key::Null, CmpOp::Ne, &Operand::Text("x".into())));
        assert!(!compare(&Key::Null, CmpOp::Lt, &Operand::Num(1.0)));
        assert!(compare(&Key::Num(1.0), CmpOp::Ne, &Operand::Null));
        assert!(compare(&Key::Time(5), CmpOp::Le, &Operand::Range(3, 6)));
        assert!(!compare(&Key::Time(6), CmpOp::Eq, &Operand::Range(3, 6)));
        assert!(compare(&Key::Time(6), CmpOp::Gt, &Operand::Range(3, 6)));
    }
}
