//! Prometheus metrics (`GET /metrics`, when `METRICS_ENABLED` is set): requests by route template,
//! method and status class with their latency; the database pool; the access-log writer's queue,
//! groups and commits; the change feed's head, the webhook backlog and running imports (read from
//! the database when scraped); and the build. No label ever holds an id, a path a client sent, or
//! personal data: routes are their templates (`/api/v1/plans/{plan_id}`).

use std::sync::OnceLock;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Whether `GET /metrics` answers (`METRICS_ENABLED`).
#[derive(Debug, Clone, Copy)]
pub struct MetricsEnabled(pub bool);

static RECORDING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Starts recording: with metrics off (the default) nothing is observed, so they cost nothing.
pub fn start_recording() {
    RECORDING.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether metrics are being recorded.
pub fn recording() -> bool {
    RECORDING.load(std::sync::atomic::Ordering::Relaxed)
}

/// The service's metrics, registered once.
pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub request_seconds: HistogramVec,
    pub access_log_queue: IntGauge,
    pub access_log_group: Histogram,
    pub access_log_commit_seconds: Histogram,
    /// SQLite: the requests' writes committed together by one group commit (`db::group`).
    pub write_group: Histogram,
    pub db_checkout_seconds: Histogram,
    /// Read from the database and the pool when scraped.
    pub gauges: IntGaugeVec,
    /// Held from setting the state gauges to rendering them, so that each scrape shows its own
    /// reading: processes hosting several services (the tests) would otherwise mix them.
    scrape: std::sync::Mutex<()>,
}

/// The metrics of this process.
pub fn metrics() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| Metrics::new().expect("the metrics register"))
}

const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

impl Metrics {
    fn new() -> prometheus::Result<Metrics> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "sip_http_requests_total",
                "Requests answered, by route template, method and status class",
            ),
            &["route", "method", "status"],
        )?;
        let request_seconds = HistogramVec::new(
            HistogramOpts::new(
                "sip_http_request_duration_seconds",
                "Time to answer a request, by route template and method",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route", "method"],
        )?;
        let access_log_queue = IntGauge::new(
            "sip_access_log_queue",
            "Reads waiting for the access-log writer to commit their records",
        )?;
        let access_log_group = Histogram::with_opts(
            HistogramOpts::new(
                "sip_access_log_group_records",
                "Access records stored by one commit of the access-log writer",
            )
            .buckets(vec![
                1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0,
            ]),
        )?;
        let access_log_commit_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "sip_access_log_commit_seconds",
                "Time of one commit of the access-log writer",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
        )?;
        let write_group = Histogram::with_opts(
            HistogramOpts::new(
                "sip_sqlite_write_group_writes",
                "SQLite: requests' writes committed together by one commit (group commit)",
            )
            .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]),
        )?;
        let db_checkout_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "sip_db_pool_wait_seconds",
                "Time a request waited for a database connection",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
        )?;
        let gauges = IntGaugeVec::new(
            Opts::new("sip_state", "The service's state when scraped (see `name`)"),
            &["name"],
        )?;
        let build = IntGaugeVec::new(
            Opts::new("sip_build_info", "The running build"),
            &["version"],
        )?;
        build.with_label_values(&[env!("CARGO_PKG_VERSION")]).set(1);
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(request_seconds.clone()),
            Box::new(access_log_queue.clone()),
            Box::new(access_log_group.clone()),
            Box::new(access_log_commit_seconds.clone()),
            Box::new(write_group.clone()),
            Box::new(db_checkout_seconds.clone()),
            Box::new(gauges.clone()),
            Box::new(build),
        ] {
            registry.register(collector)?;
        }
        Ok(Metrics {
            registry,
            requests,
            request_seconds,
            access_log_queue,
            access_log_group,
            access_log_commit_seconds,
            write_group,
            db_checkout_seconds,
            gauges,
            scrape: std::sync::Mutex::new(()),
        })
    }

    /// One answered request: `route` is the matched route's template, never the path sent.
    pub fn observe_request(&self, route: &str, method: &str, status: u16, seconds: f64) {
        if !recording() {
            return;
        }
        let class = match status {
            100..=199 => "1xx",
            200..=299 => "2xx",
            300..=399 => "3xx",
            400..=499 => "4xx",
            _ => "5xx",
        };
        self.requests
            .with_label_values(&[route, method, class])
            .inc();
        self.request_seconds
            .with_label_values(&[route, method])
            .observe(seconds);
    }

    /// Sets a state gauge (`sip_state{name=…}`).
    pub fn set(&self, name: &str, value: i64) {
        self.gauges.with_label_values(&[name]).set(value);
    }

    /// The text exposition format with the state gauges set to `state`, read for this scrape.
    pub fn render_with_state(&self, state: &[(&str, i64)]) -> String {
        let _scrape = self
            .scrape
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for (name, value) in state {
            self.set(name, *value);
        }
        self.render()
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::Metrics;

    /// Two services in one process (the test binary runs many) share the state gauges: each
    /// scrape must render the reading it set, never one set by another scrape in between.
    #[test]
    fn concurrent_scrapes_each_render_their_own_state() {
        let metrics = Metrics::new().unwrap();
        std::thread::scope(|threads| {
            for service in 1..=4_i64 {
                let metrics = &metrics;
                threads.spawn(move || {
                    let own = format!("sip_state{{name=\"feed_head_position\"}} {service}\n");
                    for _ in 0..500 {
                        let text = metrics.render_with_state(&[("feed_head_position", service)]);
                        assert!(text.contains(&own), "a scrape rendered another's reading");
                    }
                });
            }
        });
    }
}
