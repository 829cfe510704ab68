//! A Redis subscriber connection that speaks RESP2 itself, for sharded pub/sub (`SSUBSCRIBE`, Redis 7),
//! which the `redis` crate's pub/sub API does not offer, and for classic `SUBSCRIBE` alike.
//!
//! Channels can be added and removed at any time; the connection comes back with backoff (100 ms
//! doubling to 1 s) after a loss and subscribes every channel again. Which channels the server has
//! confirmed is observable, so that an adapter can wait for its subscriptions before it publishes.

use crate::types::{AdapterError, ErrorHooks};
use bytes::Bytes;
use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

/// Which kind of pub/sub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `SUBSCRIBE` / `message`.
    Classic,
    /// `SSUBSCRIBE` / `smessage` (Redis 7 sharded pub/sub).
    Sharded,
}

impl Mode {
    fn subscribe(self) -> &'static str {
        match self {
            Mode::Classic => "SUBSCRIBE",
            Mode::Sharded => "SSUBSCRIBE",
        }
    }

    fn unsubscribe(self) -> &'static str {
        match self {
            Mode::Classic => "UNSUBSCRIBE",
            Mode::Sharded => "SUNSUBSCRIBE",
        }
    }
}

/// What a message handler receives: the channel and the payload.
pub(crate) type OnMessage = Arc<dyn Fn(&str, Bytes) + Send + Sync>;

/// What a subscriber's task is asked to do.
pub(crate) enum Command {
    Subscribe(String),
    Unsubscribe(String),
}

/// A subscriber: the channels wanted and those the server confirmed, worked by a connection task of
/// its own until this is dropped. [`Subscriber::start`] runs that task on one server (this module's
/// RESP2 connection); `redis_conn::start_cluster_subscriber` on a Redis Cluster.
pub(crate) struct Subscriber {
    wanted: Mutex<BTreeSet<String>>,
    commands: mpsc::UnboundedSender<Command>,
    confirmed: watch::Sender<HashSet<String>>,
}

/// Where to connect, and how to log in.
#[derive(Clone)]
pub(crate) struct Target {
    host: String,
    port: u16,
    username: Option<String>,
    password: Option<String>,
}

impl Target {
    /// The target of a `redis://` client (plain TCP only).
    pub(crate) fn of(client: &redis::Client) -> Result<Target, AdapterError> {
        let info = client.get_connection_info();
        let redis::ConnectionAddr::Tcp(host, port) = info.addr() else {
            return Err(AdapterError::Bus(
                "redis subscriber: only redis://host:port addresses are supported".into(),
            ));
        };
        let settings = info.redis_settings();
        Ok(Target {
            host: host.clone(),
            port: *port,
            username: settings.username().map(str::to_owned),
            password: settings.password().map(str::to_owned),
        })
    }
}

impl Subscriber {
    /// Starts the connection.
    pub(crate) fn start(
        target: Target,
        mode: Mode,
        on_message: OnMessage,
        errors: ErrorHooks,
    ) -> Arc<Subscriber> {
        let (subscriber, rx) = Subscriber::new();
        tokio::spawn(run(Arc::downgrade(&subscriber), target, mode, rx, on_message, errors));
        subscriber
    }

    /// A subscriber with nothing wanted yet, and the commands its connection task is to carry out.
    pub(crate) fn new() -> (Arc<Subscriber>, mpsc::UnboundedReceiver<Command>) {
        let (commands, rx) = mpsc::unbounded_channel();
        let subscriber = Arc::new(Subscriber {
            wanted: Mutex::new(BTreeSet::new()),
            commands,
            confirmed: watch::Sender::new(HashSet::new()),
        });
        (subscriber, rx)
    }

    /// Subscribes `channel` (now if connected, else on connection).
    pub(crate) fn subscribe(&self, channel: &str) {
        if self.wanted.lock().unwrap_or_else(|e| e.into_inner()).insert(channel.to_string()) {
            let _ = self.commands.send(Command::Subscribe(channel.to_string()));
        }
    }

    /// Unsubscribes `channel`.
    pub(crate) fn unsubscribe(&self, channel: &str) {
        if self.wanted.lock().unwrap_or_else(|e| e.into_inner()).remove(channel) {
            let _ = self.commands.send(Command::Unsubscribe(channel.to_string()));
        }
    }

    /// Waits until the server confirmed every one of `channels`, for at most `limit`.
    pub(crate) async fn wait_confirmed(&self, channels: &[String], limit: Duration) {
        let mut confirmed = self.confirmed.subscribe();
        let _ =
            tokio::time::timeout(limit, confirmed.wait_for(|set| channels.iter().all(|c| set.contains(c))))
                .await;
    }

    /// Whether `channel` is wanted.
    pub(crate) fn wants(&self, channel: &str) -> bool {
        self.wanted.lock().unwrap_or_else(|e| e.into_inner()).contains(channel)
    }

    /// Every channel wanted (what a new connection subscribes).
    pub(crate) fn wanted(&self) -> Vec<String> {
        self.wanted.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect()
    }

    /// The server confirmed (`true`) or ended (`false`) the subscription of `channel`.
    pub(crate) fn set_confirmed(&self, channel: String, confirmed: bool) {
        self.confirmed.send_modify(|set| {
            if confirmed {
                set.insert(channel);
            } else {
                set.remove(&channel);
            }
        });
    }

    /// The connection is gone: nothing is confirmed any more.
    pub(crate) fn clear_confirmed(&self) {
        self.confirmed.send_modify(HashSet::clear);
    }

    /// Subscribes `channel` again, which is still wanted (the server dropped it).
    pub(crate) fn subscribe_again(&self, channel: String) {
        let _ = self.commands.send(Command::Subscribe(channel));
    }

    /// A sender of commands to the connection task that does not keep it alive.
    pub(crate) fn weak_commands(&self) -> mpsc::WeakUnboundedSender<Command> {
        self.commands.downgrade()
    }
}

async fn run(
    me: Weak<Subscriber>,
    target: Target,
    mode: Mode,
    mut commands: mpsc::UnboundedReceiver<Command>,
    on_message: OnMessage,
    errors: ErrorHooks,
) {
    let mut delay = Duration::from_millis(100);
    loop {
        let failure = match connect(&target).await {
            Ok((reader, mut writer)) => {
                delay = Duration::from_millis(100);
                let (pushes_tx, mut pushes) = mpsc::unbounded_channel();
                let reading = tokio::spawn(read_pushes(reader, pushes_tx));
                let outcome = async {
                    let wanted = me.upgrade()?.wanted();
                    if !wanted.is_empty() {
                        let mut args = vec![mode.subscribe()];
                        args.extend(wanted.iter().map(String::as_str));
                        if let Err(e) = writer.write_all(&command(&args)).await {
                            return Some(format!("redis subscriber: cannot subscribe: {e}"));
                        }
                    }
                    loop {
                        tokio::select! {
                            command = commands.recv() => {
                                let bytes = match command {
                                    None => return None,
                                    Some(Command::Subscribe(c)) => self::command(&[mode.subscribe(), &c]),
                                    Some(Command::Unsubscribe(c)) => self::command(&[mode.unsubscribe(), &c]),
                                };
                                if let Err(e) = writer.write_all(&bytes).await {
                                    return Some(format!("redis subscriber: connection lost: {e}"));
                                }
                            }
                            push = pushes.recv() => {
                                let Some(push) = push else {
                                    return Some("redis subscriber: connection lost; reconnecting".to_string());
                                };
                                let me = me.upgrade()?;
                                match push {
                                    Push::Message(channel, payload) => on_message(&channel, payload),
                                    Push::Subscribed(channel) => me.set_confirmed(channel, true),
                                    Push::Unsubscribed(channel) => me.set_confirmed(channel, false),
                                    Push::Error(e) => errors.report(AdapterError::Bus(format!("redis subscriber: {e}"))),
                                }
                            }
                        }
                    }
                }
                .await;
                reading.abort();
                outcome
            }
            Err(e) => Some(format!("redis subscriber: cannot connect: {e}")),
        };
        let Some(me_now) = me.upgrade() else { return };
        me_now.clear_confirmed();
        drop(me_now);
        let Some(failure) = failure else { return };
        errors.report(AdapterError::Bus(failure));
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(crate::RECONNECT_DELAY_MAX);
    }
}

type Reader = BufReader<tokio::net::tcp::OwnedReadHalf>;

/// Connects and logs in.
async fn connect(target: &Target) -> std::io::Result<(Reader, tokio::net::tcp::OwnedWriteHalf)> {
    let stream =
        tokio::time::timeout(Duration::from_secs(5), TcpStream::connect((target.host.as_str(), target.port)))
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connection timed out"))??;
    stream.set_nodelay(true)?;
    let (read, mut writer) = stream.into_split();
    let mut reader = BufReader::new(read);
    if let Some(password) = &target.password {
        let mut args = vec!["AUTH"];
        if let Some(user) = &target.username {
            args.push(user);
        }
        args.push(password);
        writer.write_all(&command(&args)).await?;
        if let Resp::Error(e) = read_value(&mut reader).await? {
            return Err(std::io::Error::other(e));
        }
    }
    Ok((reader, writer))
}

/// A command as a RESP array of bulk strings.
fn command(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for arg in args {
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// What the server pushes on a subscriber connection.
#[derive(Debug, PartialEq)]
enum Push {
    Message(String, Bytes),
    Subscribed(String),
    Unsubscribed(String),
    Error(String),
}

async fn read_pushes(mut reader: Reader, pushes: mpsc::UnboundedSender<Push>) {
    while let Ok(value) = read_value(&mut reader).await {
        if let Some(push) = push_of(value) {
            if pushes.send(push).is_err() {
                return;
            }
        }
    }
}

fn push_of(value: Resp) -> Option<Push> {
    match value {
        Resp::Error(e) => Some(Push::Error(e)),
        Resp::Array(items) => {
            let mut items = items.into_iter();
            let kind = items.next()?.into_bytes()?;
            let channel = String::from_utf8(items.next()?.into_bytes()?.to_vec()).ok()?;
            match kind.to_ascii_lowercase().as_slice() {
                b"message" | b"smessage" => Some(Push::Message(channel, items.next()?.into_bytes()?)),
                b"subscribe" | b"ssubscribe" => Some(Push::Subscribed(channel)),
                b"unsubscribe" | b"sunsubscribe" => Some(Push::Unsubscribed(channel)),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A RESP2 value (arrays one level deep, which is all a subscriber receives).
#[derive(Debug, PartialEq)]
enum Resp {
    Simple(String),
    Error(String),
    Integer(i64),
    Bulk(Option<Bytes>),
    Array(Vec<Resp>),
}

impl Resp {
    fn into_bytes(self) -> Option<Bytes> {
        match self {
            Resp::Bulk(b) => b,
            Resp::Simple(s) => Some(Bytes::from(s)),
            Resp::Integer(i) => Some(Bytes::from(i.to_string())),
            _ => None,
        }
    }
}

/// The largest bulk string accepted (Redis' own limit).
const MAX_BULK: usize = 512 * 1024 * 1024;

async fn read_line<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> std::io::Result<String> {
    let mut line = Vec::new();
    let n = reader.read_until(b'\n', &mut line).await?;
    if n == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    if !line.ends_with(b"\r\n") {
        return Err(invalid("line without CRLF"));
    }
    line.truncate(line.len() - 2);
    String::from_utf8(line).map_err(|_| invalid("line is not UTF-8"))
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("invalid RESP: {what}"))
}

async fn read_scalar<R: AsyncRead + Unpin>(reader: &mut BufReader<R>, line: String) -> std::io::Result<Resp> {
    let (tag, rest) = line.split_at_checked(1).ok_or_else(|| invalid("empty line"))?;
    match tag {
        "+" => Ok(Resp::Simple(rest.to_string())),
        "-" => Ok(Resp::Error(rest.to_string())),
        ":" => rest.parse().map(Resp::Integer).map_err(|_| invalid("integer")),
        "$" => {
            let len: i64 = rest.parse().map_err(|_| invalid("bulk length"))?;
            if len < 0 {
                return Ok(Resp::Bulk(None));
            }
            let len = usize::try_from(len).map_err(|_| invalid("bulk length"))?;
            if len > MAX_BULK {
                return Err(invalid("bulk string too long"));
            }
            let mut data = vec![0u8; len + 2];
            reader.read_exact(&mut data).await?;
            if !data.ends_with(b"\r\n") {
                return Err(invalid("bulk string without CRLF"));
            }
            data.truncate(len);
            Ok(Resp::Bulk(Some(Bytes::from(data))))
        }
        _ => Err(invalid("unexpected type")),
    }
}

async fn read_value<R: AsyncRead + Unpin>(reader: &mut BufReader<R>) -> std::io::Result<Resp> {
    let line = read_line(reader).await?;
    let Some(count) = line.strip_prefix('*') else { return read_scalar(reader, line).await };
    let count: i64 = count.parse().map_err(|_| invalid("array length"))?;
    let count = usize::try_from(count).unwrap_or(0);
    if count > 1024 {
        return Err(invalid("array too long for a push"));
    }
    let mut items = Vec::with_capacity(count);
    for _ in 0..count {
        let line = read_line(reader).await?;
        if line.starts_with('*') {
            return Err(invalid("nested array"));
        }
        items.push(read_scalar(reader, line).await?);
    }
    Ok(Resp::Array(items))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(bytes: &'static [u8]) -> std::io::Result<Resp> {
        read_value(&mut BufReader::new(bytes)).await
    }

    #[tokio::test]
    async fn reads_the_pushes_of_a_subscriber() {
        let message = parse(b"*3\r\n$8\r\nsmessage\r\n$3\r\nch1\r\n$5\r\nhe\r\nl\r\n").await.unwrap();
        assert_eq!(push_of(message), Some(Push::Message("ch1".into(), Bytes::from_static(b"he\r\nl"))));
        let confirmed = parse(b"*3\r\n$10\r\nssubscribe\r\n$3\r\nch1\r\n:1\r\n").await.unwrap();
        assert_eq!(push_of(confirmed), Some(Push::Subscribed("ch1".into())));
        let gone = parse(b"*3\r\n$11\r\nunsubscribe\r\n$3\r\nch1\r\n:0\r\n").await.unwrap();
        assert_eq!(push_of(gone), Some(Push::Unsubscribed("ch1".into())));
        let error = parse(b"-ERR unknown command\r\n").await.unwrap();
        assert_eq!(push_of(error), Some(Push::Error("ERR unknown command".into())));
    }

    #[tokio::test]
    async fn rejects_malformed_input() {
        assert!(parse(b"*1\r\n*1\r\n:1\r\n").await.is_err(), "nested arrays");
        assert!(parse(b"$5\r\nab\r\n").await.is_err(), "short bulk");
        assert!(parse(b"$3\r\nabcde").await.is_err(), "bulk without CRLF");
        assert!(parse(b"?x\r\n").await.is_err(), "unknown type");
        assert!(parse(b"$9999999999999\r\n").await.is_err(), "absurd length");
        assert!(parse(b"+OK\n").await.is_err(), "bare LF");
        assert!(parse(b"").await.is_err(), "EOF");
    }

    #[test]
    fn writes_commands_as_bulk_arrays() {
        assert_eq!(command(&["SSUBSCRIBE", "a#b"]), b"*2\r\n$10\r\nSSUBSCRIBE\r\n$3\r\na#b\r\n".to_vec());
    }
}
