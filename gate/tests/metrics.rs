//! `GET /metrics` scraped over HTTP and parsed back with `prometheus-parse` (prometheus-client
//! writes the exposition but has no parser): every documented metric is there, with the values
//! the requests made.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use prometheus_parse::{Scrape, Value};
use reqwest::header::AUTHORIZATION;
use waitroom::time::Timestamp;
use waitroom::wire::{StatusReply, STATUS_PATH};
use waitroom_gate::admin::AdminToken;
use waitroom_gate::server::{serve, serve_with_metrics, GateConfig};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const TOKEN: &str = "ops-token-0123456789abcdef";

fn config() -> GateConfig {
    let clock = Arc::new(AtomicU64::new(1_700_000_000_000));
    let mut config = GateConfig::new(SECRET.to_vec());
    config.admit_per_minute = 60.0;
    config.burst = Some(1.0);
    config.clock = Arc::new(move || Timestamp::from_millis(clock.load(Ordering::SeqCst)));
    config.admin_tokens = vec![AdminToken::new("ops", TOKEN.as_bytes()).unwrap()];
    config
}

async fn scrape(http: &reqwest::Client, url: &str) -> Scrape {
    let response = http.get(format!("{url}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("application/openmetrics-text"), "{content_type}");
    let text = response.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    Scrape::parse(text.lines().map(|line| Ok(line.to_string()))).unwrap()
}

/// Each sample's value, keyed by `name{label=value,…}` (labels sorted, `le` left out).
fn values(scrape: &Scrape) -> HashMap<String, f64> {
    scrape
        .samples
        .iter()
        .map(|sample| {
            let mut labels: Vec<String> =
                sample.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            labels.sort();
            let key = if labels.is_empty() {
                sample.metric.clone()
            } else {
                format!("{}{{{}}}", sample.metric, labels.join(","))
            };
            let value = match &sample.value {
                Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => *v,
                Value::Histogram(buckets) => buckets.iter().map(|b| b.count).fold(0.0, f64::max),
                Value::Summary(_) => f64::NAN,
            };
            (key, value)
        })
        .collect()
}

#[tokio::test]
async fn a_scrape_parses_back_with_every_metric_and_the_counts_of_the_requests_made() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(serve(listener, config()));
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    // One admitted, three queued (each a new browser), one bad request, one robot.
    for k in 0..4 {
        let reply: StatusReply =
            http.get(format!("{url}{STATUS_PATH}")).send().await.unwrap().json().await.unwrap();
        assert_eq!(matches!(reply, StatusReply::Admitted(_)), k == 0);
    }
    let bad = http.get(format!("{url}{STATUS_PATH}?ticket=a&ticket=b")).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let robot = http
        .get(format!("{url}{STATUS_PATH}"))
        .header("user-agent", "Googlebot/2.1")
        .send()
        .await
        .unwrap();
    assert_eq!(robot.status(), 503);
    // Closed by the operator, at 30 per minute: a closed reply.
    for (method, path, body) in [
        (reqwest::Method::PUT, "rate", r#"{"admit_per_minute": 30}"#),
        (reqwest::Method::POST, "close", r#"{"message": "Fermé"}"#),
    ] {
        let response = http
            .request(method, format!("{url}/waitroom/admin/{path}"))
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    http.get(format!("{url}{STATUS_PATH}")).send().await.unwrap();

    let scrape = scrape(&http, &url).await;
    let values = values(&scrape);
    let expected = [
        ("waitroom_queue_length", 3.0),
        ("waitroom_admit_per_minute", 30.0),
        ("waitroom_closed", 1.0),
        ("waitroom_admitted_total", 1.0),
        ("waitroom_joined_total", 3.0),
        ("waitroom_no_show_total", 0.0),
        ("waitroom_requests_total{outcome=admitted}", 1.0),
        ("waitroom_requests_total{outcome=queued}", 3.0),
        ("waitroom_requests_total{outcome=closed}", 1.0),
        ("waitroom_requests_total{outcome=refused}", 1.0),
        ("waitroom_requests_total{outcome=error}", 1.0),
        ("waitroom_status_latency_seconds_count", 7.0),
    ];
    for (key, value) in expected {
        assert_eq!(values.get(key), Some(&value), "{key} in {values:#?}");
    }
    assert!(values.contains_key("waitroom_no_show_rate"));
    assert!(values.contains_key("waitroom_last_in_line_eta_seconds"));
    // The histogram's buckets: 7 requests, all under a second.
    let buckets = scrape
        .samples
        .iter()
        .find_map(|s| match &s.value {
            Value::Histogram(b) if s.metric == "waitroom_status_latency_seconds" => Some(b.clone()),
            _ => None,
        })
        .expect("the latency histogram");
    let under_a_second = buckets.iter().filter(|b| b.less_than >= 1.0).map(|b| b.count);
    assert!(under_a_second.clone().count() > 0);
    assert!(under_a_second.into_iter().all(|count| count == 7.0), "{buckets:?}");
    // Help texts are there for Prometheus.
    assert!(scrape.docs.contains_key("waitroom_queue_length"));
}

#[tokio::test]
async fn metrics_listen_moves_the_metrics_off_the_public_address() {
    let public = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let private = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public_url = format!("http://{}", public.local_addr().unwrap());
    let private_url = format!("http://{}", private.local_addr().unwrap());
    tokio::spawn(serve_with_metrics(public, Some(private), config()));
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    http.get(format!("{public_url}{STATUS_PATH}")).send().await.unwrap();
    let on_public = http.get(format!("{public_url}/metrics")).send().await.unwrap();
    assert_eq!(on_public.status(), 404);
    let values = values(&scrape(&http, &private_url).await);
    assert_eq!(values.get("waitroom_requests_total{outcome=admitted}"), Some(&1.0));
    // Only the metrics there.
    let status = http.get(format!("{private_url}{STATUS_PATH}")).send().await.unwrap();
    assert_eq!(status.status(), 404);
}
