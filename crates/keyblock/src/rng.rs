//! [`SystemRng`]: the operating system's random number generator behind the
//! `rand_core` traits used by the rest of the crate.

use rand_core::{Infallible, TryCryptoRng, TryRng};

/// Cryptographically secure randomness from the operating system (via `getrandom`).
///
/// Implements [`rand_core::CryptoRng`] (through the blanket impls over
/// [`TryRng`]`<Error = Infallible>` and [`TryCryptoRng`]), so it can be passed wherever this
/// crate asks for randomness. Tests pass a deterministic generator instead.
///
/// If the operating system cannot supply randomness at all (a broken platform, not a
/// property of any input) this panics rather than return predictable bytes.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemRng;

impl TryRng for SystemRng {
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
        getrandom::fill(dst).expect("the operating system random number generator failed");
        Ok(())
    }
}

impl TryCryptoRng for SystemRng {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::Rng;

    #[test]
    fn produces_distinct_output() {
        let mut rng = SystemRng;
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut a);
        rng.fill_bytes(&mut b);
        assert_ne!(a, b);
        assert_ne!(rng.next_u64(), rng.next_u64());
    }
}
