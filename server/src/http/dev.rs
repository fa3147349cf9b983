//! `--dev` only: the in-memory mailbox and the movable clock.

use axum::extract::State;
use axum::response::Html;
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
