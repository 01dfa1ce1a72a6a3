//! The master key that seals all key material: 32 bytes, kept as 64 hex characters in a file.
//! Without a configured file paycrypt uses `<data-dir>/master.key`, creating it (mode 0600) on
//! first start.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// Reads the master key from `configured`, or from (creating if needed) the data dir's default.
pub fn load_or_create(
    configured: Option<&Path>,
    data_dir: &Path,
) -> anyhow::Result<Zeroizing<[u8; 32]>> {
    if let Some(path) = configured {
        return read(path);
    }
    let path: PathBuf = data_dir.join("master.key");
    if path.exists() {
        return read(&path);
    }
    let mut key = Zeroizing::new([0u8; 32]);
    SystemRandom::new()
        .fill(key.as_mut())
        .map_err(|_| anyhow::anyhow!("the operating system's random source failed"))?;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot create master key file {}", path.display()))?;
    let encoded = Zeroizing::new(hex::encode(key.as_ref()));
    file.write_all(encoded.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    tracing::warn!(
        path = %path.display(),
        "created a new master key; back it up: without it no stored key can be opened"
    );
    Ok(key)
}

fn read(path: &Path) -> anyhow::Result<Zeroizing<[u8; 32]>> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .with_context(|| format!("cannot read master key file {}", path.display()))?,
    );
    let mut key = Zeroizing::new([0u8; 32]);
    let trimmed = text.trim();
    if trimmed.len() != 64 || hex::decode_to_slice(trimmed, key.as_mut()).is_err() {
        bail!(
            "master key file {} must hold 64 hex characters (32 bytes)",
            path.display()
        );
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn creates_once_with_private_mode_then_reads_back() {
        let dir = std::env::temp_dir().join(format!("paycrypt-mk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let first = load_or_create(None, &dir).unwrap();
        let mode = std::fs::metadata(dir.join("master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let second = load_or_create(None, &dir).unwrap();
        assert_eq!(*first, *second);
        std::fs::write(dir.join("bad.key"), "not hex").unwrap();
        assert!(load_or_create(Some(&dir.join("bad.key")), &dir).is_err());
        assert!(load_or_create(Some(&dir.join("missing.key")), &dir).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
