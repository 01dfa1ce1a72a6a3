//! Group commit for the SQLite store: every write transaction goes to one writer task, which runs
//! the writes waiting at that moment inside a single database transaction, each in a savepoint of
//! its own, and commits them together. One fsync then makes a whole group durable, and no write is
//! answered before that commit has returned.
//!
//! A write that fails (a taken name, a quota, a stale record) rolls back its own savepoint and
//! gets its own error; the others of its group are not affected. A write of a single statement
//! needs no savepoint: SQLite undoes a failed statement by itself, so it runs without one (two
//! round trips to the connection's thread less). When the commit itself fails
//! (a full disk, an I/O error) every write of the group gets that failure and none of them is
//! kept; so does a write that fails in the database itself (a full disk), since SQLite may then
//! have rolled back the whole transaction. A caller that goes away does not cut its write short:
//! the writer finishes the group.

use std::future::Future;
use std::pin::Pin;

use sqlx::{Connection, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};

use crate::{StoreError, StoreResult};

/// The most writes committed together.
const MAX_GROUP: usize = 64;
/// Writes that may wait for the writer before callers are held back.
const QUEUE: usize = 1024;

pub(crate) type BoxFuture<'c, T> = Pin<Box<dyn Future<Output = T> + Send + 'c>>;

/// Answers a write's caller, given how its group's commit went.
type Answer = Box<dyn FnOnce(Result<(), String>) + Send>;

/// What a write leaves for after the commit: whether it failed (so its savepoint is rolled back),
/// whether the database itself failed under it, and how to answer its caller once the group's
/// fate is known.
struct Ran {
    failed: bool,
    /// A database failure (not a refusal such as a taken name or a quota): SQLite may have rolled
    /// back the whole transaction, so the group stops there and fails as a whole.
    broke: bool,
    answer: Answer,
}

/// A write's work as the writer runs it.
type Work = Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Ran> + Send>;

/// A write waiting for its group.
struct Job {
    /// Whether the work runs in a savepoint of its own (else it is a single statement).
    savepoint: bool,
    work: Work,
}

/// How a write that fails is undone without touching the rest of its group.
pub(crate) enum Undo {
    /// The write runs in a savepoint of its own, rolled back when it fails.
    Savepoint,
    /// The write changes the database with one statement at most (it may read before), which
    /// SQLite undoes by itself when it fails, so it needs no savepoint.
    Statement,
}

/// The handle through which the store's write methods reach the writer task.
pub(crate) struct GroupCommit {
    jobs: mpsc::Sender<Job>,
}

fn writer_stopped() -> StoreError {
    StoreError::Backend("the store's writer has stopped".into())
}

impl GroupCommit {
    /// Starts the writer task on the current runtime, writing through `pool` (one connection).
    pub(crate) fn start(pool: SqlitePool) -> Self {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(pool, queue));
        Self { jobs }
    }

    /// Runs `work` in the next group and returns its result once the group is committed.
    pub(crate) async fn write<T, F>(&self, undo: Undo, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, StoreResult<T>>
            + Send
            + 'static,
    {
        let (reply, replied) = oneshot::channel();
        let run: Work = Box::new(move |conn| {
            Box::pin(async move {
                let result = work(conn).await;
                Ran {
                    failed: result.is_err(),
                    broke: matches!(result, Err(StoreError::Backend(_))),
                    answer: Box::new(move |committed: Result<(), String>| {
                        // The write's own error stands; otherwise the commit decides.
                        let _ = reply.send(result.and_then(|value| {
                            committed.map(|()| value).map_err(StoreError::Backend)
                        }));
                    }),
                }
            })
        });
        let job = Job {
            savepoint: matches!(undo, Undo::Savepoint),
            work: run,
        };
        self.jobs.send(job).await.map_err(|_| writer_stopped())?;
        // A group that failed before reaching this write drops it unanswered.
        replied.await.map_err(|_| {
            StoreError::Backend("the write's group failed before the write ran".into())
        })?
    }
}

async fn run(pool: SqlitePool, mut queue: mpsc::Receiver<Job>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while queue.recv_many(&mut group, MAX_GROUP).await > 0 {
        let mut answers = Vec::with_capacity(group.len());
        let committed = commit_group(&pool, group.drain(..), &mut answers)
            .await
            .inspect_err(|e| tracing::error!("a group of {} writes failed: {e}", answers.len()));
        for answer in answers {
            answer(committed.clone());
        }
    }
}

/// Runs each job of `group` (in its own savepoint unless it is a single statement) and commits
/// them all; the answers of the jobs that ran are pushed to `answers` (the others are dropped,
/// which answers their callers). A database failure stops the group, which is then rolled back.
async fn commit_group(
    pool: &SqlitePool,
    group: impl Iterator<Item = Job>,
    answers: &mut Vec<Answer>,
) -> Result<(), String> {
    let failed = |e: sqlx::Error| e.to_string();
    let broke = || "a write of the group failed in the database".to_string();
    let mut transaction = pool.begin_with("BEGIN IMMEDIATE").await.map_err(failed)?;
    for job in group {
        if !job.savepoint {
            let ran = (job.work)(&mut transaction).await;
            answers.push(ran.answer);
            if ran.broke {
                return Err(broke());
            }
            continue;
        }
        let mut savepoint = Connection::begin(&mut *transaction).await.map_err(failed)?;
        let ran = (job.work)(&mut savepoint).await;
        answers.push(ran.answer);
        if ran.broke {
            return Err(broke());
        }
        if ran.failed {
            savepoint.rollback().await.map_err(failed)?;
        } else {
            savepoint.commit().await.map_err(failed)?;
        }
    }
    transaction.commit().await.map_err(failed)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;
    use std::sync::Arc;

    use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
    use tokio::task::JoinSet;

    use super::*;

    async fn pool(dir: &std::path::Path) -> SqlitePool {
        let url = format!("sqlite://{}", dir.join("t.db").display());
        let options = SqliteConnectOptions::from_str(&url)
            .unwrap()
            .create_if_missing(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .execute(&pool)
            .await
            .unwrap();
        pool
    }

    async fn rows(pool: &SqlitePool) -> Vec<i64> {
        sqlx::query_scalar("SELECT n FROM t ORDER BY n")
            .fetch_all(pool)
            .await
            .unwrap()
    }

    /// Queues a write that inserts `n` (a taken `n` is a `Conflict`) and then fails with `then`,
    /// if given; it answers `n`.
    fn queue_insert(
        writes: &mut JoinSet<(i64, StoreResult<i64>)>,
        writer: &Arc<GroupCommit>,
        undo: Undo,
        n: i64,
        then: Option<StoreError>,
    ) {
        let writer = writer.clone();
        writes.spawn(async move {
            let result = writer
                .write(undo, move |conn| {
                    Box::pin(async move {
                        sqlx::query("INSERT INTO t (n) VALUES (?)")
                            .bind(n)
                            .execute(&mut *conn)
                            .await
                            .map_err(|e| match e {
                                sqlx::Error::Database(d) if d.is_unique_violation() => {
                                    StoreError::Conflict
                                }
                                other => StoreError::Backend(other.to_string()),
                            })?;
                        then.map_or(Ok(n), Err)
                    })
                })
                .await;
            (n, result)
        });
    }

    // On a current-thread runtime the writes of a test are all queued before the writer task
    // next runs, so they share groups.
    #[tokio::test]
    async fn a_failing_write_rolls_back_only_itself_and_the_rest_of_its_group_commits() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(dir.path()).await;
        let writer = Arc::new(GroupCommit::start(pool.clone()));
        let mut writes = JoinSet::new();
        for n in 0..40 {
            // Odd writes fail after writing their row.
            let then = (n % 2 == 1).then_some(StoreError::Conflict);
            queue_insert(&mut writes, &writer, Undo::Savepoint, n, then);
        }
        for (n, result) in writes.join_all().await {
            match result {
                Ok(value) => assert!(n % 2 == 0 && value == n, "{n}: {value}"),
                Err(StoreError::Conflict) => assert_eq!(n % 2, 1, "{n}"),
                Err(other) => panic!("{n}: {other}"),
            }
        }
        assert_eq!(rows(&pool).await, (0..40).step_by(2).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_failing_single_statement_undoes_itself_without_a_savepoint() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(dir.path()).await;
        let writer = Arc::new(GroupCommit::start(pool.clone()));
        let mut writes = JoinSet::new();
        // Each value twice: the second insert of a value fails on the primary key.
        for n in (0..20).chain(0..20) {
            queue_insert(&mut writes, &writer, Undo::Statement, n, None);
        }
        let results = writes.join_all().await;
        assert_eq!(results.iter().filter(|(_, r)| r.is_ok()).count(), 20);
        assert!(
            results
                .iter()
                .all(|(_, r)| matches!(r, Ok(_) | Err(StoreError::Conflict)))
        );
        assert_eq!(rows(&pool).await, (0..20).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_database_failure_fails_the_whole_group_and_keeps_none_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(dir.path()).await;
        let writer = Arc::new(GroupCommit::start(pool.clone()));
        let mut writes = JoinSet::new();
        queue_insert(&mut writes, &writer, Undo::Statement, 1, None);
        // The second write meets a failure of the database itself.
        let disk_full = Some(StoreError::Backend("disk full".into()));
        queue_insert(&mut writes, &writer, Undo::Savepoint, 2, disk_full);
        queue_insert(&mut writes, &writer, Undo::Statement, 3, None);
        let results = writes.join_all().await;
        assert!(
            results
                .iter()
                .all(|(_, r)| matches!(r, Err(StoreError::Backend(_)))),
            "{results:?}"
        );
        assert!(rows(&pool).await.is_empty());
    }

    #[tokio::test]
    async fn a_write_is_answered_only_after_its_commit() {
        let dir = tempfile::tempdir().unwrap();
        let pool = pool(dir.path()).await;
        let writer = Arc::new(GroupCommit::start(pool.clone()));
        let mut writes = JoinSet::new();
        queue_insert(&mut writes, &writer, Undo::Statement, 7, None);
        assert_eq!(writes.join_all().await[0].1.as_ref().ok(), Some(&7));
        // Another connection sees it: the transaction is committed, not merely run.
        let other = SqlitePoolOptions::new()
            .connect_with(
                SqliteConnectOptions::from_str(&format!(
                    "sqlite://{}",
                    dir.path().join("t.db").display()
                ))
                .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(rows(&other).await, [7]);
    }
}
