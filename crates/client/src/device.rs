//! Who this device is: a stable install id, a default name from the host
//! name, and the platform, OS and app versions it reports.

use std::path::Path;

use latch_protocol::{clean_name, AppKind, Device, Platform};
use rand::RngCore;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdentity {
    /// Random, made once per data directory; names this install's
    /// credential-store entries.
    pub install_id: String,
    pub default_name: String,
    pub platform: Platform,
    pub os_version: String,
    pub app_version: String,
}

impl DeviceIdentity {
    /// Reads (or makes) the install id in `data_dir` and detects the rest.
    pub fn detect(data_dir: &Path, app_version: &str) -> std::io::Result<DeviceIdentity> {
        Ok(DeviceIdentity {
            install_id: install_id(data_dir)?,
            default_name: default_name(&gethostname::gethostname().to_string_lossy()),
            platform: platform(),
            os_version: os_version(),
            app_version: clip(app_version, "unknown"),
        })
    }

    /// The `device` of a sign-in request, named `name`.
    pub fn device(&self, name: &str) -> Device {
        Device {
            name: name.to_owned(),
            platform: self.platform,
            os_version: self.os_version.clone(),
            app: AppKind::Desktop,
            app_version: self.app_version.clone(),
        }
    }

    /// `User-Agent`: Latch, its version and the OS.
    pub fn user_agent(&self) -> String {
        format!(
            "Latch/{} ({}; {})",
            self.app_version,
            self.platform.display_name(),
            self.os_version
        )
    }
}

fn install_id(data_dir: &Path) -> std::io::Result<String> {
    let path = data_dir.join("install-id");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let id = existing.trim();
        if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(id.to_owned());
        }
    }
    crate::private_fs::create_dir(data_dir)?;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    std::fs::write(&path, &id)?;
    Ok(id)
}

/// A friendly default from the host name: `ada-laptop.local` → `ada-laptop`.
pub fn default_name(host: &str) -> String {
    let short = host.split('.').next().unwrap_or("").trim();
    clip(short, "This computer")
}

/// What the server takes ([`clean_name`]): a host name or an os-release
/// file with a tab, a bidi control or an overlong value would otherwise
/// make every sign-in from this device fail.
fn clip(s: &str, fallback: &str) -> String {
    let clipped = clean_name(s);
    if clipped.is_empty() {
        fallback.to_owned()
    } else {
        clipped
    }
}

fn platform() -> Platform {
    if cfg!(target_os = "macos") {
        Platform::Macos
    } else if cfg!(target_os = "windows") {
        Platform::Windows
    } else {
        Platform::Linux
    }
}

/// On Linux from os-release, which is what `lsb_release` (which `os_info`
/// runs first, a Python script) reads anyway: starting it held the app's
/// start-up by ~100 ms (issue 7).
#[cfg(target_os = "linux")]
fn os_version() -> String {
    let text = ["/etc/os-release", "/usr/lib/os-release"]
        .iter()
        .find_map(|path| std::fs::read_to_string(path).ok())
        .unwrap_or_default();
    clip(&os_release_version(&text), "Linux")
}

#[cfg(not(target_os = "linux"))]
fn os_version() -> String {
    let info = os_info::get();
    let text = match info.version() {
        os_info::Version::Unknown => info.os_type().to_string(),
        version => format!("{} {version}", info.os_type()),
    };
    clip(&text, "unknown")
}

/// `NAME VERSION_ID` of an os-release file (`Debian 12`, `Fedora Linux 41`), or the
/// name alone for a rolling release; `Linux` when it names nothing.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn os_release_version(text: &str) -> String {
    let field = |key: &str| {
        text.lines()
            .filter_map(|line| line.trim().strip_prefix(key)?.strip_prefix('='))
            .map(|value| value.trim().trim_matches(|c| c == '"' || c == '\'').trim())
            .next_back()
            .unwrap_or("")
    };
    // "Debian GNU/Linux" beside "Linux" (the platform) says it twice.
    let name = match field("NAME") {
        "" => "Linux",
        name => name.strip_suffix(" GNU/Linux").unwrap_or(name),
    };
    match field("VERSION_ID") {
        "" => name.to_owned(),
        version => format!("{name} {version}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_id_is_stable_per_data_dir() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let first = DeviceIdentity::detect(a.path(), "0.1.0").unwrap();
        let again = DeviceIdentity::detect(a.path(), "0.1.0").unwrap();
        let other = DeviceIdentity::detect(b.path(), "0.1.0").unwrap();
        assert_eq!(first.install_id, again.install_id);
        assert_ne!(first.install_id, other.install_id);
        assert!(!first.os_version.is_empty() && first.os_version.chars().count() <= 64);
        assert!(first.user_agent().starts_with("Latch/0.1.0 ("));
    }

    #[test]
    fn os_release_gives_name_and_version() {
        let debian = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nID=debian\n";
        assert_eq!(os_release_version(debian), "Debian 12");
        assert_eq!(
            os_release_version("NAME='Fedora Linux'\nVERSION_ID=41\n"),
            "Fedora Linux 41"
        );
        assert_eq!(
            os_release_version("NAME=\"Arch Linux\"\nID=arch\n"),
            "Arch Linux"
        );
        assert_eq!(os_release_version("ID=mystery\n"), "Linux");
        assert_eq!(os_release_version(""), "Linux");
    }

    #[test]
    fn default_names() {
        assert_eq!(default_name("ada-laptop.local"), "ada-laptop");
        assert_eq!(default_name(""), "This computer");
        assert_eq!(default_name(&"x".repeat(100)).len(), 64);
        assert_eq!(default_name("ada\u{202E}pc\t2"), "adapc 2");
        assert_eq!(default_name("\u{200B}"), "This computer");
    }
}
