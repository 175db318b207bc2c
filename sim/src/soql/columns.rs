//! Column metadata: the body of `GET …/query?q=…&columns=true`, which the `sf data
//! query` CLI reads to lay out its table (`columnMetadata[].columnName`, `joinColumns`,
//! `aggregate`, `displayName`).

use serde_json::{Value, json};

use super::plan::{Column, Plan, Shape};
use crate::model::{FieldDef, FieldType};

fn apex_type(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Id | FieldType::Reference => "Id",
        FieldType::Boolean => "Boolean",
        FieldType::Int => "Integer",
        FieldType::Double => "Double",
        FieldType::Currency => "Decimal",
        FieldType::Address => "Address",
        FieldType::Date => "Date",
        FieldType::DateTime => "Datetime",
        _ => "String",
    }
}

#[allow(clippy::too_many_arguments)]
fn column(
    name: &str,
    display: &str,
    apex: Option<&str>,
    aggregate: bool,
    boolean: bool,
    number: bool,
    text: bool,
    custom: bool,
    writable: (bool, bool),
    joins: Vec<Value>,
) -> Value {
    json!({
        "aggregate": aggregate,
        "apexType": apex,
        "booleanType": boolean,
        "columnName": name,
        "custom": custom,
        "displayName": display,
        "foreignKeyName": null,
        "insertable": writable.0,
        "joinColumns": joins,
        "numberType": number,
        "textType": text,
        "updatable": writable.1,
    })
}

fn field_column(field: &FieldDef, display: &str, direct: bool) -> Value {
    // Through a relationship a field cannot be written.
    let writable = if direct { (field.createable, field.updateable) } else { (false, false) };
    column(
        &field.name,
        display,
        Some(apex_type(field.ty)),
        false,
        field.ty == FieldType::Boolean,
        matches!(field.ty, FieldType::Int | FieldType::Double | FieldType::Currency),
        field.ty.is_text(),
        field.name.ends_with("__c"),
        writable,
        Vec::new(),
    )
}

/// `prefix` is the relationship path above these columns (`Profile.`), for display names.
fn columns(cols: &[Column<'_>], prefix: &str) -> Vec<Value> {
    cols.iter()
        .map(|c| match c {
            Column::Field { field, .. } => field_column(field, &format!("{prefix}{}", field.name), prefix.is_empty()),
            Column::Parent { rel, children, .. } => {
                let display = format!("{prefix}{rel}");
                let joins = columns(children, &format!("{display}."));
                column(rel, &display, None, false, false, false, false, rel.ends_with("__r"), (false, false), joins)
            }
            Column::Children(plan) => {
                let joins = columns(&plan.columns, "");
                column(
                    plan.rel,
                    plan.rel,
                    None,
                    true,
                    false,
                    false,
                    false,
                    plan.rel.ends_with("__r"),
                    (false, false),
                    joins,
                )
            }
        })
        .collect()
}

pub(crate) fn metadata(plan: &Plan<'_>) -> Value {
    let (meta, id_selected) = match &plan.shape {
        Shape::CountOnly => (Vec::new(), false),
        Shape::Aggregates(aggs) => {
            let meta = aggs
                .iter()
                .map(|a| {
                    column(
                        &a.key,
                        &a.display,
                        Some("Integer"),
                        true,
                        false,
                        true,
                        false,
                        false,
                        (false, false),
                        Vec::new(),
                    )
                })
                .collect();
            (meta, false)
        }
        Shape::Rows(cols) => {
            let id_selected =
                cols.iter().any(|c| matches!(c, Column::Field { field, .. } if field.ty == FieldType::Id));
            (columns(cols, ""), id_selected)
        }
    };
    json!({
        "columnMetadata": meta,
        "entityName": plan.object.name,
        "groupBy": false,
        "idSelected": id_selected,
        "keyPrefix": plan.object.key_prefix,
    })
}
