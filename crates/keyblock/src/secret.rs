//! [`SecretBytes`]: an owned byte buffer for clear key material that is wiped on drop
//! and never printed.

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Owned clear key material.
///
/// The bytes are overwritten with zeros when the value is dropped (and when a clone is
/// dropped). `Debug` prints only the length; there is no `Display`. Read the bytes with
/// [`SecretBytes::expose`], ideally only for as long as an operation needs them.
///
/// ```
/// use paycrypt_keyblock::SecretBytes;
/// let key = SecretBytes::new(vec![0x11; 16]);
/// assert_eq!(key.len(), 16);
/// assert_eq!(format!("{key:?}"), "SecretBytes(<redacted; 16 bytes>)");
/// ```
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Takes ownership of `bytes`; they are wiped when the `SecretBytes` is dropped.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The clear bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the buffer holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBytes(<redacted; {} bytes>)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let s = SecretBytes::new(vec![0xAB; 3]);
        let printed = format!("{s:?} {s:#?}");
        assert!(!printed.contains("AB") && !printed.contains("171"));
        assert_eq!(format!("{s:?}"), "SecretBytes(<redacted; 3 bytes>)");
    }

    #[test]
    fn clone_and_accessors() {
        let s = SecretBytes::new(vec![1, 2, 3]);
        let c = s.clone();
        assert_eq!(c.expose(), &[1, 2, 3]);
        assert_eq!(c.len(), 3);
        assert!(!c.is_empty());
        assert!(SecretBytes::new(Vec::new()).is_empty());
    }
}
