//! Export and import tokens made ahead of their requests, so GetParametersForExport/Import does no
//! private-key operation on the request path: no RSA key generation (tens of milliseconds, with a
//! long tail) and no signature of the account CA (RSA-4096, milliseconds).
//!
//! **Pairs.** One background thread keeps up to `capacity` RSA-2048 key pairs ready. A pair
//! leaves the pool by value and is used for exactly one token, never handed out twice.
//!
//! **Ready tokens.** The pool is per process, the CA per account and region; so tokens are made
//! ready per *shelf*, one kind of token (export or import) in one account and region, and only
//! for shelves that have been asked for. The first request of a shelf registers how to issue its
//! certificates (an [`Issuer`]: the scope's CA certificate and its private key, which stays sealed
//! and is opened only for each signature) and is itself served as before; the thread then fills
//! the shelf up to `capacity` tokens, each a pair from the pool, a token name and a certificate
//! from the scope's CA. The request path then only seals the pair's private key and stores the
//! token. At most [`SHELVES`] shelves are kept; the one asked for least recently goes first.
//!
//! **Validity.** The thread has no clock of its own (the service's clock is injected, and tests
//! move it): a ready token's certificate is issued for the time of the latest request of its shelf
//! (`issued_ms`), valid from an hour before it to [`MARGIN_MS`] past `issued_ms` plus the token
//! validity. A token handed out at `now` expires at `now` plus the token validity, so it is handed
//! out only while `issued_ms - 1 hour <= now <= issued_ms + MARGIN_MS`: its certificate then covers
//! its whole lifetime from the moment it is handed out. Older ready tokens are dropped and the
//! shelf is refilled.
//!
//! When nothing is ready (an empty pool, capacity 0, another algorithm, a shelf's first request),
//! the request makes its own pair and certificate, still off the async runtime. The thread ends
//! when the pool is dropped.
//!
//! **Settling.** A key generation keeps a core busy for tens of milliseconds. Started the moment a
//! request takes its token, it would compete for the CPU with the rest of that very request (the
//! seal, the durable write, the answer), and on a small machine it did: the refill thread is the
//! first suspect of GetParametersForExport's latency. So, while there is still a pair and a token
//! of every shelf to hand out, the thread waits until nothing has been taken for [`SETTLE`] before
//! its next task; once anything has run out, it refills at once.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use paycrypt_keyblock::keygen::{self, AsymmetricAlgorithm, KeyPair};
use paycrypt_store::Scope;

/// How long after `issued_ms` a ready token may still be handed out (its certificate is valid
/// this much longer than the token).
pub(crate) const MARGIN_MS: i64 = 60 * 60 * 1000;
/// How long before `issued_ms` its certificate starts to be valid.
const BEFORE_MS: i64 = 60 * 60 * 1000;
/// The gauge of what is ready.
const DEPTH: &str = "paycrypt_token_key_pool_depth";
/// Shelves of ready tokens kept at most.
pub(crate) const SHELVES: usize = 8;
/// How long after the latest take the thread waits before its next task while nothing has run
/// out (see the module doc): longer than a request takes to finish once it has its token.
const SETTLE: Duration = Duration::from_millis(20);

/// One kind of token (`export` or `import`) in one account and region.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ShelfKey {
    pub scope: Scope,
    pub kind: String,
}

/// Issues a ready token of a shelf: given the pair's public key (SubjectPublicKeyInfo DER) and
/// the time to issue it for (ms), the token's name and its certificate.
pub(crate) type Issuer = Arc<dyn Fn(&[u8], i64) -> Result<(String, Vec<u8>), String> + Send + Sync>;

/// A token made ahead: its name, pair and certificate.
pub(crate) struct ReadyToken {
    pub token: String,
    pub pair: KeyPair,
    pub certificate: Vec<u8>,
    issued_ms: i64,
}

/// Whether a token issued for `issued_ms` may be handed out at `now_ms` (see the module doc).
fn fresh(issued_ms: i64, now_ms: i64) -> bool {
    issued_ms - BEFORE_MS <= now_ms && now_ms <= issued_ms + MARGIN_MS
}

struct TokenShelf {
    issuer: Issuer,
    /// The time of the latest request: what the next token is issued for.
    issued_ms: i64,
    ready: VecDeque<ReadyToken>,
    /// When it was last asked for, in requests counted by the pool.
    asked: u64,
}

/// The pool's shared state.
struct Stock {
    pairs: VecDeque<KeyPair>,
    shelves: HashMap<ShelfKey, TokenShelf>,
    /// Requests for ready tokens so far (the order of `TokenShelf::asked`).
    asks: u64,
    /// When a pair or a token was last taken (or asked for).
    last_take: Option<Instant>,
    closed: bool,
}

impl Stock {
    /// Publishes how much is ready as the gauge `paycrypt_token_key_pool_depth` (names:
    /// crates/server/src/metrics.rs): pairs, and tokens over every shelf.
    fn report_depth(&self) {
        let tokens: usize = self.shelves.values().map(|s| s.ready.len()).sum();
        metrics::gauge!(DEPTH, "kind" => "pairs").set(self.pairs.len() as f64);
        metrics::gauge!(DEPTH, "kind" => "tokens").set(tokens as f64);
    }

    /// How much longer, at `now`, the thread should wait before its next task: until [`SETTLE`]
    /// has passed since the latest take, unless something has run out (see the module doc).
    fn settling(&self, now: Instant) -> Option<Duration> {
        let run_out = self.pairs.is_empty() || self.shelves.values().any(|s| s.ready.is_empty());
        if run_out {
            return None;
        }
        SETTLE.checked_sub(now.saturating_duration_since(self.last_take?))
    }
}

struct Shared {
    stock: Mutex<Stock>,
    /// Signalled when something was taken, a shelf added or the pool closed: the thread waits on
    /// it.
    taken: Condvar,
    capacity: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Stock> {
        // A panic while holding the lock cannot leave the stock half-changed (each change is a
        // single call), so a poisoned lock is still usable.
        self.stock.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Pregenerated pairs and ready tokens; see the module doc.
pub(crate) struct KeyPool {
    shared: Option<Arc<Shared>>,
}

impl KeyPool {
    /// A pool that holds up to `capacity` pairs and `capacity` ready tokens per shelf, filled by
    /// a background thread; 0 makes an empty pool with no thread, so every token makes its own.
    pub(crate) fn new(capacity: usize) -> Self {
        if capacity == 0 {
            return Self { shared: None };
        }
        let shared = Arc::new(Shared {
            stock: Mutex::new(Stock {
                pairs: VecDeque::with_capacity(capacity),
                shelves: HashMap::new(),
                asks: 0,
                last_take: None,
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
        let pair = {
            let mut stock = shared.lock();
            let pair = stock.pairs.pop_front();
            if pair.is_some() {
                stock.last_take = Some(Instant::now());
                stock.report_depth();
            }
            pair
        };
        if pair.is_some() {
            shared.taken.notify_one();
        }
        pair
    }

    /// A ready token of `shelf` that may be handed out at `now_ms`, removed from the pool. The
    /// shelf is kept filled from now on; `issuer` is called to register it when it is new.
    pub(crate) fn take_ready(
        &self,
        shelf: &ShelfKey,
        now_ms: i64,
        issuer: impl FnOnce() -> Issuer,
    ) -> Option<ReadyToken> {
        let shared = self.shared.as_ref()?;
        let token = {
            let mut stock = shared.lock();
            stock.asks += 1;
            stock.last_take = Some(Instant::now());
            let asked = stock.asks;
            if !stock.shelves.contains_key(shelf) && stock.shelves.len() >= SHELVES {
                let oldest = stock
                    .shelves
                    .iter()
                    .min_by_key(|(_, s)| s.asked)
                    .map(|(key, _)| key.clone());
                oldest.map(|key| stock.shelves.remove(&key));
            }
            let entry = stock
                .shelves
                .entry(shelf.clone())
                .or_insert_with(|| TokenShelf {
                    issuer: issuer(),
                    issued_ms: now_ms,
                    ready: VecDeque::new(),
                    asked,
                });
            entry.asked = asked;
            entry.issued_ms = now_ms;
            entry.ready.retain(|t| fresh(t.issued_ms, now_ms));
            let token = entry.ready.pop_front();
            stock.report_depth();
            token
        };
        shared.taken.notify_one();
        token
    }

    /// How many pairs are ready now.
    #[cfg(test)]
    fn ready_pairs(&self) -> usize {
        self.shared.as_ref().map_or(0, |s| s.lock().pairs.len())
    }

    /// How many tokens of `shelf` are ready now.
    #[cfg(test)]
    fn ready_tokens(&self, shelf: &ShelfKey) -> usize {
        self.shared.as_ref().map_or(0, |s| {
            s.lock().shelves.get(shelf).map_or(0, |s| s.ready.len())
        })
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

/// What the thread does next.
enum Task {
    /// Issue a token of a shelf with this pair, for this time.
    Issue(ShelfKey, KeyPair, Issuer, i64),
    /// Generate a pair.
    Generate,
}

/// The next task: a token for a shelf short of its capacity while a pair is ready, else a pair
/// while the pool has room, else `None` (wait).
fn next_task(stock: &mut Stock, capacity: usize) -> Option<Task> {
    if !stock.pairs.is_empty() {
        let short = stock
            .shelves
            .iter()
            .find(|(_, s)| s.ready.len() < capacity)
            .map(|(key, s)| (key.clone(), s.issuer.clone(), s.issued_ms));
        if let Some((key, issuer, issued_ms)) = short {
            let pair = stock.pairs.pop_front().expect("checked above");
            return Some(Task::Issue(key, pair, issuer, issued_ms));
        }
    }
    (stock.pairs.len() < capacity).then_some(Task::Generate)
}

/// The background thread: issue tokens for short shelves and generate pairs while there is room,
/// sleep while everything is full, stop when the pool is dropped.
fn refill(shared: &Shared) {
    loop {
        let task = {
            let mut stock = shared.lock();
            loop {
                if stock.closed {
                    return;
                }
                if let Some(wait) = stock.settling(Instant::now()) {
                    stock = shared
                        .taken
                        .wait_timeout(stock, wait)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                    continue;
                }
                if let Some(task) = next_task(&mut stock, shared.capacity) {
                    break task;
                }
                stock = shared.taken.wait(stock).unwrap_or_else(|e| e.into_inner());
            }
        };
        match task {
            Task::Issue(key, pair, issuer, issued_ms) => {
                let issued = issuer(&pair.public_spki_der, issued_ms);
                let mut stock = shared.lock();
                match issued {
                    Ok((token, certificate)) => {
                        if let Some(shelf) = stock.shelves.get_mut(&key) {
                            shelf.ready.push_back(ReadyToken {
                                token,
                                pair,
                                certificate,
                                issued_ms,
                            });
                        }
                    }
                    Err(e) => {
                        // The shelf goes (its next request registers it again); the pair stays.
                        tracing::warn!("a token could not be made ready: {e}");
                        stock.shelves.remove(&key);
                        stock.pairs.push_front(pair);
                    }
                }
                stock.report_depth();
            }
            Task::Generate => match keygen::generate_key_pair(AsymmetricAlgorithm::Rsa2048) {
                Ok(pair) => {
                    let mut stock = shared.lock();
                    stock.pairs.push_back(pair);
                    stock.report_depth();
                }
                Err(e) => {
                    // Requests still generate their own pairs; try again a little later.
                    tracing::warn!("the RSA key pool could not generate a key pair: {e}");
                    std::thread::sleep(Duration::from_secs(1));
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !done() {
            assert!(Instant::now() < deadline, "{what} did not happen in 60 s");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn shelf(account: &str) -> ShelfKey {
        ShelfKey {
            scope: Scope {
                account: account.into(),
                region: "us-east-1".into(),
            },
            kind: "export".into(),
        }
    }

    /// An issuer whose "certificate" is the public key and the time it was issued for.
    fn issuer(name: &'static str) -> Issuer {
        Arc::new(move |spki: &[u8], issued_ms: i64| {
            let mut certificate = spki.to_vec();
            certificate.extend(issued_ms.to_be_bytes());
            Ok((
                format!("{name}-{}", crate::ids::random_lower_alphanumeric(8)),
                certificate,
            ))
        })
    }

    #[test]
    fn fills_to_capacity_and_refills_with_new_pairs() {
        let pool = KeyPool::new(3);
        wait_until("filling", || pool.ready_pairs() == 3);
        let mut seen = HashSet::new();
        for _ in 0..3 {
            let pair = pool.take().expect("a full pool hands out a pair");
            assert!(seen.insert(pair.public_spki_der.clone()));
        }
        assert!(
            pool.take().is_none(),
            "three pairs were taken from a pool of three"
        );
        wait_until("refilling", || pool.ready_pairs() == 3);
        for _ in 0..3 {
            let pair = pool.take().unwrap();
            assert!(
                seen.insert(pair.public_spki_der),
                "a pair was handed out twice"
            );
        }
        // It never holds more than its capacity.
        wait_until("refilling", || pool.ready_pairs() == 3);
        std::thread::sleep(Duration::from_millis(200));
        assert_eq!(pool.ready_pairs(), 3);
    }

    #[test]
    fn a_shelf_is_filled_after_its_first_request_with_tokens_of_its_own_issuer() {
        let pool = KeyPool::new(2);
        let (a, b) = (shelf("111111111111"), shelf("222222222222"));
        let now = 1_000_000_000_000;
        // The first request of a shelf finds nothing ready; it registers the shelf.
        assert!(pool.take_ready(&a, now, || issuer("a")).is_none());
        assert!(pool.take_ready(&b, now, || issuer("b")).is_none());
        wait_until("filling the shelves", || {
            pool.ready_tokens(&a) == 2 && pool.ready_tokens(&b) == 2
        });
        let mut seen = HashSet::new();
        for (key, name) in [(&a, "a-"), (&b, "b-")] {
            for _ in 0..2 {
                let token = pool
                    .take_ready(key, now + 1000, || panic!("registered already"))
                    .expect("ready");
                assert!(token.token.starts_with(name), "{}", token.token);
                assert!(token.certificate.starts_with(&token.pair.public_spki_der));
                assert_eq!(token.issued_ms, now);
                assert!(
                    seen.insert(token.pair.public_spki_der),
                    "a pair was used twice"
                );
            }
        }
    }

    #[test]
    fn tokens_too_old_for_their_certificate_are_not_handed_out() {
        let pool = KeyPool::new(1);
        let a = shelf("111111111111");
        let now = 1_000_000_000_000;
        assert!(pool.take_ready(&a, now, || issuer("a")).is_none());
        wait_until("filling the shelf", || pool.ready_tokens(&a) == 1);
        // Past the margin, the ready token's certificate would end before the token: dropped.
        let later = now + MARGIN_MS + 1;
        assert!(pool.take_ready(&a, later, || issuer("a")).is_none());
        // The shelf is refilled for the time of that request.
        wait_until("refilling the shelf", || pool.ready_tokens(&a) == 1);
        let token = pool.take_ready(&a, later, || issuer("a")).unwrap();
        assert_eq!(token.issued_ms, later);
        assert!(fresh(token.issued_ms, later + MARGIN_MS));
        assert!(!fresh(token.issued_ms, later - BEFORE_MS - 1));
    }

    #[test]
    fn at_most_so_many_shelves_the_least_recently_asked_going_first() {
        let pool = KeyPool::new(1);
        let now = 1_000_000_000_000;
        let shelves: Vec<ShelfKey> = (0..=SHELVES).map(|i| shelf(&format!("{i:012}"))).collect();
        for key in &shelves {
            pool.take_ready(key, now, || issuer("x"));
        }
        let shared = pool.shared.as_ref().unwrap();
        let stock = shared.lock();
        assert_eq!(stock.shelves.len(), SHELVES);
        assert!(!stock.shelves.contains_key(&shelves[0]));
        assert!(stock.shelves.contains_key(&shelves[SHELVES]));
    }

    #[test]
    fn refilling_waits_for_takes_to_settle_unless_something_ran_out() {
        let pool = KeyPool::new(2);
        let a = shelf("111111111111");
        let now = 1_000_000_000_000;
        assert!(pool.take_ready(&a, now, || issuer("a")).is_none());
        wait_until("filling", || {
            pool.ready_pairs() == 2 && pool.ready_tokens(&a) == 2
        });
        // A take is followed by a refill once the takes have settled.
        pool.take_ready(&a, now, || panic!("registered already"))
            .expect("ready");
        wait_until("refilling", || {
            pool.ready_pairs() == 2 && pool.ready_tokens(&a) == 2
        });

        let shared = pool.shared.as_ref().unwrap();
        let mut stock = shared.lock();
        // Something left of everything: the thread waits out SETTLE after the latest take.
        let taken = Instant::now();
        stock.last_take = Some(taken);
        assert_eq!(stock.settling(taken), Some(SETTLE));
        let later = taken + SETTLE / 4;
        assert_eq!(stock.settling(later), Some(SETTLE - SETTLE / 4));
        assert_eq!(stock.settling(taken + SETTLE * 2), None, "settled");
        // A shelf that ran out is refilled without waiting.
        stock.shelves.get_mut(&a).unwrap().ready.clear();
        assert_eq!(stock.settling(taken), None);
        // So is an empty pool of pairs.
        stock.shelves.clear();
        stock.pairs.clear();
        assert_eq!(stock.settling(taken), None);
    }

    #[test]
    fn capacity_zero_holds_nothing() {
        let pool = KeyPool::new(0);
        std::thread::sleep(Duration::from_millis(50));
        assert!(pool.take().is_none());
        assert!(
            pool.take_ready(&shelf("111111111111"), 0, || issuer("a"))
                .is_none()
        );
        assert_eq!(pool.ready_pairs(), 0);
    }
}
