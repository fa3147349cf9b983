//! `--dev` only: the in-memory mailbox and the movable clock.

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use latch_protocol::{ClockAdvanceRequest, ClockResponse, DevMail};

use super::Json;
use crate::clock::to_datetime;
use crate::config::parse_duration;
use crate::error::{ApiError, ApiResult};
use crate::html::escape;
use crate::state::AppState;

fn mails(app: &AppState) -> Vec<DevMail> {
    app.mailer.mailbox().map(|m| m.list()).unwrap_or_default()
}

pub async fn mailbox_json(State(app): State<AppState>) -> axum::Json<Vec<DevMail>> {
    axum::Json(mails(&app))
}

pub async fn mailbox_page(State(app): State<AppState>) -> Html<String> {
    let mut items = String::new();
    for mail in mails(&app) {
        items.push_str(&format!(
            "<article><header><strong>{}</strong> · to {} · {}</header><pre>{}</pre></article>",
            escape(&mail.subject),
            escape(&mail.to),
            mail.sent_at.to_rfc3339(),
            linkify(&mail.text),
        ));
    }
    if items.is_empty() {
        items.push_str("<p>No mail yet. Ask Latch for a sign-in link, then reload.</p>");
    }
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>latchd dev mailbox</title>\
         <style>body{{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}}\
         article{{border:1px solid #8884;border-radius:8px;padding:1rem;margin:1rem 0}}\
         pre{{white-space:pre-wrap}}</style></head><body><h1>Dev mailbox</h1>\
         <p>Mail latchd sent in this run, newest first. Nothing here is stored.</p>{items}</body></html>"
    ))
}

/// Escapes a plain-text mail and makes its http(s) links clickable.
fn linkify(text: &str) -> String {
    text.lines()
        .map(|line| {
            let escaped = escape(line);
            if line.starts_with("http://") || line.starts_with("https://") {
                format!("<a href=\"{escaped}\">{escaped}</a>")
            } else {
                escaped
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Moves the server's clock forward, then sweeps expiry before answering.
pub async fn clock(
    State(app): State<AppState>,
    Json(request): Json<ClockAdvanceRequest>,
) -> ApiResult<axum::Json<ClockResponse>> {
    let by = parse_duration(&request.advance).map_err(ApiError::invalid)?;
    app.clock.advance(by);
    app.sweep().await?;
    tracing::info!(advanced_s = by.as_secs(), "dev clock moved");
    Ok(axum::Json(ClockResponse {
        now: to_datetime(app.now_ms()),
    }))
}

/// `--dev` answers only requests addressed to loopback by name: a web page
/// on a name that rebinds to 127.0.0.1 (DNS rebinding) would otherwise read
/// the mailbox and sign in as anyone. Its `Host` is its own name, so it
/// gets `400 invalid_request`.
pub async fn loopback_host_only(request: Request, next: Next) -> Response {
    // HTTP/2 and absolute-form requests carry the host in the URI, HTTP/1.1
    // in `Host`: each one sent must be loopback, and one must be sent.
    let authority = request.uri().authority().map(|a| a.as_str());
    let host = request
        .headers()
        .get(header::HOST)
        .map(|v| v.to_str().unwrap_or("(not text)"));
    let named = [authority, host];
    let loopback = named.iter().flatten().all(|h| is_loopback_host(h));
    if loopback && named.iter().any(Option::is_some) {
        return next.run(request).await;
    }
    tracing::warn!(host = ?host, "refused a request to --dev that isn't addressed to loopback");
    ApiError::invalid(
        "latchd --dev answers only requests addressed to 127.0.0.1, [::1] or localhost.",
    )
    .into_response()
}

/// `127.0.0.1`, `[::1]` or `localhost`, each with or without a port.
fn is_loopback_host(host: &str) -> bool {
    let (name, port) = match host.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((v6, "")) => (v6, None),
            Some((v6, port)) => match port.strip_prefix(':') {
                Some(port) => (v6, Some(port)),
                None => return false,
            },
            None => return false,
        },
        None => match host.split_once(':') {
            Some((name, port)) => (name, Some(port)),
            None => (host, None),
        },
    };
    let port_ok =
        port.is_none_or(|p| (1..=5).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()));
    port_ok
        && (name == "127.0.0.1"
            || name == "::1" && host.starts_with('[')
            || name.eq_ignore_ascii_case("localhost"))
}

#[cfg(test)]
mod tests {
    use super::is_loopback_host;

    #[test]
    fn only_loopback_names_are_loopback_hosts() {
        for host in [
            "127.0.0.1",
            "127.0.0.1:8787",
            "[::1]",
            "[::1]:8787",
            "localhost",
            "LocalHost:1",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "evil.example",
            "evil.example:8787",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "127.0.0.1:",
            "127.0.0.1:80:80",
            "127.0.0.1:123456",
            "::1",
            "[::1]x",
            "[::2]:80",
            "10.0.0.1",
            "",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }
}
