//! `--demo` over real HTTP on 127.0.0.1: the page, its CSP, the login handler and the crowd.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::cookie::{CookieStore as _, Jar};
use reqwest::header::{CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE};
use reqwest::StatusCode;
use waitroom::config::Config;
use waitroom::machine::{Action, Machine};
use waitroom::time::Timestamp;
use waitroom::wire::{StatusReply, STATUS_PATH, TICKET_PARAM};
use waitroom_gate::demo::{self, CrowdConfig, CSP, LOGIN_PATH};
use waitroom_gate::server::{GateConfig, GateState};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const T0: u64 = 1_700_000_000_000;

struct Demo {
    url: String,
    clock: Arc<AtomicU64>,
    /// The pupil's browser, which keeps the gate's cookies in `jar`.
    client: reqwest::Client,
    jar: Arc<Jar>,
}

/// The demo app without its crowd, on a fake clock, serving the repository's `www/`.
async fn start() -> Demo {
    let clock = Arc::new(AtomicU64::new(T0));
    let hand = clock.clone();
    let mut config = GateConfig::new(SECRET.to_vec());
    config.clock = Arc::new(move || Timestamp::from_millis(hand.load(Ordering::SeqCst)));
    config.www = Some(concat!(env!("CARGO_MANIFEST_DIR"), "/../www").into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let app = demo::app(GateState::new(config));
    tokio::spawn(async move { axum::serve(listener, app).await });
    let jar = Arc::new(Jar::default());
    let client =
        reqwest::Client::builder().no_proxy().cookie_provider(jar.clone()).build().unwrap();
    Demo { url, clock, client, jar }
}

impl Demo {
    async fn status(&self, ticket: Option<&str>) -> StatusReply {
        let query = ticket.map(|t| format!("?{TICKET_PARAM}={t}")).unwrap_or_default();
        let url = format!("{}{STATUS_PATH}{query}", self.url);
        self.client.get(url).send().await.unwrap().json().await.unwrap()
    }

    /// A pass, from the gate itself (its queue is empty: the first visitor is let in).
    async fn pass(&self) -> String {
        match self.status(None).await {
            StatusReply::Admitted(admitted) => admitted.pass,
            other => panic!("expected admitted, got {other:?}"),
        }
    }

    /// The browser's `waitroom_id`, which its passes are bound to.
    fn browser_id(&self) -> String {
        let cookies = self.jar.cookies(&self.url.parse().unwrap()).unwrap();
        let cookies = cookies.to_str().unwrap();
        cookies.split("; ").find_map(|c| c.strip_prefix("waitroom_id=")).unwrap().to_string()
    }

    /// Posts the login form from the pupil's browser, or with `cookie` as the only cookies
    /// (another browser); returns the status and the page.
    async fn login(&self, form: &[(&str, &str)], cookie: Option<&str>) -> (StatusCode, String) {
        let client = match cookie {
            Some(_) => reqwest::Client::builder().no_proxy().build().unwrap(),
            None => self.client.clone(),
        };
        let mut request = client
            .post(format!("{}{LOGIN_PATH}", self.url))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(encode(form));
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        assert_eq!(response.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(response.headers()[CONTENT_SECURITY_POLICY], CSP);
        (status, response.text().await.unwrap())
    }
}

/// `application/x-www-form-urlencoded`, as a browser sends it.
fn encode(form: &[(&str, &str)]) -> String {
    let escape = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                    (b as char).to_string()
                }
                b' ' => "+".to_string(),
                b => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    form.iter().map(|(k, v)| format!("{}={}", escape(k), escape(v))).collect::<Vec<_>>().join("&")
}

#[tokio::test]
async fn the_login_page_is_served_with_the_strict_csp_and_the_widget_tag() {
    let demo = start().await;
    let response = demo.client.get(format!("{}/", demo.url)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[CONTENT_SECURITY_POLICY], CSP);
    let page = response.text().await.unwrap();
    for expected in [
        r#"<html lang="fr">"#,
        r#"<link rel="icon" href="data:,">"#,
        r#"<link rel="stylesheet" href="/demo.css">"#,
        r#"<form id="login-form" method="post" action="/demo/login">"#,
        r##"<script src="/waitroom.js" defer data-gate="/waitroom/status" data-guard="#login-form" data-pass-field="waitroom_pass"></script>"##,
        "Se connecter",
    ] {
        assert!(page.contains(expected), "the page lacks {expected}");
    }
    // Nothing the CSP would block: no inline style, no inline script, no event handler.
    assert!(!page.contains("style="), "inline style");
    assert!(!page.contains("<style"), "inline style sheet");
    assert_eq!(page.matches("<script").count(), 1, "only the widget's tag");
    assert!(!page.contains(" on"), "inline event handler");
    let css = demo.client.get(format!("{}/demo.css", demo.url)).send().await.unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert_eq!(css.headers()[CONTENT_TYPE], "text/css");
}

#[tokio::test]
async fn login_with_a_real_pass_welcomes_the_user_by_name_escaped() {
    let demo = start().await;
    let pass = demo.pass().await;
    let form = [
        ("identifiant", "<b>Zoé</b> & co"),
        ("mot_de_passe", "secret"),
        ("waitroom_pass", pass.as_str()),
    ];
    let (status, page) = demo.login(&form, None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        page.contains("Bienvenue, &lt;b&gt;Zoé&lt;/b&gt; &amp; co ! Vous êtes connecté."),
        "{page}"
    );
    assert!(!page.contains("<b>Zoé"));
}

#[tokio::test]
async fn the_pass_cookie_alone_also_lets_the_user_in() {
    let demo = start().await;
    let pass = demo.pass().await;
    let cookie = format!("theme=dark; waitroom_pass={pass}; waitroom_id={}", demo.browser_id());
    let form = [("identifiant", "lea"), ("mot_de_passe", "x"), ("waitroom_pass", "")];
    let (status, page) = demo.login(&form, Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("Bienvenue, lea !"), "{page}");
}

#[tokio::test]
async fn a_pass_copied_into_another_browser_does_not_log_in() {
    let demo = start().await;
    let pass = demo.pass().await;
    let form = [("identifiant", "lea"), ("mot_de_passe", "x"), ("waitroom_pass", pass.as_str())];
    for cookie in ["theme=dark", "waitroom_id=AAAAAAAAAAAAAAAAAAAAAA"] {
        let (status, page) = demo.login(&form, Some(cookie)).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{cookie}");
        assert!(page.contains("pas valide"), "{page}");
    }
}

#[tokio::test]
async fn login_without_a_valid_pass_is_refused_in_french_with_a_way_back() {
    let demo = start().await;
    let pass = demo.pass().await;
    let mut tampered = pass.clone().into_bytes();
    let i = tampered.len() - 5;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();

    // A browser that never queued.
    let (status, page) = demo.login(&[("identifiant", "lea")], Some("theme=dark")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(page.contains("Il manque le laissez-passer"), "{page}");
    assert!(page.contains(r#"<a href="/">Retour à la page de connexion</a>"#));

    for bad in [tampered.as_str(), "p1.garbage"] {
        let (status, page) =
            demo.login(&[("identifiant", "lea"), ("waitroom_pass", bad)], None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{bad}");
        assert!(page.contains("n’est pas valide ou a expiré"), "{page}");
    }

    // The real pass, once it has run out (300 s).
    demo.clock.fetch_add(300_000, Ordering::SeqCst);
    let (status, _) = demo.login(&[("identifiant", "lea"), ("waitroom_pass", &pass)], None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// A visitor's browser: the core's state machine against the demo's gate, in-process.
/// Returns the positions it was told, and when it was admitted.
async fn visitor(state: Arc<GateState>) -> (Vec<u64>, Timestamp) {
    let mut machine = Machine::new(&Config::for_gate(STATUS_PATH), 99);
    machine.handle_start(state.now(), None);
    let mut positions = Vec::new();
    loop {
        while let Some(action) = machine.poll_action() {
            match action {
                Action::Send { ticket, .. } => {
                    let now = state.now();
                    let answer = state.answer(now, ticket.as_deref());
                    if let StatusReply::Queued(queued) = &answer.body {
                        positions.push(queued.position);
                    }
                    machine.handle_reply(now, answer.into_reply());
                }
                Action::Admit { .. } => return (positions, state.now()),
                other => assert!(matches!(other, Action::Persist(_) | Action::Render), "{other:?}"),
            }
        }
        let at = machine.poll_timeout().expect("a queued machine has a timer");
        tokio::time::sleep(at.saturating_duration_since(state.now())).await;
        machine.handle_timeout(state.now());
    }
}

#[tokio::test(start_paused = true)]
async fn a_visitor_behind_the_crowd_moves_up_and_is_admitted_in_about_a_minute() {
    // The demo's own settings, in tokio's virtual time: minutes run in milliseconds.
    let start = tokio::time::Instant::now();
    let mut config = GateConfig::new(SECRET.to_vec());
    config.admit_per_minute = demo::ADMIT_PER_MINUTE;
    config.clock =
        Arc::new(move || Timestamp::from_millis(T0 + start.elapsed().as_millis() as u64));
    let state = GateState::new(config);
    let crowd = CrowdConfig::for_rate(demo::ADMIT_PER_MINUTE).with_seed(7);
    let (low, target) = (crowd.low, crowd.target);
    let running = tokio::spawn(demo::crowd::run(state.clone(), crowd));

    // Someone opens the page ten seconds after the demo started.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let arrived = state.now();
    let browser = tokio::spawn(visitor(state.clone()));
    // The crowd stays between its bounds while the visitor waits (give or take a few who gave
    // up and are not dropped yet, and the visitor itself).
    let mut waiting = Vec::new();
    for _ in 0..12 {
        tokio::time::sleep(Duration::from_secs(5)).await;
        waiting.push(state.with_queue(|queue| queue.live()));
    }
    let (positions, admitted) = browser.await.unwrap();
    let stats = state.with_queue(|queue| queue.stats());
    running.abort();

    let waited = admitted.saturating_duration_since(arrived);
    assert!(
        (Duration::from_secs(45)..=Duration::from_secs(80)).contains(&waited),
        "admitted after {waited:?}; positions {positions:?}"
    );
    assert!((low..=target + 1).contains(&positions[0]), "joined at {positions:?}");
    assert!(positions.windows(2).all(|w| w[1] <= w[0]), "{positions:?}");
    assert!(
        waiting.iter().all(|&n| (low - 5..=target + 5).contains(&n)),
        "waiting over time: {waiting:?}"
    );
    assert!(stats.admitted >= 35, "{stats:?}");
}
