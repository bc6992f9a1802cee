//! The read path: a query's plan (what is pushed down to SQL, exactly or as a superset),
//! the refusal of sure-to-be-expensive scans, reading rows back with their out-of-line
//! elements, and single-resource reads.

use std::collections::HashMap;
use std::sync::Arc;

use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use scim_core::{Query, QueryResult, Sort, StoreError, StoredResource};
use scim_filter::{AttrInfo, AttrPath, CompiledFilter};
use serde_json::Value;

use crate::layout::without;
use scim_store_sql::{Frag, Layout, Translator};

use crate::translate::{order_by, Params, Sqlite};
use crate::{names_attribute, scan_cost, unavailable, Core, COUNT_TTL};

/// A query's SQL, before it runs.
pub(crate) struct Plan {
    /// `SELECT r.id, r.version, r.resource, r.members_key …`.
    pub(crate) sql: String,
    /// `SELECT COUNT(*) …` (when paged), which binds the first `count_params` parameters.
    pub(crate) count_sql: Option<String>,
    pub(crate) count_params: usize,
    pub(crate) params: Params,
    pub(crate) filtered: bool,
    pub(crate) sorted: bool,
    pub(crate) paged: bool,
    /// The page's rows carry the total of the matches (a fifth column, `count(*) OVER ()`):
    /// the filter runs once for both. `count_sql` is then for a page past the end only.
    pub(crate) windowed: bool,
}

impl Core {
    /// The SQL for `query`: what is pushed down, and how; never a statement SQLite refuses
    /// (see [`statement_fits`]): a filter SQL cannot run is left to the engine.
    pub(crate) fn plan(
        &self,
        conn: &Connection,
        tenant: &str,
        rt: &str,
        query: &Query<'_>,
    ) -> Result<Plan, StoreError> {
        let plan = self.pushed_down_plan(conn, tenant, rt, query)?;
        let fits = statement_fits(conn, &plan.sql, plan.params.values.len())
            && plan
                .count_sql
                .as_ref()
                .is_none_or(|c| statement_fits(conn, c, plan.count_params));
        // A translation bug, not a property of the filter: loud in tests, harmless in
        // production.
        debug_assert!(fits, "SQLite refuses the translation: {}", plan.sql);
        Ok(if fits {
            plan
        } else {
            unfiltered_plan(tenant, rt, query)
        })
    }

    /// The SQL for `query` with as much pushed down as is exact.
    ///
    /// Resources with keys duplicated by case (`ambiguous`, a legacy of writes before
    /// documents were canonical) are the evaluator's alone: the filter is pushed down for
    /// the other resources of the type, which keep their indexes, and the ambiguous ones
    /// are added unfiltered (through the partial index `resources_ambiguous`) for the
    /// engine to filter, sort and page in memory with the rest. The resources over the index
    /// cap for a label (`capped`, see [`crate::write_keys`]) have no rows in that index: the
    /// lookups of such a label read their documents too, in SQL (exact as the index is).
    pub(crate) fn pushed_down_plan(
        &self,
        conn: &Connection,
        tenant: &str,
        rt: &str,
        query: &Query<'_>,
    ) -> Result<Plan, StoreError> {
        let mut params = Params::default();
        params.push(tenant.to_owned());
        params.push(rt.to_owned());
        let wants_pushdown = query.filter.is_some() || query.sort.is_some();
        // With the same statement: whether any resource of the type is over the index cap
        // for some label (which lookups then matter is asked below, only if so).
        let (ambiguous, irregular, any_capped) = if wants_pushdown {
            conn.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM resources WHERE tenant = ?1 \
                 AND resource_type = ?2 AND ambiguous = 1), \
                 EXISTS (SELECT 1 FROM resources WHERE tenant = ?1 \
                 AND resource_type = ?2 AND irregular = 1), \
                 EXISTS (SELECT 1 FROM capped WHERE tenant = ?1 AND resource_type = ?2)",
            )
            .and_then(|mut s| {
                s.query_row(params![tenant, rt], |r| {
                    Ok((
                        r.get::<_, bool>(0)?,
                        r.get::<_, bool>(1)?,
                        r.get::<_, bool>(2)?,
                    ))
                })
            })
            .map_err(unavailable)?
        } else {
            (false, false, false)
        };
        let layout = Layout {
            out_of_line: self.ool(rt),
            irregular,
        };

        // The labels some resource of the type is over the index cap for: their lookups also
        // read those resources' documents (`crate::write_keys`).
        let capped: Vec<String> = if any_capped && query.filter.is_some() {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT DISTINCT attr FROM capped WHERE tenant = ?1 AND resource_type = ?2",
                )
                .map_err(unavailable)?;
            let rows = stmt
                .query_map(params![tenant, rt], |r| r.get(0))
                .map_err(unavailable)?;
            rows.collect::<Result<_, _>>().map_err(unavailable)?
        } else {
            Vec::new()
        };
        let frag = match query.filter {
            None => Frag::Exact(String::new()),
            Some(filter) => {
                let mut dialect = Sqlite {
                    params: &mut params,
                    capped: &capped,
                };
                Translator::new(&mut dialect, layout).translate(filter.resolved())
            }
        };
        let (where_sql, filtered) = match &frag {
            Frag::Exact(s) if s.is_empty() => (String::new(), true),
            Frag::Exact(s) => (format!(" AND {s}"), true),
            Frag::Superset(s) => (format!(" AND {s}"), false),
            // `translate` turns lookups into SQL.
            Frag::All | Frag::Ids(_) => (String::new(), false),
        };
        // The ambiguous resources are read apart, and the engine finishes the job.
        let apart = ambiguous && !where_sql.is_empty();
        let filtered = filtered && !apart;
        // The COUNT binds only the filter's parameters.
        let count_params = params.values.len();
        // An ambiguous resource's sort value is the engine's choice, as its filter is.
        let order = match query.sort {
            None => Some(String::new()),
            Some(_) if ambiguous => None,
            Some(sort) => order_by(&sort, &mut params).map(|o| format!("{o}, ")),
        };
        let sorted = order.is_some();
        let paged = filtered && sorted;
        let columns = "r.id, r.version, r.resource, r.members_key";
        let scope = "FROM resources AS r WHERE r.tenant = ?1 AND r.resource_type = ?2";
        let base = if apart {
            format!("{scope} AND r.ambiguous = 0{where_sql}")
        } else {
            format!("{scope}{where_sql}")
        };
        let count_sql = paged.then(|| format!("SELECT COUNT(*) {base}"));
        // A filtered page carries its total: SQLite runs the filter's lookups (each an
        // `IN (SELECT …)` it builds in full) once instead of twice, for the page and again
        // for the COUNT. `displayName co` at 1M users: 11.4 ms as two statements, 7 ms as
        // one. The window reads the matches' row ids only; the page's rows are joined after.
        // Without a filter the page stops early in `id` order, and the COUNT is separate.
        let windowed = paged && !apart && !where_sql.is_empty();
        let limits = paged.then(|| {
            let limit = params.push(i64::try_from(query.count).unwrap_or(-1));
            let offset =
                params.push(i64::try_from(query.start_index.max(1) - 1).unwrap_or(i64::MAX));
            format!(" LIMIT {limit} OFFSET {offset}")
        });
        let limits = limits.unwrap_or_default();
        let sql = if windowed {
            let order = order.unwrap_or_default();
            format!(
                "SELECT r.id, r.version, r.resource, r.members_key, w.total FROM \
                 (SELECT r.rowid AS k, count(*) OVER () AS total {base} \
                 ORDER BY {order}r.id{limits}) AS w \
                 JOIN resources AS r ON r.rowid = w.k ORDER BY {order}r.id"
            )
        } else if apart {
            format!(
                // The partial index, not a walk of the type in `id` order for the ORDER BY.
                "SELECT {columns} {base} UNION ALL SELECT {columns} \
                 FROM resources AS r INDEXED BY resources_ambiguous \
                 WHERE r.tenant = ?1 AND r.resource_type = ?2 AND r.ambiguous = 1 ORDER BY 1"
            )
        } else {
            format!(
                "SELECT {columns} {base} ORDER BY {}r.id{limits}",
                order.unwrap_or_default()
            )
        };

        Ok(Plan {
            sql,
            count_sql,
            count_params,
            params,
            filtered,
            sorted,
            paged,
            windowed,
        })
    }

    /// [`StoreError::TooExpensive`] before anything runs when `query`'s filter has terms no
    /// index answers and no index narrows, and testing them on every resource of the type
    /// would take more than [`PoolOptions::max_scan`] tests (see [`scan_cost`]). The type's
    /// size is counted only for such a filter, and the count is kept a few seconds.
    pub(crate) fn refuse_sure_scans(
        &self,
        conn: &Connection,
        tenant: &str,
        rt: &str,
        query: &Query<'_>,
    ) -> Result<(), StoreError> {
        let Some(filter) = query.filter else {
            return Ok(());
        };
        let cost = scan_cost::cost(filter.resolved(), self.ool(rt));
        if cost.anchored || cost.scan_terms == 0 {
            return Ok(());
        }
        let key = (tenant.to_owned(), rt.to_owned());
        let cached = self
            .counts
            .lock()
            .ok()
            .and_then(|c| c.get(&key).copied())
            .filter(|(_, at)| at.elapsed() < COUNT_TTL);
        let rows = match cached {
            Some((rows, _)) => rows,
            None => {
                let rows: i64 = conn
                    .prepare_cached(
                        "SELECT COUNT(*) FROM resources WHERE tenant = ?1 AND resource_type = ?2",
                    )
                    .and_then(|mut s| s.query_row(params![tenant, rt], |r| r.get(0)))
                    .map_err(unavailable)?;
                let rows = u64::try_from(rows).unwrap_or(0);
                if let Ok(mut counts) = self.counts.lock() {
                    counts.insert(key, (rows, std::time::Instant::now()));
                }
                rows
            }
        };
        cost.check(rows, self.max_scan)
    }

    /// [`Store::query`](scim_core::Store::query) on `conn`; with `text`, each document that
    /// is a whole resource goes back as its text only ([`scim_core::Store::query_text`]) when
    /// SQL filtered and sorted the results: the engine reads no resource then.
    pub(crate) fn query_rows(
        &self,
        conn: &Connection,
        tenant: &str,
        rt: &str,
        query: &Query<'_>,
        text: bool,
    ) -> Result<QueryResult, StoreError> {
        self.refuse_sure_scans(conn, tenant, rt, query)?;
        let plan = self.plan(conn, tenant, rt, query)?;
        let text_only = text
            && query.attributes.is_none()
            && (query.filter.is_none() || plan.filtered)
            && (query.sort.is_none() || plan.sorted);
        // Out-of-line elements are read only when the engine may look at them: it asked
        // for them, or it finishes the filter or the sort in memory.
        let load_members = self.ool(rt).is_some_and(|attr| match query.attributes {
            None => true,
            Some(list) => {
                list.iter().any(|a| names_attribute(a, attr))
                    || (query.filter.is_some() && !plan.filtered)
                    || (query.sort.is_some() && !plan.sorted)
            }
        });
        let mut stmt = conn.prepare_cached(&plan.sql).map_err(unavailable)?;
        let windowed = plan.windowed;
        // The total of the matches, on every row of a windowed page.
        let mut window_total: Option<i64> = None;
        let rows = stmt
            .query_map(params_from_iter(plan.params.values.iter()), |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, i64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, Option<String>>(3)?,
                    if windowed {
                        row.get::<_, Option<i64>>(4)?
                    } else {
                        None
                    },
                ))
            })
            .map_err(unavailable)?;
        let mut resources = Vec::new();
        // The resources whose out-of-line elements are read, with the key they go under.
        let mut holders: Vec<(usize, String)> = Vec::new();
        for row in rows {
            let (id, version, text, members_key, total) = row.map_err(unavailable)?;
            window_total = window_total.or(total);
            let version = u64::try_from(version).unwrap_or(0);
            if text_only && members_key.is_none() {
                let mut stored = StoredResource::new(id, version, Value::Null);
                stored.text = Some(Arc::from(text));
                resources.push(stored);
                continue;
            }
            let resource = serde_json::from_str(&text).map_err(unavailable)?;
            if let (true, Some(key)) = (load_members, members_key) {
                holders.push((resources.len(), key));
            }
            resources.push(StoredResource::new(id, version, resource));
        }
        attach_members_of_page(conn, tenant, rt, &mut resources, &holders)?;
        // A page shorter than asked, not past the end, holds every match from its offset
        // on: its total needs no COUNT.
        let total = match &plan.count_sql {
            Some(_) if short_page(resources.len(), query) => {
                Some(query.start_index.max(1) - 1 + resources.len())
            }
            // A windowed page that is not past the end carries the total.
            Some(_) if window_total.is_some() => {
                window_total.map(|n| usize::try_from(n).unwrap_or(0))
            }
            Some(count_sql) => {
                let n: i64 = conn
                    .prepare_cached(count_sql)
                    .and_then(|mut s| {
                        s.query_row(
                            params_from_iter(plan.params.values[..plan.count_params].iter()),
                            |r| r.get(0),
                        )
                    })
                    .map_err(unavailable)?;
                Some(usize::try_from(n).unwrap_or(0))
            }
            None => None,
        };
        Ok(QueryResult {
            total_results: total.unwrap_or(resources.len()),
            resources,
            filtered: plan.filtered,
            sorted: plan.sorted,
            paged: plan.paged,
        })
    }

    /// The resource `id` with its version and its `members_key`.
    pub(crate) fn read(
        &self,
        conn: &Connection,
        tenant: &str,
        rt: &str,
        id: &str,
    ) -> Result<Option<(StoredResource, Option<String>)>, StoreError> {
        self.read_as(conn, (tenant, rt, id), |_| true, false)
    }

    /// [`Core::read`], the resource built only when `build` says so for the length of its
    /// text, or when its elements are out of line: else the text only
    /// ([`StoredResource::text_only`]). With `text`, the text is kept when it is the whole
    /// resource.
    fn read_as(
        &self,
        conn: &Connection,
        (tenant, rt, id): (&str, &str, &str),
        build: impl FnOnce(usize) -> bool,
        text: bool,
    ) -> Result<Option<(StoredResource, Option<String>)>, StoreError> {
        // The JSON is parsed where SQLite holds it, and copied once more only when asked
        // for and it is the whole resource (no elements out of line).
        type Read = (
            i64,
            serde_json::Result<Value>,
            Option<Arc<str>>,
            Option<String>,
        );
        let row: Option<Read> = conn
            .prepare_cached(
                "SELECT version, resource, members_key FROM resources \
                 WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
            )
            .and_then(|mut s| {
                s.query_row(params![tenant, rt, id], |r| {
                    let doc = r.get_ref(1)?.as_str()?;
                    let key: Option<String> = r.get(2)?;
                    let whole = (text && key.is_none()).then(|| Arc::from(doc));
                    let resource = if whole.is_none() || build(doc.len()) {
                        serde_json::from_str(doc)
                    } else {
                        Ok(Value::Null)
                    };
                    Ok((r.get(0)?, resource, whole, key))
                })
                .optional()
            })
            .map_err(unavailable)?;
        row.map(|(version, resource, text, key)| {
            let mut stored = StoredResource::new(
                id.to_owned(),
                u64::try_from(version).unwrap_or(0),
                resource.map_err(unavailable)?,
            );
            stored.text = text;
            Ok((stored, key))
        })
        .transpose()
    }

    /// [`Store::get_text`](scim_core::Store::get_text) on `conn`: the resource built only
    /// when `build` says so for the length of its text (the read cache may keep it), else
    /// its text only.
    pub(crate) fn get_text_in(
        &self,
        conn: &Connection,
        (tenant, rt, id): (&str, &str, &str),
        build: impl FnOnce(usize) -> bool,
    ) -> Result<Option<StoredResource>, StoreError> {
        self.get_as(conn, (tenant, rt, id), build, true)
    }

    /// [`Core::read_as`] with the out-of-line elements put back.
    fn get_as(
        &self,
        conn: &Connection,
        (tenant, rt, id): (&str, &str, &str),
        build: impl FnOnce(usize) -> bool,
        text: bool,
    ) -> Result<Option<StoredResource>, StoreError> {
        let Some((mut stored, key)) = self.read_as(conn, (tenant, rt, id), build, text)? else {
            return Ok(None);
        };
        if let Some(key) = key {
            attach_members(conn, tenant, rt, id, &mut stored.resource, key)?;
        }
        Ok(Some(stored))
    }

    /// [`Store::get`] on `conn`.
    pub(crate) fn get_in(
        &self,
        conn: &Connection,
        tenant: &str,
        rt: &str,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError> {
        // Only reads for responses hand a text over: none is copied here.
        self.get_as(conn, (tenant, rt, id), |_| true, false)
    }

    /// [`Store::get_head`] on `conn`.
    pub(crate) fn get_head_in(
        &self,
        conn: &Connection,
        tenant: &str,
        rt: &str,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError> {
        Ok(self.read(conn, tenant, rt, id)?.map(|(mut stored, _)| {
            if let Some(attr) = self.ool(rt) {
                stored.resource = without(stored.resource, attr);
            }
            stored
        }))
    }
}

/// Whether SQLite accepts `sql` bound with `params` values: it prepares, and its highest
/// parameter is the last one (SQLite refuses a statement bound with more values than it
/// uses, and a filter too deep or too wide for its limits).
pub(crate) fn statement_fits(conn: &Connection, sql: &str, params: usize) -> bool {
    conn.prepare_cached(sql)
        .is_ok_and(|s| s.parameter_count() == params)
}

/// Every resource of the type in `id` order, for the engine to filter, sort and page.
pub(crate) fn unfiltered_plan(tenant: &str, rt: &str, query: &Query<'_>) -> Plan {
    let mut params = Params::default();
    params.push(tenant.to_owned());
    params.push(rt.to_owned());
    Plan {
        sql: "SELECT r.id, r.version, r.resource, r.members_key FROM resources AS r \
              WHERE r.tenant = ?1 AND r.resource_type = ?2 ORDER BY r.id"
            .to_owned(),
        count_sql: None,
        count_params: 2,
        params,
        filtered: query.filter.is_none(),
        sorted: query.sort.is_none(),
        paged: false,
        windowed: false,
    }
}

/// Reads the out-of-line elements of `id` (in order) into `resource` under `key`.
/// Most owners whose elements one statement reads.
pub(crate) const OWNERS_PER_READ: usize = 500;

/// [`attach_members`] for many resources of a page (`holders`: index in `resources`, key),
/// with one statement per [`OWNERS_PER_READ`] owners instead of one per resource.
pub(crate) fn attach_members_of_page(
    conn: &Connection,
    tenant: &str,
    rt: &str,
    resources: &mut [StoredResource],
    holders: &[(usize, String)],
) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT owner_id, element FROM members WHERE tenant = ?1 AND resource_type = ?2 \
             AND owner_id IN (SELECT value FROM json_each(?3)) ORDER BY owner_id, seq",
        )
        .map_err(unavailable)?;
    for chunk in holders.chunks(OWNERS_PER_READ) {
        let ids: Vec<&str> = chunk
            .iter()
            .filter_map(|(i, _)| resources.get(*i).map(|r| r.id.as_str()))
            .collect();
        let ids = Value::from(ids).to_string();
        // Each owner's elements as the text of one JSON array.
        let mut texts: HashMap<String, String> = HashMap::new();
        let mut rows = stmt.query(params![tenant, rt, ids]).map_err(unavailable)?;
        while let Some(row) = rows.next().map_err(unavailable)? {
            let owner: String = row.get(0).map_err(unavailable)?;
            let element = row.get_ref(1).map_err(unavailable)?;
            let text = texts.entry(owner).or_insert_with(|| String::from("["));
            if text.len() > 1 {
                text.push(',');
            }
            text.push_str(element.as_str().map_err(unavailable)?);
        }
        for (i, key) in chunk {
            let Some(stored) = resources.get_mut(*i) else {
                continue;
            };
            let mut text = texts
                .remove(&stored.id)
                .unwrap_or_else(|| String::from("["));
            text.push(']');
            let elements: Value = serde_json::from_str(&text).map_err(unavailable)?;
            if let Value::Object(m) = &mut stored.resource {
                m.insert(key.clone(), elements);
            }
        }
    }
    Ok(())
}

pub(crate) fn attach_members(
    conn: &Connection,
    tenant: &str,
    rt: &str,
    id: &str,
    resource: &mut Value,
    key: String,
) -> Result<(), StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT element FROM members WHERE tenant = ?1 AND resource_type = ?2 \
             AND owner_id = ?3 ORDER BY seq",
        )
        .map_err(unavailable)?;
    let mut rows = stmt.query(params![tenant, rt, id]).map_err(unavailable)?;
    // One parse of the whole array.
    let mut text = String::from("[");
    while let Some(row) = rows.next().map_err(unavailable)? {
        if text.len() > 1 {
            text.push(',');
        }
        let element = row.get_ref(0).map_err(unavailable)?;
        text.push_str(element.as_str().map_err(unavailable)?);
    }
    text.push(']');
    let elements: Value = serde_json::from_str(&text).map_err(unavailable)?;
    if let Value::Object(m) = resource {
        m.insert(key, elements);
    }
    Ok(())
}

/// A [`Query`] that owns what it borrows, to travel to a reader thread.
pub(crate) struct OwnedQuery {
    filter: Option<CompiledFilter>,
    sort: Option<(AttrPath, bool, Option<AttrInfo>)>,
    start_index: usize,
    count: usize,
    attributes: Option<Vec<String>>,
}

impl OwnedQuery {
    pub(crate) fn of(q: &Query<'_>) -> Self {
        OwnedQuery {
            filter: q.filter.cloned(),
            sort: q
                .sort
                .map(|s| (s.path.clone(), s.descending, s.attribute.cloned())),
            start_index: q.start_index,
            count: q.count,
            attributes: q
                .attributes
                .map(|a| a.iter().map(|s| (*s).to_owned()).collect()),
        }
    }

    /// Runs `f` with the [`Query`] this is.
    pub(crate) fn with<R>(&self, f: impl FnOnce(&Query<'_>) -> R) -> R {
        let attributes: Option<Vec<&str>> = self
            .attributes
            .as_ref()
            .map(|a| a.iter().map(String::as_str).collect());
        f(&Query {
            filter: self.filter.as_ref(),
            sort: self
                .sort
                .as_ref()
                .map(|(path, descending, attribute)| Sort {
                    path,
                    descending: *descending,
                    attribute: attribute.as_ref(),
                }),
            start_index: self.start_index,
            count: self.count,
            attributes: attributes.as_deref(),
        })
    }
}

/// Whether a page of `rows` rows holds every match from the query's offset on: it is
/// shorter than asked, and not empty past the end (where the total could be anything up to
/// the offset).
fn short_page(rows: usize, query: &Query<'_>) -> bool {
    rows < query.count && (rows > 0 || query.start_index <= 1)
}
