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
    /// Least time between two links to one email; 0 turns it off.
    #[arg(long, env = "LATCHD_EMAIL_LINK_INTERVAL", default_value = "60s", value_parser = parse_duration)]
    pub email_link_interval: Duration,
    /// Most links to one email per hour; 0 turns it off.
    #[arg(long, env = "LATCHD_EMAIL_LINK_PER_HOUR", default_value_t = 5)]
    pub email_link_per_hour: u32,
    /// Most `/v1/auth/*` calls per IP per minute; 0 turns it off.
    #[arg(long, env = "LATCHD_AUTH_REQUESTS_PER_MINUTE", default_value_t = 60)]
    pub auth_requests_per_minute: u32,
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
        ])
        .unwrap();
        assert!(cli.serve.email_link_interval.is_zero());
        assert_eq!(cli.serve.email_link_per_hour, 0);
        assert!(parse(&["--idle-timeout", "0s"]).is_err());
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
