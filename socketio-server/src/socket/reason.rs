//! [`DisconnectReason`]: why a socket disconnected, with the reference's strings.

/// Why a socket disconnected. The strings are those of the reference server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DisconnectReason {
    /// The server called [`Socket::disconnect`](crate::Socket::disconnect).
    ServerNamespaceDisconnect,
    /// The client left the namespace.
    ClientNamespaceDisconnect,
    /// The server is shutting down.
    ServerShuttingDown,
    /// The client stopped answering the heartbeat.
    PingTimeout,
    /// The client closed its connection.
    TransportClose,
    /// The connection failed.
    TransportError,
    /// The client sent something that does not decode.
    ParseError,
    /// The connection was closed by the server (e.g. after an invalid packet).
    ForcedClose,
    /// The connection was closed by the server at the client level.
    ForcedServerClose,
}

impl DisconnectReason {
    /// The reason as the reference server words it.
    pub fn as_str(self) -> &'static str {
        match self {
            DisconnectReason::ServerNamespaceDisconnect => "server namespace disconnect",
            DisconnectReason::ClientNamespaceDisconnect => "client namespace disconnect",
            DisconnectReason::ServerShuttingDown => "server shutting down",
            DisconnectReason::PingTimeout => "ping timeout",
            DisconnectReason::TransportClose => "transport close",
            DisconnectReason::TransportError => "transport error",
            DisconnectReason::ParseError => "parse error",
            DisconnectReason::ForcedClose => "forced close",
            DisconnectReason::ForcedServerClose => "forced server close",
        }
    }

    /// Whether a socket disconnected for this reason may be recovered (the client did not leave on purpose
    /// and was not sent away).
    pub fn is_recoverable(self) -> bool {
        matches!(
            self,
            DisconnectReason::TransportError
                | DisconnectReason::TransportClose
                | DisconnectReason::ForcedClose
                | DisconnectReason::PingTimeout
                | DisconnectReason::ServerShuttingDown
                | DisconnectReason::ForcedServerClose
        )
    }

    pub(crate) fn from_engine(reason: engineio_server::CloseReason) -> Self {
        use engineio_server::CloseReason as C;
        match reason {
            C::TransportClose => DisconnectReason::TransportClose,
            C::TransportError => DisconnectReason::TransportError,
            C::PingTimeout => DisconnectReason::PingTimeout,
            C::ForcedClose => DisconnectReason::ForcedClose,
            C::ParseError => DisconnectReason::ParseError,
            C::ServerShuttingDown => DisconnectReason::ServerShuttingDown,
        }
    }
}

impl std::fmt::Display for DisconnectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
