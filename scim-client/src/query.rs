//! What a list or search asks for (RFC 7644 §3.4.2, §3.4.3) and what comes back.

use scim_filter::Filter;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// `sortOrder` (RFC 7644 §3.4.2.3).
///
/// ```
/// assert_eq!(scim_client::SortOrder::Descending.as_str(), "descending");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SortOrder {
    /// `ascending`.
    Ascending,
    /// `descending`.
    Descending,
}

impl SortOrder {
    /// The RFC's spelling.
    ///
    /// ```
    /// assert_eq!(scim_client::SortOrder::Ascending.as_str(), "ascending");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            SortOrder::Ascending => "ascending",
            SortOrder::Descending => "descending",
        }
    }
}

/// How a listing of every page pages (RFC 7644 §3.4.2.4 index paging, RFC 9865 cursors).
///
/// ```
/// assert_eq!(scim_client::Paging::default(), scim_client::Paging::Auto);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Paging {
    /// Cursors where the discovered `/ServiceProviderConfig` advertises them as the
    /// default (or as the only method), index paging otherwise.
    #[default]
    Auto,
    /// `startIndex` and `count`.
    Index,
    /// `cursor` and `nextCursor` (RFC 9865).
    Cursor,
}

/// A list or search query. The filter is `scim_filter`'s AST, printed canonically (string
/// values quoted and escaped as JSON strings).
///
/// ```
/// use scim_client::{ListQuery, SortOrder};
/// use scim_filter::{AttrPath, CompValue, CompareOp, Filter};
/// let q = ListQuery::new()
///     .filter(Filter::compare(AttrPath::new("userName"), CompareOp::Eq, CompValue::String(r#"a"b\c"#.into())))
///     .sort_by("userName", SortOrder::Ascending)
///     .attributes(["userName", "emails"])
///     .count(10);
/// let params = q.to_query_pairs();
/// assert!(params.contains(&("filter".to_owned(), r#"userName eq "a\"b\\c""#.to_owned())));
/// assert!(params.contains(&("attributes".to_owned(), "userName,emails".to_owned())));
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ListQuery {
    /// `filter`.
    pub filter: Option<Filter>,
    /// `sortBy` and `sortOrder`.
    pub sort: Option<(String, Option<SortOrder>)>,
    /// `attributes`.
    pub attributes: Vec<String>,
    /// `excludedAttributes`.
    pub excluded_attributes: Vec<String>,
    /// `startIndex` (1-based).
    pub start_index: Option<u64>,
    /// `count`.
    pub count: Option<u64>,
    /// `cursor` (RFC 9865); `Some("")` asks for the first page by cursor.
    pub cursor: Option<String>,
    /// How [`Client::list_all`](crate::Client::list_all) pages.
    pub paging: Paging,
}

impl ListQuery {
    /// Everything, with the server's defaults.
    ///
    /// ```
    /// assert!(scim_client::ListQuery::new().to_query_pairs().is_empty());
    /// ```
    pub fn new() -> Self {
        ListQuery::default()
    }

    /// Sets the filter.
    ///
    /// ```
    /// let f: scim_filter::Filter = r#"title pr and userType eq "Employee""#.parse().unwrap();
    /// let q = scim_client::ListQuery::new().filter(f);
    /// assert_eq!(q.to_query_pairs()[0].1, r#"title pr and userType eq "Employee""#);
    /// ```
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filter = Some(filter);
        self
    }

    /// Parses and sets the filter.
    ///
    /// ```
    /// let q = scim_client::ListQuery::new().filter_str(r#"userName sw "J""#)?;
    /// assert!(q.filter.is_some());
    /// assert!(scim_client::ListQuery::new().filter_str("userName eq").is_err());
    /// # Ok::<(), scim_client::Error>(())
    /// ```
    pub fn filter_str(self, filter: &str) -> Result<Self, crate::Error> {
        let parsed = Filter::parse(filter)
            .map_err(|e| crate::Error::InvalidRequest(format!("filter: {e}")))?;
        Ok(self.filter(parsed))
    }

    /// Sets `sortBy` and `sortOrder`.
    ///
    /// ```
    /// let q = scim_client::ListQuery::new().sort_by("meta.lastModified", scim_client::SortOrder::Descending);
    /// assert!(q.to_query_pairs().contains(&("sortOrder".into(), "descending".into())));
    /// ```
    pub fn sort_by(mut self, attribute: impl Into<String>, order: SortOrder) -> Self {
        self.sort = Some((attribute.into(), Some(order)));
        self
    }

    /// Sets `attributes`.
    ///
    /// ```
    /// let q = scim_client::ListQuery::new().attributes(["userName"]);
    /// assert_eq!(q.to_query_pairs(), vec![("attributes".to_owned(), "userName".to_owned())]);
    /// ```
    pub fn attributes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, names: I) -> Self {
        self.attributes = names.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `excludedAttributes`.
    ///
    /// ```
    /// let q = scim_client::ListQuery::new().excluded_attributes(["groups"]);
    /// assert_eq!(q.excluded_attributes, vec!["groups"]);
    /// ```
    pub fn excluded_attributes<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        names: I,
    ) -> Self {
        self.excluded_attributes = names.into_iter().map(Into::into).collect();
        self
    }

    /// Sets `startIndex`.
    ///
    /// ```
    /// let q = scim_client::ListQuery::new().start_index(11).count(10);
    /// assert!(q.to_query_pairs().contains(&("startIndex".into(), "11".into())));
    /// ```
    pub fn start_index(mut self, index: u64) -> Self {
        self.start_index = Some(index);
        self
    }

    /// Sets `count`.
    ///
    /// ```
    /// let q = scim_client::ListQuery::new().count(0); // totalResults only
    /// assert_eq!(q.to_query_pairs(), vec![("count".to_owned(), "0".to_owned())]);
    /// ```
    pub fn count(mut self, count: u64) -> Self {
        self.count = Some(count);
        self
    }

    /// Sets how [`Client::list_all`](crate::Client::list_all) pages.
    ///
    /// ```
    /// let q = scim_client::ListQuery::new().paging(scim_client::Paging::Cursor);
    /// assert_eq!(q.paging, scim_client::Paging::Cursor);
    /// ```
    pub fn paging(mut self, paging: Paging) -> Self {
        self.paging = paging;
        self
    }

    /// The query parameters of a GET list.
    ///
    /// ```
    /// let q = scim_client::ListQuery::new().excluded_attributes(["members"]);
    /// assert_eq!(q.to_query_pairs(), vec![("excludedAttributes".to_owned(), "members".to_owned())]);
    /// ```
    pub fn to_query_pairs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(f) = &self.filter {
            out.push(("filter".to_owned(), f.to_string()));
        }
        if let Some((by, order)) = &self.sort {
            out.push(("sortBy".to_owned(), by.clone()));
            if let Some(o) = order {
                out.push(("sortOrder".to_owned(), o.as_str().to_owned()));
            }
        }
        if !self.attributes.is_empty() {
            out.push(("attributes".to_owned(), self.attributes.join(",")));
        }
        if !self.excluded_attributes.is_empty() {
            out.push((
                "excludedAttributes".to_owned(),
                self.excluded_attributes.join(","),
            ));
        }
        if let Some(i) = self.start_index {
            out.push(("startIndex".to_owned(), i.to_string()));
        }
        if let Some(c) = self.count {
            out.push(("count".to_owned(), c.to_string()));
        }
        if let Some(c) = &self.cursor {
            out.push(("cursor".to_owned(), c.clone()));
        }
        out
    }

    /// The body of a POST `.search` (RFC 7644 §3.4.3).
    ///
    /// ```
    /// let q = scim_client::ListQuery::new().count(5).attributes(["userName"]);
    /// let body = q.to_search_request();
    /// assert_eq!(body["count"], 5);
    /// assert_eq!(body["attributes"], serde_json::json!(["userName"]));
    /// assert_eq!(body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:SearchRequest");
    /// ```
    pub fn to_search_request(&self) -> Value {
        let mut body = Map::new();
        body.insert("schemas".into(), json!([SEARCH_REQUEST]));
        if let Some(f) = &self.filter {
            body.insert("filter".into(), Value::String(f.to_string()));
        }
        if let Some((by, order)) = &self.sort {
            body.insert("sortBy".into(), Value::String(by.clone()));
            if let Some(o) = order {
                body.insert("sortOrder".into(), Value::String(o.as_str().into()));
            }
        }
        if !self.attributes.is_empty() {
            body.insert("attributes".into(), json!(self.attributes));
        }
        if !self.excluded_attributes.is_empty() {
            body.insert("excludedAttributes".into(), json!(self.excluded_attributes));
        }
        if let Some(i) = self.start_index {
            body.insert("startIndex".into(), json!(i));
        }
        if let Some(c) = self.count {
            body.insert("count".into(), json!(c));
        }
        if let Some(c) = &self.cursor {
            body.insert("cursor".into(), json!(c));
        }
        Value::Object(body)
    }
}

/// The SearchRequest message URN.
///
/// ```
/// assert!(scim_client::SEARCH_REQUEST.ends_with(":SearchRequest"));
/// ```
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// The ListResponse message URN.
///
/// ```
/// assert!(scim_client::LIST_RESPONSE.ends_with(":ListResponse"));
/// ```
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// A ListResponse (RFC 7644 §3.4.2), with RFC 9865's `nextCursor`/`previousCursor`.
///
/// ```
/// let page: scim_client::ListResponse<serde_json::Value> = serde_json::from_value(serde_json::json!({
///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
///     "totalResults": 1, "Resources": [{"id": "1"}], "startIndex": 1, "itemsPerPage": 1
/// }))?;
/// assert_eq!(page.resources.len(), 1);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ListResponse<T> {
    /// `totalResults`.
    #[serde(default)]
    pub total_results: u64,
    /// `Resources` (absent when there are none).
    #[serde(rename = "Resources", default = "Vec::new")]
    pub resources: Vec<T>,
    /// `startIndex`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_index: Option<u64>,
    /// `itemsPerPage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_per_page: Option<u64>,
    /// `nextCursor` (RFC 9865).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// `previousCursor` (RFC 9865).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_cursor: Option<String>,
}
