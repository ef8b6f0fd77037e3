//! The real binary: it starts, serves, keeps personal data out of its log, and shuts down
//! gracefully on SIGTERM — on SQLite and on PostgreSQL.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{TempPostgres, LISA_PNR};

pub(crate) const BINARY: &str = env!("CARGO_BIN_EXE_sip-service");

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A minimal HTTP/1.1 exchange: (status, body).
pub(crate) fn http(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Option<(u16, String)> {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = Vec::new();
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth.as_str()));
    }
    if body.is_some_and(|b| !b.is_empty()) {
        headers.push(("Content-Type", "application/json"));
    }
    http_with(port, method, path, &headers, body).map(|(status, _, body)| (status, body))
}

/// An HTTP/1.1 exchange with the headers given: (status, response head, body).
pub(crate) fn http_with(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Option<(u16, String, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        request += &format!("{name}: {value}\r\n");
    }
    let body = body.unwrap_or("");
    if !body.is_empty() {
        request += &format!("Content-Length: {}\r\n", body.len());
    }
    request += "\r\n";
    request += body;
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .map(|(h, b)| (h.to_string(), b.to_string()))
        .unwrap_or_default();
    Some((status, head, body))
}

pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn start(data_dir: &Path, database_url: Option<&str>, log: &Path) -> Server {
    start_with(data_dir, database_url, log, &[])
}

/// The binary started with these settings besides the usual ones.
pub(crate) fn start_with(
    data_dir: &Path,
    database_url: Option<&str>,
    log: &Path,
    settings: &[(&str, &str)],
) -> Server {
    let port = free_port();
    let mut command = Command::new(BINARY);
    command
        .env("DATA_DIR", data_dir)
        .env("BIND_ADDRESS", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "trace")
        .env("WORKERS", "1")
        .env_remove("DATABASE_URL")
        .env_remove("JWT_HS256_SECRET")
        .env_remove("JWT_PUBLIC_KEY_FILE")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    command.envs(settings.iter().copied());
    let child = command.spawn().expect("the service binary starts");
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(30);
    while http(port, "GET", "/health", None, None).map(|r| r.0) != Some(200) {
        assert!(
            Instant::now() < deadline,
            "the service did not come up: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// SIGTERM: the service stops gracefully and exits cleanly.
pub(crate) fn stop(server: &mut Server) {
    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let deadline = Instant::now() + Duration::from_secs(35);
    let exit = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the service did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(exit.success(), "exit status {exit:?}");
}

pub(crate) fn token(data_dir: &Path, unit: &str) -> String {
    token_with_roles(data_dir, unit, "read,write")
}

pub(crate) fn token_with_roles(data_dir: &Path, unit: &str, roles: &str) -> String {
    let output = Command::new(BINARY)
        .args([
            "token",
            "--unit",
            unit,
            "--principal",
            "region",
            "--roles",
            roles,
        ])
        .env("DATA_DIR", data_dir)
        .env_remove("JWT_HS256_SECRET")
        .env_remove("JWT_PUBLIC_KEY_FILE")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

fn serve_then_stop(database_url: Option<&str>) {
    let data_dir =
        std::env::temp_dir().join(format!("sip-process-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let log = data_dir.join("service.log");
    let mut server = start(&data_dir, database_url, &log);
    let port = server.port;
    let other_unit = token(&data_dir, "SE2120001314-SOC1");
    let token = token(&data_dir, "SE2321000016-ABC1");

    assert_eq!(http(port, "GET", "/ready", None, None).unwrap().0, 200);
    let (status, _) = http(port, "GET", "/docs/", None, None).unwrap();
    assert_eq!(status, 200, "the docs UI is served offline");
    let (status, spec) = http(port, "GET", "/api-docs/openapi.json", None, None).unwrap();
    assert_eq!(status, 200);
    assert!(spec.contains("\"openapi\""));

    let person = format!(
        r#"{{"identity_number":"{LISA_PNR}","given_name":"Lisa","family_name":"Hemligsson","protected_identity":true}}"#
    );
    let (status, body) = http(
        port,
        "POST",
        "/api/v1/individuals",
        Some(&token),
        Some(&person),
    )
    .unwrap();
    assert_eq!(status, 201, "{body}");
    let (status, _) = http(
        port,
        "POST",
        "/api/v1/individuals",
        Some(&token),
        Some(&person),
    )
    .unwrap();
    assert_eq!(status, 409);
    // A protected identity is not found by another unit that sees none of the person's plans; the
    // number in the search body still must not reach the log.
    let search = r#"{"identity_number":"191212121212"}"#;
    let (status, _) = http(
        port,
        "POST",
        "/api/v1/individuals/search",
        Some(&other_unit),
        Some(search),
    )
    .unwrap();
    assert_eq!(status, 404);
    let bad =
        r#"{"identity_number":"19121212-1213","given_name":"Lisa","family_name":"Hemligsson"}"#;
    assert_eq!(
        http(port, "POST", "/api/v1/individuals", Some(&token), Some(bad))
            .unwrap()
            .0,
        422
    );

    // SIGTERM: the service stops gracefully and exits cleanly.
    stop(&mut server);

    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        log_text.contains("POST /api/v1/individuals 201"),
        "the access log is written: {log_text}"
    );
    for secret in [
        "191212121212",
        "19121212-1212",
        "121212-1212",
        "Lisa",
        "Hemligsson",
    ] {
        assert!(
            !log_text.contains(secret),
            "personal data {secret:?} leaked into the log:\n{log_text}"
        );
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[test]
fn the_binary_serves_keeps_personal_data_out_of_logs_and_stops_on_sigterm_sqlite() {
    serve_then_stop(None);
}

#[test]
fn the_binary_serves_keeps_personal_data_out_of_logs_and_stops_on_sigterm_postgres() {
    // Empty: the binary applies every migration at its start, as on a new installation.
    let database = TempPostgres::create_empty();
    serve_then_stop(Some(&database.url));
}

/// A fresh server on a SQLite database of its own with Lisa registered: its data folder, its log,
/// the server, a region writer's token and Lisa as answered.
fn a_server_with_lisa(
    name: &str,
) -> (
    std::path::PathBuf,
    std::path::PathBuf,
    Server,
    String,
    serde_json::Value,
) {
    let data_dir =
        std::env::temp_dir().join(format!("sip-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let log = data_dir.join("service.log");
    let server = start(&data_dir, None, &log);
    let token = token(&data_dir, "SE2321000016-ABC1");
    let person = format!(
        r#"{{"identity_number":"{LISA_PNR}","given_name":"Lisa","family_name":"Testsson"}}"#
    );
    let (status, body) = http(
        server.port,
        "POST",
        "/api/v1/individuals",
        Some(&token),
        Some(&person),
    )
    .unwrap();
    assert_eq!(status, 201);
    let lisa = serde_json::from_str(&body).unwrap();
    (data_dir, log, server, token, lisa)
}

/// `kill -9` of the server, waited for.
fn kill_9(mut server: Server) {
    let pid = server.child.id().to_string();
    assert!(Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .unwrap()
        .success());
    let _ = server.child.wait();
}

/// An acknowledged write survives `kill -9` of the server (SQLite: WAL with synchronous=FULL).
#[test]
fn an_acknowledged_write_survives_kill_9() {
    let (data_dir, log, server, token, _) = a_server_with_lisa("kill");
    kill_9(server);

    let restarted = start(&data_dir, None, &log);
    let search = r#"{"identity_number":"191212121212"}"#;
    let (status, body) = http(
        restarted.port,
        "POST",
        "/api/v1/individuals/search",
        Some(&token),
        Some(search),
    )
    .unwrap();
    assert_eq!(status, 200, "the write was lost: {body}");
    drop(restarted);
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// Writes acknowledged while others are still in flight — SQLite commits them together, in groups
/// (`db::group`) — all survive `kill -9` in the middle of the stream: none is answered before its
/// group is on disk.
#[test]
fn acknowledged_writes_of_a_busy_stream_survive_kill_9() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let (data_dir, log, server, token, lisa) = a_server_with_lisa("kill-busy");
    let plan = format!(
        r#"{{"individual_id":"{}","need_reason":"needs from two principals"}}"#,
        lisa["id"].as_str().unwrap()
    );
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let killed = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let (port, token, plan) = (server.port, token.clone(), plan.clone());
            let (acknowledged, killed) = (acknowledged.clone(), killed.clone());
            std::thread::spawn(move || {
                while !killed.load(Ordering::SeqCst) {
                    match http(port, "POST", "/api/v1/plans", Some(&token), Some(&plan)) {
                        Some((201, body)) => {
                            let created: serde_json::Value = serde_json::from_str(&body).unwrap();
                            let id = created["id"].as_str().unwrap().to_string();
                            acknowledged.lock().unwrap().push(id);
                        }
                        _ => return,
                    }
                }
            })
        })
        .collect();
    let busy = Instant::now();
    while acknowledged.lock().unwrap().len() < 200 && busy.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(5));
    }
    kill_9(server);
    killed.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.join().unwrap();
    }

    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 200, "{}", acknowledged.len());
    let restarted = start(&data_dir, None, &log);
    for id in &acknowledged {
        let (status, body) = http(
            restarted.port,
            "GET",
            &format!("/api/v1/plans/{id}"),
            Some(&token),
            None,
        )
        .unwrap();
        assert_eq!(status, 200, "an acknowledged write was lost: {body}");
    }
    drop(restarted);
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// Header fields beyond the documented limit get 431 in the service's error format, with a request
/// id; a head even larger than the HTTP layer reads gets its 431, and neither is logged as an
/// error (anyone could flood the log at ERROR without a token otherwise).
#[test]
fn oversized_headers_are_431_and_never_logged_as_errors() {
    let data_dir =
        std::env::temp_dir().join(format!("sip-headers-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let log = data_dir.join("service.log");
    let server = start(&data_dir, None, &log);
    let port = server.port;
    let big = "x".repeat(sip::app::MAX_HEADER_BYTES + 1);
    let (status, head, body) =
        http_with(port, "GET", "/api/v1/plans", &[("X-Big", &big)], None).unwrap();
    assert_eq!(status, 431, "{head}");
    assert!(head
        .to_ascii_lowercase()
        .contains("content-type: application/problem+json"));
    assert!(head.to_ascii_lowercase().contains("x-request-id"));
    assert!(body.contains("/problems/headers-too-large"), "{body}");
    // Beyond what the HTTP layer reads at all (128 KiB), three times over.
    let huge = "x".repeat(134 * 1024);
    for _ in 0..3 {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let request = format!("GET /health HTTP/1.1\r\nHost: x\r\nX-Big: {huge}\r\n\r\n");
        let _ = stream.write_all(request.as_bytes());
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        let answer = String::from_utf8_lossy(&answer);
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
            "{answer}"
        );
    }
    assert_eq!(http(port, "GET", "/health", None, None).unwrap().0, 200);
    drop(server);
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !log_text.lines().any(|l| l.contains(" ERROR ")),
        "no ERROR line:\n{log_text}"
    );
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// Key settings that could only fail every token later refuse to start, saying why: a private key
/// given as the public one, and one key id named twice.
#[test]
fn unusable_key_settings_refuse_to_start() {
    let fixture = |name: &str| crate::common::fixture(name).to_string_lossy().into_owned();
    for (keys, why) in [
        (fixture("rs256-private.pem"), "is a private key"),
        (
            format!(
                "a={},a={}",
                fixture("rs256-public.pem"),
                fixture("rs256b-public.pem")
            ),
            "twice",
        ),
    ] {
        let data_dir =
            std::env::temp_dir().join(format!("sip-keys-{}", uuid::Uuid::new_v4().simple()));
        let output = Command::new(BINARY)
            .env("DATA_DIR", &data_dir)
            .env("BIND_ADDRESS", format!("127.0.0.1:{}", free_port()))
            .env("JWT_PUBLIC_KEY_FILE", &keys)
            .env("JWT_ALGORITHM", "RS256")
            .env_remove("DATABASE_URL")
            .env_remove("JWT_HS256_SECRET")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{keys}: started");
        assert!(stderr.contains(why), "{keys}: {stderr}");
        let _ = std::fs::remove_dir_all(&data_dir);
    }
}

/// The SQLite database holds personal data and the data folder the development key: both are for
/// the service's user only.
#[test]
fn the_data_folder_and_database_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let parent = std::env::temp_dir().join(format!("sip-perm-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&parent).unwrap();
    let data_dir = parent.join("data");
    let log = parent.join("service.log");
    let server = start(&data_dir, None, &log);
    let token = token(&data_dir, "SE2321000016-ABC1");
    let person = r#"{"identity_number":"19121212-1212","given_name":"Lisa","family_name":"T"}"#;
    let (status, _) = http(
        server.port,
        "POST",
        "/api/v1/individuals",
        Some(&token),
        Some(person),
    )
    .unwrap();
    assert_eq!(status, 201);
    let mode = |name: &str| {
        std::fs::metadata(data_dir.join(name))
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    assert_eq!(mode(""), 0o700, "the data folder");
    for file in [
        "sip.sqlite3",
        "sip.sqlite3-wal",
        "sip.sqlite3-shm",
        "dev-signing-key",
    ] {
        assert_eq!(mode(file), 0o600, "{file}");
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&parent);
}

/// The operator's commands on a real data folder: `backup PATH` while the service runs, and
/// `audit verify` — exit 0 while the chain holds, exit 1 naming the link once a record is changed
/// by SQL behind the service's back.
#[test]
fn the_backup_and_audit_verify_commands_work_on_a_running_service() {
    use diesel::{Connection, RunQueryDsl};
    let data_dir =
        std::env::temp_dir().join(format!("sip-operator-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&data_dir).unwrap();
    let log = data_dir.join("service.log");
    let mut server = start(&data_dir, None, &log);
    let token = token(&data_dir, "SE2321000016-ABC1");
    let person =
        format!(r#"{{"identity_number":"{LISA_PNR}","given_name":"Lisa","family_name":"L"}}"#);
    let (status, _) = http(
        server.port,
        "POST",
        "/api/v1/individuals",
        Some(&token),
        Some(&person),
    )
    .unwrap();
    assert_eq!(status, 201);
    let (status, _) = http(server.port, "GET", "/api/v1/plans", Some(&token), None).unwrap();
    assert_eq!(status, 200);
    let command = |args: &[&str]| {
        Command::new(BINARY)
            .args(args)
            .env("DATA_DIR", &data_dir)
            .env_remove("DATABASE_URL")
            .output()
            .unwrap()
    };
    let copy = data_dir.join("copy.sqlite3");
    let backup = command(&["backup", copy.to_str().unwrap()]);
    assert!(
        backup.status.success(),
        "{}",
        String::from_utf8_lossy(&backup.stderr)
    );
    assert!(std::fs::metadata(&copy).unwrap().len() > 0);
    // The sealer runs once a second: wait until the chain covers every record (a record younger
    // than a minute and not yet sealed is not reported, so success alone is not enough).
    let mut db =
        diesel::SqliteConnection::establish(data_dir.join("sip.sqlite3").to_str().unwrap())
            .unwrap();
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let records = diesel::sql_query("SELECT COUNT(*) AS n FROM audit_events")
        .get_result::<Count>(&mut db)
        .unwrap()
        .n;
    assert!(records >= 2);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let verified = command(&["audit", "verify"]);
        let said = String::from_utf8_lossy(&verified.stdout).to_string();
        if verified.status.success() && said.starts_with(&format!("{records} link(s)")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the chain does not cover the log: {said} {}",
            String::from_utf8_lossy(&verified.stderr)
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    stop(&mut server);
    diesel::sql_query("DROP TRIGGER audit_events_no_update")
        .execute(&mut db)
        .unwrap();
    diesel::sql_query(
        "UPDATE audit_events SET subject = 'nobody' WHERE id = (SELECT MIN(id) FROM audit_events)",
    )
    .execute(&mut db)
    .unwrap();
    let broken = command(&["audit", "verify"]);
    assert!(!broken.status.success());
    let said = String::from_utf8_lossy(&broken.stderr);
    assert!(said.contains("broken at link 1"), "{said}");
    let _ = std::fs::remove_dir_all(&data_dir);
}
