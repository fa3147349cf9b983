//! Linux: which desktop entry opens `app.latch:` links, and making sure it
//! is one that starts this very binary.
//!
//! An installed Latch (the .deb or .rpm) ships `/usr/share/applications/
//! Latch.desktop` with `MimeType=x-scheme-handler/app.latch;` and `Exec=
//! latch-desktop %u`; the package manager's trigger updates the MIME cache,
//! and that entry answers links. Writing a second, per-user handler at every
//! start (what `register_all()` does) would shadow it with a copy pointing at
//! the same binary, and leave that copy behind when the package is removed.
//! So at startup:
//!
//! 1. the current default (`xdg-mime query default`) already starts this
//!    binary: nothing to do;
//! 2. else an entry installed in `$XDG_DATA_DIRS` starts it: make that the
//!    user's default (it may have been shadowed by a development build's
//!    handler);
//! 3. else (a development build, an AppImage, an unpacked binary): write the
//!    per-user handler, as before.
//!
//! The parsing below is pure and tested on every platform.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// The MIME type the scheme maps to.
pub fn mime_type() -> String {
    format!("x-scheme-handler/{}", latch_client::deep_link::SCHEME)
}

/// The two keys of a desktop entry that matter here.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DesktopEntry {
    pub exec: Option<String>,
    pub mime_types: Vec<String>,
}

impl DesktopEntry {
    /// Reads the `[Desktop Entry]` group (other groups, e.g. actions, have
    /// their own `Exec` and are skipped).
    pub fn parse(text: &str) -> Self {
        let mut entry = Self::default();
        let mut in_main = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_main = line == "[Desktop Entry]";
                continue;
            }
            if !in_main || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            match key.trim() {
                "Exec" => entry.exec = Some(value.trim().to_owned()),
                "MimeType" => {
                    entry.mime_types = value
                        .split(';')
                        .map(str::trim)
                        .filter(|m| !m.is_empty())
                        .map(str::to_owned)
                        .collect();
                }
                _ => {}
            }
        }
        entry
    }

    /// The program `Exec` starts: its first word, unquoted.
    pub fn program(&self) -> Option<String> {
        let exec = self.exec.as_deref()?.trim_start();
        if let Some(rest) = exec.strip_prefix('"') {
            // Inside quotes, `\"`, `\\`, `` \` `` and `\$` are escapes.
            let mut program = String::new();
            let mut chars = rest.chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => return Some(program),
                    '\\' => program.push(chars.next()?),
                    c => program.push(c),
                }
            }
            None
        } else {
            exec.split_whitespace().next().map(str::to_owned)
        }
    }

    pub fn handles(&self, mime: &str) -> bool {
        self.mime_types.iter().any(|m| m.eq_ignore_ascii_case(mime))
    }

    /// Whether this entry starts `exe` (both resolved: `PATH` lookup for a
    /// bare program name, symlinks followed).
    pub fn starts(&self, exe: &Path, path_var: Option<&OsStr>) -> bool {
        let Some(program) = self.program() else {
            return false;
        };
        let Some(resolved) = resolve_program(&program, path_var) else {
            return false;
        };
        same_file(&resolved, exe)
    }
}

fn resolve_program(program: &str, path_var: Option<&OsStr>) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    std::env::split_paths(path_var?)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The directories desktop entries are looked up in, in order: the user's
/// (`$XDG_DATA_HOME/applications`) first, then the system's
/// (`$XDG_DATA_DIRS`, default `/usr/local/share:/usr/share`).
pub fn application_dirs(
    data_home: Option<&OsStr>,
    home: Option<&Path>,
    data_dirs: Option<&OsStr>,
) -> (Option<PathBuf>, Vec<PathBuf>) {
    let user = data_home
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".local/share")))
        .map(|d| d.join("applications"));
    let system_roots: Vec<PathBuf> = match data_dirs.filter(|d| !d.is_empty()) {
        Some(dirs) => std::env::split_paths(dirs).collect(),
        None => vec!["/usr/local/share".into(), "/usr/share".into()],
    };
    let system = system_roots
        .into_iter()
        .filter(|d| d.is_absolute())
        .map(|d| d.join("applications"))
        .collect();
    (user, system)
}

/// The file of desktop entry `id` (e.g. `Latch.desktop`) in `dirs`, the
/// first one found.
pub fn find_entry<'a>(id: &str, dirs: impl IntoIterator<Item = &'a PathBuf>) -> Option<PathBuf> {
    if id.contains('/') || !id.ends_with(".desktop") {
        return None;
    }
    dirs.into_iter()
        .map(|dir| dir.join(id))
        .find(|path| path.is_file())
}

/// An entry in `dirs` that handles `mime` and starts `exe`: its id.
pub fn entry_starting<'a>(
    exe: &Path,
    mime: &str,
    dirs: impl IntoIterator<Item = &'a PathBuf>,
    path_var: Option<&OsStr>,
) -> Option<String> {
    for dir in dirs {
        let Ok(listing) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut names: Vec<_> = listing
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".desktop"))
            .collect();
        names.sort();
        for name in names {
            let Ok(text) = std::fs::read_to_string(dir.join(&name)) else {
                continue;
            };
            let entry = DesktopEntry::parse(&text);
            if entry.handles(mime) && entry.starts(exe, path_var) {
                return Some(name);
            }
        }
    }
    None
}

/// What startup should do about the scheme (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The default handler already starts this binary.
    AlreadyDefault { entry: String },
    /// Make this installed entry the default.
    UseInstalled { entry: String },
    /// No entry starts this binary: write the per-user handler.
    WriteHandler,
}

/// Decides from the current default entry id (`xdg-mime query default`,
/// empty when none) and the entries on disk.
pub fn plan(
    current_default: &str,
    exe: &Path,
    user_dir: Option<&PathBuf>,
    system_dirs: &[PathBuf],
    path_var: Option<&OsStr>,
) -> Plan {
    let mime = mime_type();
    let current = current_default.trim();
    if !current.is_empty() {
        let found = find_entry(current, user_dir.into_iter().chain(system_dirs));
        if let Some(path) = found {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let entry = DesktopEntry::parse(&text);
            if entry.handles(&mime) && entry.starts(exe, path_var) {
                return Plan::AlreadyDefault {
                    entry: current.to_owned(),
                };
            }
        }
    }
    match entry_starting(exe, &mime, system_dirs, path_var) {
        Some(entry) => Plan::UseInstalled { entry },
        None => Plan::WriteHandler,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INSTALLED: &str = "[Desktop Entry]\nType=Application\nName=Latch\n\
        Exec=latch-desktop %u\nMimeType=x-scheme-handler/app.latch;\n\
        [Desktop Action other]\nExec=/bin/false\n";

    struct Machine {
        _root: tempfile::TempDir,
        bin_dir: PathBuf,
        exe: PathBuf,
        user: PathBuf,
        system: PathBuf,
    }

    impl Machine {
        fn new() -> Self {
            let root = tempfile::tempdir().unwrap();
            let bin_dir = root.path().join("usr/bin");
            let user = root.path().join("home/.local/share/applications");
            let system = root.path().join("usr/share/applications");
            for dir in [&bin_dir, &user, &system] {
                std::fs::create_dir_all(dir).unwrap();
            }
            let exe = bin_dir.join("latch-desktop");
            std::fs::write(&exe, "").unwrap();
            Self {
                _root: root,
                bin_dir,
                exe,
                user,
                system,
            }
        }

        /// Writes the system-wide `Latch.desktop`.
        fn install(&self, entry: impl AsRef<str>) {
            std::fs::write(self.system.join("Latch.desktop"), entry.as_ref()).unwrap();
        }

        /// Writes the user's `latch-desktop-handler.desktop`.
        fn write_handler(&self, entry: impl AsRef<str>) {
            std::fs::write(
                self.user.join("latch-desktop-handler.desktop"),
                entry.as_ref(),
            )
            .unwrap();
        }

        fn plan(&self, current: &str) -> Plan {
            let path = std::env::join_paths([&self.bin_dir]).unwrap();
            plan(
                current,
                &self.exe,
                Some(&self.user),
                std::slice::from_ref(&self.system),
                Some(&path),
            )
        }
    }

    #[test]
    fn reads_exec_and_mime_types_of_the_main_group_only() {
        let entry = DesktopEntry::parse(INSTALLED);
        assert_eq!(entry.exec.as_deref(), Some("latch-desktop %u"));
        assert_eq!(entry.program().as_deref(), Some("latch-desktop"));
        assert!(entry.handles("x-scheme-handler/app.latch"));
        assert!(!entry.handles("x-scheme-handler/https"));
    }

    #[test]
    fn a_quoted_program_is_unquoted() {
        let entry =
            DesktopEntry::parse("[Desktop Entry]\nExec=\"/opt/My Apps/latch \\\"x\\\"\" %u\n");
        assert_eq!(entry.program().as_deref(), Some("/opt/My Apps/latch \"x\""));
        let broken = DesktopEntry::parse("[Desktop Entry]\nExec=\"/opt/unterminated %u\n");
        assert_eq!(broken.program(), None);
    }

    #[test]
    fn an_installed_default_that_starts_this_binary_is_left_alone() {
        let m = Machine::new();
        m.install(INSTALLED);
        assert_eq!(
            m.plan("Latch.desktop\n"),
            Plan::AlreadyDefault {
                entry: "Latch.desktop".into()
            }
        );
    }

    #[test]
    fn a_stale_handler_gives_way_to_the_installed_entry() {
        let m = Machine::new();
        m.install(INSTALLED);
        // A development build's handler, pointing at another binary.
        m.write_handler(
            "[Desktop Entry]\nExec=\"/home/dev/target/debug/latch-desktop\" %u\n\
             MimeType=x-scheme-handler/app.latch;\n",
        );
        assert_eq!(
            m.plan("latch-desktop-handler.desktop"),
            Plan::UseInstalled {
                entry: "Latch.desktop".into()
            }
        );
        assert_eq!(
            m.plan(""),
            Plan::UseInstalled {
                entry: "Latch.desktop".into()
            }
        );
    }

    #[test]
    fn a_build_no_entry_starts_writes_its_own_handler() {
        let m = Machine::new();
        // Installed, but this binary is another one (a development build).
        m.install(INSTALLED.replace("latch-desktop %u", "/usr/games/other %u"));
        assert_eq!(m.plan("Latch.desktop"), Plan::WriteHandler);
        assert_eq!(m.plan(""), Plan::WriteHandler);
    }

    #[test]
    fn the_handler_written_earlier_by_this_binary_counts_as_registered() {
        let m = Machine::new();
        m.write_handler(format!(
            "[Desktop Entry]\nExec=\"{}\" %u\nMimeType=x-scheme-handler/app.latch;\n",
            m.exe.display()
        ));
        assert_eq!(
            m.plan("latch-desktop-handler.desktop"),
            Plan::AlreadyDefault {
                entry: "latch-desktop-handler.desktop".into()
            }
        );
    }

    #[test]
    fn an_entry_without_the_scheme_is_not_a_handler() {
        let m = Machine::new();
        m.install("[Desktop Entry]\nExec=latch-desktop %u\n");
        assert_eq!(m.plan("Latch.desktop"), Plan::WriteHandler);
    }

    #[test]
    fn entry_ids_never_leave_the_directory() {
        let m = Machine::new();
        assert_eq!(find_entry("../x.desktop", [&m.system]), None);
        assert_eq!(find_entry("Latch", [&m.system]), None);
    }

    #[test]
    fn application_dirs_follow_the_xdg_defaults() {
        let (user, system) = application_dirs(None, Some(Path::new("/home/ada")), None);
        assert_eq!(
            user,
            Some(PathBuf::from("/home/ada/.local/share/applications"))
        );
        assert_eq!(
            system,
            [
                PathBuf::from("/usr/local/share/applications"),
                PathBuf::from("/usr/share/applications")
            ]
        );
        let (user, system) = application_dirs(
            Some(OsStr::new("/x/data")),
            None,
            Some(OsStr::new("/a:relative:/b")),
        );
        assert_eq!(user, Some(PathBuf::from("/x/data/applications")));
        assert_eq!(
            system,
            [
                PathBuf::from("/a/applications"),
                PathBuf::from("/b/applications")
            ]
        );
    }
}
