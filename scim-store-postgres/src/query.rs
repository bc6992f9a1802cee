//! [`Store::query`](scim_core::Store::query): what is pushed down to SQL, and reading the
//! rows back.
//!
//! The plan is made when the call is made ([`Plan::of`], from the borrowed [`Query`]) and
//! owns all it needs, so the task that runs it on the store's runtime borrows nothing.
//!
//! The filter is not translated yet. [`Plan::of`] is where the translation plugs in: it
//! gives the `WHERE` fragment (after the tenant and type) with its parameters and says
//! whether it is exact (`filtered`), a superset, or nothing; sorting and paging follow
//! from it as in the SQLite store (paged only when filtered and sorted). Today a query with
//! a filter reads every resource of the type in id order (`filtered: false`) for the engine
//! to filter, sort and page; one without a filter or a sort is paged in SQL.

use deadpool_postgres::GenericClient;
use scim_core::{Query, QueryResult};
use scim_store_layout::names_attribute;
use tokio_postgres::types::ToSql;

use crate::read::{assemble, attach_members_of_page};
use crate::{Core, Fail};

/// A query's SQL, before it runs.
pub(crate) struct Plan {
    /// `SELECT id, version, resource::text, members_key …`; `$1` is the tenant, `$2` the
    /// resource type.
    sql: String,
    /// `SELECT count(*) …` when paged, binding the first `count_params` parameters.
    count_sql: Option<String>,
    count_params: usize,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
    filtered: bool,
    sorted: bool,
    paged: bool,
    /// Whether out-of-line elements are read: the engine asked for them, or it finishes
    /// the filter or the sort in memory.
    load_members: bool,
}

impl Plan {
    /// The plan for `query`: see the module docs.
    pub(crate) fn of(core: &Core, tenant: &str, rt: &str, query: &Query<'_>) -> Plan {
        let mut params: Vec<Box<dyn ToSql + Sync + Send>> =
            vec![Box::new(tenant.to_owned()), Box::new(rt.to_owned())];
        let unfiltered = query.filter.is_none();
        let scope = "FROM resources WHERE tenant = $1 AND resource_type = $2";
        let columns = "id, version, resource::text, members_key";
        let count_params = params.len();
        if unfiltered && query.sort.is_none() {
            let limit = i64::try_from(query.count).unwrap_or(i64::MAX);
            let offset = i64::try_from(query.start_index.max(1) - 1).unwrap_or(i64::MAX);
            params.push(Box::new(limit));
            params.push(Box::new(offset));
            return Plan {
                sql: format!("SELECT {columns} {scope} ORDER BY id LIMIT $3 OFFSET $4"),
                count_sql: Some(format!("SELECT count(*) {scope}")),
                count_params,
                params,
                filtered: true,
                sorted: true,
                paged: true,
                load_members: core.ool(rt).is_some_and(|attr| wants(query, attr)),
            };
        }
        let (filtered, sorted) = (unfiltered, query.sort.is_none());
        Plan {
            sql: format!("SELECT {columns} {scope} ORDER BY id"),
            count_sql: None,
            count_params,
            params,
            filtered,
            sorted,
            paged: false,
            load_members: core.ool(rt).is_some_and(|attr| {
                wants(query, attr)
                    || (query.filter.is_some() && !filtered)
                    || (query.sort.is_some() && !sorted)
            }),
        }
    }

    fn params(&self, n: usize) -> Vec<&(dyn ToSql + Sync)> {
        self.params
            .iter()
            .take(n)
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
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
        let total = match &plan.count_sql {
            Some(sql) => {
                let n: i64 = client
                    .query_one(
                        &client.prepare_cached(sql).await?,
                        &plan.params(plan.count_params),
                    )
                    .await?
                    .get(0);
                Some(usize::try_from(n).unwrap_or(0))
            }
            None => None,
        };
        let rows = client
            .query(
                &client.prepare_cached(&plan.sql).await?,
                &plan.params(plan.params.len()),
            )
            .await?;
        let mut resources = Vec::with_capacity(rows.len());
        let mut holders: Vec<(usize, String)> = Vec::new();
        for row in &rows {
            let members_key: Option<String> = row.get(3);
            if let (true, Some(key)) = (plan.load_members, members_key) {
                holders.push((resources.len(), key));
            }
            resources.push(assemble(row.get(0), row.get(1), row.get(2), None)?);
        }
        attach_members_of_page(client, (tenant, rt), &mut resources, &holders).await?;
        Ok(QueryResult {
            total_results: total.unwrap_or(resources.len()),
            resources,
            filtered: plan.filtered,
            sorted: plan.sorted,
            paged: plan.paged,
        })
    }
}
