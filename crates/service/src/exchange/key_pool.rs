//! A small bounded pool of pregenerated RSA-2048 key pairs for export and import tokens, so
//! GetParametersForExport does not wait for an RSA key generation (tens of milliseconds, with a
//! long tail) on the request path.
//!
//! One background thread keeps the pool full: it sleeps while the pool holds its capacity and
//! generates a pair whenever a token took one. A pair leaves the pool by value and is used for
//! exactly one token, never handed out twice. When the pool is empty (or has capacity 0), the
//! request generates its own pair, still off the async runtime. The thread ends when the pool
//! is dropped.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use paycrypt_keyblock::keygen::{self, AsymmetricAlgorithm, KeyPair};

/// The pool's shared state: the pairs, and whether the owner is gone.
struct Shelf {
    pairs: VecDeque<KeyPair>,
    closed: bool,
}

struct Shared {
    shelf: Mutex<Shelf>,
    /// Signalled when a pair was taken or the pool closed: the refiller waits on it.
    taken: Condvar,
    capacity: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Shelf> {
        // A panic while holding the lock cannot leave the queue half-changed (push and pop are
        // single calls), so a poisoned lock is still usable.
        self.shelf.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Pregenerated RSA-2048 key pairs; see the module doc.
pub(crate) struct KeyPool {
    shared: Option<Arc<Shared>>,
}

impl KeyPool {
    /// A pool that holds up to `capacity` pairs, filled by a background thread; 0 makes an empty
    /// pool with no thread, so every token generates its own pair.
    pub(crate) fn new(capacity: usize) -> Self {
        if capacity == 0 {
            return Self { shared: None };
        }
        let shared = Arc::new(Shared {
            shelf: Mutex::new(Shelf {
                pairs: VecDeque::with_capacity(capacity),
                closed: false,
            }),
            taken: Condvar::new(),
            capacity,
        });
        let refiller = shared.clone();
        let started = std::thread::Builder::new()
            .name("paycrypt-rsa-pool".into())
            .spawn(move || refill(&refiller));
        if let Err(e) = started {
            tracing::warn!("the RSA key pool is disabled: its thread could not start: {e}");
            return Self { shared: None };
        }
        Self {
            shared: Some(shared),
        }
    }

    /// A pregenerated RSA-2048 pair, removed from the pool, or `None` when the pool is empty.
    pub(crate) fn take(&self) -> Option<KeyPair> {
        let shared = self.shared.as_ref()?;
        let pair = shared.lock().pairs.pop_front();
        if pair.is_some() {
            shared.taken.notify_one();
        }
        pair
    }

    /// How many pairs are ready now.
    #[cfg(test)]
    fn ready(&self) -> usize {
        self.shared.as_ref().map_or(0, |s| s.lock().pairs.len())
    }
}

impl Drop for KeyPool {
    fn drop(&mut self) {
        if let Some(shared) = &self.shared {
            shared.lock().closed = true;
            shared.taken.notify_one();
        }
    }
}

/// The background thread: generate while the pool has room, sleep while it is full, stop when
/// the pool is dropped.
fn refill(shared: &Shared) {
    loop {
        {
            let mut shelf = shared.lock();
            while !shelf.closed && shelf.pairs.len() >= shared.capacity {
                shelf = shared.taken.wait(shelf).unwrap_or_else(|e| e.into_inner());
            }
            if shelf.closed {
                return;
            }
        }
        match keygen::generate_key_pair(AsymmetricAlgorithm::Rsa2048) {
            Ok(pair) => {
                let mut shelf = shared.lock();
                if shelf.closed {
                    return;
                }
                shelf.pairs.push_back(pair);
            }
            Err(e) => {
                // Requests still generate their own pairs; try again a little later.
                tracing::warn!("the RSA key pool could not generate a key pair: {e}");
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::time::{Duration, Instant};

    use super::*;

    fn wait_until_full(pool: &KeyPool, capacity: usize) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while pool.ready() < capacity {
            assert!(Instant::now() < deadline, "the pool did not fill in 60 s");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn fills_to_capacity_and_refills_with_new_pairs() {
        let pool = KeyPool::new(3);
        wait_until_full(&pool, 3);
        let mut seen = HashSet::new();
        for _ in 0..3 {
            let pair = pool.take().expect("a full pool hands out a pair");
            assert!(seen.insert(pair.public_spki_der.clone()));
        }
        assert!(
            pool.take().is_none(),
            "three pairs were taken from a pool of three"
        );
        wait_until_full(&pool, 3);
        for _ in 0..3 {
            let pair = pool.take().unwrap();
            assert!(
                seen.insert(pair.public_spki_der),
                "a pair was handed out twice"
            );
        }
        // It never holds more than its capacity.
        wait_until_full(&pool, 3);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(pool.ready(), 3);
    }

    #[test]
    fn capacity_zero_holds_nothing() {
        let pool = KeyPool::new(0);
        std::thread::sleep(Duration::from_millis(50));
        assert!(pool.take().is_none());
        assert_eq!(pool.ready(), 0);
    }
}
