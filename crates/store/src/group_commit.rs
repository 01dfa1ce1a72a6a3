//! Group commit for the SQLite store: every write transaction goes to one writer thread, which
//! owns the store's only writing connection and calls SQLite directly (rusqlite, prepared
//! statements cached on the connection). It takes the writes waiting at that moment, runs them
//! inside a single database transaction, each in a savepoint of its own, and commits them
//! together. One fsync then makes a whole group durable, and no write is answered before that
//! commit has returned.
//!
//! A write costs two handoffs between threads, whatever its statements: the caller's task queues
//! it, and the writer answers it after the commit. (Through sqlx's asynchronous SQLite driver,
//! every statement, savepoint, BEGIN and COMMIT was a round trip of its own to the connection's
//! thread; the profile of a CreateKey run was led by those thread switches.)
//!
//! A write that fails (a taken name, a quota, a stale record) rolls back its own savepoint and
//! gets its own error; the others of its group are not affected. When the commit itself fails
//! (a full disk, an I/O error) every write of the group gets that failure and none of them is
//! kept; so does a write that fails in the database itself (a full disk), since SQLite may then
//! have rolled back the whole transaction. After such a failure a connection still inside a
//! transaction is rolled back, or closed and opened anew when even that fails. A caller that goes
//! away does not cut its write short: the writer finishes the group.
//!
//! Each group's size and the time its transaction took are recorded as the metrics
//! `paycrypt_store_commit_batch_size` and `paycrypt_store_commit_duration_seconds`.

use std::time::Instant;

use rusqlite::Connection;
use tokio::sync::{mpsc, oneshot};

use crate::{StoreError, StoreResult};

/// The most writes committed together.
const MAX_GROUP: usize = 64;
/// Writes that may wait for the writer before callers are held back.
const QUEUE: usize = 1024;

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
type Work = Box<dyn FnOnce(&Connection) -> Ran + Send>;

/// Opens the writing connection (again, after a failure left one unusable).
pub(crate) type Open = Box<dyn Fn() -> rusqlite::Result<Connection> + Send>;

/// Upkeep the writer runs on its connection after each group it committed, once the group's
/// writes are answered.
pub(crate) type AfterCommit = Box<dyn FnMut(&Connection) + Send>;

/// The handle through which the store's write methods reach the writer thread.
pub(crate) struct GroupCommit {
    jobs: mpsc::Sender<Work>,
}

fn writer_stopped() -> StoreError {
    StoreError::Backend("the store's writer has stopped".into())
}

impl GroupCommit {
    /// Starts the writer thread on `connection`; `open` makes a new one should it become unusable,
    /// and `after_commit` runs after each committed group. The thread ends when the handle is
    /// dropped and the writes queued before have run.
    pub(crate) fn start(
        connection: Connection,
        open: Open,
        after_commit: AfterCommit,
    ) -> StoreResult<Self> {
        let (jobs, queue) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("paycrypt-sqlite-writer".into())
            .spawn(move || run(Some(connection), &open, after_commit, queue))
            .map_err(|e| StoreError::Backend(format!("the store's writer could not start: {e}")))?;
        Ok(Self { jobs })
    }

    /// Runs `work` in the next group and returns its result once the group is committed.
    pub(crate) async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let (reply, replied) = oneshot::channel();
        let run: Work = Box::new(move |conn| {
            let result = work(conn);
            Ran {
                failed: result.is_err(),
                broke: matches!(result, Err(StoreError::Backend(_))),
                answer: Box::new(move |committed: Result<(), String>| {
                    // The write's own error stands; otherwise the commit decides.
                    let _ =
                        reply.send(result.and_then(|value| {
                            committed.map(|()| value).map_err(StoreError::Backend)
                        }));
                }),
            }
        });
        self.jobs.send(run).await.map_err(|_| writer_stopped())?;
        // A group that failed before reaching this write drops it unanswered.
        replied.await.map_err(|_| {
            StoreError::Backend("the write's group failed before the write ran".into())
        })?
    }
}

/// The writer thread: a group per wake-up, until every handle is gone.
fn run(
    mut connection: Option<Connection>,
    open: &Open,
    mut after_commit: AfterCommit,
    mut queue: mpsc::Receiver<Work>,
) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while let Some(first) = queue.blocking_recv() {
        group.push(first);
        while group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(work) => group.push(work),
                Err(_) => break,
            }
        }
        let mut answers = Vec::with_capacity(group.len());
        let size = group.len();
        let started = Instant::now();
        let committed = match usable(&mut connection, open) {
            Ok(conn) => commit_group(conn, group.drain(..), &mut answers),
            Err(e) => Err(e),
        };
        // Names and buckets: crates/server/src/metrics.rs.
        metrics::histogram!("paycrypt_store_commit_batch_size").record(size as f64);
        metrics::histogram!("paycrypt_store_commit_duration_seconds")
            .record(started.elapsed().as_secs_f64());
        // Writes the group did not reach are dropped, which answers their callers.
        group.clear();
        if let Err(e) = &committed {
            tracing::error!("a group of {} writes failed: {e}", answers.len());
            if let Some(conn) = &connection
                && !conn.is_autocommit()
                && conn.execute_batch("ROLLBACK").is_err()
            {
                // Later "transactions" on it would only be savepoints inside this one,
                // acknowledged but never committed: it is closed (SQLite rolls it back).
                connection = None;
            }
        }
        let is_committed = committed.is_ok();
        for answer in answers {
            answer(committed.clone());
        }
        if is_committed && let Some(conn) = &connection {
            after_commit(conn);
        }
    }
}

/// The writing connection, opened anew if a failure closed it.
fn usable<'c>(
    connection: &'c mut Option<Connection>,
    open: &Open,
) -> Result<&'c Connection, String> {
    if connection.is_none() {
        *connection = Some(open().map_err(|e| format!("the store could not be reopened: {e}"))?);
    }
    Ok(connection.as_ref().expect("opened above"))
}

/// Runs each write of `group` in its own savepoint and commits them all; the answers of the
/// writes that ran are pushed to `answers`. A database failure stops the group, which the caller
/// then rolls back.
fn commit_group(
    conn: &Connection,
    group: impl Iterator<Item = Work>,
    answers: &mut Vec<Answer>,
) -> Result<(), String> {
    let statement = |sql: &str| {
        conn.prepare_cached(sql)
            .and_then(|mut s| s.execute([]))
            .map(drop)
            .map_err(|e| e.to_string())
    };
    statement("BEGIN IMMEDIATE")?;
    for work in group {
        statement("SAVEPOINT write")?;
        let ran = work(conn);
        answers.push(ran.answer);
        if ran.broke {
            return Err("a write of the group failed in the database".into());
        }
        if ran.failed {
            statement("ROLLBACK TO write")?;
        }
        statement("RELEASE write")?;
    }
    statement("COMMIT")
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use rusqlite::OptionalExtension;
    use tokio::task::JoinSet;

    use super::*;

    fn open(dir: &std::path::Path) -> Open {
        let path = dir.join("t.db");
        Box::new(move || Connection::open(&path))
    }

    fn writer(dir: &std::path::Path) -> Arc<GroupCommit> {
        let open = open(dir);
        let conn = open().unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY)")
            .unwrap();
        Arc::new(GroupCommit::start(conn, open, Box::new(|_| {})).unwrap())
    }

    /// The rows, read on a connection of their own: what is committed.
    fn rows(dir: &std::path::Path) -> Vec<i64> {
        let conn = open(dir)().unwrap();
        let mut statement = conn.prepare("SELECT n FROM t ORDER BY n").unwrap();
        statement
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// Holds the writer inside a write until the returned sender is dropped, so the writes queued
    /// meanwhile form the next group.
    async fn hold(writer: &Arc<GroupCommit>) -> std::sync::mpsc::Sender<()> {
        let (release, held) = std::sync::mpsc::channel::<()>();
        let (entered, entering) = oneshot::channel();
        let writer = writer.clone();
        tokio::spawn(async move {
            writer
                .write(move |_| {
                    let _ = entered.send(());
                    let _ = held.recv();
                    Ok(())
                })
                .await
        });
        entering.await.unwrap();
        release
    }

    /// Waits until `n` writes are queued behind the held one.
    async fn queued(writer: &GroupCommit, n: usize) {
        while QUEUE - writer.jobs.capacity() < n {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Queues a write that inserts `n` (a taken `n` is a `Conflict`) and then fails with `then`,
    /// if given; it answers `n`.
    fn queue_insert(
        writes: &mut JoinSet<(i64, StoreResult<i64>)>,
        writer: &Arc<GroupCommit>,
        n: i64,
        then: Option<StoreError>,
    ) {
        let writer = writer.clone();
        writes.spawn(async move {
            let result = writer
                .write(move |conn| {
                    conn.execute("INSERT INTO t (n) VALUES (?1)", [n])
                        .map_err(|e| match e.sqlite_error_code() {
                            Some(rusqlite::ErrorCode::ConstraintViolation) => StoreError::Conflict,
                            _ => StoreError::Backend(e.to_string()),
                        })?;
                    then.map_or(Ok(n), Err)
                })
                .await;
            (n, result)
        });
    }

    #[tokio::test]
    async fn a_failing_write_rolls_back_only_itself_and_the_rest_of_its_group_commits() {
        let dir = tempfile::tempdir().unwrap();
        let writer = writer(dir.path());
        let release = hold(&writer).await;
        let mut writes = JoinSet::new();
        for n in 0..40 {
            // Odd writes fail after writing their row.
            let then = (n % 2 == 1).then_some(StoreError::Conflict);
            queue_insert(&mut writes, &writer, n, then);
        }
        // And each even value a second time: that insert fails on the primary key.
        for n in (0..40).step_by(2) {
            queue_insert(&mut writes, &writer, n, None);
        }
        queued(&writer, 60).await;
        drop(release);
        let results = writes.join_all().await;
        assert_eq!(results.iter().filter(|(_, r)| r.is_ok()).count(), 20);
        for (n, result) in results {
            match result {
                Ok(value) => assert!(n % 2 == 0 && value == n, "{n}: {value}"),
                Err(StoreError::Conflict) => {}
                Err(other) => panic!("{n}: {other}"),
            }
        }
        assert_eq!(rows(dir.path()), (0..40).step_by(2).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_database_failure_fails_the_whole_group_and_keeps_none_of_it() {
        let dir = tempfile::tempdir().unwrap();
        let writer = writer(dir.path());
        let release = hold(&writer).await;
        let mut writes = JoinSet::new();
        queue_insert(&mut writes, &writer, 1, None);
        // The second write meets a failure of the database itself.
        queue_insert(
            &mut writes,
            &writer,
            2,
            Some(StoreError::Backend("disk full".into())),
        );
        queue_insert(&mut writes, &writer, 3, None);
        queued(&writer, 3).await;
        drop(release);
        let results = writes.join_all().await;
        assert!(
            results
                .iter()
                .all(|(_, r)| matches!(r, Err(StoreError::Backend(_)))),
            "{results:?}"
        );
        assert!(rows(dir.path()).is_empty());
        // The writer goes on with the next group.
        let mut writes = JoinSet::new();
        queue_insert(&mut writes, &writer, 4, None);
        assert_eq!(writes.join_all().await[0].1.as_ref().ok(), Some(&4));
        assert_eq!(rows(dir.path()), [4]);
    }

    #[tokio::test]
    async fn a_write_is_answered_only_after_its_commit() {
        let dir = tempfile::tempdir().unwrap();
        let writer = writer(dir.path());
        let mut writes = JoinSet::new();
        queue_insert(&mut writes, &writer, 7, None);
        assert_eq!(writes.join_all().await[0].1.as_ref().ok(), Some(&7));
        // Another connection sees it: the transaction is committed, not merely run.
        assert_eq!(rows(dir.path()), [7]);
    }

    #[tokio::test]
    async fn a_failed_group_leaves_no_transaction_open() {
        let dir = tempfile::tempdir().unwrap();
        let writer = writer(dir.path());
        // A write that ends the group's transaction itself and opens one that cannot be
        // committed by the group: the group fails, and the writer must not go on inside it.
        let broken = writer
            .write(|conn| {
                conn.execute_batch("COMMIT; BEGIN; INSERT INTO t (n) VALUES (1);")
                    .map_err(|e| StoreError::Backend(e.to_string()))?;
                Err::<(), _>(StoreError::Backend("the write broke its group".into()))
            })
            .await;
        assert!(matches!(broken, Err(StoreError::Backend(_))), "{broken:?}");
        let written = writer
            .write(|conn| {
                conn.execute("INSERT INTO t (n) VALUES (2)", [])
                    .map_err(|e| StoreError::Backend(e.to_string()))?;
                conn.query_row("SELECT n FROM t WHERE n = 1", [], |r| r.get::<_, i64>(0))
                    .optional()
                    .map_err(|e| StoreError::Backend(e.to_string()))
            })
            .await
            .unwrap();
        assert_eq!(written, None, "the broken write's row was rolled back");
        assert_eq!(rows(dir.path()), [2]);
    }
}
