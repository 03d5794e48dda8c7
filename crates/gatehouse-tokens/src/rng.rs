//! The workspace passes randomness as `rand` 0.8's `RngCore + CryptoRng`; the
//! RSA and P-256 generators of jsonwebtoken's generation take `rand_core` 0.10's.
//! This adapter lends the one to the other without changing where the bytes
//! come from.

use core::convert::Infallible;

use rand::{CryptoRng, RngCore};

/// The randomness every generator here takes: the OS's in production, a seeded
/// generator in tests.
pub trait Random: RngCore + CryptoRng {}
impl<T: RngCore + CryptoRng> Random for T {}

pub(crate) struct Lend<'a>(pub &'a mut dyn Random);

impl rand_core_10::TryRng for Lend<'_> {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.0.next_u32())
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.0.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

// The lent generator is the caller's `CryptoRng`.
impl rand_core_10::TryCryptoRng for Lend<'_> {}
