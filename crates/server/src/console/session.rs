//! The console's signed-in sessions and its sign-in throttle, both in memory (a restart signs
//! everyone out).
//!
//! A session is named by 256 random bits (the cookie's value) and carries its own CSRF token, which
//! every form posts back; it ends on sign-out or after an idle hour. Sign-in failures are counted
//! per source address and per access key id: after the first, each attempt from that address or
//! for that key waits longer (a quarter second, doubling to at most eight), until fifteen minutes
//! pass without a failure or the key signs in.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

use paycrypt_api::Timestamp;
use rand::RngCore;
use subtle::ConstantTimeEq;

/// How long a session lives without a request.
pub const IDLE_MILLIS: i64 = 60 * 60 * 1000;
/// How long a sign-in failure counts.
const FAILURE_WINDOW_MILLIS: i64 = 15 * 60 * 1000;
/// The first delay after a failure, and the longest.
const FIRST_DELAY: Duration = Duration::from_millis(250);
const MAX_DELAY: Duration = Duration::from_secs(8);
/// Entries kept before the oldest are dropped (sessions, failure counters).
const MAX_ENTRIES: usize = 10_000;

/// Who is signed in to one session.
#[derive(Debug, Clone)]
pub struct Session {
    pub account: String,
    pub access_key_id: String,
    /// The token every form of this session posts back.
    pub csrf: String,
    last_seen_ms: i64,
}

/// A random 256-bit value as 64 hex digits.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Whether two tokens are equal, in time independent of where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The name an access key id's failures are counted under: its first 128 characters (an id typed
/// into the form can be any length).
fn counted(access_key_id: &str) -> String {
    access_key_id.chars().take(128).collect()
}

/// The sessions and failure counters of one server.
#[derive(Default)]
pub struct Sessions {
    by_id: Mutex<HashMap<String, Session>>,
    failures: Mutex<Failures>,
}

#[derive(Default)]
struct Failures {
    by_address: HashMap<IpAddr, (u32, i64)>,
    by_key: HashMap<String, (u32, i64)>,
}

impl Sessions {
    /// Opens a session for an access key of `account` at `now`; returns its id.
    pub fn open(&self, account: &str, access_key_id: &str, now: Timestamp) -> String {
        let id = random_token();
        let session = Session {
            account: account.to_string(),
            access_key_id: access_key_id.to_string(),
            csrf: random_token(),
            last_seen_ms: now.as_millis(),
        };
        let mut by_id = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        if by_id.len() >= MAX_ENTRIES {
            let cutoff = now.as_millis() - IDLE_MILLIS;
            by_id.retain(|_, s| s.last_seen_ms > cutoff);
        }
        by_id.insert(id.clone(), session);
        id
    }

    /// The session `id` names, if it is open and was used within the idle hour; using it
    /// keeps it alive.
    pub fn get(&self, id: &str, now: Timestamp) -> Option<Session> {
        let mut by_id = self.by_id.lock().unwrap_or_else(|e| e.into_inner());
        let session = by_id.get_mut(id)?;
        if now.as_millis() - session.last_seen_ms > IDLE_MILLIS {
            by_id.remove(id);
            return None;
        }
        session.last_seen_ms = now.as_millis();
        Some(session.clone())
    }

    pub fn close(&self, id: &str) {
        self.by_id
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    /// How long a sign-in attempt from `address` for `access_key_id` waits at `now`.
    pub fn delay(&self, address: Option<IpAddr>, access_key_id: &str, now: Timestamp) -> Duration {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let recent = |entry: Option<&(u32, i64)>| {
            entry
                .filter(|(_, last)| now.as_millis() - last < FAILURE_WINDOW_MILLIS)
                .map_or(0, |(count, _)| *count)
        };
        let count = recent(address.and_then(|a| failures.by_address.get(&a)))
            .max(recent(failures.by_key.get(&counted(access_key_id))));
        match count {
            0 => Duration::ZERO,
            n => FIRST_DELAY
                .saturating_mul(1 << (n - 1).min(6))
                .min(MAX_DELAY),
        }
    }

    /// Counts a failed sign-in.
    pub fn failed(&self, address: Option<IpAddr>, access_key_id: &str, now: Timestamp) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now_ms = now.as_millis();
        let bump = |entry: &mut (u32, i64)| {
            if now_ms - entry.1 >= FAILURE_WINDOW_MILLIS {
                entry.0 = 0;
            }
            *entry = (entry.0.saturating_add(1), now_ms);
        };
        let Failures { by_address, by_key } = &mut *failures;
        if by_address.len() >= MAX_ENTRIES || by_key.len() >= MAX_ENTRIES {
            by_address.retain(|_, (_, last)| now_ms - *last < FAILURE_WINDOW_MILLIS);
            by_key.retain(|_, (_, last)| now_ms - *last < FAILURE_WINDOW_MILLIS);
        }
        if let Some(address) = address {
            bump(by_address.entry(address).or_insert((0, now_ms)));
        }
        // Only ids that exist need counting, but counting every id tells nobody which exist.
        if by_key.len() < MAX_ENTRIES {
            bump(by_key.entry(counted(access_key_id)).or_insert((0, now_ms)));
        }
    }

    /// Forgets the failures of an address and key that just signed in.
    pub fn succeeded(&self, address: Option<IpAddr>, access_key_id: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(address) = address {
            failures.by_address.remove(&address);
        }
        failures.by_key.remove(&counted(access_key_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn sessions_are_random_and_end_after_an_idle_hour() {
        let sessions = Sessions::default();
        let a = sessions.open("111122223333", "test", at(0));
        let b = sessions.open("111122223333", "test", at(0));
        assert_ne!(a, b);
        assert_eq!(a.len(), 64);
        let s = sessions.get(&a, at(IDLE_MILLIS)).unwrap();
        assert_eq!(s.account, "111122223333");
        assert_ne!(s.csrf, a);
        // Used at IDLE_MILLIS, so alive until twice that.
        assert!(sessions.get(&a, at(2 * IDLE_MILLIS)).is_some());
        assert!(sessions.get(&a, at(3 * IDLE_MILLIS + 1)).is_none());
        assert!(
            sessions.get(&a, at(0)).is_none(),
            "expired sessions are gone"
        );
        sessions.close(&b);
        assert!(sessions.get(&b, at(1)).is_none());
        assert!(sessions.get("nope", at(1)).is_none());
    }

    #[test]
    fn failures_slow_down_by_address_and_by_key_until_a_success() {
        let sessions = Sessions::default();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        let other: IpAddr = "127.0.0.2".parse().unwrap();
        assert_eq!(sessions.delay(Some(ip), "k", at(0)), Duration::ZERO);
        sessions.failed(Some(ip), "k", at(0));
        assert_eq!(sessions.delay(Some(ip), "x", at(1)), FIRST_DELAY);
        assert_eq!(sessions.delay(Some(other), "k", at(1)), FIRST_DELAY);
        assert_eq!(sessions.delay(Some(other), "x", at(1)), Duration::ZERO);
        for i in 0..20 {
            sessions.failed(Some(ip), "k", at(i));
        }
        assert_eq!(sessions.delay(Some(ip), "k", at(30)), MAX_DELAY);
        assert_eq!(
            sessions.delay(Some(ip), "k", at(30 + FAILURE_WINDOW_MILLIS)),
            Duration::ZERO
        );
        sessions.succeeded(Some(ip), "k");
        assert_eq!(sessions.delay(Some(ip), "k", at(31)), Duration::ZERO);
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
        assert!(!same_token("", "a"));
    }
}
