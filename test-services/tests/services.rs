//! The throwaway servers start, answer, and leave nothing behind once dropped.

#![allow(clippy::unwrap_used)]

use socketio_test_services::{postgres, redis, Service};
use std::io::{Read, Write};

fn ping(service: &Service) -> String {
    let mut stream = std::net::TcpStream::connect(service.addr()).unwrap();
    stream.write_all(b"PING\r\n").unwrap();
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).unwrap();
    String::from_utf8_lossy(&reply).into_owned()
}

#[test]
fn the_shared_redis_answers_and_is_not_the_machine_s() {
    let Some(redis) = redis() else { return };
    assert_ne!(redis.port(), 6379);
    assert_eq!(ping(redis), "+PONG\r\n");
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{}", redis.port()));
    // Every call gets the same server.
    assert_eq!(socketio_test_services::redis().unwrap().port(), redis.port());
}

#[test]
fn an_own_redis_stops_and_is_removed_when_dropped() {
    let Some(own) = Service::start_redis(&["--maxmemory", "10mb"]).unwrap() else { return };
    assert_eq!(ping(&own), "+PONG\r\n");
    let addr = own.addr();
    let dirs_before = own_dirs("redis");
    drop(own);
    assert!(std::net::TcpStream::connect(addr).is_err(), "still listening after the drop");
    assert!(own_dirs("redis").len() < dirs_before.len(), "its directory is left: {dirs_before:?}");
}

#[test]
fn the_shared_postgres_accepts_connections() {
    let Some(postgres) = postgres() else { return };
    assert_ne!(postgres.port(), 5432);
    assert_eq!(postgres.url(), format!("postgres://postgres@127.0.0.1:{}/postgres", postgres.port()));
    // A startup message for user postgres (protocol 3.0) gets an authentication answer ('R').
    let mut stream = std::net::TcpStream::connect(postgres.addr()).unwrap();
    let body = b"\x00\x03\x00\x00user\x00postgres\x00database\x00postgres\x00\x00";
    let mut message = ((body.len() + 4) as u32).to_be_bytes().to_vec();
    message.extend_from_slice(body);
    stream.write_all(&message).unwrap();
    let mut kind = [0u8; 1];
    stream.read_exact(&mut kind).unwrap();
    assert_eq!(kind[0], b'R', "trust authentication answers AuthenticationOk");
}

/// This process's directories of `kind` under the temporary directory.
fn own_dirs(kind: &str) -> Vec<String> {
    let prefix = format!("socketio-test-{kind}-{}-", std::process::id());
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(&prefix))
        .collect()
}
