//! Sorting in SQL, as the engine sorts in memory.

use scim_core::Sort;
use scim_filter::AttrType;

use super::{label, Params};

/// `ORDER BY` terms for sorting as the engine's in-memory sort does, when the schema (as
/// [`Sort::attribute`] carries it) says the attribute is single-valued and simple
/// (string-like, dateTime, number or boolean); `None` leaves the sort to the engine
/// (multi-valued attributes, and attributes the schema does not define, among them).
pub(crate) fn order_by(sort: &Sort<'_>, params: &mut Params) -> Option<String> {
    let (path, descending) = (sort.path, sort.descending);
    let info = sort.attribute?;
    if info.multi_valued || info.custom.is_some() {
        return None;
    }
    let name = label(&path.name)?;
    let sub = match &path.sub_attr {
        Some(s) => format!(".{}", label(s)?),
        None => String::new(),
    };
    let root = params.push(format!("$.{name}{sub}"));
    // The engine's sort reads an extension's attribute when the extension object exists.
    let p = match &path.urn {
        Some(urn) => {
            let urn = label(urn)?;
            let u = params.push(format!("$.{urn}"));
            let ext = params.push(format!("$.{urn}.{name}{sub}"));
            format!("CASE WHEN json_type(r.search, {u}) = 'object' THEN {ext} ELSE {root} END")
        }
        None => root,
    };
    let v = format!("json_extract(r.search, {p})");
    let t = format!("json_type(r.search, {p})");
    let dir = if descending { "DESC" } else { "ASC" };
    // As the engine's sort (`scim_core`'s `sort.rs`, RFC 7644 §3.4.2.3): values ranked by
    // kind (booleans, numbers, instants, text, other shapes), then by value; absent and null
    // last ascending, first descending. SQLite compares integers and reals exactly.
    let instant = info.attr_type == AttrType::DateTime;
    let text_rank = if instant {
        format!("CASE WHEN scim_instant({v}) IS NULL THEN 3 ELSE 2 END")
    } else {
        "3".to_owned()
    };
    match info.attr_type {
        AttrType::String
        | AttrType::Reference
        | AttrType::Binary
        | AttrType::DateTime
        | AttrType::Integer
        | AttrType::Decimal
        | AttrType::Boolean => {}
        _ => return None,
    }
    let mut terms = vec![format!(
        "CASE WHEN {t} IS NULL OR {t} = 'null' THEN 5 WHEN {t} IN ('true', 'false') THEN 0 \
         WHEN {t} IN ('integer', 'real') THEN 1 WHEN {t} = 'text' THEN {text_rank} ELSE 4 END {dir}"
    )];
    if instant {
        terms.push(format!("scim_instant({v}) {dir}"));
    }
    if !info.case_exact {
        terms.push(format!("scim_lower({v}) {dir}"));
    }
    terms.push(format!("{v} {dir}"));
    Some(terms.join(", "))
}
