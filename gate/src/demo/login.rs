//! `POST /demo/login`: the demo ENT's login handler, which lets in only the holders of a valid
//! pass. A real ENT does the same check in its own handler with [`verify_pass`].
//!
//! The form is `application/x-www-form-urlencoded` with `identifiant`, `mot_de_passe` and
//! `waitroom_pass` (the widget fills the last one in); without that field, the `waitroom_pass`
//! cookie the gate set counts too. Either way the pass must come with the `waitroom_id` cookie
//! of the browser it was given to. Any password is accepted: this is a demo of the queue, not
//! of authentication.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tracing::debug;

use crate::browser::{browser_id, cookie_value};
use crate::server::{percent_decode, GateState, PASS_COOKIE};
use crate::verify_pass;

/// The form field the widget puts the pass in (`data-pass-field` on the demo page).
pub const PASS_FIELD: &str = "waitroom_pass";
/// Longest name echoed back, in characters.
const MAX_NAME_CHARS: usize = 64;

/// Handles the login form.
pub async fn login(
    State(state): State<Arc<GateState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let fields = body.map(|b| form_fields(&b)).unwrap_or_default();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(key, value)| key == name && !value.is_empty())
            .map(|(_, value)| value.as_str())
    };
    let pass = field(PASS_FIELD).or_else(|| cookie_value(&headers, PASS_COOKIE));
    let browser = browser_id(&headers);
    let checked =
        pass.map(|pass| verify_pass(&state.config().secret, pass, browser.as_ref(), state.now()));
    match checked {
        Some(Ok(claims)) => {
            let name: String =
                field("identifiant").unwrap_or("invité").chars().take(MAX_NAME_CHARS).collect();
            debug!(id = claims.id, "demo login");
            html(StatusCode::OK, &welcome_page(&name))
        }
        Some(Err(reason)) => {
            debug!(%reason, "demo login refused");
            html(StatusCode::FORBIDDEN, &refusal_page(true))
        }
        None => html(StatusCode::FORBIDDEN, &refusal_page(false)),
    }
}

/// The fields of a form body, decoded; a field that does not decode is left out.
fn form_fields(body: &[u8]) -> Vec<(String, String)> {
    let body = String::from_utf8_lossy(body);
    body.split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = String::from_utf8(percent_decode(key).ok()?).ok()?;
            let value = String::from_utf8(percent_decode(value).ok()?).ok()?;
            Some((key, value))
        })
        .collect()
}

/// Text made safe to put between tags or in an attribute.
fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn welcome_page(name: &str) -> String {
    page(
        "Connecté",
        &format!(
            "<h1>Bienvenue, {} ! Vous êtes connecté.</h1>\n\
             <p>Votre laissez-passer de la file d’attente était valide : l’ENT vous a laissé entrer.</p>\n\
             <p><a href=\"/\">Retour à la page de connexion</a></p>",
            escape_html(name)
        ),
    )
}

fn refusal_page(expired: bool) -> String {
    let why = if expired {
        "Votre laissez-passer de la file d’attente n’est pas valide ou a expiré."
    } else {
        "Il manque le laissez-passer de la file d’attente : vous n’avez pas encore été admis."
    };
    page(
        "Accès refusé",
        &format!(
            "<h1>Accès refusé</h1>\n\
             <p>{why}</p>\n\
             <p>Revenez à la page de connexion : elle vous indique votre place et vous laisse \
             vous connecter dès que c’est votre tour.</p>\n\
             <p><a href=\"/\">Retour à la page de connexion</a></p>"
        ),
    )
}

/// A whole page in the demo's style (`/demo.css`; nothing inline, for the CSP).
fn page(title: &str, main: &str) -> String {
    format!(
        "<!doctype html>\n\
         <html lang=\"fr\">\n\
         <head>\n\
         <meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} — ENT Mon lycée connecté</title>\n\
         <link rel=\"icon\" href=\"data:,\">\n\
         <link rel=\"stylesheet\" href=\"/demo.css\">\n\
         </head>\n\
         <body>\n\
         <header class=\"banner\"><p class=\"brand\">ENT — Mon lycée connecté</p></header>\n\
         <main class=\"card\">\n{main}\n</main>\n\
         </body>\n\
         </html>\n"
    )
}

fn html(status: StatusCode, body: &str) -> Response {
    (
        status,
        [(CONTENT_TYPE, "text/html; charset=utf-8"), (CACHE_CONTROL, "no-store")],
        body.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_fields_decode_plus_and_percent_and_skip_bad_ones() {
        assert_eq!(
            form_fields(b"identifiant=Ana+Lou%C3%AFse&mot_de_passe=%ZZ&waitroom_pass=p1.2"),
            [
                ("identifiant".to_string(), "Ana Louïse".to_string()),
                ("waitroom_pass".to_string(), "p1.2".to_string()),
            ]
        );
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html(r#"<b a='1' c="2">&</b>"#),
            "&lt;b a=&#39;1&#39; c=&quot;2&quot;&gt;&amp;&lt;/b&gt;"
        );
    }
}
