//! Hostile connections: request heads that never end, idle kept-alive connections, more
//! connections than the limit, bodies that never arrive. Raw TCP, since an HTTP client
//! would not misbehave on purpose.
//!
//! These bounds run on tokio's timer inside hyper, not on the application's clock, so
//! the tests wait in real time, with limits far above the configured ones: a bound that
//! is missing makes them fail by timing out, never by a tight race.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// Far longer than any bound configured below: reaching it means the bound is missing.
const NEVER: Duration = Duration::from_secs(10);
/// A short header read timeout for these tests.
const HEAD_LIMIT: Duration = Duration::from_millis(300);

/// Reads until `done` holds for what arrived, the server closes the connection, or
/// `NEVER` passes; returns what arrived and whether it ended before `NEVER`.
async fn read_until(stream: &mut TcpStream, done: impl Fn(&[u8]) -> bool) -> (Vec<u8>, bool) {
    let mut received = Vec::new();
    let ended = tokio::time::timeout(NEVER, async {
        let mut buffer = [0u8; 4096];
        while !done(&received) {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buffer[..n]),
            }
        }
    })
    .await
    .is_ok();
    (received, ended)
}

/// Reads until the server closes the connection; `None` when it was still open after
/// `NEVER`.
async fn read_until_closed(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let (received, closed) = read_until(stream, |_| false).await;
    closed.then_some(received)
}

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.addr).await.unwrap()
}

const HEALTH: &[u8] = b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n\r\n";

#[tokio::test]
async fn a_request_head_that_never_ends_is_cut_off_after_the_header_timeout() {
    let app = spawn_app_with(&[], |config| config.header_read_timeout = HEAD_LIMIT).await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /api/health HTTP/1.1\r\nHost: localhost\r\n")
        .await
        .unwrap();
    let received = read_until_closed(&mut stream).await;
    let received = received.expect("the connection is still open");
    assert!(!received.starts_with(b"HTTP/1.1 200"), "answered anyway");
}

#[tokio::test]
async fn a_head_sent_a_byte_at_a_time_is_cut_off_however_lively() {
    let app = spawn_app_with(&[], |config| config.header_read_timeout = HEAD_LIMIT).await;
    // Taken before connecting: the server's deadline starts when it accepts.
    let started = Instant::now();
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /api/health HTTP/1.1\r\n")
        .await
        .unwrap();
    // One header byte every 50 ms, never the blank line that ends the head: a read
    // inactivity timer would never fire; a deadline on the whole head does.
    let closed_after = loop {
        if stream.write_all(b"X").await.is_err() {
            break started.elapsed();
        }
        let mut byte = [0u8; 1];
        match tokio::time::timeout(Duration::from_millis(50), stream.read(&mut byte)).await {
            Ok(Ok(0) | Err(_)) => break started.elapsed(),
            Ok(Ok(_)) => panic!("answered a head that never ended"),
            Err(_) => {}
        }
        assert!(started.elapsed() < NEVER, "still open after {NEVER:?}");
    };
    assert!(closed_after >= HEAD_LIMIT, "closed after {closed_after:?}");
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed_after_the_header_timeout() {
    let app = spawn_app_with(&[], |config| config.header_read_timeout = HEAD_LIMIT).await;
    let mut stream = connect(&app).await;
    stream.write_all(HEALTH).await.unwrap();
    let received = read_until_closed(&mut stream)
        .await
        .expect("the idle connection is still open");
    assert!(received.starts_with(b"HTTP/1.1 200"), "{received:?}");
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_until_one_closes() {
    let app = spawn_app_with(&[], |config| {
        config.max_connections = 2;
        config.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let mut first = connect(&app).await;
    let second = connect(&app).await;
    // Both accepted and idle: they hold the two slots.
    first.write_all(HEALTH).await.unwrap();
    let mut status = [0u8; 12];
    first.read_exact(&mut status).await.unwrap();
    assert_eq!(&status, b"HTTP/1.1 200");

    let mut third = connect(&app).await;
    third.write_all(HEALTH).await.unwrap();
    let early = tokio::time::timeout(Duration::from_millis(300), third.read(&mut status)).await;
    assert!(
        early.is_err(),
        "a third connection was served beyond the limit"
    );

    drop(second);
    tokio::time::timeout(NEVER, third.read_exact(&mut status))
        .await
        .expect("still waiting after a slot was freed")
        .unwrap();
    assert_eq!(&status, b"HTTP/1.1 200");
    // Two connections open again (`first` and `third`): a new client waits for one of
    // them to close.
    drop(first);
    assert_eq!(
        app.browser().get("/api/health").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_body_that_never_arrives_gets_the_json_timeout_error() {
    let app = spawn_app_with(&[], |config| {
        config.request_timeout = HEAD_LIMIT;
    })
    .await;
    let mut stream = connect(&app).await;
    stream
        .write_all(
            b"POST /api/auth/login HTTP/1.1\r\nHost: localhost\r\n\
              Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":",
        )
        .await
        .unwrap();
    let (received, _) = read_until(&mut stream, |received| {
        String::from_utf8_lossy(received).contains("\"timeout\"")
    })
    .await;
    let text = String::from_utf8_lossy(&received);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"timeout\""), "{text}");
}

#[tokio::test]
async fn a_client_that_stops_reading_its_answers_loses_its_connection() {
    let app = spawn_app_with(&[], |config| {
        config.max_connections = 1;
        config.write_timeout = HEAD_LIMIT;
        config.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(app.addr).await.unwrap();
    // Hundreds of large answers asked for at once and none read: the server's writes
    // fill both sides' buffers and wait.
    let one = b"GET /api/openapi.json HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let many: Vec<u8> = one.iter().copied().cycle().take(one.len() * 300).collect();
    stalled.write_all(&many).await.unwrap();

    // It holds the only connection slot until its stalled answer times out; then the
    // next client is served.
    let mut next = connect(&app).await;
    next.write_all(HEALTH).await.unwrap();
    let (received, _) = read_until(&mut next, |received| received.len() >= 12).await;
    assert!(
        received.starts_with(b"HTTP/1.1 200"),
        "the next client is still waiting behind a client that reads nothing"
    );
}
