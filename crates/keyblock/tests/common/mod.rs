//! Helpers shared by the integration tests: a deterministic "RNG" that replays fixed
//! bytes (to reproduce published key blocks whose padding is given), and hex decoding.

use paycrypt_keyblock::rand_core::{Infallible, TryCryptoRng, TryRng};

/// Replays `bytes` in order, then zeros. Only for reproducing published vectors.
pub struct FixedRng {
    bytes: Vec<u8>,
    pos: usize,
}

impl FixedRng {
    pub fn new(hex_bytes: &str) -> Self {
        Self {
            bytes: h(hex_bytes),
            pos: 0,
        }
    }

    /// True when every given byte was consumed.
    pub fn exhausted(&self) -> bool {
        self.pos == self.bytes.len()
    }
}

impl TryRng for FixedRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for d in dst {
            *d = self.bytes.get(self.pos).copied().unwrap_or(0);
            self.pos += 1;
        }
        Ok(())
    }
}

impl TryCryptoRng for FixedRng {}

/// Hex to bytes; spaces are ignored.
pub fn h(s: &str) -> Vec<u8> {
    hex::decode(s.replace(' ', "")).expect("test vector is hex")
}
