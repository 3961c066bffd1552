//! The `waitroom-gate` binary, as an operator runs it.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use waitroom::wire::{StatusReply, STATUS_PATH};

fn gate() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_waitroom-gate"));
    command.env_remove("WAITROOM_SECRET").env("RUST_LOG", "warn").kill_on_drop(true);
    command
}

#[tokio::test]
async fn the_binary_prints_its_url_on_port_zero_and_answers() {
    let mut child = gate()
        .args(["--listen", "127.0.0.1:0", "--admit-per-minute", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the gate printed nothing in 30 s")
        .unwrap()
        .expect("the gate closed its stdout");
    let url =
        line.strip_prefix("listening on ").unwrap_or_else(|| panic!("unexpected line {line:?}"));
    assert!(url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"), "{url}");

    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let response = client.get(format!("{url}{STATUS_PATH}")).send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert!(matches!(response.json().await.unwrap(), StatusReply::Admitted(_)));
    child.kill().await.unwrap();
}

#[tokio::test]
async fn a_short_secret_is_refused_with_a_clear_message() {
    let output = gate()
        .args(["--listen", "127.0.0.1:0"])
        .env("WAITROOM_SECRET", "too short")
        .output()
        .await
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("WAITROOM_SECRET") && stderr.contains("at least 32"), "{stderr}");
}

#[tokio::test]
async fn demo_mode_serves_the_login_page_with_a_crowd_ahead() {
    let mut child = gate()
        .args(["--demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_line = async || {
        tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("the gate printed nothing in 30 s")
            .unwrap()
            .expect("the gate closed its stdout")
    };
    let line = next_line().await;
    let url = line.strip_prefix("listening on ").unwrap().to_string();
    let hint = next_line().await;
    assert!(hint.starts_with(&format!("demo: open {url}/")), "{hint}");

    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let page = client.get(format!("{url}/")).send().await.unwrap();
    assert_eq!(page.status(), reqwest::StatusCode::OK);
    assert!(page.headers().contains_key("content-security-policy"));
    assert!(page.text().await.unwrap().contains("login-form"));
    let status = client.get(format!("{url}{STATUS_PATH}")).send().await.unwrap();
    let StatusReply::Queued(queued) = status.json().await.unwrap() else {
        panic!("the crowd should be ahead");
    };
    assert!(queued.position > 20, "position {}", queued.position);
    child.kill().await.unwrap();
}
