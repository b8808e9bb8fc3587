//! Refresh-token rotations, run together.
//!
//! A rotation is a transaction of four statements. Each statement is a round trip to the
//! connection (on SQLite, to the thread that owns it), and on SQLite every write goes
//! through one connection: under load, refreshes queued for that connection while it
//! mostly waited on the round trips (2.2k rotations/s with the server's CPU half idle).
//! So rotations go to one task, which waits for a writing connection and then takes every
//! rotation queued meanwhile (up to [`MAX_BATCH`]) into one transaction: the same four
//! statements and one commit for all of them. Nothing waits on a timer: a rotation alone
//! runs at once.
//!
//! Each rotation gets what it would have got alone:
//! - Of any number of rotations of the same token, in one batch or in several, exactly
//!   one succeeds (the guard `rotated_at IS NULL`, as before); the others get `None` and
//!   go on to the reuse checks, which see the successor committed.
//! - The session must be live and unexpired. Its row is written first, which on
//!   PostgreSQL holds it until commit, so a revocation commits either before (and the
//!   token does not rotate) or after the successor exists (and ends it too).
//! - A rotation whose request is gone (the client left, the request timed out) is not
//!   committed: its successor would reach nobody, and the client's next use of the old
//!   token, after the grace window, would count as theft. Those gone when the batch
//!   starts are dropped; if one goes while the batch runs, the batch is rolled back and
//!   run again without it (only one that goes during the commit itself is committed).
//! - No rotation waits longer than [`MAX_WAIT`] (the pool's own acquire timeout) for an
//!   attempt of its batch to start, and a batch's attempts together end within
//!   [`MAX_WAIT`]: past either it is answered "database unavailable" (503), as it was when
//!   it waited for a connection itself. So the database being down or stuck fails
//!   refreshes within seconds rather than queueing them, and a rotation's time is never
//!   older than [`MAX_WAIT`] when its attempt starts.
//! - A batch that PostgreSQL ends to break a deadlock runs again ([`is_deadlock`]).
//! - Should the task ever stop, each rotation runs on its own, in a transaction of its
//!   own (without the deadlock retry).
//!
//! The batch carries one time, the latest of its rotations' (each read from the server's
//! clock when its request came, at most [`MAX_WAIT`] before): the time a token was
//! rotated decides the reuse grace.

use std::collections::HashMap;
use std::time::Duration;

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection as _, Transaction};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::sessions::{COLUMNS as SESSION_COLUMNS, SessionRow};
use super::users::{COLUMNS as USER_COLUMNS, UserRow};

/// Most rotations in one transaction.
const MAX_BATCH: usize = 32;

/// How often a batch that PostgreSQL ended to break a deadlock runs again.
const MAX_DEADLOCK_RETRIES: u32 = 3;

/// Longest a rotation waits for an attempt of its batch to start, and longest a batch's
/// attempts take together.
const MAX_WAIT: Duration = super::ACQUIRE_TIMEOUT;

/// What a rotation gives: the session and its user as of the rotation, or `None` when the
/// token was not the current one of a live session.
pub type Rotated = Option<(SessionRow, Option<UserRow>)>;

/// What a rotation asks for.
#[derive(Debug, Clone)]
struct Request {
    old_hash: String,
    new_hash: String,
    now: i64,
}

/// One rotation waiting for its batch.
struct Rotation {
    request: Request,
    queued: Instant,
    done: oneshot::Sender<sqlx::Result<Rotated>>,
}

impl Rotation {
    /// Whether it has waited too long to start.
    fn expired(&self, at: Instant) -> bool {
        at.duration_since(self.queued) > MAX_WAIT
    }
}

/// The queue of rotations, and the task that runs them (cheap to clone). The task ends
/// when the last handle is dropped.
#[derive(Clone)]
pub(super) struct Rotations {
    queue: mpsc::UnboundedSender<Rotation>,
    writes: AnyPool,
    #[cfg(test)]
    task: tokio::task::AbortHandle,
}

impl Rotations {
    /// Starts the task that runs rotations on connections of `writes`.
    pub(super) fn start(writes: AnyPool) -> Self {
        let (queue, waiting) = mpsc::unbounded_channel();
        let _task = tokio::spawn(run(writes.clone(), waiting));
        Self {
            queue,
            writes,
            #[cfg(test)]
            task: _task.abort_handle(),
        }
    }

    /// Replaces the current refresh token `old_hash` by `new_hash` (see the module).
    pub(super) async fn rotate(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: i64,
    ) -> sqlx::Result<Rotated> {
        let request = Request {
            old_hash: old_hash.to_owned(),
            new_hash: new_hash.to_owned(),
            now,
        };
        if let Some(done) = self.submit(request.clone(), Instant::now())
            && let Ok(result) = done.await
        {
            return result;
        }
        // The task is gone (it would only be if it failed): this rotation on its own.
        let mut connection = self.writes.acquire().await?;
        let (tx, mut results) = rotate_together(&mut connection, &[&request]).await?;
        finish(tx, &results).await?;
        Ok(results.pop().flatten())
    }

    /// Queues a rotation (`None`: the task is gone); its result comes on the channel.
    fn submit(
        &self,
        request: Request,
        queued: Instant,
    ) -> Option<oneshot::Receiver<sqlx::Result<Rotated>>> {
        let (done, result) = oneshot::channel();
        let rotation = Rotation {
            request,
            queued,
            done,
        };
        self.queue.send(rotation).ok()?;
        Some(result)
    }
}

/// Runs rotations as they come: waits for one, then for a connection (rotations arriving
/// meanwhile queue behind it), then runs all that are queued together.
async fn run(writes: AnyPool, mut waiting: mpsc::UnboundedReceiver<Rotation>) {
    while let Some(first) = waiting.recv().await {
        if first.done.is_closed() {
            continue;
        }
        if first.expired(Instant::now()) {
            let _ = first.done.send(Err(sqlx::Error::PoolTimedOut));
            continue;
        }
        let deadline = first.queued + MAX_WAIT;
        let connection = tokio::time::timeout_at(deadline, writes.acquire())
            .await
            .unwrap_or(Err(sqlx::Error::PoolTimedOut));
        let mut batch = vec![first];
        let mut connection = match connection {
            Ok(connection) => connection,
            Err(error) => {
                // No connection within the wait: everything queued behind fails alike.
                while let Ok(next) = waiting.try_recv() {
                    batch.push(next);
                }
                fail(batch, error);
                continue;
            }
        };
        while batch.len() < MAX_BATCH
            && let Ok(next) = waiting.try_recv()
        {
            batch.push(next);
        }
        run_batch(&mut connection, batch).await;
    }
}

/// Runs `batch` in one transaction and answers each rotation. Each attempt leaves out
/// rotations whose requests are gone (also when they go while it runs: it then runs again
/// without them) and refuses those that have waited longer than [`MAX_WAIT`]; all
/// attempts together end within [`MAX_WAIT`], after which the connection is closed (its
/// state unknown) and what is left is answered 503.
async fn run_batch(connection: &mut PoolConnection<Any>, mut batch: Vec<Rotation>) {
    let deadline = Instant::now() + MAX_WAIT;
    let mut deadlocks = 0;
    loop {
        let now = Instant::now();
        let (expired, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut batch)
            .into_iter()
            .filter(|rotation| !rotation.done.is_closed())
            .partition(|rotation| rotation.expired(now));
        for rotation in expired {
            let _ = rotation.done.send(Err(sqlx::Error::PoolTimedOut));
        }
        batch = waiting;
        if batch.is_empty() {
            return;
        }
        let requests: Vec<&Request> = batch.iter().map(|r| &r.request).collect();
        let attempt = async {
            match rotate_together(connection, &requests).await? {
                (tx, _) if batch.iter().any(|r| r.done.is_closed()) => {
                    tx.rollback().await.map(|()| None)
                }
                (tx, results) => finish(tx, &results).await.map(|()| Some(results)),
            }
        };
        let outcome = match tokio::time::timeout_at(deadline, attempt).await {
            Ok(outcome) => outcome,
            Err(_) => {
                connection.close_on_drop();
                Err(sqlx::Error::PoolTimedOut)
            }
        };
        match outcome {
            Ok(Some(results)) => {
                for (rotation, result) in batch.into_iter().zip(results) {
                    let _ = rotation.done.send(Ok(result));
                }
                return;
            }
            Ok(None) => {}
            Err(error) if is_deadlock(&error) && deadlocks < MAX_DEADLOCK_RETRIES => {
                deadlocks += 1;
            }
            Err(error) => return fail(batch, error),
        }
    }
}

/// Commits a batch that rotated something, rolls back one that did not.
async fn finish(tx: Transaction<'_, Any>, results: &[Rotated]) -> sqlx::Result<()> {
    if results.iter().any(Option::is_some) {
        tx.commit().await
    } else {
        tx.rollback().await
    }
}

/// Answers every rotation of `batch` with `error` (the first with it, the others with
/// its like).
fn fail(batch: Vec<Rotation>, error: sqlx::Error) {
    let mut batch = batch.into_iter();
    let Some(first) = batch.next() else { return };
    for rotation in batch {
        let _ = rotation.done.send(Err(same_failure(&error)));
    }
    let _ = first.done.send(Err(error));
}

/// Rotates `batch` in a transaction it returns open (for [`finish`]), with the results in
/// the batch's order.
async fn rotate_together<'c>(
    connection: &'c mut AnyConnection,
    batch: &[&Request],
) -> sqlx::Result<(Transaction<'c, Any>, Vec<Rotated>)> {
    let now = batch.iter().map(|r| r.now).max().unwrap_or_default();
    // The first rotation of each token is the one that may succeed.
    let mut successors: HashMap<&str, &str> = HashMap::new();
    for rotation in batch {
        successors
            .entry(&rotation.old_hash)
            .or_insert(&rotation.new_hash);
    }
    let tokens: Vec<&str> = successors.keys().copied().collect();

    let mut tx = connection.begin().await?;
    // The live sessions whose current token is presented, their rows written (and on
    // PostgreSQL held) first.
    let sessions: Vec<SessionRow> =
        bind_all(sqlx::query_as(&touch_sessions(&tokens)).bind(now), &tokens)
            .fetch_all(&mut *tx)
            .await?;
    if sessions.is_empty() {
        return Ok((tx, batch.iter().map(|_| None).collect()));
    }
    let session_ids: Vec<&str> = sessions.iter().map(|s| s.id.as_str()).collect();
    // The gate: a token rotates once, only if still current.
    let rotated: Vec<(String, String)> = bind_all(
        bind_all(
            sqlx::query_as(&format!(
                "UPDATE refresh_tokens SET rotated_at = $1 WHERE rotated_at IS NULL \
                 AND token_hash IN ({}) AND session_id IN ({}) \
                 RETURNING token_hash, session_id",
                list(2, &tokens),
                list(2 + padded(tokens.len()), &session_ids)
            ))
            .bind(now),
            &tokens,
        ),
        &session_ids,
    )
    .fetch_all(&mut *tx)
    .await?;
    if rotated.is_empty() {
        return Ok((tx, batch.iter().map(|_| None).collect()));
    }
    let rows: Vec<String> = (0..rotated.len())
        .map(|i| format!("($1, ${}, ${})", 2 * i + 2, 2 * i + 3))
        .collect();
    let insert_sql = format!(
        "INSERT INTO refresh_tokens (issued_at, token_hash, session_id) VALUES {}",
        rows.join(", ")
    );
    let mut insert = sqlx::query(&insert_sql).bind(now);
    for (old_hash, session_id) in &rotated {
        let successor = successors.get(old_hash.as_str()).ok_or_else(|| {
            sqlx::Error::Protocol("a token rotated that was not presented".into())
        })?;
        insert = insert.bind(*successor).bind(session_id);
    }
    insert.execute(&mut *tx).await?;
    // Read before the commit: a rotation answered with an error once committed would
    // leave the client holding a spent token, whose next use counts as reuse.
    let sessions: HashMap<&str, &SessionRow> =
        sessions.iter().map(|s| (s.id.as_str(), s)).collect();
    let user_ids: Vec<&str> = rotated
        .iter()
        .filter_map(|(_, session_id)| sessions.get(session_id.as_str()))
        .map(|session| session.user_id.as_str())
        .collect();
    let users: Vec<UserRow> = bind_all(
        sqlx::query_as(&format!(
            "SELECT {USER_COLUMNS} FROM users WHERE id IN ({})",
            list(1, &user_ids)
        )),
        &user_ids,
    )
    .fetch_all(&mut *tx)
    .await?;

    let users: HashMap<&str, &UserRow> = users.iter().map(|u| (u.id.as_str(), u)).collect();
    let mut rotated: HashMap<&str, &str> = rotated
        .iter()
        .map(|(token, session)| (token.as_str(), session.as_str()))
        .collect();
    let results = batch
        .iter()
        .map(|rotation| {
            // `remove`: a second rotation of the same token in this batch gets `None`.
            let session = sessions.get(rotated.remove(rotation.old_hash.as_str())?)?;
            let user = users
                .get(session.user_id.as_str())
                .map(|u| UserRow::clone(u));
            Some((SessionRow::clone(session), user))
        })
        .collect();
    Ok((tx, results))
}

/// Writes the live sessions whose current token is one of `tokens` (bound from `$2`, the
/// time as `$1`), returning them. The unary `+` keeps SQLite from answering through the
/// index of `revoked_at`, which visits every live session (all of them at a million
/// sessions); the presented few are looked up by key instead (a test holds the plan).
fn touch_sessions(tokens: &[&str]) -> String {
    format!(
        "UPDATE sessions SET last_used_at = $1 WHERE +revoked_at IS NULL \
         AND expires_at > $1 AND id IN (SELECT session_id FROM refresh_tokens \
           WHERE rotated_at IS NULL AND token_hash IN ({})) \
         RETURNING {SESSION_COLUMNS}",
        list(2, tokens)
    )
}

/// Sizes of the `IN` lists: rounded up to a power of two, so that fewer statements, each
/// prepared once per connection, serve every batch size (the insert of successors has one
/// form for each number of rows).
fn padded(len: usize) -> usize {
    len.next_power_of_two()
}

/// `$first, $first+1, …` for `values`, padded (see [`padded`]).
fn list(first: usize, values: &[&str]) -> String {
    (first..first + padded(values.len()))
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Binds `values` to `query`, padded with the last value repeated (an `IN` list is the
/// same with it twice).
fn bind_all<'q, Q: Bind<'q>>(mut query: Q, values: &[&'q str]) -> Q {
    let last = values.last().copied().unwrap_or_default();
    for n in 0..padded(values.len()) {
        query = query.bind_str(values.get(n).copied().unwrap_or(last));
    }
    query
}

/// The queries [`bind_all`] binds to.
trait Bind<'q> {
    fn bind_str(self, value: &'q str) -> Self;
}

impl<'q, O> Bind<'q> for sqlx::query::QueryAs<'q, sqlx::Any, O, sqlx::any::AnyArguments<'q>> {
    fn bind_str(self, value: &'q str) -> Self {
        self.bind(value)
    }
}

/// Whether PostgreSQL ended the transaction to break a deadlock (SQLSTATE 40P01). A batch
/// holds the rows of all its sessions until it commits, and the order it takes them in is
/// the query plan's: two batches (of two instances, each with one of two tabs' refreshes)
/// can take the same sessions in opposite orders. PostgreSQL notices within its
/// `deadlock_timeout` (1 s by default) and ends one; nothing of it was committed, so it
/// runs again. (Taking the rows first in order of id, `SELECT … ORDER BY id FOR NO KEY
/// UPDATE`, prevents the deadlock but cost 35–50% of the rotations per second.)
fn is_deadlock(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.code().as_deref() == Some("40P01"))
}

/// The failure of a batch, for each of its rotations: sqlx's errors cannot be cloned, so
/// the others get one of the same kind (the database unavailable, or not) and message.
fn same_failure(error: &sqlx::Error) -> sqlx::Error {
    if crate::error::is_unavailable(error) {
        sqlx::Error::Io(std::io::Error::other(error.to_string()))
    } else {
        sqlx::Error::Protocol(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use shared::Role;
    use sqlx::PgConnection;

    use super::*;
    use crate::store::testing::{
        TestDatabase, fresh_postgres, fresh_store, sqlite_url, until_blocked_by,
    };
    use crate::store::{NewUser, Proof, Store};

    /// A store on a fresh SQLite file, and `count` live sessions of one user, session `i`
    /// holding the current token `"old-i"`.
    async fn sessions(count: usize) -> (tempfile::TempDir, Store, Vec<String>) {
        let (dir, store) = fresh_store().await;
        let ids = add_sessions(&store, count).await;
        (dir, store, ids)
    }

    /// Stores one user and `count` live sessions of theirs, session `i` holding the
    /// current token `"old-i"`.
    async fn add_sessions(store: &Store, count: usize) -> Vec<String> {
        let user = NewUser {
            email: "ada@example.com",
            password_hash: "hash",
            role: Role::User,
            now: 0,
        };
        let user = store.insert_user(user).await.unwrap();
        let mut ids = Vec::new();
        for i in 0..count {
            let session = SessionRow {
                id: format!("session-{i}"),
                user_id: user.id.clone(),
                created_at: 0,
                last_used_at: 0,
                expires_at: 1_000_000,
                revoked_at: None,
                user_agent: None,
                ip: None,
            };
            let created = store
                .create_session(&session, "hash", &Proof::Password, &format!("old-{i}"), 100)
                .await
                .unwrap();
            assert!(created.is_some());
            ids.push(session.id);
        }
        ids
    }

    /// Queues the rotation of `old` to `new` at `now`, as waiting since `queued`.
    fn ask(
        store: &Store,
        old: &str,
        new: &str,
        now: i64,
        queued: Instant,
    ) -> oneshot::Receiver<sqlx::Result<Rotated>> {
        let request = Request {
            old_hash: old.into(),
            new_hash: new.into(),
            now,
        };
        store.rotations.submit(request, queued).unwrap()
    }

    /// Checks every stored token, by hash, and whether it was rotated away.
    async fn assert_rotated(store: &Store, expected: &[(&str, bool)]) {
        let rotated: Vec<(String, bool)> = tokens(store)
            .await
            .into_iter()
            .map(|(token, _, rotated)| (token, rotated.is_some()))
            .collect();
        let expected: Vec<(String, bool)> = expected
            .iter()
            .map(|(token, rotated)| (token.to_string(), *rotated))
            .collect();
        assert_eq!(rotated, expected);
    }

    /// `(token_hash, session_id, rotated_at)` of every token, by hash.
    async fn tokens(store: &Store) -> Vec<(String, String, Option<i64>)> {
        sqlx::query_as(
            "SELECT token_hash, session_id, rotated_at FROM refresh_tokens ORDER BY token_hash",
        )
        .fetch_all(&store.reads)
        .await
        .unwrap()
    }

    /// Rotations queued while the writer is busy run in one transaction (one rotation
    /// time for all), each as it would alone: two of the same token, one succeeds; a
    /// revoked session's token does not rotate.
    #[tokio::test]
    async fn rotations_waiting_for_the_writer_run_together_each_as_it_would_alone() {
        let (_dir, store, ids) = sessions(3).await;
        store.revoke_session(&ids[2], None, 10).await.unwrap();
        let writer = store.writes.acquire().await.unwrap();
        let at = Instant::now();
        let first = ask(&store, "old-0", "new-0", 1000, at);
        let second = ask(&store, "old-1", "new-1", 1001, at);
        let revoked = ask(&store, "old-2", "new-2", 1002, at);
        let again = ask(&store, "old-0", "new-0", 1003, at);
        drop(writer);

        let (session, user) = first.await.unwrap().unwrap().expect("rotated");
        assert_eq!(session.id, ids[0]);
        assert_eq!(session.last_used_at, 1003);
        assert_eq!(user.expect("the user").id, session.user_id);
        let (session, _) = second.await.unwrap().unwrap().expect("rotated");
        assert_eq!(session.id, ids[1]);
        assert!(revoked.await.unwrap().unwrap().is_none());
        assert!(again.await.unwrap().unwrap().is_none());

        let expected = [
            ("new-0", "session-0", None),
            ("new-1", "session-1", None),
            ("old-0", "session-0", Some(1003)),
            ("old-1", "session-1", Some(1003)),
            ("old-2", "session-2", None),
        ];
        let expected: Vec<_> = expected
            .iter()
            .map(|(token, session, rotated)| (token.to_string(), session.to_string(), *rotated))
            .collect();
        assert_eq!(tokens(&store).await, expected);
        store.close().await;
    }

    /// A rotation whose request went away before its batch started is not run: its
    /// successor would reach nobody.
    #[tokio::test]
    async fn a_rotation_nobody_waits_for_any_more_is_not_run() {
        let (_dir, store, _ids) = sessions(2).await;
        let writer = store.writes.acquire().await.unwrap();
        drop(ask(&store, "old-0", "new-0", 1000, Instant::now()));
        let kept = ask(&store, "old-1", "new-1", 1000, Instant::now());
        drop(writer);
        assert!(kept.await.unwrap().unwrap().is_some());
        assert_rotated(
            &store,
            &[("new-1", false), ("old-0", false), ("old-1", true)],
        )
        .await;
        store.close().await;
    }

    /// When the database cannot be reached, every rotation of the batch is told so, as
    /// an unavailable database (503), not a bug.
    #[tokio::test]
    async fn a_failed_batch_fails_each_of_its_rotations_alike() {
        let (_dir, store, _ids) = sessions(2).await;
        store.writes.close().await;
        let first = ask(&store, "old-0", "new-0", 1000, Instant::now());
        let second = ask(&store, "old-1", "new-1", 1000, Instant::now());
        for result in [first.await.unwrap(), second.await.unwrap()] {
            let error = result.unwrap_err();
            assert!(crate::error::is_unavailable(&error), "{error}");
        }
    }

    /// A rotation that has waited longer than the pool would have let it is answered as
    /// the database being unavailable, and not run, whether it comes first or in a batch.
    #[tokio::test]
    async fn a_rotation_that_waited_too_long_is_refused_not_run() {
        let (_dir, store, _ids) = sessions(3).await;
        let long_ago = Instant::now().checked_sub(MAX_WAIT * 2).unwrap();
        let writer = store.writes.acquire().await.unwrap();
        let stale_first = ask(&store, "old-0", "new-0", 1000, long_ago);
        let fresh = ask(&store, "old-1", "new-1", 1000, Instant::now());
        let stale_later = ask(&store, "old-2", "new-2", 1000, long_ago);
        drop(writer);
        for stale in [stale_first, stale_later] {
            let error = stale.await.unwrap().unwrap_err();
            assert!(matches!(error, sqlx::Error::PoolTimedOut), "{error}");
        }
        assert!(fresh.await.unwrap().unwrap().is_some());
        let rotated: Vec<_> = tokens(&store)
            .await
            .into_iter()
            .filter(|(_, _, rotated)| rotated.is_some())
            .map(|(token, _, _)| token)
            .collect();
        assert_eq!(rotated, ["old-1"]);
        store.close().await;
    }

    /// A batch stuck behind another process's write lock (SQLite would wait 5 s for it)
    /// is answered "database unavailable" when its time is up, and changes nothing; the
    /// next rotation, once the lock is gone, runs on a new connection.
    #[tokio::test]
    async fn a_stuck_batch_is_answered_when_its_time_is_up() {
        let (dir, store, _ids) = sessions(1).await;
        let mut other = <AnyConnection as sqlx::Connection>::connect(&sqlite_url(&dir))
            .await
            .unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut other)
            .await
            .unwrap();
        let started = Instant::now();
        let error = store
            .rotate_refresh_token("old-0", "new-0", 1000)
            .await
            .unwrap_err();
        let waited = started.elapsed();
        assert!(matches!(error, sqlx::Error::PoolTimedOut), "{error}");
        assert!(
            waited >= MAX_WAIT && waited < MAX_WAIT + Duration::from_secs(1),
            "{waited:?}"
        );
        sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
        let rotated = store.rotate_refresh_token("old-0", "new-0", 1001).await;
        assert!(rotated.unwrap().is_some());
        store.close().await;
    }

    /// Should the task stop, rotations still run, each on its own.
    #[tokio::test]
    async fn without_the_task_each_rotation_runs_on_its_own() {
        let (_dir, store, ids) = sessions(1).await;
        store.rotations.task.abort();
        let rotated = store.rotate_refresh_token("old-0", "new-0", 1000).await;
        let (session, _) = rotated.unwrap().expect("rotated");
        assert_eq!(session.id, ids[0]);
        let again = store.rotate_refresh_token("old-0", "new-0", 1001).await;
        assert!(again.unwrap().is_none());
        store.close().await;
    }

    /// A fresh PostgreSQL database with two live sessions as [`add_sessions`] makes
    /// them, a store on it, and a connection of another client to take row locks with.
    async fn on_postgres() -> (TestDatabase, Store, PgConnection) {
        let (database, store, other) = fresh_postgres().await;
        add_sessions(&store, 2).await;
        (database, store, other)
    }

    /// Takes the row lock of the refresh token `token` in `other`'s open transaction.
    async fn lock_token(other: &mut PgConnection, token: &str) {
        sqlx::query("BEGIN").execute(&mut *other).await.unwrap();
        sqlx::query("UPDATE refresh_tokens SET issued_at = issued_at WHERE token_hash = $1")
            .bind(token)
            .execute(&mut *other)
            .await
            .unwrap();
    }

    /// A rotation whose request goes away while its batch runs is not committed: the
    /// batch is rolled back and runs again without it, and the others rotate.
    #[tokio::test]
    async fn a_rotation_whose_request_leaves_mid_batch_is_rolled_back() {
        let (_database, store, mut other) = on_postgres().await;
        lock_token(&mut other, "old-1").await;
        let left = ask(&store, "old-0", "new-0", 1000, Instant::now());
        let kept = ask(&store, "old-1", "new-1", 1000, Instant::now());
        until_blocked_by(&mut other).await;
        drop(left);
        sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();

        assert!(kept.await.unwrap().unwrap().is_some());
        assert_rotated(
            &store,
            &[("new-1", false), ("old-0", false), ("old-1", true)],
        )
        .await;
        store.close().await;
    }

    /// A batch that PostgreSQL ends to break a deadlock runs again, and its rotations
    /// succeed. Here the batch holds both sessions and waits for a token that another
    /// client holds, which then asks for one of the sessions; the other client waits
    /// longer before looking for deadlocks (setting that needs a superuser, as the test
    /// server's `postgres` is), so it is the batch that PostgreSQL ends. The batch looks
    /// once, `deadlock_timeout` (1 s) after it starts waiting: the other client's request
    /// must come before that, and if it did not, the batch's rotations fail (3 s of lock
    /// wait) and so does the test; it cannot pass without the retry.
    #[tokio::test]
    async fn a_batch_ended_to_break_a_deadlock_runs_again() {
        let (_database, store, mut other) = on_postgres().await;
        sqlx::query("SET deadlock_timeout = '60s'")
            .execute(&mut other)
            .await
            .unwrap();
        lock_token(&mut other, "old-1").await;
        let first = ask(&store, "old-0", "new-0", 1000, Instant::now());
        let second = ask(&store, "old-1", "new-1", 1000, Instant::now());
        until_blocked_by(&mut other).await;
        // Waits for the batch's lock on the session until PostgreSQL ends the batch.
        sqlx::query("UPDATE sessions SET last_used_at = 5 WHERE id = 'session-0'")
            .execute(&mut other)
            .await
            .unwrap();
        sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();

        for result in [first.await.unwrap(), second.await.unwrap()] {
            assert!(result.unwrap().is_some());
        }
        assert_rotated(
            &store,
            &[
                ("new-0", false),
                ("new-1", false),
                ("old-0", true),
                ("old-1", true),
            ],
        )
        .await;
        store.close().await;
    }

    /// SQLite finds the sessions of the presented tokens by key, not by visiting every
    /// live session.
    #[tokio::test]
    async fn sessions_are_found_by_key_whatever_the_number_stored() {
        let (_dir, store, _ids) = sessions(1).await;
        let tokens = ["old-0", "old-1", "old-2"];
        let plan: Vec<(i64, i64, i64, String)> = bind_all(
            sqlx::query_as(&format!("EXPLAIN QUERY PLAN {}", touch_sessions(&tokens))).bind(0),
            &tokens,
        )
        .fetch_all(&store.reads)
        .await
        .unwrap();
        let plan: Vec<&str> = plan.iter().map(|(_, _, _, step)| step.as_str()).collect();
        assert!(
            plan.iter().any(|step| step
                .starts_with("SEARCH sessions USING INDEX sqlite_autoindex_sessions_1 (id=?)")),
            "{plan:?}"
        );
        store.close().await;
    }

    #[test]
    fn lists_are_padded_to_a_power_of_two() {
        assert_eq!(list(2, &["a"]), "$2");
        assert_eq!(list(2, &["a", "b", "c"]), "$2, $3, $4, $5");
    }
}
