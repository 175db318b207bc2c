//! Binds a parsed query to the org's schema (a [`Plan`]). Every schema error
//! (`INVALID_TYPE`, `INVALID_FIELD`, …) is raised here, before any row is read; a
//! semi-join's subquery is run here, through [`super::eval`], so the plan holds its ids.

use std::collections::HashSet;

use super::Scope;
use super::ast::{CmpOp, Cond, LitKind, Literal, OrderItem, Path, Select, SelectItem};
use super::error::{self, ErrorCode, SoqlError};
use super::eval;
use super::plan::{Aggregate, ChildPlan, Column, FieldPath, Hop, LikeTok, Operand, Plan, Pred, Shape, SortKey};
use crate::model::{FieldDef, FieldType, ObjectDef, Org, normalize_id};

/// Salesforce's refusal of a Tooling query for `FullName` or `Metadata` over several
/// rows (salesforce-api.md D.3: "the FullName query works for one row at a time only").
/// Whether Salesforce puts a caret position on it is unconfirmed; it is answered plain.
pub(crate) const ONE_ROW_MESSAGE: &str = "When retrieving results with Metadata or FullName fields, the query qualifications must specify no more than one row for retrieval.";

/// Tooling fields that may only be read one row at a time.
fn one_row_field(field: &FieldDef) -> bool {
    field.tooling_only && matches!(field.name.as_str(), "FullName" | "Metadata")
}

pub(crate) struct Binder<'a> {
    pub org: &'a Org,
    pub text: &'a str,
    /// Today, in days since the epoch, for TODAY / YESTERDAY / TOMORROW.
    pub today: i64,
    pub scope: Scope,
}

impl<'a> Binder<'a> {
    fn err(&self, code: ErrorCode, at: usize, message: impl AsRef<str>) -> SoqlError {
        SoqlError::at(code, self.text, at, message)
    }

    fn object(&self, name: &str, at: usize) -> Result<&'a ObjectDef, SoqlError> {
        self.org.schema.object(name).ok_or_else(|| self.err(ErrorCode::InvalidType, at, error::not_supported(name)))
    }

    pub fn path(&self, object: &'a ObjectDef, path: &Path) -> Result<FieldPath<'a>, SoqlError> {
        let mut current = object;
        let mut hops = Vec::new();
        let (last, rels) = path
            .segments
            .split_last()
            .ok_or_else(|| self.err(ErrorCode::MalformedQuery, path.at, "unexpected token: '.'"))?;
        for seg in rels {
            let via = current
                .parent_relationship(seg)
                .ok_or_else(|| self.err(ErrorCode::InvalidField, path.at, error::bad_relationship(seg)))?;
            let target = via
                .reference_to
                .iter()
                .find_map(|t| self.org.schema.object(t))
                .ok_or_else(|| self.err(ErrorCode::InvalidField, path.at, error::bad_relationship(seg)))?;
            // Found by its relationship name, so the name is always set.
            let rel = via.relationship_name.as_deref().unwrap_or(via.name.as_str());
            hops.push(Hop { via, rel });
            current = target;
        }
        let field = current
            .field(last)
            .filter(|f| self.scope.tooling || !f.tooling_only)
            .ok_or_else(|| self.err(ErrorCode::InvalidField, path.at, error::no_such_column(last, &current.name)))?;
        Ok(FieldPath { hops, field })
    }

    pub fn plan(&self, select: &Select) -> Result<Plan<'a>, SoqlError> {
        let object = self.object(&select.from.text, select.from.at)?;
        let shape = self.shape(object, &select.items)?;
        let filter = select.filter.as_ref().map(|c| self.condition(object, c, true)).transpose()?;
        let order = self.order(object, &select.order_by)?;
        let one_row_only = match &shape {
            Shape::Rows(columns) => selects_one_row_field(columns),
            _ => false,
        };
        // Stricter reading of "no more than one row": only an `Id = '…'` conjunct
        // qualifies, whatever the data; a Name filter that happens to match one row does not.
        if one_row_only && !filter.as_ref().is_some_and(pins_id) {
            return Err(SoqlError::plain(ErrorCode::MalformedQuery, ONE_ROW_MESSAGE));
        }
        Ok(Plan { object, shape, filter, order, limit: select.limit, offset: select.offset, one_row_only })
    }

    fn shape(&self, object: &'a ObjectDef, items: &[SelectItem]) -> Result<Shape<'a>, SoqlError> {
        let count_star = items.iter().find_map(|i| match i {
            SelectItem::Count { at, arg: None, .. } => Some(*at),
            _ => None,
        });
        if let Some(at) = count_star {
            if items.len() > 1 {
                return Err(self.err(
                    ErrorCode::MalformedQuery,
                    at,
                    "COUNT() must be the only element in the SELECT list.",
                ));
            }
            return Ok(Shape::CountOnly);
        }
        if items.iter().any(|i| matches!(i, SelectItem::Count { .. })) {
            let mut aggregates = Vec::new();
            let mut unnamed = 0;
            for item in items {
                match item {
                    SelectItem::Count { arg: Some(arg), alias, .. } => {
                        let path = self.path(object, arg)?;
                        let key = match alias {
                            Some(a) => a.text.clone(),
                            None => {
                                unnamed += 1;
                                format!("expr{}", unnamed - 1)
                            }
                        };
                        aggregates.push(Aggregate { key, display: format!("COUNT({})", arg.text()), arg: path });
                    }
                    SelectItem::Field(p) => {
                        self.path(object, p)?;
                        return Err(self.err(
                            ErrorCode::MalformedQuery,
                            p.at,
                            format!("Field must be grouped or aggregated: {}", p.text()),
                        ));
                    }
                    SelectItem::SubQuery(sub) => {
                        return Err(self.err(
                            ErrorCode::MalformedQuery,
                            sub.at,
                            "Nested queries are not supported with aggregate functions",
                        ));
                    }
                    SelectItem::Count { arg: None, .. } => {}
                }
            }
            return Ok(Shape::Aggregates(aggregates));
        }
        Ok(Shape::Rows(self.columns(object, items, true)?))
    }

    fn columns(&self, object: &'a ObjectDef, items: &[SelectItem], top: bool) -> Result<Vec<Column<'a>>, SoqlError> {
        let mut columns = Vec::new();
        for item in items {
            match item {
                SelectItem::Field(p) => {
                    let path = self.path(object, p)?;
                    insert(&mut columns, &path, 0).map_err(|_| {
                        self.err(
                            ErrorCode::MalformedQuery,
                            p.at,
                            format!("duplicate field selected: {}", path.field.name),
                        )
                    })?;
                }
                SelectItem::SubQuery(sub) if top => {
                    let plan = self.child(object, sub)?;
                    if columns.iter().any(|c| matches!(c, Column::Children(c) if c.rel == plan.rel)) {
                        return Err(self.err(
                            ErrorCode::MalformedQuery,
                            sub.from.at,
                            format!("duplicate field selected: {}", plan.rel),
                        ));
                    }
                    columns.push(Column::Children(Box::new(plan)));
                }
                SelectItem::SubQuery(sub) => {
                    return Err(self.err(ErrorCode::MalformedQuery, sub.at, "unexpected token: '('"));
                }
                SelectItem::Count { at, .. } => {
                    return Err(self.err(
                        ErrorCode::MalformedQuery,
                        *at,
                        "Aggregate functions are not supported in a sub-query",
                    ));
                }
            }
        }
        Ok(columns)
    }

    fn child(&self, parent: &'a ObjectDef, sub: &Select) -> Result<ChildPlan<'a>, SoqlError> {
        let (object, parent_field) =
            self.org.schema.child_relationship(&parent.name, &sub.from.text).ok_or_else(|| {
                self.err(ErrorCode::InvalidType, sub.from.at, error::bad_child_relationship(&sub.from.text))
            })?;
        let rel = parent_field.child_relationship_name.as_deref().unwrap_or(object.name.as_str());
        let columns = self.columns(object, &sub.items, false)?;
        let filter = sub.filter.as_ref().map(|c| self.condition(object, c, true)).transpose()?;
        let order = self.order(object, &sub.order_by)?;
        Ok(ChildPlan { rel, object, parent_field, columns, filter, order, limit: sub.limit, offset: sub.offset })
    }

    fn order(&self, object: &'a ObjectDef, items: &[OrderItem]) -> Result<Vec<SortKey<'a>>, SoqlError> {
        items
            .iter()
            .map(|o| {
                Ok(SortKey {
                    path: self.path(object, &o.path)?,
                    descending: o.descending,
                    // Salesforce: "By default, null values are sorted first."
                    nulls_first: o.nulls_first.unwrap_or(true),
                })
            })
            .collect()
    }

    fn condition(&self, object: &'a ObjectDef, cond: &Cond, semi_ok: bool) -> Result<Pred<'a>, SoqlError> {
        Ok(match cond {
            Cond::And(parts) => {
                Pred::All(parts.iter().map(|c| self.condition(object, c, semi_ok)).collect::<Result<_, _>>()?)
            }
            Cond::Or(parts) => {
                if let Some(at) = parts.iter().find_map(semi_join_at) {
                    return Err(self.err(
                        ErrorCode::MalformedQuery,
                        at,
                        "Semi join sub-selects are not allowed with the 'OR' operator",
                    ));
                }
                Pred::Any(parts.iter().map(|c| self.condition(object, c, semi_ok)).collect::<Result<_, _>>()?)
            }
            Cond::Not(inner) => Pred::Not(Box::new(self.condition(object, inner, semi_ok)?)),
            Cond::Cmp { path, op, value } => {
                let path = self.path(object, path)?;
                let operand = self.operand(path.field, value)?;
                Pred::Cmp { path, op: *op, operand }
            }
            Cond::In { path, negated, values } => {
                let path = self.path(object, path)?;
                let operands = values.iter().map(|v| self.operand(path.field, v)).collect::<Result<_, _>>()?;
                Pred::In { path, negated: *negated, operands }
            }
            Cond::Like { path, pattern } => {
                let path = self.path(object, path)?;
                let LitKind::Str(text) = &pattern.kind else {
                    return Err(self.type_error(path.field, pattern.at));
                };
                Pred::Like { path, pattern: like_pattern(text) }
            }
            Cond::SemiJoin { path, negated, query } => {
                if !semi_ok {
                    return Err(self.err(
                        ErrorCode::MalformedQuery,
                        query.at,
                        "Nesting of semi join sub-selects is not supported",
                    ));
                }
                let outer = self.path(object, path)?;
                let ids = self.semi_join(&outer, query)?;
                Pred::InSet { path: outer, negated: *negated, ids }
            }
        })
    }

    /// Runs a semi-join's sub-query once, giving the set of 18-character ids it selects.
    fn semi_join(&self, outer: &FieldPath<'a>, query: &Select) -> Result<HashSet<String>, SoqlError> {
        let object = self.object(&query.from.text, query.from.at)?;
        let [SelectItem::Field(selected)] = query.items.as_slice() else {
            return Err(self.err(
                ErrorCode::MalformedQuery,
                query.at,
                "Semi join sub-selects can only select one Id or reference field",
            ));
        };
        let inner = self.path(object, selected)?;
        let is_id = |f: &FieldDef| matches!(f.ty, FieldType::Id | FieldType::Reference);
        if !is_id(inner.field) || !is_id(outer.field) {
            return Err(self.err(
                ErrorCode::InvalidField,
                selected.at,
                format!(
                    "The selected field '{}' in the subquery and the left operand field in the where expression in the outer query '{}' must point to the same object type",
                    selected.text(),
                    outer.field.name
                ),
            ));
        }
        let filter = query.filter.as_ref().map(|c| self.condition(object, c, false)).transpose()?;
        let mut ids = HashSet::new();
        for record in eval::rows(self.org, &object.name, self.scope) {
            if filter.as_ref().is_none_or(|f| eval::matches(self.org, record, f))
                && let Some(id) = eval::read(self.org, record, &inner).as_str().and_then(normalize_id)
            {
                ids.insert(id);
            }
        }
        Ok(ids)
    }

    fn type_error(&self, field: &FieldDef, at: usize) -> SoqlError {
        let (ty, quoted) = match field.ty {
            FieldType::Id | FieldType::Reference => ("id", true),
            FieldType::Boolean => ("boolean", false),
            FieldType::Int => ("int", false),
            FieldType::Double => ("double", false),
            FieldType::Currency => ("currency", false),
            FieldType::Date => ("date", false),
            FieldType::DateTime => ("dateTime", false),
            _ => ("string", true),
        };
        let quotes = if quoted { "should be enclosed in quotes" } else { "should not be enclosed in quotes" };
        self.err(
            ErrorCode::InvalidField,
            at,
            format!("value of filter criterion for field '{}' must be of type {ty} and {quotes}", field.name),
        )
    }

    /// Converts a literal to the field's type, as Salesforce checks it.
    fn operand(&self, field: &FieldDef, lit: &Literal) -> Result<Operand, SoqlError> {
        let day_range = |d: i64| Operand::Range(d, d + 1);
        let second_range = |d: i64| Operand::Range(d * 86_400, (d + 1) * 86_400);
        Ok(match (&lit.kind, field.ty) {
            (LitKind::Null, _) => Operand::Null,
            (LitKind::Str(s), FieldType::Id | FieldType::Reference) => {
                if s.is_empty() {
                    Operand::Null
                } else {
                    let id = normalize_id(s).ok_or_else(|| {
                        self.err(ErrorCode::InvalidQueryFilterOperator, lit.at, format!("invalid ID field: {s}"))
                    })?;
                    Operand::Id(id)
                }
            }
            (LitKind::Bool(b), FieldType::Boolean) => Operand::Bool(*b),
            (LitKind::Num(n), FieldType::Int | FieldType::Double | FieldType::Currency) => Operand::Num(*n),
            (LitKind::Date(d), FieldType::Date) => day_range(*d),
            (LitKind::RelativeDay(k), FieldType::Date) => day_range(self.today + k),
            (LitKind::DateTime(s), FieldType::Date) => day_range(s.div_euclid(86_400)),
            (LitKind::DateTime(s), FieldType::DateTime) => Operand::Range(*s, s + 1),
            (LitKind::Date(d), FieldType::DateTime) => second_range(*d),
            (LitKind::RelativeDay(k), FieldType::DateTime) => second_range(self.today + k),
            (
                LitKind::Str(s),
                FieldType::String
                | FieldType::TextArea
                | FieldType::Email
                | FieldType::Phone
                | FieldType::Url
                | FieldType::Picklist,
            ) => Operand::Text(unescape_wildcards(s).to_lowercase()),
            _ => return Err(self.type_error(field, lit.at)),
        })
    }
}

fn selects_one_row_field(columns: &[Column<'_>]) -> bool {
    columns.iter().any(|c| match c {
        Column::Field { field } => one_row_field(field),
        Column::Parent { children, .. } => selects_one_row_field(children),
        Column::Children(plan) => selects_one_row_field(&plan.columns),
    })
}

/// The filter is, or has as a top-level conjunct, `Id = '<id>'`.
fn pins_id(pred: &Pred<'_>) -> bool {
    match pred {
        Pred::Cmp { path, op: CmpOp::Eq, operand: Operand::Id(_) } => {
            path.hops.is_empty() && path.field.ty == FieldType::Id
        }
        Pred::All(parts) => parts.iter().any(pins_id),
        _ => false,
    }
}

fn semi_join_at(cond: &Cond) -> Option<usize> {
    match cond {
        Cond::SemiJoin { path, .. } => Some(path.at),
        Cond::Not(inner) => semi_join_at(inner),
        _ => None,
    }
}

/// Adds a resolved path to the output tree, merging paths through the same relationship.
/// `Err(())` when the same field is selected twice.
fn insert<'a>(columns: &mut Vec<Column<'a>>, path: &FieldPath<'a>, depth: usize) -> Result<(), ()> {
    let Some(hop) = path.hops.get(depth) else {
        if columns.iter().any(|c| matches!(c, Column::Field { field, .. } if std::ptr::eq(*field, path.field))) {
            return Err(());
        }
        columns.push(Column::Field { field: path.field });
        return Ok(());
    };
    let existing =
        columns.iter_mut().position(|c| matches!(c, Column::Parent { hop_via, .. } if std::ptr::eq(*hop_via, hop.via)));
    let index = match existing {
        Some(i) => i,
        None => {
            columns.push(Column::Parent { hop_via: hop.via, rel: hop.rel, children: Vec::new() });
            columns.len() - 1
        }
    };
    match &mut columns[index] {
        Column::Parent { children, .. } => insert(children, path, depth + 1),
        _ => Err(()),
    }
}

/// `\%` and `\_` mean the plain characters outside LIKE.
fn unescape_wildcards(s: &str) -> String {
    s.replace("\\%", "%").replace("\\_", "_")
}

/// LIKE pattern tokens, lower-cased (LIKE is case-insensitive).
fn like_pattern(pattern: &str) -> Vec<LikeTok> {
    let mut out = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '%' => out.push(LikeTok::Any),
            '_' => out.push(LikeTok::One),
            '\\' => match chars.next() {
                Some(next @ ('%' | '_')) => out.push(LikeTok::Char(next)),
                Some(next) => {
                    out.push(LikeTok::Char('\\'));
                    out.extend(next.to_lowercase().map(LikeTok::Char));
                }
                None => out.push(LikeTok::Char('\\')),
            },
            c => out.extend(c.to_lowercase().map(LikeTok::Char)),
        }
    }
    out
}
