//! Command line and environment (`docs/protocol.md`): every flag is also
//! `LATCHD_<NAME>`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "latchd", version, about = "Latch's reference account server")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an account with N signed-in devices (for demos and benchmarks);
    /// prints one JSON line per device with its session token.
    Seed(SeedArgs),
    /// The operator's calls to the running server of a database, over its
    /// admin socket (beside the database file).
    Admin(AdminArgs),
}

#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The SQLite file the running server serves (its `--database`).
    #[arg(long, env = "LATCHD_DATABASE", global = true)]
    pub database: Option<PathBuf>,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Sign out every device of one account (`--email`) or of all (`--all`);
    /// each hears the reason `admin` on its event stream.
    Revoke(RevokeArgs),
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct RevokeArgs {
    /// The account whose sessions end.
    #[arg(long)]
    pub email: Option<String>,
    /// Every account's sessions end.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    /// The SQLite file to seed (the one `latchd --database` serves).
    #[arg(long, env = "LATCHD_DATABASE")]
    pub database: Option<PathBuf>,
    #[arg(long)]
    pub email: String,
    /// How many devices, at most 100 (the live-session cap).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub devices: u32,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LATCHD_LISTEN", default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
    /// SQLite file; default in the platform data directory.
    #[arg(long, env = "LATCHD_DATABASE")]
    pub database: Option<PathBuf>,
    /// Base of the links in emails; default `http://<listen>`.
    #[arg(long, env = "LATCHD_PUBLIC_URL")]
    pub public_url: Option<url::Url>,
    /// Development mode: the in-memory mailbox, `POST /dev/clock`; loopback only.
    #[arg(long, env = "LATCHD_DEV", value_parser = clap::builder::BoolishValueParser::new(), default_value_t = false, num_args = 0..=1, default_missing_value = "true")]
    pub dev: bool,
    /// `smtp://host:port`, `smtps://…` (TLS) or `smtp+starttls://…`; user and password in the URL.
    #[arg(long, env = "LATCHD_SMTP_URL")]
    pub smtp_url: Option<url::Url>,
    /// The From of sign-in emails.
    #[arg(
        long,
        env = "LATCHD_MAIL_FROM",
        default_value = "Latch <no-reply@latch.localhost>"
    )]
    pub mail_from: String,
    /// A session unused this long ends.
    #[arg(long, env = "LATCHD_IDLE_TIMEOUT", default_value = "14d", value_parser = parse_lifetime)]
    pub idle_timeout: Duration,
    /// A session ends this long after sign-in, used or not.
    #[arg(long, env = "LATCHD_ABSOLUTE_LIFETIME", default_value = "30d", value_parser = parse_lifetime)]
    pub absolute_lifetime: Duration,
    /// Least time between two links one requester (an IP, an IPv6 /64) asks
    /// for one email; 0 turns it off.
    #[arg(long, env = "LATCHD_EMAIL_LINK_INTERVAL", default_value = "60s", value_parser = parse_duration)]
    pub email_link_interval: Duration,
    /// Most links one requester asks for one email per hour; 0 turns it off.
    #[arg(long, env = "LATCHD_EMAIL_LINK_PER_HOUR", default_value_t = 5)]
    pub email_link_per_hour: u32,
    /// Most links to one email per hour from all requesters together (those
    /// that held one of its account's sessions in the last 30 days aside);
    /// 0 turns it off.
    #[arg(long, env = "LATCHD_EMAIL_LINK_PER_HOUR_TOTAL", default_value_t = 20)]
    pub email_link_per_hour_total: u32,
    /// Most sign-in mails one requester sends to one recipient domain per
    /// hour; 0 turns it off.
    #[arg(long, env = "LATCHD_MAIL_PER_DOMAIN_PER_HOUR", default_value_t = 20)]
    pub mail_per_domain_per_hour: u32,
    /// Most sign-in mails per hour in all, a guard on the cost of sending;
    /// 0 turns it off.
    #[arg(long, env = "LATCHD_MAIL_PER_HOUR", default_value_t = 1000)]
    pub mail_per_hour: u32,
    /// Most `/v1/auth/*` calls per IP (per /64 for IPv6) per minute; 0 turns it off.
    #[arg(long, env = "LATCHD_AUTH_REQUESTS_PER_MINUTE", default_value_t = 60)]
    pub auth_requests_per_minute: u32,
    /// A proxy whose `X-Forwarded-For` is believed: a CIDR, or an address
    /// (/32, /128); repeatable, or comma-separated.
    #[arg(long = "trusted-proxy", env = "LATCHD_TRUSTED_PROXY", value_delimiter = ',', value_parser = crate::proxy::parse_network)]
    pub trusted_proxy: Vec<ipnet::IpNet>,
    /// A request head must arrive whole this soon after it starts; 0 turns it off.
    #[arg(long, env = "LATCHD_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_duration)]
    pub header_read_timeout: Duration,
    /// A keep-alive connection with no request in flight (an open event
    /// stream is one) closes after this long; 0 turns it off.
    #[arg(long, env = "LATCHD_IDLE_CONNECTION_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    pub idle_connection_timeout: Duration,
    /// A connection that takes nothing latchd sends for this long (a stalled
    /// event-stream reader) is closed; 0 turns it off.
    #[arg(long, env = "LATCHD_SEND_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub send_timeout: Duration,
    /// Most connections open at once (lowered to fit the file-descriptor limit).
    #[arg(long, env = "LATCHD_MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Most connections (behind `--trusted-proxy`: requests) open at once
    /// from one client IP (per /64 for IPv6); 0 turns it off.
    #[arg(long, env = "LATCHD_MAX_CONNECTIONS_PER_IP", default_value_t = 256)]
    pub max_connections_per_ip: u32,
}

impl ServeArgs {
    /// How connections are served (`serve.rs`), the file limit not yet applied.
    pub fn conn_options(&self) -> crate::serve::ConnOptions {
        let off_if_zero = |d: Duration| (!d.is_zero()).then_some(d);
        crate::serve::ConnOptions {
            header_read_timeout: off_if_zero(self.header_read_timeout),
            idle_timeout: off_if_zero(self.idle_connection_timeout),
            send_timeout: off_if_zero(self.send_timeout),
            max_connections: self.max_connections as usize,
            max_connections_per_ip: self.max_connections_per_ip as usize,
            trusted_proxies: crate::proxy::TrustedProxies::new(self.trusted_proxy.clone()),
        }
    }
}

/// A URL whose host is a loopback address or `localhost`.
fn is_loopback_url(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// `90s`, `10m`, `2h`, `30d`; a bare `0` is zero.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let split = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{s:?} needs a unit: s, m, h or d (e.g. 90s, 10m, 30d)"))?;
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 90s, 10m or 30d"))?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("{s:?}: the unit must be s, m, h or d")),
    };
    n.checked_mul(unit_secs)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{s:?} is too long"))
}

fn parse_lifetime(s: &str) -> Result<Duration, String> {
    match parse_duration(s)? {
        d if d.is_zero() => Err("a session lifetime must be longer than 0".to_owned()),
        d => Ok(d),
    }
}

/// Why the server refuses to start with these flags.
pub fn check(args: &ServeArgs) -> anyhow::Result<()> {
    if !args.dev && args.smtp_url.is_none() {
        anyhow::bail!(
            "latchd has no way to send sign-in emails: pass --smtp-url smtp://host:port \
             to send real mail, or --dev for the built-in mailbox at /dev/mailbox"
        );
    }
    if args.dev && !args.listen.ip().is_loopback() {
        anyhow::bail!(
            "--dev exposes a mailbox and a movable clock, so it listens only on loopback; \
             {} is not (use 127.0.0.1:PORT)",
            args.listen
        );
    }
    if let Some(url) = args.public_url.as_ref().filter(|_| args.dev) {
        if !is_loopback_url(url) {
            anyhow::bail!(
                "--dev answers only loopback requests, so its links can't point elsewhere: \
                 --public-url {url} is not loopback (drop it, or use http://127.0.0.1:PORT/)"
            );
        }
    }
    if let Some(smtp) = &args.smtp_url {
        if !matches!(smtp.scheme(), "smtp" | "smtps" | "smtp+starttls") {
            anyhow::bail!(
                "--smtp-url must start with smtp://, smtps:// or smtp+starttls://, not {}://",
                smtp.scheme()
            );
        }
    }
    Ok(())
}

/// The database file: `--database`, else the platform data directory.
pub fn database_path(flag: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    match flag {
        Some(path) => Ok(path),
        None => directories::ProjectDirs::from("app", "latch", "latchd")
            .map(|dirs| dirs.data_dir().join("latchd.sqlite3"))
            .ok_or_else(|| {
                anyhow::anyhow!("no home directory to keep the database in: pass --database FILE")
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
        assert!(parse_duration("90").is_err());
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("-5s").is_err());
        assert!(parse_lifetime("0s").is_err());
    }

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("latchd").chain(args.iter().copied()))
    }

    #[test]
    fn needs_a_way_to_send_mail() {
        let cli = parse(&[]).unwrap();
        assert!(check(&cli.serve)
            .unwrap_err()
            .to_string()
            .contains("--smtp-url"));
        let cli = parse(&["--dev"]).unwrap();
        assert!(check(&cli.serve).is_ok());
        let cli = parse(&["--dev", "--listen", "0.0.0.0:8787"]).unwrap();
        assert!(check(&cli.serve)
            .unwrap_err()
            .to_string()
            .contains("loopback"));
        for public in ["https://accounts.example.com/", "http://10.0.0.1:8787/"] {
            let cli = parse(&["--dev", "--public-url", public]).unwrap();
            let refused = check(&cli.serve).unwrap_err().to_string();
            assert!(refused.contains("--public-url"), "{refused}");
        }
        for public in [
            "http://127.0.0.1:8787/",
            "http://[::1]:1/",
            "http://localhost:9/",
        ] {
            let cli = parse(&["--dev", "--public-url", public]).unwrap();
            assert!(check(&cli.serve).is_ok(), "{public}");
        }
        let cli = parse(&["--smtp-url", "http://x"]).unwrap();
        assert!(check(&cli.serve).is_err());
        let cli = parse(&["--smtp-url", "smtp+starttls://u:p@mail.example.com:587"]).unwrap();
        assert!(check(&cli.serve).is_ok());
    }

    #[test]
    fn limits_turn_off_with_zero() {
        let cli = parse(&[
            "--dev",
            "--email-link-interval",
            "0",
            "--email-link-per-hour",
            "0",
            "--auth-requests-per-minute",
            "0",
            "--email-link-per-hour-total",
            "0",
            "--mail-per-domain-per-hour",
            "0",
            "--mail-per-hour",
            "0",
        ])
        .unwrap();
        assert!(cli.serve.email_link_interval.is_zero());
        assert_eq!(cli.serve.email_link_per_hour, 0);
        assert_eq!(
            (
                cli.serve.email_link_per_hour_total,
                cli.serve.mail_per_domain_per_hour,
                cli.serve.mail_per_hour
            ),
            (0, 0, 0)
        );
        let defaults = parse(&["--dev"]).unwrap().serve;
        assert_eq!(
            (
                defaults.email_link_per_hour_total,
                defaults.mail_per_domain_per_hour,
                defaults.mail_per_hour
            ),
            (20, 20, 1000)
        );
        assert!(parse(&["--idle-timeout", "0s"]).is_err());
    }

    #[test]
    fn connection_flags() {
        let cli = parse(&["--dev"]).unwrap();
        let options = cli.serve.conn_options();
        assert_eq!(
            (
                options.header_read_timeout,
                options.idle_timeout,
                options.send_timeout
            ),
            (
                Some(Duration::from_secs(10)),
                Some(Duration::from_secs(60)),
                Some(Duration::from_secs(30))
            )
        );
        assert_eq!(
            (options.max_connections, options.max_connections_per_ip),
            (10_000, 256)
        );
        assert!(options.trusted_proxies.is_empty());
        let cli = parse(&[
            "--trusted-proxy",
            "10.0.0.0/8,192.0.2.1",
            "--trusted-proxy",
            "fd00::/8",
            "--idle-connection-timeout",
            "0",
        ])
        .unwrap();
        let options = cli.serve.conn_options();
        for ip in ["10.1.2.3", "192.0.2.1", "fd00::7"] {
            assert!(
                options.trusted_proxies.contains(ip.parse().unwrap()),
                "{ip}"
            );
        }
        assert!(!options
            .trusted_proxies
            .contains("192.0.2.2".parse().unwrap()));
        assert_eq!(options.idle_timeout, None);
        assert!(parse(&["--trusted-proxy", "proxy.example"]).is_err());
        assert!(parse(&["--max-connections", "0"]).is_err());
    }

    #[test]
    fn admin_revoke_takes_an_email_or_all_never_both() {
        let revoke = |args: &[&str]| parse(&[&["admin", "revoke"], args].concat());
        assert!(revoke(&["--email", "a@b.co"]).is_ok());
        assert!(revoke(&["--all"]).is_ok());
        assert!(revoke(&[]).is_err());
        assert!(revoke(&["--all", "--email", "a@b.co"]).is_err());
        let cli = parse(&["admin", "revoke", "--all", "--database", "/x/db"]).unwrap();
        match cli.command {
            Some(Command::Admin(admin)) => {
                assert_eq!(
                    admin.database.as_deref(),
                    Some(std::path::Path::new("/x/db"))
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn seed_caps_devices() {
        let seed = |devices| {
            let args = ["seed", "--database", "x", "--email", "a@b.co"];
            parse(&[&args[..], &["--devices", devices]].concat())
        };
        assert!(seed("100").is_ok());
        assert!(seed("101").is_err());
    }
}
