//! What a filter is sure to cost before it runs: a filter that no index narrows reads every
//! resource of the type once per term the indexes cannot answer. When that is more than the
//! query budget could ever cover, the store refuses at once ([`StoreError::TooExpensive`],
//! the engine's 400 `tooMany`) instead of running until the budget interrupts it.
//!
//! The estimate only ever errs low: an anchored filter (one an index narrows) counts as
//! free, and a term is counted as one pass, the cheapest a scan can be.

use scim_core::StoreError;
use scim_filter::{Condition, ResolvedAttr, ResolvedNode};

use crate::layout::indexed_label;

/// How a filter reads its type's rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cost {
    /// An index narrows the rows (some conjunct is an index lookup).
    pub(crate) anchored: bool,
    /// Terms evaluated on every row when nothing narrows them.
    pub(crate) scan_terms: u64,
}

const FREE: Cost = Cost {
    anchored: true,
    scan_terms: 0,
};

const ONE_SCAN: Cost = Cost {
    anchored: false,
    scan_terms: 1,
};

/// Whether `name[.sub]` is answered by an index: the indexed attributes, `id`, and the
/// `value` of the type's out-of-line attribute.
fn indexed(name: &str, sub: Option<&str>, out_of_line: Option<&str>) -> bool {
    if sub.is_none() && name.eq_ignore_ascii_case("id") {
        return true;
    }
    if let Some(ool) = out_of_line {
        if name.eq_ignore_ascii_case(ool) && sub.is_none_or(|s| s.eq_ignore_ascii_case("value")) {
            return true;
        }
    }
    indexed_label(name, sub).is_some()
}

/// The cost of `filter` (in its resolved form) on a type whose out-of-line attribute is
/// `out_of_line`.
pub(crate) fn cost(filter: &ResolvedNode, out_of_line: Option<&str>) -> Cost {
    cost_in(filter, None, out_of_line)
}

/// Whether a leaf on `attr` (inside the value path on `within`, if any) may be an index
/// lookup.
fn indexed_leaf(
    attr: &ResolvedAttr,
    within: Option<&ResolvedAttr>,
    out_of_line: Option<&str>,
) -> bool {
    let (name, sub) = match within {
        Some(parent) => (parent.name(), Some(attr.name())),
        None => (attr.name(), attr.sub_attr()),
    };
    // A multi-valued attribute compared directly compares its `value`.
    indexed(name, sub, out_of_line) || (sub.is_none() && indexed(name, Some("value"), out_of_line))
}

fn cost_in(
    filter: &ResolvedNode,
    within: Option<&ResolvedAttr>,
    out_of_line: Option<&str>,
) -> Cost {
    match filter {
        ResolvedNode::Leaf(attr, condition) => match condition {
            // `pr` and `ne` read the values, whatever the index holds.
            Condition::Present | Condition::Ne(_) => ONE_SCAN,
            _ if indexed_leaf(attr, within, out_of_line) => FREE,
            _ => ONE_SCAN,
        },
        ResolvedNode::ValuePath(attr, inner) => cost_in(inner, Some(attr), out_of_line),
        ResolvedNode::Not(inner) => Cost {
            anchored: false,
            scan_terms: cost_in(inner, within, out_of_line).scan_terms.max(1),
        },
        ResolvedNode::And(operands) => {
            let costs: Vec<Cost> = operands
                .iter()
                .map(|f| cost_in(f, within, out_of_line))
                .collect();
            Cost {
                anchored: costs.iter().any(|c| c.anchored),
                scan_terms: costs.iter().map(|c| c.scan_terms).sum(),
            }
        }
        ResolvedNode::Or(operands) => {
            let costs: Vec<Cost> = operands
                .iter()
                .map(|f| cost_in(f, within, out_of_line))
                .collect();
            Cost {
                anchored: costs.iter().all(|c| c.anchored),
                scan_terms: costs.iter().map(|c| c.scan_terms).sum(),
            }
        }
        // A filter shape this estimate does not know: assume the cheapest.
        _ => FREE,
    }
}

impl Cost {
    /// Term evaluations over `rows` resources, when nothing narrows them.
    pub(crate) fn term_rows(&self, rows: u64) -> u64 {
        if self.anchored {
            0
        } else {
            self.scan_terms.saturating_mul(rows)
        }
    }

    /// [`StoreError::TooExpensive`] when the filter would evaluate more than `limit` terms
    /// over the `rows` resources of its type.
    pub(crate) fn check(&self, rows: u64, limit: u64) -> Result<(), StoreError> {
        let term_rows = self.term_rows(rows);
        if term_rows > limit {
            return Err(StoreError::TooExpensive(format!(
                "the filter has {} terms no index answers, each to be tested on all {rows} \
                 resources of the type ({term_rows} tests, more than the {limit} the query \
                 budget allows): narrow it with an indexed attribute (userName, externalId, \
                 displayName, emails.value, id) or use fewer terms",
                self.scan_terms
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn compiled(f: &str) -> scim_filter::CompiledFilter {
        scim_filter::CompiledFilter::compile_schemaless(&scim_filter::Filter::parse(f).unwrap())
            .unwrap()
    }

    fn of(f: &str) -> Cost {
        cost(compiled(f).resolved(), None)
    }

    #[test]
    fn indexes_anchor_and_scans_add_up() {
        assert_eq!(of(r#"userName eq "a""#), FREE);
        assert_eq!(of(r#"emails co "example.com""#), FREE);
        assert_eq!(of(r#"emails[value sw "a"]"#), FREE);
        assert_eq!(of(r#"title co "a""#), ONE_SCAN);
        // An indexed conjunct narrows whatever else the `and` holds.
        assert!(of(r#"userName eq "a" and (title co "x" or title co "y")"#).anchored);
        // One unindexed branch of an `or` reads every row.
        let c = of(r#"userName eq "a" or title co "x" or nickName co "y""#);
        assert_eq!((c.anchored, c.scan_terms), (false, 2));
        assert_eq!(of(r#"not (userName eq "a")"#).scan_terms, 1);
        assert_eq!(of(r#"userName ne "a""#), ONE_SCAN);
        assert_eq!(of("title pr"), ONE_SCAN);
        let group = cost(
            compiled(r#"members.value eq "u1""#).resolved(),
            Some("members"),
        );
        assert_eq!(group, FREE);
        // An `or` of `eq` on one attribute is one set: one term.
        let set = of(r#"title eq "a" or title eq "b" or title eq "c" or title eq "d""#);
        assert_eq!((set.anchored, set.scan_terms), (false, 1));
    }

    /// 200 unindexed terms over 20,000 resources is refused under a two-second budget's
    /// limit; one over the same resources, or 200 under an indexed anchor, is not.
    #[test]
    fn only_what_cannot_fit_is_refused() {
        let limit = 2_000_000;
        let many = (0..200)
            .map(|i| format!(r#"title co "zq{i}x""#))
            .collect::<Vec<_>>()
            .join(" or ");
        let err = of(&many).check(20_000, limit).unwrap_err();
        assert!(matches!(err, StoreError::TooExpensive(ref d) if d.contains("200 terms")));
        assert!(of(r#"title co "x""#).check(20_000, limit).is_ok());
        assert!(of(&format!(r#"userName sw "a" and ({many})"#))
            .check(20_000, limit)
            .is_ok());
        assert!(of(&many).check(9_000, limit).is_ok());
    }
}
