//! Where the session token and a pending flow's verifier live: the OS
//! credential store (keyring v4: Keychain, Credential Manager, Secret
//! Service), or — when that is missing, locked or failing in any way — a file
//! only this user can read. Sign-in never fails because of the store, and
//! the client can say which one is in use.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// A small string-keyed secret store.
pub trait SecretStore: Send + Sync {
    fn get(&self, key: &str) -> Result<Option<String>, StoreError>;
    fn set(&self, key: &str, value: &str) -> Result<(), StoreError>;
    fn delete(&self, key: &str) -> Result<(), StoreError>;
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// Which store holds the secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    Os,
    /// The file fallback, and why the OS store wasn't used.
    File {
        why: String,
    },
}

impl StoreKind {
    /// What the window says about it, when there is something to say.
    pub fn warning(&self) -> Option<String> {
        match self {
            Self::Os => None,
            Self::File { why } => Some(format!(
                "Latch keeps your sign-in in a private file instead of the system keyring ({why})."
            )),
        }
    }
}

/// The OS credential store through `keyring`. `service` names this install.
pub struct KeyringStore {
    service: String,
}

impl KeyringStore {
    pub fn new(service: impl Into<String>) -> Self {
        Self {
            service: service.into(),
        }
    }

    fn entry(&self, key: &str) -> Result<keyring::Entry, StoreError> {
        keyring::Entry::new(&self.service, key).map_err(keyring_error)
    }
}

fn keyring_error(e: keyring::Error) -> StoreError {
    StoreError(match e {
        keyring::Error::NoDefaultStore => {
            "no credential store is running (on Linux: the Secret Service)".to_owned()
        }
        keyring::Error::NoStorageAccess(_) => {
            "the credential store is locked or refused access".to_owned()
        }
        other => format!("the credential store failed: {other}"),
    })
}

impl SecretStore for KeyringStore {
    fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        match self.entry(key)?.get_password() {
            Ok(value) => Ok(Some(value)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(e)),
        }
    }

    fn set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.entry(key)?.set_password(value).map_err(keyring_error)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(keyring_error(e)),
        }
    }
}

/// A JSON file readable only by the user (0600 on Unix).
pub struct FileStore {
    path: PathBuf,
    lock: Mutex<()>,
}

impl FileStore {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            lock: Mutex::new(()),
        }
    }

    fn read(&self) -> Result<BTreeMap<String, String>, StoreError> {
        match std::fs::read_to_string(&self.path) {
            // A damaged file holds nothing usable; starting over beats
            // refusing every sign-in.
            Ok(text) => Ok(serde_json::from_str(&text).unwrap_or_else(|_| {
                tracing::warn!(path = %self.path.display(), "secret file damaged; starting it over");
                BTreeMap::new()
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(StoreError(format!("can't read {}: {e}", self.path.display()))),
        }
    }

    fn write(&self, map: &BTreeMap<String, String>) -> Result<(), StoreError> {
        let io =
            |e: std::io::Error| StoreError(format!("can't write {}: {e}", self.path.display()));
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            crate::private_fs::create_dir(dir).map_err(io)?;
        }
        let text = serde_json::to_string(map).map_err(|e| StoreError(e.to_string()))?;
        let tmp = self.path.with_extension("tmp");
        crate::private_fs::write_new(&tmp, text.as_bytes()).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }

    fn update(&self, f: impl FnOnce(&mut BTreeMap<String, String>)) -> Result<(), StoreError> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| StoreError("secret file lock poisoned".into()))?;
        let before = self.read()?;
        let mut map = before.clone();
        f(&mut map);
        // Write only on a change, so the file never appears just because a
        // delete found nothing.
        if map == before {
            return Ok(());
        }
        self.write(&map)
    }
}

impl SecretStore for FileStore {
    fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| StoreError("secret file lock poisoned".into()))?;
        Ok(self.read()?.get(key).cloned())
    }

    fn set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.update(|map| {
            map.insert(key.to_owned(), value.to_owned());
        })
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.update(|map| {
            map.remove(key);
        })
    }
}

/// The store of the install whose data lives in `data_dir`: its OS
/// credential-store entries are named after the install id (so two data
/// dirs are two devices), its fallback file sits in the data dir.
/// The store of one install. Its probe runs on first use or when
/// [`FallbackStore::probe_in_background`] asks: talking to the Secret
/// Service (which D-Bus may first have to start) held the window back.
pub fn open_for_install(data_dir: &std::path::Path, install_id: &str) -> FallbackStore {
    FallbackStore::deferred(
        Box::new(KeyringStore::new(format!("app.latch.desktop/{install_id}"))),
        FileStore::new(data_dir.join("credentials.json")),
    )
}

/// For unit tests.
#[derive(Default)]
pub struct MemoryStore(Mutex<BTreeMap<String, String>>);

impl SecretStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .0
            .lock()
            .map_err(|_| StoreError("poisoned".into()))?
            .get(key)
            .cloned())
    }

    fn set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.0
            .lock()
            .map_err(|_| StoreError("poisoned".into()))?
            .insert(key.to_owned(), value.to_owned());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0
            .lock()
            .map_err(|_| StoreError("poisoned".into()))?
            .remove(key);
        Ok(())
    }
}

/// The OS store while it works; the file from the first failure on. Reads
/// also look in the file, so secrets written during an earlier fallback are
/// still found.
pub struct FallbackStore {
    primary: Box<dyn SecretStore>,
    file: FileStore,
    /// Set by the probe, once; then only ever turned to `File`.
    kind: OnceLock<Mutex<StoreKind>>,
}

impl FallbackStore {
    /// Probes `primary` now (see [`FallbackStore::deferred`]).
    pub fn new(primary: Box<dyn SecretStore>, file: FileStore) -> Self {
        let store = Self::deferred(primary, file);
        store.state();
        store
    }

    /// Probes `primary` once, on first use (write, read back, delete), so a
    /// store that is missing or locked is noticed before any secret depends
    /// on it. A use while the probe runs waits for it.
    pub fn deferred(primary: Box<dyn SecretStore>, file: FileStore) -> Self {
        Self {
            primary,
            file,
            kind: OnceLock::new(),
        }
    }

    /// Runs the probe on a thread of its own, so whoever uses the store
    /// first finds it (nearly) done.
    pub fn probe_in_background(self: &Arc<Self>) {
        let store = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("credential-store-probe".into())
            .spawn(move || {
                store.state();
            });
        if let Err(error) = spawned {
            // The first use probes instead.
            tracing::debug!(%error, "can't start the credential store probe");
        }
    }

    fn state(&self) -> &Mutex<StoreKind> {
        self.kind.get_or_init(|| Mutex::new(self.probe()))
    }

    fn probe(&self) -> StoreKind {
        let probe = "probe";
        let primary = &self.primary;
        match primary
            .set(probe, "ok")
            .and_then(|()| primary.get(probe))
            .and_then(|v| {
                if v.as_deref() == Some("ok") {
                    primary.delete(probe)
                } else {
                    Err(StoreError(
                        "the credential store didn't keep what was written".into(),
                    ))
                }
            }) {
            Ok(()) => StoreKind::Os,
            Err(e) => {
                tracing::warn!(error = %e, "OS credential store unavailable; using the private file");
                StoreKind::File { why: e.0 }
            }
        }
    }

    pub fn kind(&self) -> StoreKind {
        self.state()
            .lock()
            .map(|k| k.clone())
            .unwrap_or(StoreKind::File {
                why: "lock poisoned".into(),
            })
    }

    fn using_os(&self) -> bool {
        matches!(self.kind(), StoreKind::Os)
    }

    fn fall_back(&self, e: &StoreError) {
        tracing::warn!(error = %e, "OS credential store failed; using the private file from now on");
        if let Ok(mut kind) = self.state().lock() {
            *kind = StoreKind::File { why: e.0.clone() };
        }
    }
}

/// In the file, marks a key deleted while the OS store was failing: any
/// copy still in the OS store is stale and must not come back.
const DELETED: &str = "deleted:";

impl FileStore {
    /// The value of `key` here, and whether it was deleted while the OS
    /// store was failing.
    fn lookup(&self, key: &str) -> Result<(Option<String>, bool), StoreError> {
        let _guard = self
            .lock
            .lock()
            .map_err(|_| StoreError("secret file lock poisoned".into()))?;
        let map = self.read()?;
        Ok((
            map.get(key).cloned(),
            map.contains_key(&format!("{DELETED}{key}")),
        ))
    }

    /// Neither a value nor a deletion mark for `key`.
    fn clear(&self, key: &str) -> Result<(), StoreError> {
        self.update(|map| {
            map.remove(key);
            map.remove(&format!("{DELETED}{key}"));
        })
    }

    /// A value written while the OS store fails.
    fn put(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.update(|map| {
            map.remove(&format!("{DELETED}{key}"));
            map.insert(key.to_owned(), value.to_owned());
        })
    }

    /// A delete while the OS store fails.
    fn bury(&self, key: &str) -> Result<(), StoreError> {
        self.update(|map| {
            map.remove(key);
            map.insert(format!("{DELETED}{key}"), String::new());
        })
    }
}

// What the file holds for a key is always newer than the OS store's copy: a
// write there happens only while the OS store fails, and a later write to
// the OS store clears it. So reads look in the file first, and a key
// deleted during a failure is marked there — otherwise, once the OS store
// works again, a logged-out token (its delete having failed) would come back
// and win over the new one in the file.
impl SecretStore for FallbackStore {
    fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let (in_file, deleted) = self.file.lookup(key)?;
        if in_file.is_some() {
            return Ok(in_file);
        }
        if deleted {
            // Finish the delete that failed, once the OS store takes it.
            if self.using_os() && self.primary.delete(key).is_ok() {
                self.file.clear(key)?;
            }
            return Ok(None);
        }
        if self.using_os() {
            match self.primary.get(key) {
                Ok(value) => return Ok(value),
                Err(e) => self.fall_back(&e),
            }
        }
        Ok(None)
    }

    fn set(&self, key: &str, value: &str) -> Result<(), StoreError> {
        if self.using_os() {
            match self.primary.set(key, value) {
                // A stale copy in the file must not outlive this value.
                Ok(()) => return self.file.clear(key),
                Err(e) => self.fall_back(&e),
            }
        }
        self.file.put(key, value)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        if self.using_os() {
            match self.primary.delete(key) {
                Ok(()) => return self.file.clear(key),
                Err(e) => self.fall_back(&e),
            }
        }
        self.file.bury(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Broken;
    impl SecretStore for Broken {
        fn get(&self, _: &str) -> Result<Option<String>, StoreError> {
            Err(StoreError("locked".into()))
        }
        fn set(&self, _: &str, _: &str) -> Result<(), StoreError> {
            Err(StoreError("locked".into()))
        }
        fn delete(&self, _: &str) -> Result<(), StoreError> {
            Err(StoreError("locked".into()))
        }
    }

    #[test]
    fn a_broken_os_store_falls_back_to_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        let store = FallbackStore::new(Box::new(Broken), FileStore::new(path.clone()));
        assert_eq!(
            store.kind(),
            StoreKind::File {
                why: "locked".into()
            }
        );
        store.set("session_token", "tok").unwrap();
        assert_eq!(store.get("session_token").unwrap().as_deref(), Some("tok"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        store.delete("session_token").unwrap();
        assert_eq!(store.get("session_token").unwrap(), None);
    }

    #[test]
    fn a_working_os_store_is_used_and_the_file_stays_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        let store = FallbackStore::new(
            Box::new(MemoryStore::default()),
            FileStore::new(path.clone()),
        );
        assert_eq!(store.kind(), StoreKind::Os);
        store.set("k", "v").unwrap();
        assert_eq!(store.get("k").unwrap().as_deref(), Some("v"));
        assert!(!std::fs::read_to_string(&path)
            .unwrap_or_default()
            .contains('v'));
    }

    /// The OS store of `FallbackStore` in the tests below: shared, so a
    /// second launch sees what the first left there, and breakable.
    #[derive(Clone, Default)]
    struct Switchable(std::sync::Arc<(MemoryStore, std::sync::atomic::AtomicBool)>);
    impl Switchable {
        fn check(&self) -> Result<(), StoreError> {
            if self.0 .1.load(std::sync::atomic::Ordering::SeqCst) {
                Err(StoreError("locked".into()))
            } else {
                Ok(())
            }
        }
        fn broken(&self, broken: bool) {
            self.0 .1.store(broken, std::sync::atomic::Ordering::SeqCst);
        }
    }
    impl SecretStore for Switchable {
        fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
            self.check()?;
            self.0 .0.get(key)
        }
        fn set(&self, key: &str, value: &str) -> Result<(), StoreError> {
            self.check()?;
            self.0 .0.set(key, value)
        }
        fn delete(&self, key: &str) -> Result<(), StoreError> {
            self.check()?;
            self.0 .0.delete(key)
        }
    }

    #[test]
    fn what_changed_while_the_os_store_failed_wins_once_it_works_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        let os = Switchable::default();
        let store = FallbackStore::new(Box::new(os.clone()), FileStore::new(path.clone()));
        store.set("token", "old").unwrap();
        store.set("verifier", "v").unwrap();
        os.broken(true);
        store.set("token", "new").unwrap();
        store.delete("verifier").unwrap();
        assert!(matches!(store.kind(), StoreKind::File { .. }));
        // The next launch finds the OS store working, still holding the
        // stale "old" and the deleted "v".
        os.broken(false);
        let store = FallbackStore::new(Box::new(os.clone()), FileStore::new(path.clone()));
        assert_eq!(store.kind(), StoreKind::Os);
        assert_eq!(store.get("token").unwrap().as_deref(), Some("new"));
        assert_eq!(store.get("verifier").unwrap(), None);
        assert_eq!(
            os.get("verifier").unwrap(),
            None,
            "the failed delete is finished"
        );
        // Writes with the OS store working clear the file's copies.
        store.set("token", "newer").unwrap();
        assert_eq!(store.get("token").unwrap().as_deref(), Some("newer"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{}");
    }

    #[test]
    fn a_damaged_secret_file_starts_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        std::fs::write(&path, "{not json").unwrap();
        let file = FileStore::new(path);
        assert_eq!(file.get("k").unwrap(), None);
        file.set("k", "v").unwrap();
        assert_eq!(file.get("k").unwrap().as_deref(), Some("v"));
    }
}
