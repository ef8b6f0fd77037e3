//! Persistence: one diesel code path over SQLite (embedded, the default) and PostgreSQL
//! (production). Query modules take `&mut DbConn` so they compose into one transaction, and run
//! their queries on the connection's own backend where the query allows it ([`native`]): diesel's
//! multi-backend connection renders every query's SQL text anew on each execution.

pub mod access;
pub mod audit;
mod columns;
pub mod consents;
pub mod deviations;
pub mod documents;
mod driven;
pub mod events;
pub mod goals;
mod group;
pub mod imports;
pub mod individuals;
pub mod journal;
mod listener;
pub mod meetings;
pub mod native;
pub mod operations;
pub mod plans;
pub mod prepared;
pub mod reports;
pub mod schema;
pub mod scratch;
pub mod seals;
pub mod summons;
pub mod survey;
pub mod webhooks;
pub mod worklists;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, Pool};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};
use native::NativeRunQueryDsl;

use crate::error::Result;

/// One multi-row `INSERT` of `rows` into `table`. The multi-backend connection cannot do a
/// multi-row insert, so each backend's own connection does it.
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {
        $crate::db::native::on_backend!($conn, |c| diesel::insert_into($table)
            .values($rows)
            .execute(c))
    };
}
pub(crate) use insert_rows;

/// Serialises a list of short texts into its TEXT column (a JSON array: the same on both backends).
pub fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".into())
}

/// Reads a list of short texts from its TEXT column; see [`parse_json_column`].
pub fn parse_json_list(text: &str, column: &str) -> Result<Vec<String>> {
    parse_json_column(text, column)
}

/// Reads a JSON TEXT column. What the service stored is always valid, so anything else is corrupt
/// data: an internal error naming the column (never its content, which may be personal data),
/// not a silent empty value that would show a plan without its parts.
pub fn parse_json_column<T: serde::de::DeserializeOwned>(text: &str, column: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|_| {
        crate::error::Error::Internal(format!("the stored {column} is not the JSON it must be"))
    })
}

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// A connection to either database. Query code is written once against this type.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    /// The backend is chosen by the URL's scheme, never guessed: an unreachable PostgreSQL must
    /// fail loudly, not fall back to creating a SQLite file named like the URL.
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// Opens connections of the configured backend for the pool, with SQLite's per-connection settings.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    url: String,
    backend: Backend,
}

impl ManageConnection for ConnectionManager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> std::result::Result<DbConn, Self::Error> {
        match self.backend {
            Backend::Postgres => {
                let mut conn = diesel::PgConnection::establish(&self.url)
                    .map_err(r2d2::Error::ConnectionError)?;
                // The statements diesel keeps prepared are planned once per connection. PostgreSQL
                // would otherwise plan some of them again on every execution: a list's LIMIT makes
                // the generic plan look costlier than a custom one, so the list query was planned
                // anew each time (~0.5 ms, five times its execution) for the same plan. Every
                // prepared statement of the service is a key or index lookup whose plan does not
                // depend on the values bound.
                conn.batch_execute("SET plan_cache_mode = force_generic_plan")
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Postgres(conn))
            }
            Backend::Sqlite => {
                let path = self.url.strip_prefix("sqlite://").unwrap_or(&self.url);
                let mut conn = diesel::SqliteConnection::establish(path)
                    .map_err(r2d2::Error::ConnectionError)?;
                // busy_timeout first, so the other statements wait for a lock instead of failing.
                // synchronous=FULL fsyncs the WAL at every commit, so an acknowledged write survives
                // a power loss or `kill -9`. (WAL itself is set once, in `migrate`: it is persistent.)
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> std::result::Result<(), Self::Error> {
        conn.batch_execute("SELECT 1")
            .map_err(r2d2::Error::QueryError)
    }

    /// A connection whose transaction could not be rolled back — the state a lost connection
    /// leaves, since every use runs in a transaction — is dropped instead of returned to the pool.
    fn has_broken(&self, conn: &mut DbConn) -> bool {
        std::thread::panicking() || diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

/// The database handle shared by all requests.
#[derive(Clone)]
pub struct Db {
    pool: Pool<ConnectionManager>,
    /// Makes a fresh connection in place of one found dead (see `revive`).
    manager: Arc<ConnectionManager>,
    backend: Backend,
    /// SQLite allows one writer at a time; taking this lock before a write transaction means a
    /// transaction never has to upgrade its read snapshot to a write lock and fail with "busy".
    sqlite_writer: Option<Arc<Mutex<()>>>,
    /// SQLite: the requests' writes, committed in groups (`group`).
    sqlite_groups: Option<group::GroupCommit>,
    /// Counts the requests' write transactions this process has committed: long-polling feed
    /// readers and the webhook dispatcher wait on it instead of polling the database.
    commits: Arc<tokio::sync::watch::Sender<u64>>,
    /// Whether other instances' commits are heard (`listen_to_other_instances`).
    hearing_others: Arc<AtomicBool>,
    /// Set when a connection could not be had, cleared when one could: while the database is
    /// known to be down, requests (and the access-log writer) wait only [`CHECKOUT_IN_OUTAGE`] for
    /// a connection, so they answer 503 at once instead of after [`CHECKOUT_TIMEOUT`] each.
    known_down: Arc<AtomicBool>,
}

/// How long a request waits for a pooled connection while the database answers.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long it waits while the database is known to be down: long enough to notice that it is
/// back (a connection on this machine's network is made in milliseconds).
const CHECKOUT_IN_OUTAGE: Duration = Duration::from_millis(250);

/// How often waiters look for commits they were not woken for: other instances' commits and the
/// writes that do not signal (imports, the dispatcher) — at once while the PostgreSQL listener
/// hears them all, so then only as a safety net.
const POLL_UNHEARD: Duration = Duration::from_millis(500);
const POLL_SAFETY_NET: Duration = Duration::from_secs(5);

/// The folder (0700, when it is new) and the file (0600) of a SQLite database, for the service's
/// user only: it holds personal data. SQLite gives its `-wal` and `-shm` files the database
/// file's permissions. An existing folder keeps its permissions (it may be a mounted volume); an
/// existing database file is made private.
pub fn create_private_file(path: &std::path::Path) -> std::result::Result<(), String> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if let Some(dir) = path.parent() {
        crate::config::create_private_dir(dir)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| format!("cannot make {} private: {e}", path.display()))
}

/// SQLite's process-wide settings, made once before the process's first SQLite connection (the
/// service's database, or the import's scratch databases on PostgreSQL).
///
/// - No memory statistics (`SQLITE_CONFIG_MEMSTATUS` off): with them every allocation of every
///   connection takes one global mutex, and concurrent reads queued on it — a profile of the list
///   of 50 on SQLite spent ~15 % of the service's time waking and waiting on that lock.
/// - Multi-thread mode (`SQLITE_CONFIG_MULTITHREAD`): no mutex on each connection's every call. A
///   diesel connection is never used by two threads at once (it is not `Sync`; the pool lends it
///   to one), which is all this mode asks.
///
/// SQLite accepts them only before it is first initialised; later they are refused with
/// `SQLITE_MISUSE` and change nothing (in a test process whose other tests opened SQLite first),
/// which costs speed, never correctness.
fn configure_sqlite() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use libsqlite3_sys::{
            sqlite3_config, SQLITE_CONFIG_MEMSTATUS, SQLITE_CONFIG_MULTITHREAD, SQLITE_OK,
        };
        // SAFETY: `sqlite3_config` takes the option and, for MEMSTATUS, one C int; both are passed
        // as SQLite declares them. It is called once (`ONCE`) and before this process opens a
        // connection; if SQLite is already initialised it changes nothing and returns MISUSE.
        let (threads, memstatus) = unsafe {
            (
                sqlite3_config(SQLITE_CONFIG_MULTITHREAD),
                sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0 as std::ffi::c_int),
            )
        };
        if threads != SQLITE_OK || memstatus != SQLITE_OK {
            log::debug!("SQLite was initialised before its settings could be made ({threads}, {memstatus}): defaults kept");
        }
    });
}

impl Db {
    /// Connects, and applies the backend's embedded migrations.
    pub fn connect(url: &str, pool_size: u32) -> std::result::Result<Db, String> {
        // Before any SQLite connection, on both backends: the import replays in SQLite scratch
        // databases whichever database the service stores in.
        configure_sqlite();
        let backend = Backend::of_url(url);
        if backend == Backend::Sqlite {
            let path = url.strip_prefix("sqlite://").unwrap_or(url);
            create_private_file(std::path::Path::new(path))?;
        }
        let manager = ConnectionManager {
            url: url.to_string(),
            backend,
        };
        let manager_copy = Arc::new(manager.clone());
        let pool = Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(0))
            .connection_timeout(CHECKOUT_TIMEOUT)
            // No `SELECT 1` on every checkout (a round trip per request): a read that meets a dead
            // connection revives it and runs again; a write whose BEGIN fails begins again. See
            // `read_now` and `write_now`.
            .test_on_check_out(false)
            .build_unchecked(manager);
        let sqlite_writer = (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        let known_down = Arc::new(AtomicBool::new(false));
        let sqlite_groups = match &sqlite_writer {
            Some(writer) => Some(group::GroupCommit::start(
                pool.clone(),
                known_down.clone(),
                writer.clone(),
            )?),
            None => None,
        };
        let db = Db {
            pool,
            manager: manager_copy,
            backend,
            sqlite_writer,
            sqlite_groups,
            commits: Arc::new(tokio::sync::watch::Sender::new(0)),
            hearing_others: Arc::new(AtomicBool::new(false)),
            known_down,
        };
        db.migrate()?;
        Ok(db)
    }

    fn migrate(&self) -> std::result::Result<(), String> {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| format!("cannot connect to the {:?} database: {e}", self.backend))?;
        let applied = match &mut *conn {
            DbConn::Postgres(c) => c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.len()),
            DbConn::Sqlite(c) => {
                // WAL lets readers run beside the one writer.
                c.batch_execute("PRAGMA journal_mode = WAL;")
                    .map_err(|e| format!("cannot switch SQLite to WAL: {e}"))?;
                c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len())
            }
        }
        .map_err(|e| format!("migrations failed: {e}"))?;
        if applied > 0 {
            log::info!("applied {applied} database migration(s)");
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool's connections: (open, in use).
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (
            state.connections,
            state.connections - state.idle_connections,
        )
    }

    /// Writes a consistent copy of the running SQLite database to `path` (`sip-service backup`):
    /// SQLite's `VACUUM INTO` reads one snapshot while writers go on, so the copy holds every
    /// write committed before it began and none half. A new file only: an existing one is refused.
    /// PostgreSQL is backed up with its own tools (`pg_dump`, or base backups with WAL archiving
    /// for point-in-time recovery): see the README.
    pub fn backup_to(&self, path: &std::path::Path) -> std::result::Result<(), String> {
        if self.backend == Backend::Postgres {
            return Err("this database is PostgreSQL: back it up with pg_dump, or with base backups and WAL archiving (see the README's Backups)".into());
        }
        if path.exists() {
            return Err(format!(
                "{} exists: a backup is written to a new file",
                path.display()
            ));
        }
        let target = path
            .to_str()
            .ok_or("the backup's path is not UTF-8")?
            .to_string();
        let mut conn = self.checkout().map_err(|e| e.to_string())?;
        diesel::sql_query("VACUUM INTO ?")
            .bind::<diesel::sql_types::Text, _>(target)
            .execute_native(&mut conn)
            .map(|_| ())
            .map_err(|e| format!("the backup failed: {e}"))
    }

    /// PostgreSQL: starts a thread that gives committed change events their feed positions every
    /// 50 ms, hears the commits of every instance sharing the database (and of this process's own
    /// quiet writers) and wakes this process's waiters for them (`db::listener`). It stops when the
    /// last handle of this `Db` is dropped. Nothing to do on SQLite, which serves one process.
    pub fn listen_to_other_instances(&self, url: &str) -> std::result::Result<(), String> {
        if self.backend != Backend::Postgres {
            return Ok(());
        }
        let url = url.to_string();
        let commits = Arc::downgrade(&self.commits);
        let hearing = self.hearing_others.clone();
        std::thread::Builder::new()
            .name("feed-listener".into())
            .spawn(move || listener::run(url, commits, hearing))
            .map(|_| ())
            .map_err(|e| format!("cannot start the feed listener: {e}"))
    }

    /// How often a waiter must look for commits it may not be woken for.
    pub fn poll_interval(&self) -> Duration {
        if self.hearing_others.load(Ordering::SeqCst) {
            POLL_SAFETY_NET
        } else {
            POLL_UNHEARD
        }
    }

    /// Runs `f` on a blocking thread (never on the async workers), as a read: see `read_in`.
    pub async fn read<T, F>(&self, f: F) -> Result<T>
    where
        F: Fn(&mut DbConn) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        actix_web::web::block(move || db.read_now(f)).await?
    }

    /// The same, on the calling thread (for threads of our own, such as the webhook dispatcher).
    ///
    /// The pool does not test connections on checkout: a read that finds its connection dead (the
    /// database restarted, the session was terminated) replaces it with a fresh one and runs once
    /// more — a read changes nothing, so running it again is safe.
    pub fn read_now<T>(&self, f: impl Fn(&mut DbConn) -> Result<T>) -> Result<T> {
        self.once_more_if_lost(|c| Self::read_in(c, &f))
    }

    /// Runs `f` on a pooled connection; if the connection is found dead, on a fresh one once more.
    /// Only for what is safe to run twice (a read, the access log's one-statement append).
    fn once_more_if_lost<T>(&self, f: impl Fn(&mut DbConn) -> Result<T>) -> Result<T> {
        let mut conn = self.checkout()?;
        match self.noting_loss(f(&mut conn)) {
            Err(crate::error::Error::DatabaseLost) => {
                self.revive(&mut conn)?;
                self.noting_loss(f(&mut conn))
            }
            other => other,
        }
    }

    /// A read, as each backend gives it one snapshot at the least cost. SQLite: in a read
    /// transaction, which holds one snapshot for all its statements and costs no round trip.
    /// PostgreSQL: each statement on its own — at READ COMMITTED a statement takes a fresh snapshot
    /// inside a transaction too, so `BEGIN` and `COMMIT` would buy nothing but two round trips.
    fn read_in<T>(conn: &mut DbConn, f: &impl Fn(&mut DbConn) -> Result<T>) -> Result<T> {
        match conn {
            DbConn::Postgres(_) => f(conn),
            DbConn::Sqlite(_) => conn.transaction(|c| f(c)),
        }
    }

    /// Replaces a dead pooled connection with a fresh one, in place: the pool gets the fresh one
    /// back. While the database cannot be reached this is the 503 it is.
    fn revive(&self, conn: &mut r2d2::PooledConnection<ConnectionManager>) -> Result<()> {
        match self.manager.connect() {
            Ok(fresh) => {
                **conn = fresh;
                self.known_down.store(false, Ordering::SeqCst);
                Ok(())
            }
            Err(_) => Err(crate::error::Error::DatabaseLost),
        }
    }

    /// Runs `f` as one write transaction, never on the async workers: on any error nothing of it
    /// is stored. PostgreSQL: its own transaction on a blocking thread. SQLite: a savepoint in the
    /// next group commit (`group`), answered once the group is durable.
    pub async fn write<T, F>(&self, f: F) -> Result<T>
    where
        F: FnOnce(&mut DbConn) -> Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let result = match &self.sqlite_groups {
            Some(groups) => groups.write(f).await,
            None => {
                let db = self.clone();
                actix_web::web::block(move || db.write_now(f)).await?
            }
        };
        if result.is_ok() {
            // A request's change is committed: wake the feed's long-polling readers and the
            // webhook dispatcher. (The access log and the dispatcher write through `write_now`,
            // which stays quiet: their writes are no news to them.)
            self.commits.send_modify(|n| *n = n.wrapping_add(1));
        }
        result
    }

    /// The same, on the calling thread (for threads of our own, such as the access-log writer).
    pub fn write_now<T>(&self, f: impl FnOnce(&mut DbConn) -> Result<T>) -> Result<T> {
        let _turn = self
            .sqlite_writer
            .as_ref()
            .map(|w| w.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        let mut conn = self.checkout()?;
        // A write is never run twice, and its `BEGIN` is its connection's test (no round trip of
        // its own): when `BEGIN` meets a dead connection, `f` has not started, so the connection
        // is replaced and the transaction begun once more. A connection lost once `f` has begun
        // is the 503 it is.
        let mut work = Some(f);
        let first = run_once(&mut conn, &mut work);
        match self.noting_loss(first) {
            Err(crate::error::Error::DatabaseLost) if work.is_some() => {
                self.revive(&mut conn)?;
                self.noting_loss(run_once(&mut conn, &mut work))
            }
            other => other,
        }
    }

    /// An append that is one statement on PostgreSQL (atomic by itself), on the calling thread: no
    /// `BEGIN`/`COMMIT` and no connection check first, so a group of access records costs one round
    /// trip. A dead connection is replaced and the statement run once more; if the connection died
    /// just as the first run committed, its rows are stored twice — for the access log a duplicate
    /// record (same request id) rather than a refused read. SQLite runs it as `write_now` does.
    pub fn append_now(&self, f: impl Fn(&mut DbConn) -> Result<()>) -> Result<()> {
        match self.backend {
            Backend::Sqlite => self.write_now(f),
            Backend::Postgres => self.once_more_if_lost(f),
        }
    }

    /// A request that lost its connection marks the database as down, so the next checkouts wait
    /// only briefly (they clear the mark as soon as one succeeds).
    fn noting_loss<T>(&self, result: Result<T>) -> Result<T> {
        if matches!(result, Err(crate::error::Error::DatabaseLost)) {
            self.known_down.store(true, Ordering::SeqCst);
        }
        result
    }

    /// A pooled connection: waiting briefly while the database is known to be down, so an outage
    /// answers 503 at once (see `known_down`).
    fn checkout(&self) -> Result<r2d2::PooledConnection<ConnectionManager>> {
        checkout_from(&self.pool, &self.known_down)
    }

    /// Whether the last attempt to get a connection failed (the database is down).
    pub fn known_down(&self) -> bool {
        self.known_down.load(Ordering::SeqCst)
    }

    /// A receiver that is told of every request's write this process commits. Writes of other processes
    /// (other instances on one PostgreSQL database) are not seen here: waiters poll as well.
    pub fn commits(&self) -> tokio::sync::watch::Receiver<u64> {
        self.commits.subscribe()
    }

    /// Whether the database answers (for `/ready`).
    pub async fn ping(&self) -> Result<()> {
        self.read(|c| {
            c.batch_execute("SELECT 1")?;
            Ok(())
        })
        .await
    }
}

/// Runs `f` in a transaction of its own inside the current one (a savepoint): on error only `f`'s
/// writes are undone, and the surrounding transaction goes on.
pub fn nested<T>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> Result<T>) -> Result<T> {
    conn.transaction(f)
}

/// Runs `f` as [`nested`] does, then undoes its writes whatever the outcome: a dry run. `f`'s own
/// result is returned, success or failure.
pub fn rehearse<T>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> Result<T>) -> Result<T> {
    /// Carries `f`'s result out of a transaction made to fail, so that it is rolled back.
    enum Rehearsal<T> {
        Done(Result<T>),
        Database(diesel::result::Error),
    }
    impl<T> From<diesel::result::Error> for Rehearsal<T> {
        fn from(e: diesel::result::Error) -> Self {
            Rehearsal::Database(e)
        }
    }
    match conn.transaction(|c| Err::<(), _>(Rehearsal::Done(f(c)))) {
        Err(Rehearsal::Done(result)) => result,
        Err(Rehearsal::Database(e)) => Err(e.into()),
        Ok(()) => Err(crate::error::Error::Internal(
            "a rehearsal committed".into(),
        )),
    }
}

/// A pooled connection from `pool`, waiting briefly while the database is known to be down (so an
/// outage answers 503 at once) and keeping `known_down` current: for `Db` and SQLite's group
/// commit thread alike.
fn checkout_from(
    pool: &Pool<ConnectionManager>,
    known_down: &AtomicBool,
) -> Result<r2d2::PooledConnection<ConnectionManager>> {
    let wait = if known_down.load(Ordering::SeqCst) {
        CHECKOUT_IN_OUTAGE
    } else {
        CHECKOUT_TIMEOUT
    };
    let started = std::time::Instant::now();
    let got = pool.get_timeout(wait);
    if crate::metrics::recording() {
        crate::metrics::metrics()
            .db_checkout_seconds
            .observe(started.elapsed().as_secs_f64());
    }
    known_down.store(got.is_err(), Ordering::SeqCst);
    Ok(got?)
}

/// Runs the write `work` (taken from its slot when its transaction has begun) in one transaction.
/// The slot still holds it afterwards only if `BEGIN` failed, before it ran.
fn run_once<T>(
    conn: &mut DbConn,
    work: &mut Option<impl FnOnce(&mut DbConn) -> Result<T>>,
) -> Result<T> {
    conn.transaction(|c| match work.take() {
        Some(f) => f(c),
        None => Err(crate::error::Error::Internal(
            "a write was begun twice".into(),
        )),
    })
}

/// Rows grouped by `key`, each group in the rows' order: how the children of several parents,
/// read in one query, are handed to their parents.
pub(crate) fn grouped<K: std::hash::Hash + Eq, V>(
    rows: impl IntoIterator<Item = V>,
    key: impl Fn(&V) -> K,
) -> std::collections::HashMap<K, Vec<V>> {
    let mut groups: std::collections::HashMap<K, Vec<V>> = std::collections::HashMap::new();
    for row in rows {
        groups.entry(key(&row)).or_default().push(row);
    }
    groups
}
