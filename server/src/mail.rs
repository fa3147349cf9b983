//! Sign-in emails: composed here, then dropped into the dev mailbox and/or
//! handed to a background SMTP sender that retries. The HTTP answer never
//! waits on delivery, so response time says nothing about the address.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use latch_protocol::{format_code, DevMail, Device};
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use url::Url;

use crate::clock::{to_datetime, Clock, Millis};
use crate::html::escape;

/// Waits before each retry of a failed send.
const RETRY_DELAYS: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(4),
    Duration::from_secs(15),
];

/// What one sign-in email says.
pub struct SignInMail {
    pub to: String,
    pub flow_id: String,
    /// The canonical 8 characters.
    pub code: String,
    /// As the requesting device reported it: anyone can ask for a link to
    /// any address, so the mail names it as the device's claim.
    pub device: Device,
    /// What the server itself saw: the requester's address and the time.
    pub ip: IpAddr,
    pub requested_at: Millis,
}

pub struct Composed {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The `/auth/open` link of a flow: the https page that offers the deep link.
pub fn open_link(public_url: &Url, flow_id: &str, code: &str) -> String {
    let mut link = public_url.clone();
    link.set_path("/auth/open");
    link.query_pairs_mut()
        .clear()
        .append_pair("flow", flow_id)
        .append_pair("code", &format_code(code));
    link.to_string()
}

/// The warning every sign-in mail carries: the attacker who asked for a
/// link to someone else's address holds the flow's verifier, so the code
/// is only safe typed into the window of the person who asked.
pub const CODE_WARNING: &str = "Only enter this code in the Latch window where you asked for it \u{2014} never on a web page, and never give it to anyone.";

pub fn compose(public_url: &Url, mail: &SignInMail) -> Composed {
    let link = open_link(public_url, &mail.flow_id, &mail.code);
    let code = format_code(&mail.code);
    let device = &mail.device.name;
    let platform = mail.device.platform.display_name();
    let ip = mail.ip;
    let at = to_datetime(mail.requested_at).format("%Y-%m-%d %H:%M UTC");
    let text = format!(
        "Sign in to Latch\n\n\
         Someone asked to sign in to Latch with this address, from a device that calls itself \"{device}\" ({platform}).\n\
         The server saw the request come from {ip} at {at}.\n\n\
         Open this link on that device to sign in:\n{link}\n\n\
         Or type this code in Latch: {code}\n\n\
         {CODE_WARNING}\n\n\
         The link and the code work once, within 10 minutes, and only in the app that asked.\n\n\
         Didn't ask for this? Ignore this email. Your account stays as it is unless someone enters the code.\n"
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;line-height:1.5\">\
         <h1 style=\"font-size:20px\">Sign in to Latch</h1>\
         <p>Someone asked to sign in to Latch with this address, from a device that calls itself <strong><bdi>{device}</bdi></strong> ({platform}).<br>\
         The server saw the request come from {ip} at {at}.</p>\
         <p><a href=\"{link_attr}\" style=\"display:inline-block;padding:10px 18px;background:#3b5bdb;color:#fff;border-radius:6px;text-decoration:none\">Sign in to Latch</a></p>\
         <p>Or type this code in Latch: <strong style=\"font-family:monospace;font-size:18px;letter-spacing:2px\">{code}</strong></p>\
         <p><strong>{warning}</strong></p>\
         <p style=\"color:#555\">The link and the code work once, within 10 minutes, and only in the app that asked.</p>\
         <p style=\"color:#555\">Didn't ask for this? Ignore this email. Your account stays as it is unless someone enters the code.</p>\
         <p style=\"color:#888;font-size:12px\">If the button doesn't work, copy this address into your browser: {link_text}</p>\
         </body></html>",
        device = escape(device),
        warning = escape(CODE_WARNING),
        link_attr = escape(&link),
        link_text = escape(&link),
    );
    Composed {
        subject: "Your Latch sign-in link".to_owned(),
        text,
        html,
    }
}

/// The in-memory mailbox of `--dev` (never the database).
#[derive(Clone, Default)]
pub struct DevMailbox {
    mails: Arc<Mutex<Vec<DevMail>>>,
}

impl DevMailbox {
    fn push(&self, mail: DevMail) {
        if let Ok(mut mails) = self.mails.lock() {
            mails.push(mail);
        }
    }

    /// Newest first.
    pub fn list(&self) -> Vec<DevMail> {
        self.mails
            .lock()
            .map(|m| m.iter().rev().cloned().collect())
            .unwrap_or_default()
    }
}

type Smtp = AsyncSmtpTransport<Tokio1Executor>;

pub struct Mailer {
    public_url: Url,
    from: Mailbox,
    mailbox: Option<DevMailbox>,
    smtp: Option<Smtp>,
    clock: Arc<Clock>,
}

impl Mailer {
    pub fn new(
        public_url: Url,
        from: &str,
        smtp_url: Option<&Url>,
        mailbox: Option<DevMailbox>,
        clock: Arc<Clock>,
    ) -> anyhow::Result<Mailer> {
        let from: Mailbox = from.parse().with_context(|| {
            format!("--mail-from {from:?} is not an address like \"Latch <no-reply@example.com>\"")
        })?;
        let smtp = smtp_url.map(smtp_transport).transpose()?;
        Ok(Mailer {
            public_url,
            from,
            mailbox,
            smtp,
            clock,
        })
    }

    pub fn mailbox(&self) -> Option<&DevMailbox> {
        self.mailbox.as_ref()
    }

    /// Queues the mail and returns at once.
    pub fn send(&self, mail: SignInMail) {
        let composed = compose(&self.public_url, &mail);
        if let Some(mailbox) = &self.mailbox {
            mailbox.push(DevMail {
                to: mail.to.clone(),
                subject: composed.subject.clone(),
                text: composed.text.clone(),
                html: composed.html.clone(),
                sent_at: to_datetime(self.clock.now_ms()),
            });
        }
        let Some(smtp) = self.smtp.clone() else {
            return;
        };
        let message = match self.message(&mail.to, composed) {
            Ok(message) => message,
            Err(e) => {
                tracing::error!(error = %e, "can't build the sign-in email");
                return;
            }
        };
        tokio::spawn(deliver(smtp, message));
    }

    fn message(&self, to: &str, composed: Composed) -> Result<Message, String> {
        let to: Mailbox = to.parse().map_err(|e| format!("recipient: {e}"))?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(composed.subject)
            .multipart(
                MultiPart::alternative()
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_PLAIN)
                            .body(composed.text),
                    )
                    .singlepart(
                        SinglePart::builder()
                            .header(ContentType::TEXT_HTML)
                            .body(composed.html),
                    ),
            )
            .map_err(|e| e.to_string())
    }
}

async fn deliver(smtp: Smtp, message: Message) {
    for attempt in 0..=RETRY_DELAYS.len() {
        match smtp.send(message.clone()).await {
            Ok(_) => {
                tracing::info!(attempt = attempt + 1, "sign-in email sent");
                return;
            }
            Err(e) => match RETRY_DELAYS.get(attempt) {
                Some(delay) => {
                    tracing::warn!(attempt = attempt + 1, error = %e, retry_in_s = delay.as_secs(), "sign-in email failed; retrying");
                    tokio::time::sleep(*delay).await;
                }
                None => {
                    tracing::error!(attempts = attempt + 1, error = %e, "sign-in email failed; giving up")
                }
            },
        }
    }
}

fn smtp_transport(url: &Url) -> anyhow::Result<Smtp> {
    let host = url.host_str().context("--smtp-url has no host")?;
    let builder = match url.scheme() {
        "smtp" => Smtp::builder_dangerous(host),
        "smtps" => Smtp::relay(host).context("--smtp-url")?,
        "smtp+starttls" => Smtp::starttls_relay(host).context("--smtp-url")?,
        other => anyhow::bail!("--smtp-url: unknown scheme {other}://"),
    };
    let mut builder = builder.timeout(Some(Duration::from_secs(15)));
    if let Some(port) = url.port() {
        builder = builder.port(port);
    }
    if !url.username().is_empty() {
        let decode = |s: &str| {
            percent_decode(s).context("--smtp-url: the user or password is not valid UTF-8")
        };
        let user = decode(url.username())?;
        let password = decode(url.password().unwrap_or(""))?;
        builder = builder.credentials(Credentials::new(user, password));
    }
    Ok(builder.build())
}

fn percent_decode(s: &str) -> Option<String> {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use latch_protocol::{AppKind, Platform};

    fn mail(name: &str) -> SignInMail {
        SignInMail {
            to: "a@b.co".into(),
            flow_id: "flw_x".into(),
            code: "ABCDEFGH".into(),
            device: Device {
                name: name.into(),
                platform: Platform::Macos,
                os_version: "15".into(),
                app: AppKind::Desktop,
                app_version: "1".into(),
            },
            ip: "203.0.113.9".parse().unwrap(),
            // 2023-11-14T22:13:20Z
            requested_at: 1_700_000_000_000,
        }
    }

    #[test]
    fn mail_names_the_device_and_escapes_it() {
        let url: Url = "https://latch.example/".parse().unwrap();
        let c = compose(&url, &mail("<b>Evil</b>"));
        assert!(c
            .text
            .contains("https://latch.example/auth/open?flow=flw_x&code=ABCD-EFGH"));
        assert!(c.text.contains("ABCD-EFGH") && c.text.contains("macOS"));
        assert!(c.text.contains("Didn't ask for this? Ignore this email"));
        assert!(c.html.contains("&lt;b&gt;Evil&lt;/b&gt;") && !c.html.contains("<b>Evil"));
        assert!(c
            .html
            .contains("href=\"https://latch.example/auth/open?flow=flw_x&amp;code=ABCD-EFGH\""));
    }

    #[test]
    fn mail_calls_the_name_a_claim_and_says_what_the_server_saw() {
        let url: Url = "https://latch.example/".parse().unwrap();
        let c = compose(&url, &mail("Work laptop"));
        for part in [&c.text, &c.html] {
            assert!(part.contains("a device that calls itself"), "{part}");
            assert!(
                part.contains("203.0.113.9 at 2023-11-14 22:13 UTC"),
                "{part}"
            );
            assert!(!part.contains("Nobody can sign in with it without that device"));
        }
        assert!(c.text.contains(
            "Only enter this code in the Latch window where you asked for it \u{2014} never on a web page, and never give it to anyone."
        ));
        assert!(c.html.contains(&escape(CODE_WARNING)));
        assert!(
            c.html.contains("<bdi>Work laptop</bdi>"),
            "isolated from the sentence around it"
        );
    }

    #[test]
    fn smtp_credentials_are_percent_decoded() {
        assert_eq!(percent_decode("p%40ss+word").as_deref(), Some("p@ss+word"));
    }
}
