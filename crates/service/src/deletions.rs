//! Finishing deletions whose window has passed: the key reads DELETE_COMPLETE, its material is
//! destroyed and its aliases are removed. Every request first finishes the due deletions of the
//! scope it works in, so no answer shows a key as DELETE_PENDING after its deadline.
//!
//! Asking the store on every request would cost a query each time, so the service remembers per
//! scope when it last looked and the earliest pending deadline it saw. That answer stays good for
//! a while even with other nodes writing: a deletion scheduled anywhere after the look has a
//! deadline at least [`MIN_DELETE_WINDOW_MS`] later, so until [`RECHECK_MS`] has passed (much less
//! than that) only deadlines already seen can fall due.

use std::collections::HashMap;
use std::sync::Mutex;

use paycrypt_api::{ApiError, KeyState, Timestamp};
use paycrypt_store::{Scope, StoreError};

use crate::keys::LoadedKey;
use crate::{Service, store_error};

/// The shortest deletion window DeleteKey accepts (`DeleteKeyInDays` is at least 3).
const MIN_DELETE_WINDOW_MS: i64 = 3 * 24 * 60 * 60 * 1000;
/// How long a look at a scope's pending deletions is trusted: an hour, well inside the shortest
/// window, so clocks of several nodes may disagree by days without a deletion being missed.
const RECHECK_MS: i64 = 60 * 60 * 1000;
/// Scopes remembered at most; past this the memory is cleared (and rebuilt by later requests).
const MAX_SCOPES: usize = 10_000;

const _: () = assert!(RECHECK_MS < MIN_DELETE_WINDOW_MS);

/// What the service saw of one scope's pending deletions.
#[derive(Debug, Clone, Copy)]
struct Look {
    /// The request time of the look, in milliseconds since the epoch.
    at_ms: i64,
    /// The earliest deadline pending then, if any.
    next_due_ms: Option<i64>,
}

/// When each scope's pending deletions were last looked at.
#[derive(Debug, Default)]
pub(crate) struct DeletionSchedule {
    looks: Mutex<HashMap<Scope, Look>>,
}

impl DeletionSchedule {
    /// Whether `scope` may have a deletion due at `now_ms` that is not finished yet.
    fn may_have_due(&self, scope: &Scope, now_ms: i64) -> bool {
        let looks = self.looks.lock().unwrap_or_else(|e| e.into_inner());
        match looks.get(scope) {
            Some(look) => {
                let fresh = look.at_ms <= now_ms && now_ms - look.at_ms < RECHECK_MS;
                !fresh || look.next_due_ms.is_some_and(|due| due <= now_ms)
            }
            None => true,
        }
    }

    fn remember(&self, scope: &Scope, look: Look) {
        let mut looks = self.looks.lock().unwrap_or_else(|e| e.into_inner());
        if looks.len() >= MAX_SCOPES && !looks.contains_key(scope) {
            looks.clear();
        }
        looks.insert(scope.clone(), look);
    }
}

impl Service {
    /// Completes every deletion in `scope` whose window has passed by `now`.
    pub(crate) async fn complete_due_deletions(
        &self,
        scope: &Scope,
        now: Timestamp,
    ) -> Result<(), ApiError> {
        let now_ms = now.as_millis();
        if !self.deletions.may_have_due(scope, now_ms) {
            return Ok(());
        }
        let due = self
            .store
            .due_deletions(scope, now_ms)
            .await
            .map_err(store_error)?;
        for stored in due {
            let expected = stored.record.clone();
            let mut key = LoadedKey::from_stored(scope.clone(), stored)?;
            key.doc.key.key_state = KeyState::DeleteComplete;
            key.doc.key.delete_timestamp = key.doc.key.delete_pending_timestamp;
            key.doc.key.enabled = false;
            key.sealed_material = None;
            match self
                .store
                .complete_deletion(scope, &key.record()?, &expected)
                .await
            {
                Ok(()) => {
                    tracing::info!(key_id = %key.id, "key deletion completed; material destroyed");
                }
                // Another request completed or restored it meanwhile.
                Err(StoreError::Conflict) => {}
                Err(other) => return Err(store_error(other)),
            }
        }
        let next_due_ms = self
            .store
            .next_deletion_ms(scope)
            .await
            .map_err(store_error)?;
        self.deletions.remember(
            scope,
            Look {
                at_ms: now_ms,
                next_due_ms,
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope {
            account: "111122223333".into(),
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn a_scope_never_looked_at_may_have_due_deletions() {
        assert!(DeletionSchedule::default().may_have_due(&scope(), 1_000));
    }

    #[test]
    fn a_fresh_look_without_pending_deletions_needs_no_query_until_it_is_an_hour_old() {
        let schedule = DeletionSchedule::default();
        schedule.remember(
            &scope(),
            Look {
                at_ms: 1_000,
                next_due_ms: None,
            },
        );
        assert!(!schedule.may_have_due(&scope(), 1_000));
        assert!(!schedule.may_have_due(&scope(), 1_000 + RECHECK_MS - 1));
        assert!(schedule.may_have_due(&scope(), 1_000 + RECHECK_MS));
        // A clock that went back does not trust a look from its future.
        assert!(schedule.may_have_due(&scope(), 999));
    }

    #[test]
    fn a_seen_deadline_is_due_the_moment_it_passes() {
        let schedule = DeletionSchedule::default();
        schedule.remember(
            &scope(),
            Look {
                at_ms: 1_000,
                next_due_ms: Some(5_000),
            },
        );
        assert!(!schedule.may_have_due(&scope(), 4_999));
        assert!(schedule.may_have_due(&scope(), 5_000));
    }
}
