//! Sorting and paging against brute force.

use std::collections::BTreeSet;

use scim_filter::{AttrPath, AttrSchema};
use scim_schema::Registry;
use serde_json::Value;

use crate::sort::{sort_resources, sort_value};
use crate::{block_on, Query, Sort, Store, StoredResource};

use super::{compile, everything, T, USER};

fn sort_values(resources: &[StoredResource], path: &AttrPath) -> Vec<Option<Value>> {
    resources
        .iter()
        .map(|r| sort_value(&r.resource, path).cloned())
        .collect()
}

pub(super) fn sort_and_paging<S: Store>(s: &S) {
    let registry = Registry::standard();
    let rt = registry.resource_type(USER);
    let all = block_on(s.query(T, USER, everything()))
        .expect("query")
        .resources;
    let cases: &[(Option<&str>, Option<&str>)] = &[
        (None, Some("userName")),
        (None, Some("name.givenName")),
        (None, Some("displayName")),
        (None, Some("active")),
        (None, Some("loginCount")),
        (None, Some("emails.value")),
        (
            None,
            Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"),
        ),
        (Some(r#"userName ne "x""#), Some("userName")),
        (Some(r#"emails.type eq "work""#), Some("name.familyName")),
        (
            Some(r#"meta.created gt "2011-01-01T00:00:00Z""#),
            Some("userName"),
        ),
        (Some("title pr"), None),
        (None, None),
    ];
    for (filter_text, sort_text) in cases {
        let compiled = filter_text.map(|t| compile(t, &registry, USER));
        let sort_path = sort_text.map(|t| AttrPath::parse(t).expect("sort path"));
        let sort_attribute = sort_path
            .as_ref()
            .and_then(|p| rt.as_ref().and_then(|rt| rt.attribute(p)));
        let mut expected: Vec<StoredResource> = all
            .iter()
            .filter(|r| compiled.as_ref().is_none_or(|c| c.matches(&r.resource)))
            .cloned()
            .collect();
        for descending in [false, true] {
            if let Some(path) = &sort_path {
                sort_resources(
                    &mut expected,
                    path,
                    descending,
                    registry.resource_type(USER).as_ref(),
                );
            }
            let label = format!("filter {filter_text:?} sort {sort_text:?} desc {descending}");
            for (start_index, count) in [(1, usize::MAX), (1, 3), (2, 3), (4, 100), (1, 0), (50, 5)]
            {
                let query = Query {
                    filter: compiled.as_ref(),
                    sort: sort_path.as_ref().map(|path| Sort {
                        path,
                        descending,
                        attribute: sort_attribute.as_ref(),
                    }),
                    start_index,
                    count,
                    attributes: None,
                };
                let label = format!("{label} start {start_index} count {count}");
                let r =
                    block_on(s.query(T, USER, query)).unwrap_or_else(|e| panic!("{label}: {e}"));
                if r.paged {
                    assert!(
                        r.filtered || compiled.is_none(),
                        "{label}: paged, not filtered"
                    );
                    assert!(
                        r.sorted || sort_path.is_none(),
                        "{label}: paged, not sorted"
                    );
                    assert_eq!(r.total_results, expected.len(), "{label}: totalResults");
                    let page: Vec<StoredResource> = expected
                        .iter()
                        .skip(start_index - 1)
                        .take(count)
                        .cloned()
                        .collect();
                    assert_eq!(r.resources.len(), page.len(), "{label}: page size");
                    if let Some(path) = &sort_path {
                        assert_eq!(
                            sort_values(&r.resources, path),
                            sort_values(&page, path),
                            "{label}: page order"
                        );
                    }
                } else if r.filtered {
                    if let Some(path) = &sort_path {
                        // What the store left unsorted, the engine sorts.
                        let mut got = r.resources.clone();
                        if !r.sorted {
                            sort_resources(&mut got, path, descending, rt.as_ref());
                        }
                        assert_eq!(
                            sort_values(&got, path),
                            sort_values(&expected, path),
                            "{label}: order"
                        );
                    }
                }
            }
            // Without a sort, pages still partition the result.
            if sort_path.is_none() {
                let mut seen = Vec::new();
                let mut start = 1;
                loop {
                    let query = Query {
                        filter: compiled.as_ref(),
                        sort: None,
                        start_index: start,
                        count: 3,
                        attributes: None,
                    };
                    let r = block_on(s.query(T, USER, query)).expect("query");
                    if !r.paged {
                        break;
                    }
                    if r.resources.is_empty() {
                        let want: BTreeSet<String> =
                            expected.iter().map(|r| r.id.clone()).collect();
                        let got: BTreeSet<String> = seen.iter().cloned().collect();
                        assert_eq!(seen.len(), got.len(), "{label}: a resource on two pages");
                        assert_eq!(got, want, "{label}: pages miss resources");
                        break;
                    }
                    seen.extend(r.resources.into_iter().map(|r| r.id));
                    start += 3;
                }
            }
        }
    }
}
