//! The data directory is its owner's alone: created 0700, and every file paycrypt writes in it
//! 0600 (the database and its WAL and shared-memory files, the master key, the audit log). The key
//! material inside is sealed, but key metadata, aliases and tags are not. A data directory or
//! master key file that others can read or enter gets a warning at start: paycrypt does not take
//! permissions away from a directory the operator made.

use std::fs::{DirBuilder, Permissions};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use anyhow::Context as _;

/// The files SQLite keeps in the data directory. SQLite gives its WAL and shared-memory files the
/// database file's mode, so once the database is 0600 they are too.
const DATABASE_FILES: [&str; 3] = ["paycrypt.db", "paycrypt.db-wal", "paycrypt.db-shm"];

/// Creates `dir` (and missing parents) with mode 0700 when it does not exist; warns when it
/// exists and others may read or enter it.
pub fn create(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        warn_if_shared(dir, "data directory");
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| format!("cannot create data directory {}", dir.display()))
}

/// Makes the database files in `dir` 0600 (SQLite creates them with the process's umask).
pub fn restrict_database(dir: &Path) -> anyhow::Result<()> {
    for name in DATABASE_FILES {
        let path = dir.join(name);
        match std::fs::set_permissions(&path, Permissions::from_mode(0o600)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(e).with_context(|| format!("cannot make {} private", path.display()));
            }
        }
    }
    Ok(())
}

/// Logs a warning when others than the owner may read (or, for a directory, enter) `path`.
pub fn warn_if_shared(path: &Path, what: &str) {
    if let Some(mode) = shared_mode(path) {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{mode:o}"),
            "the {what} can be read by other users; make it private (chmod go-rwx)"
        );
    }
}

/// The permission bits of `path` when they give its group or others any access.
fn shared_mode(path: &Path) -> Option<u32> {
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_data_dir_is_private_and_an_old_shared_one_is_noticed() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("a/b");
        create(&dir).unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert_eq!(shared_mode(&dir), None);

        std::fs::set_permissions(&dir, Permissions::from_mode(0o755)).unwrap();
        assert_eq!(shared_mode(&dir), Some(0o755));
        create(&dir).unwrap();
        std::fs::write(dir.join("paycrypt.db"), b"").unwrap();
        std::fs::set_permissions(dir.join("paycrypt.db"), Permissions::from_mode(0o644)).unwrap();
        restrict_database(&dir).unwrap();
        let mode = std::fs::metadata(dir.join("paycrypt.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
