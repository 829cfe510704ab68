//! A chat app for the browser on the Socket.IO server: pick a nickname, talk in rooms (everyone starts
//! in `general`; any room can be joined or created by name), see who is typing, who comes and goes, and
//! how many people each room holds, live. Every message is acknowledged by the server, so its sender
//! sees it delivered.
//!
//! `cargo xtask chat [--port N]` installs the browser client with npm and runs this example; once the
//! client is installed, `cargo run -p socketio --example chat -- [--port N] [--client-js PATH]` does
//! too. Then open http://localhost:3000/ (the default port) in two tabs. `?transport=polling` or
//! `?transport=websocket` in the page's URL restricts the client to one transport; by default it starts
//! with polling and upgrades.
//!
//! The page (`examples/chat/`, built into the binary) runs the official browser client, which is read
//! from `socket.io-client`'s `dist/socket.io.min.js`: by default the copy under
//! `target/conformance/node_modules` that `cargo xtask chat` installs, or the file `--client-js` names.
//!
//! The events: the client sends `login(nickname)`, `join(room)` and `message(text)`, each answered
//! through its ack with `{ ok: true, ... }` or `{ error }`, and `typing(bool)`; the server sends
//! `message`, `notice` (joins and leaves), `typing` and `rooms` (every room with its member count).

use bytes::Bytes;
use http_body_util::Full;
use hyper::{header, Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::json;
use socketio::adapter::BroadcastOptions;
use socketio::server::{AckSender, Namespace, ServerConfig, Socket, SocketIo};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::net::TcpListener;

/// Where every user starts, listed even when empty.
const DEFAULT_ROOM: &str = "general";
/// Longest nickname, room name and message, in characters.
const MAX_NICKNAME: usize = 24;
const MAX_ROOM: usize = 32;
const MAX_MESSAGE: usize = 500;
/// Chat rooms are adapter rooms under this prefix, so that they never mix with the sockets' own rooms.
const ROOM_PREFIX: &str = "chat:";

const INDEX_HTML: &str = include_str!("chat/index.html");
const CHAT_JS: &str = include_str!("chat/chat.js");
const CHAT_CSS: &str = include_str!("chat/chat.css");

struct Options {
    port: u16,
    client_js: PathBuf,
}

fn parse_args() -> Result<Options, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut options = Options {
        port: 3000,
        client_js: root.join("target/conformance/node_modules/socket.io-client/dist/socket.io.min.js"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--port" => options.port = value()?.parse().map_err(|e| format!("--port: {e}"))?,
            "--client-js" => options.client_js = PathBuf::from(value()?),
            other => return Err(format!("unknown flag {other} (flags: --port N, --client-js PATH)")),
        }
    }
    Ok(options)
}

/// What the server knows of a logged-in user, kept in `socket.data`.
struct Member {
    nickname: String,
    room: String,
}

impl Member {
    fn of(socket: &Socket) -> Option<Member> {
        let data: serde_json::Value = socket.data()?;
        Some(Member {
            nickname: data.get("nickname")?.as_str()?.to_string(),
            room: data.get("room")?.as_str()?.to_string(),
        })
    }

    fn save(&self, socket: &Socket) {
        let _ = socket.set_data(&json!({ "nickname": self.nickname, "room": self.room }));
    }
}

fn room_key(name: &str) -> String {
    format!("{ROOM_PREFIX}{name}")
}

/// `text` trimmed, when it holds 1 to `max` characters; `what` names it in errors.
fn checked_text(text: &str, what: &str, max: usize, allow_control: bool) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(format!("the {what} is empty"));
    }
    if text.chars().count() > max {
        return Err(format!("the {what} is longer than {max} characters"));
    }
    if !allow_control && text.chars().any(char::is_control) {
        return Err(format!("the {what} contains control characters"));
    }
    Ok(text.to_string())
}

/// A string argument the client must send.
fn required(text: Option<String>, what: &str) -> Result<String, String> {
    text.ok_or_else(|| format!("the {what} must be a string"))
}

/// Answers an event through its ack (when the client asked for one): `{ ok: true, ... }` or `{ error }`.
fn answer(ack: Option<AckSender>, result: Result<serde_json::Value, String>) {
    let Some(ack) = ack else { return };
    let body = match result {
        Ok(body) => body,
        Err(error) => json!({ "error": error }),
    };
    let _ = ack.send((body,));
}

/// Every chat room with its member count, sorted by name (`general` always among them).
fn room_list(nsp: &Namespace) -> serde_json::Value {
    let adapter = nsp.adapter();
    let mut rooms = BTreeMap::from([(DEFAULT_ROOM.to_string(), 0)]);
    for room in adapter.rooms() {
        if let Some(name) = room.strip_prefix(ROOM_PREFIX) {
            let members = adapter.sockets(&BroadcastOptions::default().to(room.clone())).len();
            rooms.insert(name.to_string(), members);
        }
    }
    rooms.into_iter().map(|(name, members)| json!({ "name": name, "members": members })).collect()
}

/// Tells everyone the rooms and their counts.
fn publish_rooms(nsp: &Namespace) {
    let _ = nsp.emit("rooms", (room_list(nsp),));
}

fn notice(nsp: &Namespace, room: &str, kind: &str, nickname: &str, detail: serde_json::Value) {
    let body = json!({ "kind": kind, "nickname": nickname, "room": room, "detail": detail });
    let _ = nsp.to(room_key(room)).emit("notice", (body,));
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn login(socket: &Socket, nickname: &str) -> Result<serde_json::Value, String> {
    if let Some(member) = Member::of(socket) {
        return Err(format!("already logged in as {}", member.nickname));
    }
    let nickname = checked_text(nickname, "nickname", MAX_NICKNAME, false)?;
    let taken = socket.namespace().sockets().iter().any(|other| {
        other.id() != socket.id()
            && Member::of(other).is_some_and(|m| m.nickname.to_lowercase() == nickname.to_lowercase())
    });
    if taken {
        return Err(format!("the nickname {nickname} is taken"));
    }
    let member = Member { nickname, room: DEFAULT_ROOM.to_string() };
    member.save(socket);
    socket.join(room_key(&member.room));
    let nsp = socket.namespace();
    notice(&nsp, &member.room, "join", &member.nickname, serde_json::Value::Null);
    publish_rooms(&nsp);
    Ok(json!({ "ok": true, "nickname": member.nickname, "room": member.room }))
}

fn join(socket: &Socket, room: &str) -> Result<serde_json::Value, String> {
    let mut member = Member::of(socket).ok_or("log in first")?;
    let room = checked_text(room, "room name", MAX_ROOM, false)?;
    if room == member.room {
        return Ok(json!({ "ok": true, "room": room }));
    }
    let nsp = socket.namespace();
    socket.leave(room_key(&member.room));
    typing_to(&nsp, &member, false);
    notice(&nsp, &member.room, "leave", &member.nickname, json!({ "to": room }));
    member.room = room;
    member.save(socket);
    socket.join(room_key(&member.room));
    notice(&nsp, &member.room, "join", &member.nickname, serde_json::Value::Null);
    publish_rooms(&nsp);
    Ok(json!({ "ok": true, "room": member.room }))
}

fn message(socket: &Socket, text: &str) -> Result<serde_json::Value, String> {
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
    let member = Member::of(socket).ok_or("log in first")?;
    let text = checked_text(text, "message", MAX_MESSAGE, true)?;
    let (id, at) = (NEXT_ID.fetch_add(1, Ordering::Relaxed), now_ms());
    let body = json!({ "id": id, "at": at, "nickname": member.nickname, "room": member.room, "text": text });
    socket.to(room_key(&member.room)).emit("message", (body,)).map_err(|e| e.to_string())?;
    Ok(json!({ "ok": true, "id": id, "at": at }))
}

/// Tells the others in the member's room whether they are typing.
fn typing_to(nsp: &Namespace, member: &Member, typing: bool) {
    let body = json!({ "nickname": member.nickname, "typing": typing });
    let _ = nsp.to(room_key(&member.room)).emit("typing", (body,));
}

fn setup(io: &SocketIo) {
    io.on_connection(|socket: Socket| async move {
        let _ = socket.emit("rooms", (room_list(&socket.namespace()),));
        // Typed handlers: a missing argument is `None` (answered "must be a string"); an argument of
        // another type does not reach the handler and is reported to the socket's error listeners.
        socket.on("login", |s: Socket, (nickname,): (Option<String>,), ack| async move {
            answer(ack, required(nickname, "nickname").and_then(|n| login(&s, &n)))
        });
        socket.on("join", |s: Socket, (room,): (Option<String>,), ack| async move {
            answer(ack, required(room, "room name").and_then(|r| join(&s, &r)))
        });
        socket.on("message", |s: Socket, (text,): (Option<String>,), ack| async move {
            answer(ack, required(text, "message").and_then(|t| message(&s, &t)))
        });
        socket.on("typing", |s: Socket, (typing,): (Option<bool>,), _| async move {
            if let Some(member) = Member::of(&s) {
                let typing = typing.unwrap_or(false);
                // Not to the sender: a broadcast from the sender's own socket.
                let body = json!({ "nickname": member.nickname, "typing": typing });
                let _ = s.to(room_key(&member.room)).emit("typing", (body,));
            }
        });
        socket.on_disconnect(|s: Socket, reason| async move {
            if let Some(member) = Member::of(&s) {
                let nsp = s.namespace();
                typing_to(&nsp, &member, false);
                notice(&nsp, &member.room, "leave", &member.nickname, json!({ "reason": reason.as_str() }));
                publish_rooms(&nsp);
            }
        });
    });
}

fn respond(status: StatusCode, kind: &str, body: Bytes) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, kind)
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Full::new(body))
        .unwrap_or_default()
}

/// The page and its files; everything under the engine's path goes to the Socket.IO server.
async fn route(io: SocketIo, client_js: Bytes, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    let file = |kind: &str, body: Bytes| respond(StatusCode::OK, kind, body);
    let get = req.method() == Method::GET || req.method() == Method::HEAD;
    match req.uri().path() {
        "/" | "/index.html" if get => {
            file("text/html; charset=utf-8", Bytes::from_static(INDEX_HTML.as_bytes()))
        }
        "/chat.js" if get => file("text/javascript; charset=utf-8", Bytes::from_static(CHAT_JS.as_bytes())),
        "/chat.css" if get => file("text/css; charset=utf-8", Bytes::from_static(CHAT_CSS.as_bytes())),
        "/socket.io.min.js" if get => file("text/javascript; charset=utf-8", client_js),
        path if path.starts_with(&io.config().engine.path) => io.handle(req).await,
        _ => respond(StatusCode::NOT_FOUND, "text/plain; charset=utf-8", Bytes::from_static(b"not found\n")),
    }
}

async fn serve(listener: TcpListener, io: SocketIo, client_js: Bytes) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, say: wait a little rather than spin.
                eprintln!("accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let (io, client_js) = (io.clone(), client_js.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let (io, client_js) = (io.clone(), client_js.clone());
                async move { Ok::<_, std::convert::Infallible>(route(io, client_js, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

#[tokio::main]
async fn main() {
    let options = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("chat: {e}");
            std::process::exit(2);
        }
    };
    let client_js = match std::fs::read(&options.client_js) {
        Ok(js) => Bytes::from(js),
        Err(e) => {
            eprintln!(
                "chat: cannot read the socket.io browser client at {}: {e}\n\
                 chat: run `cargo xtask chat` (it installs the client with npm, then starts this example), \
                 or pass --client-js <socket.io-client>/dist/socket.io.min.js",
                options.client_js.display()
            );
            std::process::exit(2);
        }
    };

    let io = SocketIo::new(ServerConfig::default());
    setup(&io);

    let listener = match TcpListener::bind((Ipv4Addr::LOCALHOST, options.port)).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("chat: cannot listen on port {}: {e}", options.port);
            std::process::exit(1);
        }
    };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(options.port);
    // `localhost` may resolve to ::1 first: answer there too when the machine has IPv6.
    if let Ok(v6) = TcpListener::bind(SocketAddr::from((Ipv6Addr::LOCALHOST, port))).await {
        tokio::spawn(serve(v6, io.clone(), client_js.clone()));
    }
    println!("listening on {port}");
    println!("chat: open http://localhost:{port}/ in two browser tabs");
    tokio::spawn(serve(listener, io.clone(), client_js));
    let _ = tokio::signal::ctrl_c().await;
    io.close().await;
}
