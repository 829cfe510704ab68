//! The Rust client under remote control, for the client conformance runs
//! (`conformance/tests/client-rust.test.mjs`): a Node test sends it commands and reads what its sockets
//! observe.
//!
//! `client-driver --url http://127.0.0.1:3000 [--transports polling,websocket] [--parser json|msgpack]
//! [--no-upgrade]`
//!
//! It reads one JSON command per line on stdin and writes one JSON line per reply or observation on
//! stdout (`ready` first). Binary values travel as `{"$bin": "<hex>"}` both ways.
//!
//! Commands (`id` is echoed in the reply, `name` names a socket):
//! - `{"op":"socket","name","nsp","auth"?,"authCounter"?,"ackTimeout"?,"retries"?,"reconnectionDelay"?,
//!   "reconnectionDelayMax"?,"randomizationFactor"?,"reconnectionAttempts"?,"forceNew"?,
//!   "withCredentials"?}`: a socket (not connected yet) for the URL `--url` + `nsp` (which may carry a
//!   query). With `authCounter`, auth is a function giving `{"attempt": n}`, n counting its calls.
//! - `{"op":"connect","name"}`: resolves with `sid` and the engine's `engine` sid, or `error` + `data`.
//! - `{"op":"emit","name","event","args","volatile"?}`
//! - `{"op":"emitWithAck","name","event","args","timeout"?}`: resolves with `ack` or `error`.
//! - `{"op":"drop","name"}`: closes the socket's connection as a network failure would (it reconnects).
//! - `{"op":"disconnect","name"}`
//! - `{"op":"state","name"}`: `connected`, `active`, `recovered`, `sid`, `engine`, `transport`.
//!
//! Observations: `{"ev":"connect","name","sid","recovered"}`, `{"ev":"connect_error","name","message",
//! "data"}`, `{"ev":"disconnect","name","reason"}`, `{"ev":"event","name","event","args"}` and
//! `{"ev":"manager","name","kind","n"?,"ms"}` (open, close, reconnect_attempt, reconnect,
//! reconnect_error, reconnect_failed; `ms` since the driver started). The server's `ask` is answered
//! with `{"from": "rust", "bin": <04 05 06>}`.

use serde_json::{json, Map as JsonMap, Value as Json};
use socketio::client::{ClientBuilder, ManagerEvent, Socket, Transport};
use socketio::parser::{Map, Value};
use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncBufReadExt;

struct Options {
    url: String,
    transports: Vec<Transport>,
    msgpack: bool,
    upgrade: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        url: String::new(),
        transports: vec![Transport::Polling, Transport::Websocket],
        msgpack: false,
        upgrade: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => options.url = value()?,
            "--transports" => {
                options.transports = value()?
                    .split(',')
                    .map(|t| match t.trim() {
                        "polling" => Ok(Transport::Polling),
                        "websocket" => Ok(Transport::Websocket),
                        other => Err(format!("unknown transport {other}")),
                    })
                    .collect::<Result<_, _>>()?
            }
            "--parser" => match value()?.as_str() {
                "json" => options.msgpack = false,
                "msgpack" => options.msgpack = true,
                other => return Err(format!("unknown parser {other}")),
            },
            "--no-upgrade" => options.upgrade = false,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if options.url.is_empty() {
        return Err("--url is required".into());
    }
    Ok(options)
}

/// Writes one line of JSON on stdout, whole.
fn out(line: Json) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}

/// A socket value as JSON, binary as `{"$bin": hex}`.
fn to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(_) | Value::String(_) => {
            serde_json::from_str(&value.to_json_string()).unwrap_or(Json::Null)
        }
        Value::Binary(bytes) => {
            json!({ "$bin": bytes.iter().map(|b| format!("{b:02x}")).collect::<String>() })
        }
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Object(map) => Json::Object(map.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

/// The reverse of [`to_json`].
fn from_json(json: &Json) -> Value {
    match json {
        Json::Object(map) => {
            if let (1, Some(Json::String(hex))) = (map.len(), map.get("$bin")) {
                let bytes: Vec<u8> = (0..hex.len() / 2)
                    .filter_map(|i| hex.get(i * 2..i * 2 + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
                    .collect();
                return Value::Binary(bytes.into());
            }
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k.clone(), from_json(v));
            }
            Value::Object(out)
        }
        Json::Array(items) => Value::Array(items.iter().map(from_json).collect()),
        other => Value::from(other.clone()),
    }
}

fn args_of(command: &JsonMap<String, Json>) -> Vec<Value> {
    match command.get("args") {
        Some(Json::Array(items)) => items.iter().map(from_json).collect(),
        _ => Vec::new(),
    }
}

fn ms_of(command: &JsonMap<String, Json>, key: &str) -> Option<Duration> {
    command.get(key).and_then(Json::as_u64).map(Duration::from_millis)
}

/// The reply of a command, once it is done.
type Reply = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Json, String>> + Send>>;

struct Driver {
    options: Options,
    started: Instant,
    sockets: Mutex<HashMap<String, Socket>>,
}

impl Driver {
    fn socket(&self, command: &JsonMap<String, Json>) -> Result<Socket, String> {
        let name = command.get("name").and_then(Json::as_str).unwrap_or_default();
        self.sockets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
            .ok_or_else(|| format!("no socket named {name:?}"))
    }

    /// Builds a socket and reports what it observes.
    fn create(&self, command: &JsonMap<String, Json>) -> Result<Json, String> {
        let name = command.get("name").and_then(Json::as_str).ok_or("a socket needs a name")?.to_string();
        let nsp = command.get("nsp").and_then(Json::as_str).unwrap_or("/");
        let mut builder = ClientBuilder::new(format!("{}{nsp}", self.options.url))
            .transports(&self.options.transports)
            .upgrade(self.options.upgrade)
            .auto_connect(false);
        if self.options.msgpack {
            builder = builder.msgpack();
        }
        if let Some(auth) = command.get("auth") {
            builder = builder.auth(from_json(auth));
        }
        if command.get("authCounter").and_then(Json::as_bool) == Some(true) {
            let calls = Arc::new(AtomicU64::new(0));
            builder = builder.auth_fn(move || {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                async move { Value::from(json!({ "attempt": n })) }
            });
        }
        if let Some(timeout) = ms_of(command, "ackTimeout") {
            builder = builder.ack_timeout(timeout);
        }
        if let Some(retries) = command.get("retries").and_then(Json::as_u64) {
            builder = builder.retries(retries as u32);
        }
        if let Some(delay) = ms_of(command, "reconnectionDelay") {
            builder = builder.reconnection_delay(delay);
        }
        if let Some(delay) = ms_of(command, "reconnectionDelayMax") {
            builder = builder.reconnection_delay_max(delay);
        }
        if let Some(factor) = command.get("randomizationFactor").and_then(Json::as_f64) {
            builder = builder.randomization_factor(factor);
        }
        if let Some(attempts) = command.get("reconnectionAttempts").and_then(Json::as_u64) {
            builder = builder.reconnection_attempts(attempts as u32);
        }
        if command.get("forceNew").and_then(Json::as_bool) == Some(true) {
            builder = builder.force_new(true);
        }
        if command.get("withCredentials").and_then(Json::as_bool) == Some(true) {
            builder = builder.with_credentials(true);
        }
        let socket = builder.build().map_err(|e| e.to_string())?;
        self.observe(&name, &socket);
        self.sockets.lock().unwrap_or_else(|e| e.into_inner()).insert(name, socket);
        Ok(json!({}))
    }

    fn observe(&self, name: &str, socket: &Socket) {
        // The lifecycle through `on`, by the names a socket.io-client app uses (`socket.on("connect")`
        // ...), so that every conformance run checks them against both servers.
        let who = name.to_string();
        socket.on("connect", move |s, _| {
            let who = who.clone();
            async move { out(json!({"ev": "connect", "name": who, "sid": s.id(), "recovered": s.recovered()})) }
        });
        let who = name.to_string();
        socket.on("connect_error", move |_s, e| {
            let who = who.clone();
            async move {
                let error = e.args.first();
                let message =
                    error.and_then(|e| e.get("message")).and_then(Value::as_str).unwrap_or_default();
                let data = error.and_then(|e| e.get("data")).filter(|d| !d.is_null()).map(to_json);
                out(json!({"ev": "connect_error", "name": who, "message": message, "data": data}))
            }
        });
        let who = name.to_string();
        socket.on("disconnect", move |_s, e| {
            let who = who.clone();
            async move {
                let reason = e.args.first().and_then(Value::as_str).unwrap_or_default().to_string();
                out(json!({"ev": "disconnect", "name": who, "reason": reason}))
            }
        });
        let who = name.to_string();
        socket.on_any(move |event, args| {
            let args: Vec<Json> = args.iter().map(to_json).collect();
            out(json!({"ev": "event", "name": who, "event": event, "args": args}))
        });
        socket.on("ask", |_s, mut event| async move {
            let mut answer = Map::new();
            answer.insert("from".into(), Value::from("rust"));
            answer.insert("bin".into(), Value::Binary(bytes::Bytes::from_static(&[4, 5, 6])));
            let _ = event.ack(vec![Value::Object(answer)]);
        });
        let (who, started) = (name.to_string(), self.started);
        socket.manager().on(move |event| {
            let (kind, n) = match event {
                ManagerEvent::Open => ("open", None),
                ManagerEvent::Close(_) => ("close", None),
                ManagerEvent::ReconnectAttempt(n) => ("reconnect_attempt", Some(*n)),
                ManagerEvent::Reconnect(n) => ("reconnect", Some(*n)),
                ManagerEvent::ReconnectError(_) => ("reconnect_error", None),
                ManagerEvent::ReconnectFailed => ("reconnect_failed", None),
                _ => return,
            };
            let ms = started.elapsed().as_millis() as u64;
            out(json!({"ev": "manager", "name": who, "kind": kind, "n": n, "ms": ms}));
        });
    }

    /// Starts one command in the order they come (emits go out in that order); the future gives its
    /// reply.
    fn start(self: &Arc<Self>, command: JsonMap<String, Json>) -> Reply {
        match command.get("op").and_then(Json::as_str) {
            Some("emitWithAck") => {
                let socket = match self.socket(&command) {
                    Ok(socket) => socket,
                    Err(e) => return Box::pin(async move { Err(e) }),
                };
                let event = command.get("event").and_then(Json::as_str).unwrap_or_default();
                let answer: std::pin::Pin<Box<dyn std::future::Future<Output = _> + Send>> =
                    match ms_of(&command, "timeout") {
                        Some(timeout) => {
                            Box::pin(socket.timeout(timeout).emit_with_ack(event, args_of(&command)))
                        }
                        None => Box::pin(socket.emit_with_ack(event, args_of(&command))),
                    };
                Box::pin(async move {
                    match answer.await {
                        Ok(args) => Ok(json!({"ack": args.iter().map(to_json).collect::<Vec<_>>()})),
                        Err(e) => Ok(json!({"error": e.to_string()})),
                    }
                })
            }
            Some("emit") => {
                let reply = self.run_now(&command);
                Box::pin(async move { reply })
            }
            _ => {
                let driver = self.clone();
                Box::pin(async move { driver.run(command).await })
            }
        }
    }

    /// Runs an emit.
    fn run_now(&self, command: &JsonMap<String, Json>) -> Result<Json, String> {
        let socket = self.socket(command)?;
        let event = command.get("event").and_then(Json::as_str).unwrap_or_default();
        let sent = if command.get("volatile").and_then(Json::as_bool) == Some(true) {
            socket.volatile().emit(event, args_of(command))
        } else {
            socket.emit(event, args_of(command))
        };
        sent.map_err(|e| e.to_string())?;
        Ok(json!({}))
    }

    /// Runs one command that waits; its reply.
    async fn run(&self, command: JsonMap<String, Json>) -> Result<Json, String> {
        let op = command.get("op").and_then(Json::as_str).unwrap_or_default();
        match op {
            "socket" => self.create(&command),
            "connect" => {
                let socket = self.socket(&command)?;
                match socket.connect().await {
                    Ok(()) => Ok(json!({
                        "sid": socket.id(),
                        "engine": socket.manager().engine().map(|e| e.handshake().sid.clone()),
                    })),
                    Err(e) => Ok(json!({"error": e.message, "data": e.data.as_ref().map(to_json)})),
                }
            }
            "drop" => {
                let socket = self.socket(&command)?;
                let engine = socket.manager().engine().ok_or("not connected")?;
                engine.close();
                Ok(json!({}))
            }
            "disconnect" => {
                self.socket(&command)?.disconnect();
                Ok(json!({}))
            }
            "state" => {
                let socket = self.socket(&command)?;
                let engine = socket.manager().engine();
                Ok(json!({
                    "connected": socket.connected(),
                    "active": socket.active(),
                    "recovered": socket.recovered(),
                    "sid": socket.id(),
                    "engine": engine.as_ref().map(|e| e.handshake().sid.clone()),
                    "transport": engine.as_ref().map(|e| e.transport().name()),
                }))
            }
            other => Err(format!("unknown op {other:?}")),
        }
    }
}

#[tokio::main]
async fn main() {
    let options = match parse_args() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("client-driver: {e}");
            std::process::exit(2);
        }
    };
    let driver = Arc::new(Driver { options, started: Instant::now(), sockets: Mutex::new(HashMap::new()) });
    out(json!({"ev": "ready"}));
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let command = match serde_json::from_str::<Json>(&line) {
            Ok(Json::Object(command)) => command,
            _ => {
                out(json!({"ev": "bad-command", "line": line}));
                continue;
            }
        };
        let id = command.get("id").cloned().unwrap_or(Json::Null);
        // Commands start in order, then run side by side: an emitWithAck waiting for its answer blocks
        // nothing.
        let reply = driver.start(command);
        tokio::spawn(async move {
            let reply = match reply.await {
                Ok(Json::Object(mut fields)) => {
                    fields.insert("id".into(), id);
                    Json::Object(fields)
                }
                Ok(_) => json!({"id": id}),
                Err(e) => json!({"id": id, "error": e}),
            };
            out(reply);
        });
    }
}
