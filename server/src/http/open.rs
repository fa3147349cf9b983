//! `GET|HEAD /auth/open`: the page the emailed link opens. It only offers the
//! deep link and shows the code — it changes nothing, so a mail scanner that
//! follows the link burns nothing.

use axum::extract::RawQuery;
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{Html, IntoResponse};
use base64::Engine;
use latch_protocol::{format_code, normalize_code, ErrorBody};

use crate::error::{ApiError, ApiResult};
use crate::html::escape;

/// The app's scheme (reverse DNS, RFC 8252 §7.1).
pub const DEEP_LINK_CALLBACK: &str = "app.latch:/auth/callback";

#[utoipa::path(get, path = "/auth/open", tag = "auth",
    params(
        ("flow" = String, Query, description = "The flow id", pattern = "^[A-Za-z0-9_-]{1,64}$"),
        ("code" = String, Query, description = "The code, as ABCD-EFGH (any case, hyphen optional)",
            pattern = "^[2-9A-HJ-NP-Za-hj-np-z]{4}-?[2-9A-HJ-NP-Za-hj-np-z]{4}$"),
    ),
    responses(
        (status = 200, description = "A self-contained page with an \"Open Latch\" button to the deep link and the code to type", content_type = "text/html", body = String),
        (status = 400, description = "invalid_request: flow or code missing or malformed", body = ErrorBody),
    ))]
pub async fn page(RawQuery(query): RawQuery) -> ApiResult<impl IntoResponse> {
    let mut flow = None;
    let mut code = None;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "flow" => flow = Some(value.into_owned()),
            "code" => code = Some(value.into_owned()),
            _ => {}
        }
    }
    let flow = flow
        .filter(|f| {
            (1..=64).contains(&f.len())
                && f.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        })
        .ok_or_else(|| {
            ApiError::invalid(
                "This sign-in link is incomplete: copy the whole link from the email.",
            )
        })?;
    let code = code
        .as_deref()
        .map(normalize_code)
        .and_then(Result::ok)
        .map(|c| format_code(&c))
        .ok_or_else(|| {
            ApiError::invalid(
                "This sign-in link is incomplete: copy the whole link from the email.",
            )
        })?;

    let mut deep_link: url::Url = DEEP_LINK_CALLBACK
        .parse()
        .map_err(|e| ApiError::Internal(format!("deep link base: {e}")))?;
    deep_link
        .query_pairs_mut()
        .append_pair("flow", &flow)
        .append_pair("code", &code);
    let nonce = base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 16]>());
    let body = render(&escape(deep_link.as_str()), &escape(&code), &nonce);
    let csp = format!(
        "default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    let headers = [
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_str(&csp).map_err(|e| ApiError::Internal(e.to_string()))?,
        ),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        ),
    ];
    Ok((headers, Html(body)))
}

fn render(deep_link: &str, code: &str, nonce: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Open Latch</title>
<style nonce="{nonce}">
  :root {{ color-scheme: light dark; font-family: system-ui, sans-serif; }}
  body {{ margin: 0; min-height: 100vh; display: grid; place-items: center; background: Canvas; color: CanvasText; }}
  main {{ max-width: 26rem; padding: 2rem; text-align: center; line-height: 1.5; }}
  h1 {{ font-size: 1.4rem; }}
  a.open {{ display: inline-block; margin: 1rem 0; padding: .7rem 1.6rem; border-radius: .5rem;
           background: #3b5bdb; color: #fff; text-decoration: none; font-weight: 600; }}
  a.open:focus-visible {{ outline: 3px solid #91a7ff; outline-offset: 2px; }}
  .code {{ font-family: ui-monospace, monospace; font-size: 1.4rem; letter-spacing: .15em; }}
  .help {{ opacity: .75; font-size: .9rem; }}
</style>
</head>
<body>
<main>
  <h1>Sign in to Latch</h1>
  <p>Open Latch on this device to finish signing in.</p>
  <a class="open" id="open" href="{deep_link}">Open Latch</a>
  <p>Or type this code in the Latch window that asked for it:<br><strong class="code">{code}</strong></p>
  <p class="help">Nothing happens? Check that Latch is installed on this device, or type the code instead. The link works once, within 10 minutes.</p>
</main>
<script nonce="{nonce}">window.location.href = document.getElementById("open").href;</script>
</body>
</html>
"#
    )
}
