//! Listing: `GET /{type}` and `POST /{type}/.search`, `POST /.search` (RFC 7644 §3.4.2–3).

use scim_filter::{AttrPath, AttrSchema, CompiledFilter, Filter, UrnLocation};
use scim_schema::{Projection, ResourceTypeRef};
use serde_json::{json, Value};

use super::groups::is_group;
use super::resources::etag;
use super::{json_body, never_read, read_hint, Engine, Result};
use crate::message::json_bytes;
use crate::sort::{sort_mixed, sort_resources, SortAttr};
use crate::store::{Query, Sort, StoredResource};
use crate::{Request, RequestContext, Response, ScimError, ScimType, Store};

/// The ListResponse message URN.
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The SearchRequest message URN.
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// The parameters of a list request, from the query string or a SearchRequest body.
#[derive(Debug, Default)]
struct Params {
    filter: Option<String>,
    sort_by: Option<String>,
    descending: bool,
    start_index: Option<i64>,
    count: Option<i64>,
    attributes: Option<String>,
    excluded: Option<String>,
    /// RFC 9865 cursor paging: `Some("")` asks for the first page.
    cursor: Option<String>,
}

fn int_param(name: &str, v: Option<&str>) -> Result<Option<i64>> {
    v.map(|s| {
        s.trim().parse::<i64>().map_err(|_| {
            ScimError::bad_request(
                ScimType::InvalidValue,
                format!("`{name}` must be an integer"),
            )
        })
    })
    .transpose()
}

impl Params {
    fn from_query(req: &Request) -> Result<Params> {
        Ok(Params {
            filter: req.query_param("filter").map(str::to_owned),
            sort_by: req.query_param("sortBy").map(str::to_owned),
            descending: sort_order(req.query_param("sortOrder"))?,
            start_index: int_param("startIndex", req.query_param("startIndex"))?,
            count: int_param("count", req.query_param("count"))?,
            attributes: req.query_param("attributes").map(str::to_owned),
            excluded: req.query_param("excludedAttributes").map(str::to_owned),
            cursor: req.query_param("cursor").map(str::to_owned),
        })
    }

    fn from_body(body: &Value) -> Result<Params> {
        let Value::Object(m) = body else {
            return Err(ScimError::bad_request(
                ScimType::InvalidSyntax,
                "a SearchRequest must be a JSON object",
            ));
        };
        let get = |k: &str| scim_filter::names::get(m, k);
        // `schemas` should name the SearchRequest message (RFC 7644 §3.4.3); a body that names
        // something else is refused, one that omits it is accepted.
        if let Some(schemas) = get("schemas") {
            let ok = schemas.as_array().is_some_and(|a| {
                a.iter().any(|s| {
                    s.as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case(SEARCH_REQUEST))
                })
            });
            if !ok {
                return Err(ScimError::bad_request(
                    ScimType::InvalidSyntax,
                    format!("`schemas` must contain `{SEARCH_REQUEST}`"),
                ));
            }
        }
        let list = |k: &str| -> Result<Option<String>> {
            match get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(Value::Array(items)) => Ok(Some(
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(","),
                )),
                Some(_) => Err(ScimError::bad_request(
                    ScimType::InvalidSyntax,
                    format!("`{k}` must be an array of attribute names"),
                )),
            }
        };
        let string = |k: &str| -> Result<Option<String>> {
            match get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(ScimError::bad_request(
                    ScimType::InvalidSyntax,
                    format!("`{k}` must be a string"),
                )),
            }
        };
        let int = |k: &str| -> Result<Option<i64>> {
            match get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => v.as_i64().map(Some).ok_or_else(|| {
                    ScimError::bad_request(
                        ScimType::InvalidValue,
                        format!("`{k}` must be an integer"),
                    )
                }),
            }
        };
        let sort_order_text = string("sortOrder")?;
        Ok(Params {
            filter: string("filter")?,
            sort_by: string("sortBy")?,
            descending: sort_order(sort_order_text.as_deref())?,
            start_index: int("startIndex")?,
            count: int("count")?,
            attributes: list("attributes")?,
            excluded: list("excludedAttributes")?,
            cursor: string("cursor")?,
        })
    }
}

/// Cursors are opaque to clients; this engine encodes the 1-based position of the page's
/// first resource (index paging underneath, so any store supports them).
fn encode_cursor(start_index: usize) -> String {
    format!("p{start_index:x}")
}

fn decode_cursor(cursor: &str) -> Result<usize> {
    if cursor.is_empty() {
        return Ok(1);
    }
    cursor
        .strip_prefix('p')
        .and_then(|hex| usize::from_str_radix(hex, 16).ok())
        .filter(|&i| i >= 1)
        .ok_or_else(|| {
            ScimError::bad_request(
                ScimType::InvalidCursor,
                "the cursor was not issued by this service",
            )
        })
}

fn sort_order(v: Option<&str>) -> Result<bool> {
    match v {
        None => Ok(false),
        Some(s) if s.eq_ignore_ascii_case("ascending") => Ok(false),
        Some(s) if s.eq_ignore_ascii_case("descending") => Ok(true),
        Some(_) => Err(ScimError::bad_request(
            ScimType::InvalidValue,
            "`sortOrder` must be \"ascending\" or \"descending\"",
        )),
    }
}

impl<S: Store> Engine<S> {
    pub(super) async fn list(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        req: &Request,
    ) -> Result<Response> {
        self.require_type(ctx, rt, false)?;
        let params = Params::from_query(req)?;
        self.run_list(ctx, req, &[*rt], &params).await
    }

    pub(super) async fn search(
        &self,
        ctx: &RequestContext,
        rt: &ResourceTypeRef<'_>,
        req: &Request,
    ) -> Result<Response> {
        self.require_type(ctx, rt, false)?;
        let params = Params::from_body(&json_body(req)?)?;
        self.run_list(ctx, req, &[*rt], &params).await
    }

    pub(super) async fn search_all(&self, ctx: &RequestContext, req: &Request) -> Result<Response> {
        self.require(ctx, &self.config.scopes.search_all)?;
        let params = Params::from_body(&json_body(req)?)?;
        let types: Vec<ResourceTypeRef<'_>> = self.registry.resource_types().collect();
        self.run_list(ctx, req, &types, &params).await
    }

    async fn run_list(
        &self,
        ctx: &RequestContext,
        req: &Request,
        types: &[ResourceTypeRef<'_>],
        params: &Params,
    ) -> Result<Response> {
        let mut filter_text = params.filter.clone();
        for rt in types {
            self.hooks
                .before_query(ctx, &rt.definition().name, &mut filter_text)?;
        }
        let filter = match &filter_text {
            Some(text) if self.config.lenient_filters => Some(Filter::parse_lenient_with(
                text,
                &self.config.filter_limits,
            )?),
            Some(text) => Some(Filter::parse_with(text, &self.config.filter_limits)?),
            None => None,
        };
        let sort_path = match &params.sort_by {
            Some(text) => Some(AttrPath::parse(text)?),
            None => None,
        };
        // No answer may depend on a `returned: never` value, in any of the types searched.
        for rt in types {
            if let Some(f) = &filter {
                never_read::check_filter(rt, f)?;
            }
            if let Some(path) = &sort_path {
                never_read::check_sort(rt, path)?;
            }
        }
        // RFC 7644 §3.4.2.4: startIndex < 1 is read as 1; count < 0 as 0; count is capped.
        // With a cursor (RFC 9865) the position comes from the cursor instead.
        let start_index = match &params.cursor {
            Some(cursor) => decode_cursor(cursor)?,
            None => params.start_index.unwrap_or(1).max(1) as usize,
        };
        let count = params.count.map_or(self.config.max_results, |c| {
            (c.max(0) as usize).min(self.config.max_results)
        });
        let single = types.len() == 1;
        let projections: Vec<Projection<'_>> = types
            .iter()
            .map(|rt| {
                Projection::parse(rt, params.attributes.as_deref(), params.excluded.as_deref())
            })
            .collect::<std::result::Result<_, _>>()?;
        let restricted = params.attributes.is_some() || params.excluded.is_some();
        // Only what the responses can show is read (`excludedAttributes=members`: no member).
        let needed_names: Vec<Option<Vec<String>>> = types
            .iter()
            .zip(&projections)
            .map(|(rt, p)| read_hint::needed_attributes(rt, p, restricted, sort_path.as_ref()))
            .collect();
        let mut all: Vec<(usize, StoredResource)> = Vec::new();
        let mut total = 0;
        // Strict: a schema URN the type does not have is an error, not an empty answer
        // (lenient, it names nothing: RFC 7644 §3.10). Across types, a type it is foreign to
        // is skipped; foreign to all of them, it is the error.
        let strict_filter = filter.as_ref().filter(|_| !self.config.lenient_filters);
        if let Some(f) = strict_filter {
            let foreign: Vec<(&ResourceTypeRef<'_>, &str)> = types
                .iter()
                .filter_map(|rt| foreign_urn(rt, f).map(|urn| (rt, urn)))
                .collect();
            if let (Some((rt, urn)), true) = (foreign.first(), foreign.len() == types.len()) {
                return Err(ScimError::bad_request(
                    ScimType::InvalidFilter,
                    format!(
                        "`{urn}` is not a schema of resource type {}",
                        rt.definition().name
                    ),
                ));
            }
        }
        for (i, rt) in types.iter().enumerate() {
            if strict_filter.is_some_and(|f| foreign_urn(rt, f).is_some()) {
                continue;
            }
            let compiled = match &filter {
                Some(f) => match CompiledFilter::compile(f, rt) {
                    Ok(c) => Some(c),
                    Err(e) if single => return Err(e.into()),
                    // Across types, a filter that cannot apply to a type selects nothing there.
                    Err(_) => continue,
                },
                None => None,
            };
            let needed: Option<Vec<&str>> = needed_names[i]
                .as_ref()
                .map(|names| names.iter().map(String::as_str).collect());
            // Attributes computed at read time (a User's `groups`): answered, or refused.
            let answered = match &filter {
                Some(f) => self.answer_read_time(ctx, rt, f).await?,
                None => None,
            };
            let compiled = match &answered {
                Some(f) => Some(CompiledFilter::compile(f, rt)?),
                None => compiled,
            };
            let sort_attribute = sort_path.as_ref().and_then(|path| rt.attribute(path));
            let query = Query {
                filter: compiled.as_ref(),
                sort: sort_path.as_ref().map(|path| Sort {
                    path,
                    descending: params.descending,
                    attribute: sort_attribute.as_ref(),
                }),
                start_index: if single { start_index } else { 1 },
                count: if single { count } else { usize::MAX },
                attributes: needed.as_deref(),
            };
            // The texts alone where the store keeps them, for responses written from them:
            // not for groups (their members get read-time sub-attributes) nor when a hook
            // may change what is shown.
            let name = &rt.definition().name;
            let mut result = if !is_group(rt) && !self.hooks.alters_responses() {
                self.store.query_text(&ctx.tenant, name, query).await?
            } else {
                self.store.query(&ctx.tenant, name, query).await?
            };
            // What the engine finishes itself reads the resources.
            let finishes = (!result.filtered && compiled.is_some())
                || (sort_path.is_some() && (!result.sorted || !single));
            if finishes {
                for r in &mut result.resources {
                    r.parse_text()?;
                }
            }
            // Complete in memory what the store did not do.
            if !result.filtered {
                if let Some(c) = &compiled {
                    if result.resources.len() > self.config.max_filter_scan {
                        return Err(ScimError::bad_request(
                            ScimType::TooMany,
                            format!(
                                "the filter would have to be checked on {} resources; the limit is {}",
                                result.resources.len(),
                                self.config.max_filter_scan
                            ),
                        ));
                    }
                    result.resources.retain(|r| c.matches(&r.resource));
                }
                result.total_results = result.resources.len();
            }
            if !result.sorted {
                if let Some(path) = &sort_path {
                    sort_resources(&mut result.resources, path, params.descending, Some(rt));
                }
            }
            if single && !result.paged {
                result.resources = result
                    .resources
                    .into_iter()
                    .skip(start_index - 1)
                    .take(count)
                    .collect();
            }
            total += result.total_results;
            all.extend(result.resources.into_iter().map(|r| (i, r)));
        }
        if !single {
            if let Some(path) = &sort_path {
                // Each resource by its own type's characteristics of the attribute.
                let attrs: Vec<SortAttr> = types.iter().map(|rt| SortAttr::of(rt, path)).collect();
                sort_mixed(&mut all, path, params.descending, |(i, r)| {
                    (&r.resource, attrs[*i])
                });
            }
            all = all.into_iter().skip(start_index - 1).take(count).collect();
        }
        // Read-time attributes (members.display, User.groups), one batch per type.
        let mut by_type: Vec<Vec<StoredResource>> = types.iter().map(|_| Vec::new()).collect();
        let order: Vec<(usize, usize)> = all
            .into_iter()
            .map(|(i, r)| {
                by_type[i].push(r);
                (i, by_type[i].len() - 1)
            })
            .collect();
        for (i, batch) in by_type.iter_mut().enumerate() {
            self.decorate(ctx, &types[i], req, &projections[i], batch)
                .await?;
        }
        // Each resource is moved into its rendering, not copied.
        let mut slots: Vec<Vec<Option<StoredResource>>> = by_type
            .into_iter()
            .map(|batch| batch.into_iter().map(Some).collect())
            .collect();
        let mut rendered: Vec<Vec<u8>> = Vec::with_capacity(order.len());
        for &(i, j) in &order {
            if let Some(stored) = slots[i][j].take() {
                let rt = &types[i];
                let meta = (self.location(rt, &stored.id), etag(stored.version));
                rendered.push(self.body_of(ctx, rt, stored, &projections[i], meta)?);
            }
        }
        let items = rendered.len();
        let mut body = json!({
            "schemas": [LIST_RESPONSE],
            "totalResults": total,
            "itemsPerPage": items,
        });
        if params.cursor.is_some() {
            if start_index - 1 + items < total {
                body["nextCursor"] = json!(encode_cursor(start_index + items));
            }
            if start_index > 1 {
                body["previousCursor"] =
                    json!(encode_cursor(start_index.saturating_sub(count).max(1)));
            }
        } else {
            body["startIndex"] = json!(start_index);
        }
        Ok(Response::json_text(200, with_resources(&body, &rendered)))
    }
}

/// The first schema URN in `filter` that is not one of `rt`'s schemas.
/// The ListResponse `envelope` with `Resources` (each resource's JSON text), as
/// serialising the whole message writes it: `Resources` is its first key (upper case sorts
/// first).
fn with_resources(envelope: &Value, resources: &[Vec<u8>]) -> Vec<u8> {
    let tail = json_bytes(envelope);
    let mut body =
        Vec::with_capacity(tail.len() + 16 + resources.iter().map(|r| r.len() + 1).sum::<usize>());
    body.extend_from_slice(br#"{"Resources":["#);
    for (k, r) in resources.iter().enumerate() {
        if k > 0 {
            body.push(b',');
        }
        body.extend_from_slice(r);
    }
    body.push(b']');
    // The envelope's own members follow: `{…}` less its `{`, after a comma.
    if tail.len() > 2 {
        body.push(b',');
        body.extend_from_slice(tail.get(1..).unwrap_or_default());
    } else {
        body.push(b'}');
    }
    body
}

fn foreign_urn<'f>(rt: &ResourceTypeRef<'_>, filter: &'f Filter) -> Option<&'f str> {
    let foreign = |p: &'f AttrPath| {
        p.urn
            .as_deref()
            .filter(|u| rt.urn_location(u) == Some(UrnLocation::Foreign))
    };
    match filter {
        Filter::Present(path) | Filter::Compare { path, .. } => foreign(path),
        Filter::ValuePath(vp) => foreign(&vp.attr).or_else(|| foreign_urn(rt, &vp.filter)),
        Filter::Not(inner) => foreign_urn(rt, inner),
        Filter::And(ops) | Filter::Or(ops) => ops.iter().find_map(|f| foreign_urn(rt, f)),
        _ => None,
    }
}
