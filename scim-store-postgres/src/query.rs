//! [`Store::query`](scim_core::Store::query): what is pushed down to SQL, and reading the
//! rows back.
//!
//! The plan is made when the call is made ([`Plan::of`], from the borrowed [`Query`]) and
//! owns all it needs, so the task that runs it on the store's runtime borrows nothing. The
//! filter is translated twice (see [`crate::translate`]): for a type whose out-of-line
//! elements are all regular (`members.value_key` answers `members.value`) and for one with
//! irregular ones; the task asks which, and whether some resource is `ambiguous`.
//!
//! Resources with keys duplicated by case or a NUL in a string (`ambiguous`), and when the
//! filter compares `meta` times those whose times are not one dateTime each (`odd_times`),
//! are the evaluator's alone: the filter is pushed down for the other resources of the type, and
//! the ambiguous ones are added unfiltered for the engine to filter, sort and page with the
//! rest. Otherwise an exact filter is `filtered`, a sort the SQL matches is `sorted`, and
//! both together are paged in SQL with a `count(*)` for `totalResults`.

use deadpool_postgres::GenericClient;
use scim_core::{Query, QueryResult};
use scim_store_layout::names_attribute;
use scim_store_sql::{Frag, Layout, Translator};
use tokio_postgres::types::ToSql;

use crate::read::{assemble, attach_members_of_page};
use crate::translate::{order_by, Params, Postgres};
use crate::{Core, Fail};

/// What the filter and the sort became for one layout.
struct Variant {
    /// The tenant, the resource type, the filter's parameters, then the sort's.
    params: Params,
    /// The `WHERE` condition (after the tenant and type): `None` when nothing is pushed.
    filter: Option<String>,
    /// Whether `filter` is exact.
    exact: bool,
    /// How many parameters the filter part binds (the tenant and type included).
    filter_params: usize,
    /// `ORDER BY` terms (before `r.id`), when the sort is matched.
    order: Option<String>,
    /// The filter reads the instant keys: resources marked `odd_times` are read apart.
    time_keys: bool,
}

impl Variant {
    fn of(tenant: &str, rt: &str, query: &Query<'_>, layout: Layout<'_>) -> Variant {
        let mut params = Params::default();
        params.text(tenant);
        params.text(rt);
        let mut time_keys = false;
        let frag = match query.filter {
            None => Frag::Exact(String::new()),
            Some(filter) => {
                let mut dialect = Postgres {
                    params: &mut params,
                    time_keys: false,
                };
                let frag = Translator::new(&mut dialect, layout).translate(filter.resolved());
                time_keys = dialect.time_keys;
                frag
            }
        };
        let (filter, exact) = match frag {
            Frag::Exact(s) if s.is_empty() => (None, true),
            Frag::Exact(s) => (Some(s), true),
            Frag::Superset(s) => (Some(s), false),
            // `translate` turns lookups into SQL.
            Frag::All | Frag::Ids(_) => (None, false),
        };
        let filter_params = params.len();
        let order = match query.sort {
            None => Some(String::new()),
            Some(sort) => order_by(&sort, &mut params).map(|o| format!("{o}, ")),
        };
        Variant {
            params,
            filter,
            exact,
            filter_params,
            order,
            time_keys,
        }
    }
}

/// A query's SQL, before it runs.
pub(crate) struct Plan {
    /// For a type without irregular out-of-line elements, and for one with.
    regular: Variant,
    irregular: Option<Variant>,
    has_filter: bool,
    has_sort: bool,
    limit: i64,
    offset: i64,
    /// The engine asked for the out-of-line attribute.
    wants_members: bool,
    /// The type keeps an attribute out of line.
    ool: bool,
}

impl Plan {
    /// The plan for `query`: see the module docs.
    pub(crate) fn of(core: &Core, tenant: &str, rt: &str, query: &Query<'_>) -> Plan {
        let out_of_line = core.ool(rt);
        let layout = |irregular| Layout {
            out_of_line,
            irregular,
        };
        Plan {
            regular: Variant::of(tenant, rt, query, layout(false)),
            irregular: out_of_line
                .and(query.filter)
                .map(|_| Variant::of(tenant, rt, query, layout(true))),
            has_filter: query.filter.is_some(),
            has_sort: query.sort.is_some(),
            limit: i64::try_from(query.count).unwrap_or(i64::MAX),
            offset: i64::try_from(query.start_index.max(1) - 1).unwrap_or(i64::MAX),
            wants_members: out_of_line.is_some_and(|attr| wants(query, attr)),
            ool: out_of_line.is_some(),
        }
    }
}

/// Whether the engine asked for `attr` (all attributes, or a list naming it).
fn wants(query: &Query<'_>, attr: &str) -> bool {
    query
        .attributes
        .is_none_or(|list| list.iter().any(|a| names_attribute(a, attr)))
}

impl Core {
    /// Runs `plan` (of [`Store::query`](scim_core::Store::query)) on `client`.
    pub(crate) async fn query(
        &self,
        client: &impl GenericClient,
        (tenant, rt): (&str, &str),
        plan: Plan,
    ) -> Result<QueryResult, Fail> {
        let (ambiguous, irregular, odd_times) = if plan.has_filter || plan.has_sort {
            let row = client
                .query_one(
                    &client
                        .prepare_cached(
                            "SELECT EXISTS (SELECT 1 FROM resources WHERE tenant = $1 \
                             AND resource_type = $2 AND ambiguous) \
                             OR EXISTS (SELECT 1 FROM resources WHERE tenant = $1 \
                             AND resource_type = $2 AND folded IS NULL), \
                             EXISTS (SELECT 1 FROM resources WHERE tenant = $1 \
                             AND resource_type = $2 AND irregular), \
                             EXISTS (SELECT 1 FROM resources WHERE tenant = $1 \
                             AND resource_type = $2 AND odd_times)",
                        )
                        .await?,
                    &[&tenant, &rt],
                )
                .await?;
            (
                row.get::<_, bool>(0),
                row.get::<_, bool>(1),
                row.get::<_, bool>(2),
            )
        } else {
            (false, false, false)
        };
        let v = match (&plan.irregular, irregular) {
            (Some(v), true) => v,
            _ => &plan.regular,
        };
        // The ambiguous resources (and those with odd times, when the filter reads the time
        // keys) are read apart, and the engine finishes the job.
        let odd = odd_times && v.time_keys;
        let apart = (ambiguous || odd) && v.filter.is_some();
        // Rows written before layout 2 have no folded document (and no time keys).
        let apart_rows = if odd {
            "(r.ambiguous OR r.folded IS NULL OR r.odd_times)"
        } else {
            "(r.ambiguous OR r.folded IS NULL)"
        };
        let filtered = !plan.has_filter || (v.exact && !apart);
        // An ambiguous resource's sort value is the engine's choice, as its filter is.
        let order = match (plan.has_sort, ambiguous) {
            (false, _) => Some(""),
            (true, true) => None,
            (true, false) => v.order.as_deref(),
        };
        let sorted = order.is_some();
        let paged = filtered && sorted;
        let columns = "r.id, r.version, r.resource::text, r.members_key";
        let scope = "FROM resources AS r WHERE r.tenant = $1 AND r.resource_type = $2";
        let filter = v
            .filter
            .as_deref()
            .map(|f| format!(" AND {f}"))
            .unwrap_or_default();
        let mut params = v.params.boxed(v.filter_params);
        let mut count_sql = None;
        let sql = if apart {
            format!(
                "SELECT {columns} {scope} AND NOT {apart_rows}{filter} UNION ALL \
                 SELECT {columns} {scope} AND {apart_rows} ORDER BY 1"
            )
        } else {
            let order = order.unwrap_or_default();
            if !order.is_empty() {
                params = v.params.boxed(v.params.len());
            }
            let mut sql = format!("SELECT {columns} {scope}{filter} ORDER BY {order}r.id");
            if paged {
                count_sql = Some(format!("SELECT count(*) {scope}{filter}"));
                params.push(Box::new(plan.limit));
                params.push(Box::new(plan.offset));
                let n = params.len();
                sql.push_str(&format!(" LIMIT ${}::int8 OFFSET ${n}::int8", n - 1));
            }
            sql
        };
        let bind = |n: usize| -> Vec<&(dyn ToSql + Sync)> {
            params
                .iter()
                .take(n)
                .map(|p| p.as_ref() as &(dyn ToSql + Sync))
                .collect()
        };
        let total = match &count_sql {
            Some(sql) => {
                let n: i64 = client
                    .query_one(&client.prepare_cached(sql).await?, &bind(v.filter_params))
                    .await?
                    .get(0);
                Some(usize::try_from(n).unwrap_or(0))
            }
            None => None,
        };
        let rows = client
            .query(&client.prepare_cached(&sql).await?, &bind(params.len()))
            .await?;
        // Out-of-line elements are read when the engine asked for them or finishes the
        // filter or the sort in memory.
        let load_members = plan.ool && (plan.wants_members || !filtered || !sorted);
        let mut resources = Vec::with_capacity(rows.len());
        let mut holders: Vec<(usize, String)> = Vec::new();
        for row in &rows {
            let members_key: Option<String> = row.get(3);
            if let (true, Some(key)) = (load_members, members_key) {
                holders.push((resources.len(), key));
            }
            resources.push(assemble(row.get(0), row.get(1), row.get(2), None)?);
        }
        attach_members_of_page(client, (tenant, rt), &mut resources, &holders).await?;
        Ok(QueryResult {
            total_results: total.unwrap_or(resources.len()),
            resources,
            filtered,
            sorted,
            paged,
        })
    }
}
