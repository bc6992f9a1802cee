//! What `/metrics` shows, in the Prometheus text format (`prometheus-client`): requests by
//! endpoint, method and status, request and store-call latencies, open connections, what
//! the connection layer refused, and the PostgreSQL store's read cache. Every label value comes from a small fixed set: an
//! endpoint is a name (`Users`, `Users/{id}`, `.search`, `Bulk`), never a raw path, so
//! neither an id nor a query value can reach a label.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Latency buckets, in seconds: 100 µs to 10 s (a cached GET takes tens of microseconds, a
/// write with a password hash tens of milliseconds, a refused slow query two seconds).
const LATENCY_BUCKETS: [f64; 16] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

type Latencies<L> = Family<L, Histogram, fn() -> Histogram>;

/// One request counted: which endpoint, which method, which status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    endpoint: Arc<str>,
    method: &'static str,
    status: u16,
}

/// One request timed: which endpoint, which method.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    endpoint: Arc<str>,
    method: &'static str,
}

/// One store call timed: which [`scim_core::Store`] method, and whether it failed.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct StoreLabels {
    operation: &'static str,
    outcome: &'static str,
}

/// The store-call latency family, shared with [`super::metered_store::MeteredStore`].
#[derive(Clone, Debug)]
pub(crate) struct StoreCalls(Latencies<StoreLabels>);

impl Default for StoreCalls {
    fn default() -> Self {
        StoreCalls(Family::new_with_constructor(latency_histogram))
    }
}

impl StoreCalls {
    /// Records one call of `operation` that took `elapsed`.
    pub(crate) fn observe(&self, operation: &'static str, ok: bool, elapsed: Duration) {
        let labels = StoreLabels {
            operation,
            outcome: if ok { "ok" } else { "error" },
        };
        self.0.get_or_create(&labels).observe(elapsed.as_secs_f64());
    }
}

/// The store's read cache (SQLite or PostgreSQL), read at each scrape.
#[derive(Debug)]
struct ReadCacheMetrics(scim_store_postgres::ReadCacheHandle);

impl Collector for ReadCacheMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let stats = self.0.stats();
        for (name, help, value) in [
            (
                "read_cache_hits",
                "GET /Users/{id} answered from the store's read cache",
                stats.hits,
            ),
            (
                "read_cache_misses",
                "GET /Users/{id} read from the database (not cached, or the cache off)",
                stats.misses,
            ),
            (
                "read_cache_fills",
                "Answers kept in the read cache after a miss",
                stats.fills,
            ),
        ] {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        for (name, help, value) in [
            (
                "read_cache_entries",
                "Answers the read cache holds",
                i64::try_from(stats.entries).unwrap_or(i64::MAX),
            ),
            (
                "read_cache_listening",
                "1 while the read cache hears of every change (PostgreSQL: its connection listens; else it is off)",
                i64::from(self.0.is_live()),
            ),
        ] {
            let gauge = ConstGauge::new(value);
            gauge.encode(encoder.encode_descriptor(name, help, None, gauge.metric_type())?)?;
        }
        Ok(())
    }
}

/// Every metric `scim serve` keeps, and the registry `/metrics` encodes.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latencies: Latencies<LatencyLabels>,
    open_connections: Gauge,
    shed: Counter,
    refused: Counter,
    tls_failures: Counter,
    endpoints: Endpoints,
}

impl Metrics {
    /// Empty metrics for a service mounted at `base_path` whose resource types are served at
    /// `resource_endpoints` (`/Users`, `/Groups`, …), with the store's calls timed into
    /// `store_calls` and, if it has one, the store's read cache.
    pub(crate) fn new<'a>(
        base_path: &str,
        resource_endpoints: impl IntoIterator<Item = &'a str>,
        store_calls: StoreCalls,
        read_cache: Option<scim_store_postgres::ReadCacheHandle>,
    ) -> Metrics {
        let mut registry = Registry::with_prefix("scim");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "SCIM requests answered, by endpoint (a name, never a path with an id), method and status",
            requests.clone(),
        );
        let latencies: Latencies<LatencyLabels> = Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time from a SCIM request's head to its response, by endpoint and method",
            latencies.clone(),
        );
        registry.register(
            "store_call_duration_seconds",
            "Time of each call the engine makes to the store, by Store method and outcome",
            store_calls.0,
        );
        let open_connections = Gauge::default();
        registry.register(
            "open_connections",
            "Client connections open (TLS handshakes included)",
            open_connections.clone(),
        );
        let shed = Counter::default();
        registry.register(
            "connections_shed",
            "Connections closed at the connection cap to make room for a newcomer",
            shed.clone(),
        );
        let refused = Counter::default();
        registry.register(
            "connections_refused",
            "Newcomers answered 503 because every connection had a request in flight",
            refused.clone(),
        );
        let tls_failures = Counter::default();
        registry.register(
            "tls_handshake_failures",
            "TLS handshakes that failed, timed out, or met plain HTTP",
            tls_failures.clone(),
        );
        if let Some(cache) = read_cache {
            registry.register_collector(Box::new(ReadCacheMetrics(cache)));
        }
        Metrics {
            registry,
            requests,
            latencies,
            open_connections,
            shed,
            refused,
            tls_failures,
            endpoints: Endpoints::new(base_path, resource_endpoints),
        }
    }

    /// The endpoint label of a request path.
    pub(crate) fn endpoint(&self, path: &str) -> Arc<str> {
        self.endpoints.classify(path)
    }

    /// Counts and times one answered request.
    pub(crate) fn observe_request(
        &self,
        endpoint: Arc<str>,
        method: &http::Method,
        status: u16,
        elapsed: Duration,
    ) {
        let method = method_label(method);
        self.latencies
            .get_or_create(&LatencyLabels {
                endpoint: Arc::clone(&endpoint),
                method,
            })
            .observe(elapsed.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                endpoint,
                method,
                status,
            })
            .inc();
    }

    /// A connection opened; it counts as open until the guard is dropped.
    pub(crate) fn connection_opened(&self) -> OpenConnection {
        self.open_connections.inc();
        OpenConnection(self.open_connections.clone())
    }

    /// A waiting connection was shed at the cap.
    pub(crate) fn connection_shed(&self) {
        self.shed.inc();
    }

    /// A newcomer was refused (503) at the cap.
    pub(crate) fn connection_refused(&self) {
        self.refused.inc();
    }

    /// A TLS handshake failed (or met plain HTTP, or ran out of time).
    pub(crate) fn tls_failed(&self) {
        self.tls_failures.inc();
    }

    /// Everything, in the Prometheus text exposition format.
    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Keeps a connection counted in the open-connections gauge until dropped.
#[derive(Debug)]
pub(crate) struct OpenConnection(Gauge);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// The method label: one of the methods SCIM uses, or `other`.
fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::HEAD => "HEAD",
        http::Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// An endpoint the label names, with the labels of its forms.
#[derive(Debug)]
struct Known {
    /// The first path segment (compared ignoring case, as the engine finds resource types).
    segment: String,
    /// `/Users`.
    whole: Arc<str>,
    /// `/Users/{id}`, where the endpoint has items.
    item: Option<Arc<str>>,
    /// `/Users/.search`, where the endpoint can be searched.
    search: Option<Arc<str>>,
}

/// Turns request paths into endpoint labels (RFC 7644 §3.2's endpoints).
#[derive(Debug)]
struct Endpoints {
    base: String,
    known: Vec<Known>,
    other: Arc<str>,
}

impl Endpoints {
    fn new<'a>(base_path: &str, resource_endpoints: impl IntoIterator<Item = &'a str>) -> Self {
        let label = |s: String| -> Arc<str> { Arc::from(s) };
        let fixed = |name: &str, item: bool| Known {
            segment: name.to_owned(),
            whole: label(name.to_owned()),
            item: item.then(|| label(format!("{name}/{{id}}"))),
            search: None,
        };
        let mut known = vec![
            fixed("ServiceProviderConfig", false),
            fixed("Schemas", true),
            fixed("ResourceTypes", true),
            fixed("Bulk", false),
            fixed("Me", false),
            fixed(".search", false),
        ];
        for endpoint in resource_endpoints {
            let name = endpoint.trim_matches('/');
            if name.is_empty() || name.contains('/') {
                continue;
            }
            known.push(Known {
                segment: name.to_owned(),
                whole: label(name.to_owned()),
                item: Some(label(format!("{name}/{{id}}"))),
                search: Some(label(format!("{name}/.search"))),
            });
        }
        Endpoints {
            base: base_path.trim_end_matches('/').to_owned(),
            known,
            other: label("other".to_owned()),
        }
    }

    /// `/scim/v2/Users` → `Users`, `/scim/v2/Users/2819c223` → `Users/{id}`,
    /// `/scim/v2/Users/.search` → `Users/.search`; anything else → `other`.
    fn classify(&self, path: &str) -> Arc<str> {
        let Some(rest) = path.strip_prefix(self.base.as_str()) else {
            return Arc::clone(&self.other);
        };
        if !(rest.is_empty() || rest.starts_with('/')) {
            return Arc::clone(&self.other);
        }
        let mut segments = rest.trim_matches('/').split('/');
        let first = segments.next().unwrap_or_default();
        let (second, third) = (segments.next(), segments.next());
        let Some(known) = self
            .known
            .iter()
            .find(|k| k.segment.eq_ignore_ascii_case(first))
        else {
            return Arc::clone(&self.other);
        };
        let label = match (second, third) {
            (None, _) => Some(&known.whole),
            (Some(".search"), None) if known.search.is_some() => known.search.as_ref(),
            (Some(_), None) => known.item.as_ref(),
            (Some(_), Some(_)) => None,
        };
        Arc::clone(label.unwrap_or(&self.other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_names_never_paths() {
        let e = Endpoints::new("/scim/v2/", ["/Users", "/Groups"]);
        let c = |p: &str| e.classify(p).to_string();
        assert_eq!(c("/scim/v2/Users"), "Users");
        assert_eq!(c("/scim/v2/users/"), "Users");
        assert_eq!(c("/scim/v2/Users/2819c223-7f76"), "Users/{id}");
        assert_eq!(c("/scim/v2/Users/.search"), "Users/.search");
        assert_eq!(c("/scim/v2/Groups/abc"), "Groups/{id}");
        assert_eq!(c("/scim/v2/.search"), ".search");
        assert_eq!(c("/scim/v2/Bulk"), "Bulk");
        assert_eq!(c("/scim/v2/ServiceProviderConfig"), "ServiceProviderConfig");
        assert_eq!(
            c("/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"),
            "Schemas/{id}"
        );
        assert_eq!(c("/scim/v2/Bulk/x"), "other");
        assert_eq!(c("/scim/v2/Users/a/b"), "other");
        assert_eq!(c("/scim/v2/secret-guess"), "other");
        assert_eq!(c("/scim/v2x/Users"), "other");
        assert_eq!(c("/elsewhere"), "other");
        assert_eq!(c("/scim/v2"), "other");
    }

    #[test]
    fn the_text_format_carries_the_labels() {
        let calls = StoreCalls::default();
        let m = Metrics::new("/scim/v2", ["/Users"], calls.clone(), None);
        let endpoint = m.endpoint("/scim/v2/Users/2819c223-7f76-453a");
        m.observe_request(endpoint, &http::Method::GET, 404, Duration::from_micros(50));
        calls.observe("get", true, Duration::from_micros(20));
        let guard = m.connection_opened();
        let text = m.encode();
        assert!(
            text.contains(
                r#"scim_http_requests_total{endpoint="Users/{id}",method="GET",status="404"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"scim_store_call_duration_seconds_count{operation="get",outcome="ok"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains("scim_open_connections 1"), "{text}");
        assert!(!text.contains("2819c223"), "{text}");
        drop(guard);
        assert!(m.encode().contains("scim_open_connections 0"));
    }
}
