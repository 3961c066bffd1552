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
    // The operator's side: the console's URL and a token drawn for this run, which works.
    let console = next_line().await;
    let prefix = format!("demo: the operator's console is {url}/waitroom/ops (token ");
    let token = console
        .strip_prefix(&prefix)
        .and_then(|rest| rest.split(')').next())
        .expect(&console)
        .to_string();
    assert_eq!(token.len(), 32, "{console}");

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
    let state =
        client.get(format!("{url}/waitroom/admin/state")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(state.status(), reqwest::StatusCode::OK);
    let console = client.get(format!("{url}/waitroom/ops")).send().await.unwrap();
    let csp = console.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    child.kill().await.unwrap();
}

/// Starts the binary with `configure`d arguments and environment; returns it and its URL.
async fn start_gate(configure: impl FnOnce(&mut Command)) -> (tokio::process::Child, String) {
    let mut command = gate();
    command.args(["--listen", "127.0.0.1:0"]).stdout(Stdio::piped()).stderr(Stdio::null());
    configure(&mut command);
    let mut child = command.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the gate printed nothing in 30 s")
        .unwrap()
        .expect("the gate closed its stdout");
    let url = line.strip_prefix("listening on ").unwrap().to_string();
    (child, url)
}

#[tokio::test]
async fn the_same_secret_gives_the_same_key_from_the_variable_or_the_file() {
    let secret = "correct-horse-battery-staple-0123456789";
    let file = std::env::temp_dir().join(format!("waitroom-secret-{}", std::process::id()));
    std::fs::write(&file, format!("{secret}\n")).unwrap();
    // A variable with the white space a shell or an env file adds, a file with an editor's newline.
    let (mut by_env, env_url) = start_gate(|c| {
        c.env("WAITROOM_SECRET", format!(" {secret}\n"));
    })
    .await;
    let (mut by_file, file_url) = start_gate(|c| {
        c.arg("--secret-file").arg(&file);
    })
    .await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let reply = client.get(format!("{env_url}{STATUS_PATH}")).send().await.unwrap();
    // The pass is bound to the browser's identifier cookie: the login handler sends it along.
    let browser = reply
        .headers()
        .get_all("set-cookie")
        .iter()
        .find_map(|c| c.to_str().unwrap().strip_prefix("waitroom_id="))
        .and_then(|c| c.split(';').next())
        .unwrap()
        .to_string();
    let StatusReply::Admitted(admitted) = reply.json().await.unwrap() else { panic!() };
    let verdict: serde_json::Value = client
        .post(format!("{file_url}{}", waitroom::wire::VERIFY_PATH))
        .header("content-type", "application/json")
        .body(serde_json::json!({ "pass": admitted.pass, "browser": browser }).to_string())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(verdict["valid"], true, "{verdict}");
    by_env.kill().await.unwrap();
    by_file.kill().await.unwrap();
    let _ = std::fs::remove_file(file);
}

#[tokio::test]
async fn out_of_range_operator_values_are_refused_naming_the_flag() {
    for (flag, value) in [
        ("--grace-seconds", "18446744073709551615"),
        ("--grace-seconds", "0"),
        ("--pass-ttl-seconds", "99999999999"),
        ("--admit-per-minute", "1e-300"),
        ("--admit-per-minute", "NaN"),
        ("--admit-per-minute", "inf"),
        ("--burst", "0.5"),
        ("--burst", "1e300"),
        ("--expected-no-show", "0.95"),
        ("--max-connections", "0"),
        ("--max-queue", "0"),
        ("--max-per-address", "0"),
        ("--client-address-header", "not a header"),
        ("--max-queue", "20000000"),
        ("--proof-of-work-floor", "0"),
        ("--proof-of-work", "sometimes"),
    ] {
        let output = gate()
            .args(["--listen", "127.0.0.1:0", flag, value])
            .env("WAITROOM_SECRET", "0123456789abcdef0123456789abcdef")
            .output()
            .await
            .unwrap();
        assert!(!output.status.success(), "{flag} {value} was accepted");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(flag), "{flag} {value}: {stderr}");
    }
}

#[tokio::test]
async fn a_gate_without_a_secret_says_first_that_places_and_passes_will_not_survive_a_restart() {
    let mut child = gate()
        .args(["--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("the gate logged nothing in 30 s")
        .unwrap()
        .expect("the gate closed its stderr");
    assert!(first.contains("WARN"), "{first}");
    assert!(first.contains("random secret"), "{first}");
    assert!(first.contains("places in the queue and passes will not survive a restart"), "{first}");
    child.kill().await.unwrap();
}

/// Behind a proxy that the operator forgot to name, every pupil shares the proxy's address and
/// the per-address cap caps the whole portal: the gate says so, once, and not when told.
#[tokio::test]
async fn a_proxy_header_without_client_address_header_is_warned_about_once() {
    for trusted in [false, true] {
        let (mut child, url) = start_gate(|c| {
            c.stderr(Stdio::piped());
            if trusted {
                c.args(["--client-address-header", "X-Real-IP"]);
            }
        })
        .await;
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        for header in ["x-forwarded-for", "x-real-ip", "x-forwarded-for"] {
            let reply = client
                .get(format!("{url}{STATUS_PATH}"))
                .header(header, "203.0.113.7")
                .send()
                .await
                .unwrap();
            assert!(reply.status().is_success() || reply.status().is_server_error());
        }
        child.kill().await.unwrap();
        let mut stderr = String::new();
        tokio::io::AsyncReadExt::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr)
            .await
            .unwrap();
        let warnings = stderr.matches("--client-address-header is not set").count();
        assert_eq!(warnings, if trusted { 0 } else { 1 }, "trusted: {trusted}\n{stderr}");
    }
}
