//! [`Handshake`]: what the server knows of a socket's connection, as `socket.handshake` shows it.

use engineio_server::RequestInfo;
use socketio_parser::{Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// The connection details of a socket (`socket.handshake`).
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The request headers of the connection (names in lower case).
    pub headers: http::HeaderMap,
    /// When the socket connected, as JavaScript's `Date.toString()` writes it, in UTC
    /// (`Tue Nov 24 2026 02:20:14 GMT+0000 (Coordinated Universal Time)`).
    pub time: String,
    /// The client address (`ip:port`), when known.
    pub address: Option<String>,
    /// Whether the request came from another origin (an `Origin` header was present).
    pub xdomain: bool,
    /// Whether the connection was encrypted.
    pub secure: bool,
    /// When the socket connected, in milliseconds since the Unix epoch.
    pub issued: u64,
    /// The request URL (path and query).
    pub url: String,
    /// The query parameters of the request.
    pub query: Map,
    /// The `auth` payload of the CONNECT packet (`{}` when none).
    pub auth: Value,
}

impl Handshake {
    /// Now, in milliseconds since the Unix epoch (a socket's `issued`).
    pub(crate) fn now_ms() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
    }

    /// The handshake of a socket that connected at `issued` over `request` with `auth`.
    pub(crate) fn new(request: &RequestInfo, auth: Value, issued: u64) -> Self {
        // A key given several times is an array of its values, as Node's query parser makes it.
        let mut query = Map::new();
        for (k, v) in request.query_pairs().iter() {
            match query.get_mut(k.as_str()) {
                Some(Value::Array(values)) => values.push(Value::from(v.as_str())),
                Some(first) => {
                    let first = std::mem::take(first);
                    query.insert(k.clone(), Value::Array(vec![first, Value::from(v.as_str())]));
                }
                None => {
                    query.insert(k.clone(), Value::from(v.as_str()));
                }
            }
        }
        Handshake {
            headers: request.headers().clone(),
            time: js_date_string(issued),
            address: request.remote_addr().map(|a| a.ip().to_string()),
            xdomain: request.headers().contains_key(http::header::ORIGIN),
            secure: request.secure(),
            issued,
            url: request.uri().to_string(),
            query,
            auth,
        }
    }

    /// The handshake as the reference serializes it (for `fetchSockets` across nodes).
    pub fn to_value(&self) -> Value {
        let mut headers = Map::new();
        for (name, value) in &self.headers {
            if let Ok(v) = value.to_str() {
                headers.insert(name.as_str().to_string(), Value::from(v));
            }
        }
        let mut m = Map::new();
        m.insert("headers".into(), Value::Object(headers));
        m.insert("time".into(), Value::from(self.time.as_str()));
        m.insert("address".into(), self.address.clone().map(Value::from).unwrap_or(Value::Null));
        m.insert("xdomain".into(), Value::Bool(self.xdomain));
        m.insert("secure".into(), Value::Bool(self.secure));
        m.insert("issued".into(), Value::from(self.issued));
        m.insert("url".into(), Value::from(self.url.as_str()));
        m.insert("query".into(), Value::Object(self.query.clone()));
        m.insert("auth".into(), self.auth.clone());
        Value::Object(m)
    }
}

/// `ms` since the Unix epoch as JavaScript's `Date.prototype.toString()` writes it in UTC.
fn js_date_string(ms: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] =
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let secs = ms / 1000;
    let days = secs / 86_400;
    let rem = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{} {} {:02} {:04} {:02}:{:02}:{:02} GMT+0000 (Coordinated Universal Time)",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        day,
        year,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The proleptic Gregorian (year, month 1-12, day 1-31) of `days` since 1970-01-01.
pub(crate) fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Count from 0000-03-01 so that the leap day ends each 4/100/400-year cycle.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::js_date_string;

    #[test]
    fn dates_read_as_javascript_writes_them() {
        assert_eq!(js_date_string(0), "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)");
        // new Date(1795486814000).toString() with TZ=UTC
        assert_eq!(
            js_date_string(1_795_486_814_000),
            "Tue Nov 24 2026 02:20:14 GMT+0000 (Coordinated Universal Time)"
        );
        // A leap day, and the day after.
        assert_eq!(
            js_date_string(951_782_400_000),
            "Tue Feb 29 2000 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(
            js_date_string(951_868_799_999),
            "Tue Feb 29 2000 23:59:59 GMT+0000 (Coordinated Universal Time)"
        );
    }
}
