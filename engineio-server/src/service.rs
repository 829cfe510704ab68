//! Serving the engine: a tower `Service`, a tower `Layer` for axum and other tower stacks, and a
//! standalone server.

use crate::engine::EngineIo;
use crate::request::{DropConnection, EngineBody};
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::Body;
use http_body_util::Either;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::net::TcpListener;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

impl<B> tower_service::Service<Request<B>> for EngineIo
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Display,
{
    type Response = Response<EngineBody>;
    type Error = Infallible;
    type Future = BoxFuture<Result<Response<EngineBody>, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    /// Answers every request as an engine request (whatever its path).
    fn call(&mut self, req: Request<B>) -> Self::Future {
        let engine = self.clone();
        Box::pin(async move { Ok(engine.handle(req).await) })
    }
}

/// A tower `Layer` that answers the engine's path and passes every other request to the inner service.
///
/// ```
/// use engineio_server::{EngineConfig, EngineIo, EngineLayer, NoopHandler};
/// let engine = EngineIo::new(EngineConfig::default(), NoopHandler);
/// let layer = EngineLayer::new(engine);
/// # let _ = layer;
/// ```
#[derive(Clone, Debug)]
pub struct EngineLayer {
    engine: EngineIo,
}

impl EngineLayer {
    /// A layer serving `engine`.
    pub fn new(engine: EngineIo) -> Self {
        EngineLayer { engine }
    }
}

impl<S> tower_layer::Layer<S> for EngineLayer {
    type Service = EngineService<S>;
    fn layer(&self, inner: S) -> EngineService<S> {
        EngineService { engine: self.engine.clone(), inner }
    }
}

/// The service of [`EngineLayer`].
#[derive(Clone, Debug)]
pub struct EngineService<S> {
    engine: EngineIo,
    inner: S,
}

impl<S, B, ResBody> tower_service::Service<Request<B>> for EngineService<S>
where
    S: tower_service::Service<Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: std::fmt::Display,
{
    type Response = Response<Either<EngineBody, ResBody>>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if self.engine.handles_path(req.uri().path()) {
            let engine = self.engine.clone();
            Box::pin(async move { Ok(engine.handle(req).await.map(Either::Left)) })
        } else {
            // Keep the instance that was polled ready; leave a fresh clone in its place.
            let clone = self.inner.clone();
            let mut inner = std::mem::replace(&mut self.inner, clone);
            Box::pin(async move { Ok(inner.call(req).await?.map(Either::Right)) })
        }
    }
}

/// A running standalone server (see [`EngineIo::listen`]).
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting connections (sessions stay open; see [`EngineIo::close`]).
    pub fn abort(&self) {
        self.task.abort();
    }

    /// Resolves once the server has stopped accepting connections (after [`EngineIo::close`]).
    pub async fn stopped(self) {
        let _ = self.task.await;
    }
}

/// How many connections the kernel holds for the server before it accepts them (capped by the
/// system's `somaxconn`). The standard library's 128 overflowed under a burst of connections (every
/// client of a restarted server reconnecting at once): the kernel then dropped handshakes, and
/// those clients waited a second for their SYN to be sent again. Node listens with 511.
const LISTEN_BACKLOG: u32 = 1024;

/// A listener on `addr` with [`LISTEN_BACKLOG`], reusing the address as the standard library does
/// (a restarted server binds at once, whatever connections of the last one linger in TIME_WAIT).
fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket =
        if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// How long a client may take over its TLS handshake.
#[cfg(feature = "tls")]
const HANDSHAKE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves the HTTP/1.1 requests of one connection, plain or TLS.
async fn serve_connection<I>(engine: EngineIo, io: I, peer: SocketAddr, secure: bool)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let shared = engine.shared.clone();
    let _counted = shared.connection_started();
    // The peer and TLS go to the engine as they are, not as request extensions (a map built for
    // every request).
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let engine = engine.clone();
        async move {
            if engine.handles_path(req.uri().path()) {
                let res = engine.handle_from(req, Some(peer), secure).await;
                // A request the reference drops: hyper closes the connection unanswered.
                if res.extensions().get::<DropConnection>().is_some() {
                    return Err(std::io::Error::other("request dropped"));
                }
                Ok(res)
            } else {
                Ok(crate::request::empty_response(StatusCode::NOT_FOUND))
            }
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(std::time::Duration::from_secs(10))
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    // Once the engine closes, the connection finishes the request in hand and closes (an idle
    // keep-alive connection closes at once); one still open when the close has finished is dropped.
    let ended = tokio::select! {
        ended = conn.as_mut() => ended,
        _ = shared.shutting_down() => {
            conn.as_mut().graceful_shutdown();
            tokio::select! {
                ended = conn.as_mut() => ended,
                _ = shared.closed() => return,
            }
        }
    };
    if let Err(e) = ended {
        tracing::debug!("connection from {peer} ended: {e}");
    }
}

impl EngineIo {
    /// Listens on `addr` and serves the engine's path over HTTP/1.1 (other paths get 404). Resolves once
    /// the socket is bound; [`EngineIo::close`] stops the server.
    pub async fn listen(&self, addr: SocketAddr) -> std::io::Result<ServerHandle> {
        let listener = bind(addr)?;
        Ok(self.serve(listener))
    }

    /// Serves the engine on an already bound listener.
    pub fn serve(&self, listener: TcpListener) -> ServerHandle {
        self.accept_loop(
            listener,
            #[cfg(feature = "tls")]
            None,
        )
    }

    /// Listens on `addr` and serves the engine over HTTPS (feature `tls`): like [`EngineIo::listen`],
    /// with every connection a TLS one; handshakes then report `secure`.
    #[cfg(feature = "tls")]
    pub async fn listen_tls(
        &self,
        addr: SocketAddr,
        tls: std::sync::Arc<rustls::ServerConfig>,
    ) -> std::io::Result<ServerHandle> {
        let listener = bind(addr)?;
        Ok(self.serve_tls(listener, tls))
    }

    /// Serves the engine over HTTPS on an already bound listener (feature `tls`). The configuration's
    /// ALPN protocols should be empty or `http/1.1`.
    #[cfg(feature = "tls")]
    pub fn serve_tls(
        &self,
        listener: TcpListener,
        tls: std::sync::Arc<rustls::ServerConfig>,
    ) -> ServerHandle {
        self.accept_loop(listener, Some(tokio_rustls::TlsAcceptor::from(tls)))
    }

    fn accept_loop(
        &self,
        listener: TcpListener,
        #[cfg(feature = "tls")] tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> ServerHandle {
        let local_addr = listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)));
        let engine = self.clone();
        let task = tokio::spawn(async move {
            loop {
                let shutdown = engine.shared.shutdown.notified();
                tokio::pin!(shutdown);
                shutdown.as_mut().enable();
                if engine.shared.stopped.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let (stream, peer) = tokio::select! {
                    accepted = listener.accept() => match accepted {
                        Ok(conn) => conn,
                        Err(e) => {
                            tracing::warn!("accept failed: {e}");
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                            continue;
                        }
                    },
                    _ = shutdown => return,
                };
                let _ = stream.set_nodelay(true);
                let engine = engine.clone();
                #[cfg(feature = "tls")]
                if let Some(acceptor) = tls.clone() {
                    tokio::spawn(async move {
                        let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream));
                        match handshake.await {
                            Ok(Ok(stream)) => serve_connection(engine, stream, peer, true).await,
                            Ok(Err(e)) => tracing::debug!("TLS handshake with {peer} failed: {e}"),
                            Err(_) => tracing::debug!("TLS handshake with {peer} timed out"),
                        }
                    });
                    continue;
                }
                tokio::spawn(serve_connection(engine, stream, peer, false));
            }
        });
        ServerHandle { local_addr, task }
    }
}
