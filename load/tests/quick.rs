//! A short run against the in-process gate: the whole path, real sockets, a few seconds.

use std::time::Duration;

use waitroom_load::{run, Options};

/// 100 users in 0.2 s against 50 admissions per second and a burst of 25: three quarters of them
/// are queued and told when to come back, and the server-guided return gets them in with about
/// two requests each (1.94 when written), never the F5 storm of a plain quota page.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_stampede_is_admitted_with_few_requests_each() {
    let options = Options {
        users: 100,
        arrival_window: Duration::from_millis(200),
        admit_per_minute: 3000.0,
        burst: Some(25.0),
        max_duration: Duration::from_secs(20),
        ..Options::default()
    };
    let report = run(&options).await.expect("the run starts");
    assert_eq!(report.admitted, 100, "{}", report.to_markdown());
    assert_eq!(report.errors, 0, "{}", report.to_markdown());
    assert!(report.responses_503 > 0, "nobody was queued: the test proves nothing");
    assert!(report.requests_per_admitted <= 3.0, "{}", report.to_markdown());
    assert!(report.wall_s < 10.0, "{}", report.to_markdown());
}

#[tokio::test]
async fn a_rate_the_gate_would_panic_on_is_refused() {
    let options = Options { admit_per_minute: 0.0, ..Options::default() };
    let error = run(&options).await.unwrap_err();
    assert!(error.to_string().contains("admit-per-minute"), "{error}");
}
