//! What may be served out of `--www`: never a dotfile (`.git/`, `.env`, `.htpasswd`), and never
//! a file that a symlink leads to outside the directory.
//!
//! [`guard`] checks a request before the file service (tower-http's `ServeDir`) sees it, and
//! answers a JSON `404` for what it refuses, the same as for a missing file.

use std::path::{Component, Path, PathBuf};

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::Response;
use percent_encoding::percent_decode_str;

use crate::server::error;

/// The served directory, resolved once at start-up.
#[derive(Debug, Clone)]
pub struct Root(PathBuf);

impl Root {
    /// `dir`, with its own symlinks resolved (a `www` that is itself a symlink is fine); `dir`
    /// as given if it cannot be resolved (then nothing under it can be served anyway).
    pub fn new(dir: &Path) -> Self {
        Root(std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()))
    }

    /// Whether the file that `path` (a request path, percent-encoded) names may be served:
    /// no segment starts with a dot, and, when it exists, it resolves to a place inside the
    /// root (and so does the `index.html` of a directory).
    pub async fn allows(&self, path: &str) -> bool {
        let decoded = percent_decode_str(path).decode_utf8_lossy();
        let mut relative = PathBuf::new();
        for segment in decoded.split(['/', '\\']) {
            if segment.starts_with('.') {
                return false;
            }
            match Path::new(segment).components().next() {
                None => {}
                Some(Component::Normal(part)) => relative.push(part),
                // A drive prefix or a root inside a segment: not a plain name.
                Some(_) => return false,
            }
        }
        let target = self.0.join(relative);
        let Ok(resolved) = tokio::fs::canonicalize(&target).await else {
            // Missing (or unreadable): the file service answers 404 itself.
            return true;
        };
        if !resolved.starts_with(&self.0) {
            return false;
        }
        if resolved.is_dir() {
            if let Ok(index) = tokio::fs::canonicalize(resolved.join("index.html")).await {
                return index.starts_with(&self.0);
            }
        }
        true
    }
}

/// Middleware in front of the file service: a JSON `404` for a dotfile or a symlink out of
/// the root.
pub async fn guard(State(root): State<Root>, request: Request, next: Next) -> Response {
    if root.allows(request.uri().path()).await {
        next.run(request).await
    } else {
        error(StatusCode::NOT_FOUND, "not_found", "Nothing here.")
    }
}
