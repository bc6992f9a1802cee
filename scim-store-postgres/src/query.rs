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
//! both together are paged in SQL, the page carrying `totalResults` (`count(*) OVER ()`).

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;

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

/// What the flags query answers: whether some resource of the type is `ambiguous` (or
/// unfolded), has irregular out-of-line elements, has odd `meta` times.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Flags {
    ambiguous: bool,
    irregular: bool,
    odd_times: bool,
}

/// The flags of a type, one statement (each test reads a partial index).
const FLAGS: &str = "SELECT EXISTS (SELECT 1 FROM resources WHERE tenant = $1 \
     AND resource_type = $2 AND ambiguous) \
     OR EXISTS (SELECT 1 FROM resources WHERE tenant = $1 \
     AND resource_type = $2 AND folded IS NULL), \
     EXISTS (SELECT 1 FROM resources WHERE tenant = $1 \
     AND resource_type = $2 AND irregular), \
     EXISTS (SELECT 1 FROM resources WHERE tenant = $1 \
     AND resource_type = $2 AND odd_times)";

/// The statements a plan runs under given flags, with what the answer will say.
struct Shape {
    sql: String,
    /// `SELECT count(*)` with the filter, when the page is cut in SQL: the page itself
    /// carries the count (`count(*) OVER ()`, its fifth column, from the same scan), so this
    /// runs only for a page past the end, which has no row to carry it.
    count_sql: Option<String>,
    /// The parameters of `sql`; `count_sql` binds the first `count_params`.
    params: Vec<Box<dyn ToSql + Sync + Send>>,
    count_params: usize,
    filtered: bool,
    sorted: bool,
    paged: bool,
}

impl Shape {
    fn bind(&self, n: usize) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .take(n)
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

impl Plan {
    /// The SQL under `flags` (see the module docs).
    fn shape(&self, flags: Flags) -> Shape {
        let v = match (&self.irregular, flags.irregular) {
            (Some(v), true) => v,
            _ => &self.regular,
        };
        // The ambiguous resources (and those with odd times, when the filter reads the time
        // keys) are read apart, and the engine finishes the job.
        let odd = flags.odd_times && v.time_keys;
        let apart = (flags.ambiguous || odd) && v.filter.is_some();
        // Rows written before layout 2 have no folded document (and no time keys).
        let apart_rows = if odd {
            "(r.ambiguous OR r.folded IS NULL OR r.odd_times)"
        } else {
            "(r.ambiguous OR r.folded IS NULL)"
        };
        let filtered = !self.has_filter || (v.exact && !apart);
        // An ambiguous resource's sort value is the engine's choice, as its filter is.
        let order = match (self.has_sort, flags.ambiguous) {
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
            let counted = if paged { ", count(*) OVER ()" } else { "" };
            let mut sql = format!("SELECT {columns}{counted} {scope}{filter} ORDER BY {order}r.id");
            if paged {
                count_sql = Some(format!("SELECT count(*) {scope}{filter}"));
                params.push(Box::new(self.limit));
                params.push(Box::new(self.offset));
                let n = params.len();
                sql.push_str(&format!(" LIMIT ${}::int8 OFFSET ${n}::int8", n - 1));
            }
            sql
        };
        Shape {
            sql,
            count_sql,
            params,
            count_params: v.filter_params,
            filtered,
            sorted,
            paged,
        }
    }
}

/// Both futures polled together, so that tokio-postgres sends both statements before the
/// first answer comes back (one round trip instead of two).
async fn both<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (pin!(a), pin!(b));
    let (mut ra, mut rb) = (None, None);
    poll_fn(|cx| {
        if ra.is_none() {
            if let Poll::Ready(x) = a.as_mut().poll(cx) {
                ra = Some(x);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(x) = b.as_mut().poll(cx) {
                rb = Some(x);
            }
        }
        match (ra.take(), rb.take()) {
            (Some(x), Some(y)) => Poll::Ready((x, y)),
            (x, y) => {
                (ra, rb) = (x, y);
                Poll::Pending
            }
        }
    })
    .await
}

impl Core {
    /// Runs `plan` (of [`Store::query`](scim_core::Store::query)) on `client`.
    ///
    /// The flags decide the SQL, but they are nearly always all false: the statement for
    /// that case is sent with the flags query, in the same round trip, and sent again only
    /// when the flags say otherwise. A page cut in SQL carries `totalResults` in each row
    /// (`count(*) OVER ()`: one scan for the page and the count); a separate `count(*)` runs
    /// only for a page past the end.
    pub(crate) async fn query(
        &self,
        client: &impl GenericClient,
        (tenant, rt): (&str, &str),
        plan: Plan,
    ) -> Result<QueryResult, Fail> {
        let guess = Flags::default();
        let mut shape = plan.shape(guess);
        let statement = client.prepare_cached(&shape.sql).await?;
        let mut rows = if plan.has_filter || plan.has_sort {
            let flags_statement = client.prepare_cached(FLAGS).await?;
            let (flags, rows) = both(
                client.query_one(&flags_statement, &[&tenant, &rt]),
                client.query(&statement, &shape.bind(shape.params.len())),
            )
            .await;
            let flags = flags?;
            let flags = Flags {
                ambiguous: flags.get(0),
                irregular: flags.get(1),
                odd_times: flags.get(2),
            };
            if flags == guess {
                rows?
            } else {
                shape = plan.shape(flags);
                client
                    .query(
                        &client.prepare_cached(&shape.sql).await?,
                        &shape.bind(shape.params.len()),
                    )
                    .await?
            }
        } else {
            client
                .query(&statement, &shape.bind(shape.params.len()))
                .await?
        };
        let total = match &shape.count_sql {
            Some(_) if short_page(rows.len(), plan.limit, plan.offset) => {
                Some(usize::try_from(plan.offset).unwrap_or(0) + rows.len())
            }
            Some(_) if !rows.is_empty() => {
                let n: i64 = rows[0].get(4);
                Some(usize::try_from(n).unwrap_or(0))
            }
            Some(sql) => {
                let n: i64 = client
                    .query_one(
                        &client.prepare_cached(sql).await?,
                        &shape.bind(shape.count_params),
                    )
                    .await?
                    .get(0);
                Some(usize::try_from(n).unwrap_or(0))
            }
            None => None,
        };
        // Out-of-line elements are read when the engine asked for them or finishes the
        // filter or the sort in memory.
        let load_members = plan.ool && (plan.wants_members || !shape.filtered || !shape.sorted);
        let mut resources = Vec::with_capacity(rows.len());
        let mut holders: Vec<(usize, String)> = Vec::new();
        for row in rows.drain(..) {
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
            filtered: shape.filtered,
            sorted: shape.sorted,
            paged: shape.paged,
        })
    }
}

/// Whether a page of `rows` rows, asked for `limit` from `offset`, holds every matching row
/// from `offset` on: it is shorter than asked, and not empty past the end (where the total
/// could be anything up to `offset`).
fn short_page(rows: usize, limit: i64, offset: i64) -> bool {
    let rows = i64::try_from(rows).unwrap_or(i64::MAX);
    rows < limit && (rows > 0 || offset == 0)
}

#[cfg(test)]
mod tests {
    use super::short_page;

    #[test]
    fn a_short_page_tells_the_total_only_when_it_is_not_past_the_end() {
        assert!(short_page(1, 100, 0));
        assert!(short_page(0, 100, 0));
        assert!(short_page(3, 20, 40));
        assert!(!short_page(20, 20, 0), "a full page: more may follow");
        assert!(!short_page(0, 20, 40), "past the end: the total is unknown");
        assert!(!short_page(0, 0, 0), "count=0 asks for the total alone");
    }
}
