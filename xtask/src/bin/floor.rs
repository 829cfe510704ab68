//! The transport floor of `cargo xtask bench`: the least a websocket server must do to serve the bench
//! contract, with no Socket.IO library. tokio-tungstenite, one task per connection reading and one
//! writing, on a single-threaded runtime. It speaks just enough Engine.IO / Socket.IO for the load
//! generator: the open packet, the CONNECT answer, `echo` answered by an ack with the same arguments,
//! and `broadcast` answered by one pre-encoded `bcast` frame handed to every connection. What a server
//! costs above this floor is what its protocol and API cost.
//!
//! `floor --port PORT` (0: any); prints `listening on PORT`.

use futures_util::{SinkExt, StreamExt};
use std::cell::RefCell;
use std::rc::Rc;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// The writers of the open connections, by connection number.
type Registry = Rc<RefCell<std::collections::HashMap<u64, mpsc::UnboundedSender<Message>>>>;

fn main() -> std::io::Result<()> {
    let mut port = 0u16;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().unwrap_or_default();
        if flag == "--port" {
            port = value.parse().map_err(|_| std::io::Error::other("--port PORT"))?;
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        // The backlog our server listens with (the standard library's 128 overflows under the
        // bench's bursts of connections, and the rate would measure the kernel's SYN retries).
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(std::net::SocketAddr::from(([127, 0, 0, 1], port)))?;
        let listener = socket.listen(1024)?;
        println!("listening on {}", listener.local_addr()?.port());
        let registry: Registry = Rc::default();
        let mut next = 0u64;
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            next += 1;
            tokio::task::spawn_local(serve(stream, next, registry.clone()));
        }
    })
}

async fn serve(stream: tokio::net::TcpStream, id: u64, registry: Registry) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else { return };
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let open = format!(
        "0{{\"sid\":\"floor{id}\",\"upgrades\":[],\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}}"
    );
    let _ = tx.send(Message::text(open));
    registry.borrow_mut().insert(id, tx.clone());
    let writer = tokio::task::spawn_local(async move {
        while let Some(message) = rx.recv().await {
            if sink.feed(message).await.is_err() {
                return;
            }
            // Everything already queued goes out with one flush.
            while let Ok(message) = rx.try_recv() {
                if sink.feed(message).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    while let Some(Ok(message)) = stream.next().await {
        let Message::Text(text) = message else { continue };
        let text = text.as_str();
        if text == "40" {
            let _ = tx.send(Message::text(format!("40{{\"sid\":\"s{id}\"}}")));
        } else if let Some(rest) = text.strip_prefix("42[\"broadcast\",") {
            let frame = Message::text(format!("42[\"bcast\",{rest}"));
            for writer in registry.borrow().values() {
                let _ = writer.send(frame.clone());
            }
        } else if let Some(rest) = text.strip_prefix("42") {
            // `42<id>["echo",args...]`: the ack `43<id>[args...]`.
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let (ack_id, body) = rest.split_at(digits);
            if let Some(args) = body.strip_prefix("[\"echo\",") {
                if !ack_id.is_empty() {
                    let _ = tx.send(Message::text(format!("43{ack_id}[{args}")));
                }
            }
        }
    }
    registry.borrow_mut().remove(&id);
    writer.abort();
}
