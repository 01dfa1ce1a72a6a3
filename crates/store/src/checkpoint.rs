//! Checkpoints of the SQLite store's write-ahead log, copied into the database file on a thread
//! of their own rather than on the writer thread.
//!
//! SQLite's automatic checkpoint runs inside the commit that takes the WAL past 1,000 frames, on
//! the connection that committed: here the writer thread, so every write queued behind that group
//! waited while a thousand pages were copied into the database file and the file was synced. The
//! writer connection has no automatic checkpoint instead: a WAL hook records the WAL's length after
//! each of its commits, and past [`WAKE_FRAMES`] the writer wakes the checkpointer, a thread with a
//! connection of its own that runs a PASSIVE checkpoint (which never waits for the writer or the
//! readers, nor makes them wait).
//!
//! SQLite starts the WAL over from its beginning, overwriting the file in place, only once every
//! frame has been copied; the checkpointer's copy leaves out the frames committed while it ran.
//! So once it is done the writer copies that remainder itself (a few groups' frames) and its next
//! commit starts the WAL over. A reader still on an old snapshot can keep a checkpoint from
//! copying everything, and the WAL then grows until a later round gets through; past
//! [`LIMIT_FRAMES`] the writer runs a RESTART checkpoint, which waits for such readers, so the
//! WAL cannot grow without bound. The writer's `journal_size_limit` ([`JOURNAL_SIZE_LIMIT`]) cuts
//! the file back after such growth when the WAL starts over.

use std::cell::Cell;
use std::ffi::c_int;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::mpsc;

use rusqlite::Connection;
use rusqlite::hooks::Wal;

/// WAL frames (a page each) after which the checkpointer is woken: SQLite's own threshold.
const WAKE_FRAMES: c_int = 1000;
/// WAL frames past which the writer waits for readers on old snapshots to copy everything.
const LIMIT_FRAMES: c_int = 16 * WAKE_FRAMES;
/// The writer's `journal_size_limit`: the WAL file is cut back to this many bytes when the WAL
/// starts over after growing past it. Normal operation stays well below (about 1,000 frames of
/// 4 KiB, plus those committed during a checkpoint), so the file is overwritten in place.
pub(crate) const JOURNAL_SIZE_LIMIT: i64 = 16 * 1024 * 1024;

thread_local! {
    /// The WAL's length in frames after the last commit on this thread (the writer's).
    static WAL_FRAMES: Cell<c_int> = const { Cell::new(0) };
}

fn record_wal_frames(_: &Wal, frames: c_int) -> rusqlite::Result<()> {
    WAL_FRAMES.set(frames);
    Ok(())
}

/// Records the WAL's length after each commit of `conn` for [`Checkpointer::after_commit`]. This
/// replaces SQLite's automatic checkpoint, which is a WAL hook too: `conn` commits without one.
pub(crate) fn watch_wal(conn: &Connection) {
    conn.wal_hook(Some(record_wal_frames));
}

/// Where the checkpointer is in a round.
const IDLE: u8 = 0;
const COPYING: u8 = 1;
const COPIED: u8 = 2;

/// The writer's side of the checkpointer thread.
pub(crate) struct Checkpointer {
    wake: mpsc::SyncSender<()>,
    round: Arc<AtomicU8>,
}

impl Checkpointer {
    /// Starts the checkpointer thread on a connection of its own to the database at `path`; it
    /// ends when this handle is dropped.
    pub(crate) fn start(
        path: &Path,
        open: fn(&Path) -> rusqlite::Result<Connection>,
    ) -> std::io::Result<Self> {
        let (wake, woken) = mpsc::sync_channel(1);
        let round = Arc::new(AtomicU8::new(IDLE));
        let (path, thread_round) = (path.to_path_buf(), round.clone());
        std::thread::Builder::new()
            .name("paycrypt-checkpointer".into())
            .spawn(move || {
                let mut conn = None;
                while woken.recv().is_ok() {
                    if conn.is_none() {
                        conn = open(&path)
                            .map_err(|e| {
                                tracing::warn!("the checkpointer could not open the store: {e}")
                            })
                            .ok();
                    }
                    if let Some(c) = &conn
                        && let Err(e) = checkpoint(c, "PASSIVE")
                    {
                        tracing::warn!("a checkpoint of the store's WAL failed: {e}");
                        conn = None;
                    }
                    thread_round.store(COPIED, Ordering::Release);
                }
            })?;
        Ok(Self { wake, round })
    }

    /// Called by the writer after each commit of `writer` (a connection [`watch_wal`] watches):
    /// wakes the checkpointer, copies what it left, or waits out old readers, as the WAL's length
    /// and the checkpointer's round call for.
    pub(crate) fn after_commit(&self, writer: &Connection) {
        let frames = WAL_FRAMES.get();
        let copied_remainder = match self.round.load(Ordering::Acquire) {
            IDLE if frames >= WAKE_FRAMES => {
                self.round.store(COPYING, Ordering::Release);
                let _ = self.wake.try_send(());
                return;
            }
            COPIED => {
                self.round.store(IDLE, Ordering::Release);
                checkpoint(writer, "PASSIVE")
            }
            _ if frames >= LIMIT_FRAMES => checkpoint(writer, "RESTART"),
            _ => return,
        };
        if let Err(e) = copied_remainder {
            tracing::warn!("a checkpoint of the store's WAL failed: {e}");
        }
    }
}

/// Runs a checkpoint of the given mode on `conn`.
fn checkpoint(conn: &Connection, mode: &str) -> rusqlite::Result<()> {
    conn.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |_| Ok(()))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::task::JoinSet;

    use super::*;
    use crate::StoreError;
    use crate::group_commit::GroupCommit;

    fn open(path: &Path) -> rusqlite::Result<Connection> {
        let conn = Connection::open(path)?;
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        Ok(conn)
    }

    #[tokio::test]
    async fn the_wal_starts_over_under_a_steady_stream_of_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let writer_conn = open(&path).unwrap();
        writer_conn
            .execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY, page BLOB NOT NULL)")
            .unwrap();
        watch_wal(&writer_conn);
        let checkpointer = Checkpointer::start(&path, open).unwrap();
        let reopen = {
            let path = path.clone();
            Box::new(move || {
                let conn = open(&path)?;
                watch_wal(&conn);
                Ok(conn)
            })
        };
        let after_commit = Box::new(move |conn: &Connection| checkpointer.after_commit(conn));
        let writer = Arc::new(GroupCommit::start(writer_conn, reopen, after_commit).unwrap());

        // Each write adds at least a page: without checkpoints the WAL would pass 6,000 frames.
        const WRITES: i64 = 6000;
        let mut writes = JoinSet::new();
        for n in 0..WRITES {
            let writer = writer.clone();
            writes.spawn(async move {
                writer
                    .write(move |conn| {
                        conn.execute("INSERT INTO t (n, page) VALUES (?1, zeroblob(4096))", [n])
                            .map_err(|e| StoreError::Backend(e.to_string()))
                    })
                    .await
            });
            if writes.len() >= 64 {
                writes.join_next().await.unwrap().unwrap().unwrap();
            }
        }
        writes.join_all().await.into_iter().for_each(|w| {
            w.unwrap();
        });

        let wal = std::fs::metadata(dir.path().join("t.db-wal"))
            .unwrap()
            .len();
        let frame = 4096 + 24;
        assert!(
            wal < 4 * u64::try_from(WAKE_FRAMES).unwrap() * frame,
            "the WAL grew to {wal} bytes"
        );
        let conn = open(&path).unwrap();
        let rows: i64 = conn
            .query_row("SELECT COUNT(*) FROM t", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, WRITES);
    }
}
