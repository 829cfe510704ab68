//! TLS for `https://` and `wss://` URLs, with rustls (the `ring` provider).
//!
//! By default the client trusts the platform's root certificates (read once per process). A
//! [`TlsConfig`] built here trusts custom roots instead, or as well; [`TlsConfig::from_rustls`] takes
//! a rustls `ClientConfig` made by hand (client certificates, pinned verifiers, ...).
//!
//! ```no_run
//! # fn run() -> Result<(), socketio_client::Error> {
//! use socketio_client::{ClientBuilder, TlsConfig};
//! let ca = std::fs::read("ca.pem").map_err(|e| socketio_client::Error::Tls(e.to_string()))?;
//! let tls = TlsConfig::builder().native_roots(false).root_certificates_pem(&ca)?.build()?;
//! let socket = ClientBuilder::new("https://localhost:3443/").tls(tls).auto_connect(false).build()?;
//! # let _ = socket; Ok(()) }
//! ```

use crate::error::Error;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use std::sync::{Arc, OnceLock};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

/// The certificates a client trusts on `https://` and `wss://`.
#[derive(Clone, Debug)]
pub struct TlsConfig(pub(crate) Arc<ClientConfig>);

impl TlsConfig {
    /// A builder, trusting the platform's roots until told otherwise.
    pub fn builder() -> TlsConfigBuilder {
        TlsConfigBuilder { native_roots: true, roots: Vec::new() }
    }

    /// Trusts the platform's root certificates (the default of every client).
    pub fn native() -> Result<Self, Error> {
        Self::builder().build()
    }

    /// Uses a rustls configuration as it is. Its ALPN protocols are replaced by
    /// `http/1.1` on polling requests.
    pub fn from_rustls(config: Arc<ClientConfig>) -> Self {
        TlsConfig(config)
    }

    /// The rustls configuration.
    pub fn rustls(&self) -> &Arc<ClientConfig> {
        &self.0
    }

    /// The configuration of clients given none: the platform's roots, read once.
    pub(crate) fn default_for_process() -> Result<Self, Error> {
        static DEFAULT: OnceLock<Result<TlsConfig, String>> = OnceLock::new();
        DEFAULT.get_or_init(|| TlsConfig::native().map_err(|e| e.to_string())).clone().map_err(Error::Tls)
    }
}

/// Builds a [`TlsConfig`].
#[derive(Debug)]
pub struct TlsConfigBuilder {
    native_roots: bool,
    roots: Vec<CertificateDer<'static>>,
}

impl TlsConfigBuilder {
    /// Whether the platform's root certificates are trusted (default true).
    pub fn native_roots(mut self, on: bool) -> Self {
        self.native_roots = on;
        self
    }

    /// Trusts one more root certificate, DER-encoded.
    pub fn root_certificate_der(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.roots.push(CertificateDer::from(der.into()));
        self
    }

    /// Trusts every certificate of a PEM document. Fails if it holds none or one is malformed.
    pub fn root_certificates_pem(mut self, pem: &[u8]) -> Result<Self, Error> {
        let before = self.roots.len();
        for cert in CertificateDer::pem_slice_iter(pem) {
            self.roots.push(cert.map_err(|e| Error::Tls(format!("invalid PEM certificate: {e}")))?);
        }
        if self.roots.len() == before {
            return Err(Error::Tls("no certificate in the PEM document".into()));
        }
        Ok(self)
    }

    /// The configuration. Fails if a certificate is invalid, or if no root is trusted at all.
    pub fn build(self) -> Result<TlsConfig, Error> {
        let mut store = RootCertStore::empty();
        if self.native_roots {
            let found = rustls_native_certs::load_native_certs();
            for error in &found.errors {
                tracing::debug!("reading the platform's root certificates: {error}");
            }
            // Some platform certificates are not valid for webpki; skip them as browsers do.
            let (added, ignored) = store.add_parsable_certificates(found.certs);
            tracing::debug!("{added} platform root certificates, {ignored} ignored");
        }
        for cert in self.roots {
            store.add(cert).map_err(|e| Error::Tls(format!("invalid root certificate: {e}")))?;
        }
        if store.is_empty() {
            return Err(Error::Tls("no trusted root certificate".into()));
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls(e.to_string()))?
            .with_root_certificates(store)
            .with_no_client_auth();
        Ok(TlsConfig(Arc::new(config)))
    }
}

/// A byte stream to a server, plain or TLS.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Connects to `host:port`, over TLS when `tls` is given.
pub(crate) async fn connect(host: &str, port: u16, tls: Option<&TlsConfig>) -> Result<Box<dyn Io>, Error> {
    let tcp = TcpStream::connect((host, port)).await.map_err(|e| Error::Transport(e.to_string()))?;
    let _ = tcp.set_nodelay(true);
    let Some(tls) = tls else {
        return Ok(Box::new(tcp));
    };
    let name = ServerName::try_from(host.to_string())
        .map_err(|e| Error::Tls(format!("invalid server name {host}: {e}")))?;
    let stream = tokio_rustls::TlsConnector::from(tls.0.clone())
        .connect(name, tcp)
        .await
        .map_err(|e| Error::Tls(e.to_string()))?;
    Ok(Box::new(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_certificates_and_empty_stores_are_refused() {
        assert!(matches!(
            TlsConfig::builder().root_certificates_pem(b"not pem"),
            Err(Error::Tls(m)) if m.contains("no certificate")
        ));
        assert!(matches!(
            TlsConfig::builder().native_roots(false).build(),
            Err(Error::Tls(m)) if m.contains("no trusted root")
        ));
        assert!(TlsConfig::builder()
            .native_roots(false)
            .root_certificate_der(vec![1, 2, 3])
            .build()
            .is_err());
    }
}
