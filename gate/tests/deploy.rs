//! `docs/deploy.md` is true: its flag table matches `waitroom-gate --help`, its systemd unit's
//! environment starts the real binary as described, and its Prometheus target is the unit's
//! metrics address.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use waitroom::wire::STATUS_PATH;

const DEPLOY: &str = include_str!("../../docs/deploy.md");

/// The fenced block of `lang` in `DEPLOY` (the first).
fn block(lang: &str) -> &'static str {
    let start = DEPLOY.find(&format!("```{lang}\n")).unwrap() + lang.len() + 4;
    let end = start + DEPLOY[start..].find("```").unwrap();
    &DEPLOY[start..end]
}

/// The unit's `Environment=` variables, in order.
fn unit_environment() -> Vec<(String, String)> {
    block("ini")
        .lines()
        .filter_map(|line| line.strip_prefix("Environment="))
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap();
            (key.to_string(), value.to_string())
        })
        .collect()
}

#[test]
fn every_flag_of_the_binary_is_in_the_table_with_its_variable_and_nothing_else() {
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_waitroom-gate"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    let mut flags = BTreeSet::new();
    let mut current = None;
    let mut pairs = BTreeSet::new();
    for line in help.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("--") {
            let flag = rest.split([' ', '<']).next().unwrap().to_string();
            if flag != "help" && flag != "version" {
                flags.insert(flag.clone());
                current = Some(flag);
            }
        } else if let Some((_, rest)) = line.split_once("[env: ") {
            let variable = rest.split(['=', ']']).next().unwrap().to_string();
            pairs.insert((current.clone().expect("an env before any flag"), variable));
        }
    }
    assert!(flags.len() >= 19, "{flags:?}");
    // Every flag has its variable.
    let with_env: BTreeSet<_> = pairs.iter().map(|(flag, _)| flag.clone()).collect();
    assert_eq!(with_env, flags, "flags without a WAITROOM_ variable");
    let table: BTreeSet<(String, String)> = DEPLOY
        .lines()
        .filter(|line| line.starts_with("| `--"))
        .map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let flag = cells[1].trim_matches('`').trim_start_matches("--");
            let flag = flag.split([' ', '`']).next().unwrap().to_string();
            (flag, cells[2].trim_matches('`').to_string())
        })
        .collect();
    assert_eq!(table, pairs, "docs/deploy.md's flag table and --help differ");
}

#[test]
fn the_prometheus_target_is_the_units_metrics_address() {
    let metrics =
        unit_environment().into_iter().find(|(key, _)| key == "WAITROOM_METRICS_LISTEN").unwrap().1;
    assert!(block("yaml").contains(&format!("targets: [\"{metrics}\"]")), "{metrics}");
}

#[tokio::test]
async fn the_systemd_units_environment_starts_the_gate_as_described() {
    let credentials =
        std::env::temp_dir().join(format!("waitroom-credentials-{}", std::process::id()));
    std::fs::create_dir_all(&credentials).unwrap();
    std::fs::write(credentials.join("secret"), "0123456789abcdef0123456789abcdef\n").unwrap();
    let token = "unit-admin-token-0123456789";
    std::fs::write(credentials.join("admin-token"), format!("{token}\n")).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_waitroom-gate"));
    command.env_clear().kill_on_drop(true).stdout(Stdio::piped()).stderr(Stdio::piped());
    for (key, value) in unit_environment() {
        let value = match key.as_str() {
            "WAITROOM_LISTEN" | "WAITROOM_METRICS_LISTEN" => "127.0.0.1:0".to_string(),
            _ => value.replace("%d", credentials.to_str().unwrap()),
        };
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_line = async || {
        tokio::time::timeout(Duration::from_secs(30), stdout.next_line())
            .await
            .expect("the gate printed nothing in 30 s")
            .unwrap()
            .expect("the gate closed its stdout")
    };
    let url = next_line().await.strip_prefix("listening on ").unwrap().to_string();
    let metrics = next_line().await.strip_prefix("metrics on ").unwrap().to_string();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    // Behind nginx: the client's address and scheme come from its headers, cookies are Secure.
    let status = http
        .get(format!("{url}{STATUS_PATH}"))
        .header("x-real-ip", "192.0.2.7")
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 200);
    let cookie = status.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.contains("Secure"), "{cookie}");
    assert_eq!(http.get(format!("{url}/metrics")).send().await.unwrap().status(), 404);
    let text = http.get(&metrics).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("waitroom_admit_per_minute 600.0"), "{text}");
    let state: serde_json::Value = http
        .get(format!("{url}/waitroom/admin/state"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(state["admit_per_minute"], 600.0);
    let closed = http
        .post(format!("{url}/waitroom/admin/close"))
        .bearer_auth(token)
        .json(&serde_json::json!({"message": "Fermé"}))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), 200);
    child.kill().await.unwrap();
    // The change was logged with the unit's label.
    let mut stderr = String::new();
    tokio::io::AsyncReadExt::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr)
        .await
        .unwrap();
    let logged = stderr.lines().find(|line| line.contains("admin: gate closed")).expect(&stderr);
    assert!(logged.contains("\"astreinte\"") && logged.contains("\"close\""), "{logged}");
    let _ = std::fs::remove_dir_all(&credentials);
}
