//! Where this instance keeps its files, and the instance identity that
//! follows from it.
//!
//! `LATCH_DATA_DIR` points an instance at its own data directory (tests, a
//! second account side by side, screenshots). Two instances with different
//! data directories must be two independent apps: each with its own settings,
//! its own webview storage, and — the part that needs care — its own
//! single-instance lock, so a second launch is forwarded only to the instance
//! that uses the same directory.
//!
//! How tauri-plugin-single-instance (2.5) finds "the other instance", from its
//! source (`src/platform_impl/*.rs`):
//! * Linux: it owns the D-Bus session-bus name `<id>.SingleInstance`, where
//!   `<id>` is `Builder::dbus_id` or else `app.config().identifier`; a second
//!   process that finds the name taken calls `ExecuteCallback` on it with its
//!   argv and exits.
//! * Windows: a named mutex and a message window `<identifier>-sim/-sic/-siw`.
//! * macOS: a Unix socket whose path is derived from the identifier.
//!
//! So every platform keys the lock on `config.identifier`. We therefore set a
//! distinct identifier at run time, before the app is built, whenever
//! `LATCH_DATA_DIR` is given: `app.latch.desktop.d<12 hex digits of
//! SHA-256(canonical data dir)>`. One identifier change covers all three
//! platforms (`dbus_id` would cover Linux only), and it also separates what
//! Tauri itself derives from the identifier (the default webview data
//! directory, app cache and log dirs). Without `LATCH_DATA_DIR` the identifier
//! stays `app.latch.desktop`, so an installed app matches its bundle.
//!
//! The digest element starts with a letter because a D-Bus name element may
//! not start with a digit, and it holds only `[a-z0-9]`, valid in a bus name,
//! an object path (the plugin maps `.` to `/`), a Windows object name and a
//! file name alike.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The environment variable that overrides the app data directory.
pub const DATA_DIR_ENV: &str = "LATCH_DATA_DIR";

/// An app data directory given through [`DATA_DIR_ENV`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDirOverride {
    path: PathBuf,
}

impl DataDirOverride {
    /// Reads [`DATA_DIR_ENV`]; `None` when unset or empty.
    ///
    /// The directory is created and canonicalized, so `./a` and `/abs/a` name
    /// the same instance. When it can't be created the path is still used
    /// (made absolute): the app then reports the failure where it writes,
    /// instead of silently joining another instance.
    pub fn from_env() -> Option<Self> {
        let raw = std::env::var_os(DATA_DIR_ENV).filter(|value| !value.is_empty())?;
        Some(Self::new(Path::new(&raw)))
    }

    pub fn new(raw: &Path) -> Self {
        if let Err(error) = std::fs::create_dir_all(raw) {
            tracing::error!(%error, path = %raw.display(), "cannot create {DATA_DIR_ENV}");
        }
        let path = std::fs::canonicalize(raw)
            .or_else(|_| std::path::absolute(raw))
            .unwrap_or_else(|_| raw.to_path_buf());
        Self { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The app identifier for an instance using this directory; see the
    /// module documentation for why.
    pub fn instance_identifier(&self, base: &str) -> String {
        let digest = Sha256::digest(self.path.as_os_str().as_encoded_bytes());
        let short = hex::encode(&digest[..6]);
        format!("{base}.d{short}")
    }
}

/// Where one instance keeps its files.
///
/// Installed (no [`DATA_DIR_ENV`]), each kind of file goes where its platform
/// expects it, under the app identifier `app.latch.desktop`:
///
/// | | Linux (XDG) | macOS | Windows |
/// |---|---|---|---|
/// | data | `$XDG_DATA_HOME` (`~/.local/share`) | `~/Library/Application Support` | `%APPDATA%` |
/// | config | `$XDG_CONFIG_HOME` (`~/.config`) | `~/Library/Application Support` | `%APPDATA%` |
/// | logs | `$XDG_STATE_HOME` (`~/.local/state`)`/…/logs` | `~/Library/Logs` | `%LOCALAPPDATA%\…\logs` |
///
/// With [`DATA_DIR_ENV`] everything is under that one directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Places {
    /// Client state, the install id, the credential-store fallback file.
    pub data: PathBuf,
    /// `settings.json`.
    pub config: PathBuf,
    /// `latch.log` and its rotated copies.
    pub logs: PathBuf,
}

impl Places {
    /// Everything of an instance under one directory.
    pub fn under(dir: &Path) -> Self {
        Self {
            data: dir.to_path_buf(),
            config: dir.to_path_buf(),
            logs: dir.join("logs"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_identifier_follows_the_directory() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let id_a = DataDirOverride::new(a.path()).instance_identifier("app.latch.desktop");
        let id_b = DataDirOverride::new(b.path()).instance_identifier("app.latch.desktop");
        assert_ne!(id_a, id_b);
        assert_eq!(
            id_a,
            DataDirOverride::new(a.path()).instance_identifier("app.latch.desktop")
        );
    }

    #[test]
    fn spellings_of_one_directory_are_one_instance() {
        let root = tempfile::tempdir().unwrap();
        let plain = root.path().join("data");
        let dotted = root.path().join("other").join("..").join("data");
        std::fs::create_dir_all(root.path().join("other")).unwrap();
        assert_eq!(
            DataDirOverride::new(&plain).instance_identifier("x"),
            DataDirOverride::new(&dotted).instance_identifier("x")
        );
    }

    #[test]
    fn the_identifier_is_a_valid_dbus_name_and_object_path() {
        let dir = tempfile::tempdir().unwrap();
        let id = DataDirOverride::new(dir.path()).instance_identifier("app.latch.desktop");
        let name = format!("{id}.SingleInstance");
        assert!(name.len() <= 255);
        for element in name.split('.') {
            assert!(!element.is_empty());
            assert!(!element.starts_with(|c: char| c.is_ascii_digit()), "{name}");
            assert!(element
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'));
        }
        assert!(id.starts_with("app.latch.desktop.d"));
        assert_eq!(id.len(), "app.latch.desktop.d".len() + 12);
    }

    #[test]
    fn the_directory_is_created() {
        let root = tempfile::tempdir().unwrap();
        let dir = DataDirOverride::new(&root.path().join("a/b"));
        assert!(dir.path().is_dir());
        assert!(dir.path().is_absolute());
    }
}
