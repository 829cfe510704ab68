//! A cookie jar for the requests of one manager (`withCredentials` in engine.io-client on Node.js):
//! what the server sets with `Set-Cookie` goes back with later requests, so a load balancer with
//! cookie stickiness keeps a session on one node.
//!
//! All requests go to one host, so `Domain` is not needed; `Path`, `Secure`, `Expires` and `Max-Age`
//! are honoured as RFC 6265 says (`Max-Age` wins over `Expires`; zero or less deletes).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Cookies kept between requests; clones share the same jar.
#[derive(Debug, Clone, Default)]
pub struct CookieJar(Arc<Mutex<Vec<Cookie>>>);

#[derive(Debug, Clone)]
struct Cookie {
    name: String,
    value: String,
    path: String,
    secure: bool,
    expires: Option<SystemTime>,
}

impl Cookie {
    fn expired(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|at| at <= now)
    }
}

impl CookieJar {
    /// An empty jar.
    pub fn new() -> Self {
        CookieJar::default()
    }

    fn cookies(&self) -> std::sync::MutexGuard<'_, Vec<Cookie>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value of the unexpired cookie `name` (of the longest path if there are several).
    pub fn get(&self, name: &str) -> Option<String> {
        let now = SystemTime::now();
        self.cookies()
            .iter()
            .filter(|c| c.name == name && !c.expired(now))
            .max_by_key(|c| c.path.len())
            .map(|c| c.value.clone())
    }

    /// Stores one `Set-Cookie` header value received for a request to `request_path`; a malformed
    /// one is ignored.
    pub fn store(&self, set_cookie: &str, request_path: &str) {
        let Some(cookie) = parse_set_cookie(set_cookie, request_path, SystemTime::now()) else { return };
        let mut cookies = self.cookies();
        cookies.retain(|c| !(c.name == cookie.name && c.path == cookie.path));
        if !cookie.expired(SystemTime::now()) {
            cookies.push(cookie);
        }
    }

    /// The `Cookie` header for a request to `request_path` (over TLS or not), if any cookie matches.
    pub fn header(&self, request_path: &str, secure: bool) -> Option<String> {
        let now = SystemTime::now();
        let mut cookies = self.cookies();
        cookies.retain(|c| !c.expired(now));
        let mut matching: Vec<&Cookie> =
            cookies.iter().filter(|c| (secure || !c.secure) && path_matches(request_path, &c.path)).collect();
        if matching.is_empty() {
            return None;
        }
        // Longer paths first (RFC 6265, section 5.4); the sort is stable, so older ones first otherwise.
        matching.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        let pairs: Vec<String> = matching.iter().map(|c| format!("{}={}", c.name, c.value)).collect();
        Some(pairs.join("; "))
    }
}

/// RFC 6265, section 5.2: the cookie of a `Set-Cookie` value.
fn parse_set_cookie(header: &str, request_path: &str, now: SystemTime) -> Option<Cookie> {
    let mut parts = header.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let name = name.trim();
    if name.is_empty() {
        return None;
    }
    let mut cookie = Cookie {
        name: name.to_string(),
        value: value.trim().to_string(),
        path: default_path(request_path),
        secure: false,
        expires: None,
    };
    let mut max_age = None;
    let mut expires = None;
    for attribute in parts {
        let (key, value) = attribute.split_once('=').unwrap_or((attribute, ""));
        let value = value.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "expires" => {
                if let Some(at) = parse_cookie_date(value) {
                    expires = Some(at);
                }
            }
            "max-age" => {
                let valid = value.strip_prefix('-').unwrap_or(value);
                if !valid.is_empty() && valid.bytes().all(|b| b.is_ascii_digit()) {
                    // Huge values saturate: far in the future, or long ago for negative ones.
                    let seconds =
                        value.parse::<i64>().unwrap_or(if value.starts_with('-') { -1 } else { i64::MAX });
                    max_age = Some(if seconds <= 0 {
                        UNIX_EPOCH
                    } else {
                        now.checked_add(Duration::from_secs(seconds as u64)).unwrap_or(far_future())
                    });
                }
            }
            "path" if value.starts_with('/') => cookie.path = value.to_string(),
            "path" => cookie.path = default_path(request_path),
            "secure" => cookie.secure = true,
            _ => {}
        }
    }
    cookie.expires = max_age.or(expires);
    Some(cookie)
}

fn far_future() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(253_402_300_799) // 9999-12-31T23:59:59Z
}

/// RFC 6265, section 5.1.4: the directory of the request path.
fn default_path(request_path: &str) -> String {
    match request_path.rfind('/') {
        Some(0) | None => "/".to_string(),
        Some(i) => request_path[..i].to_string(),
    }
}

/// RFC 6265, section 5.1.4: whether a request to `request_path` gets a cookie of `cookie_path`.
fn path_matches(request_path: &str, cookie_path: &str) -> bool {
    request_path == cookie_path
        || (request_path.starts_with(cookie_path)
            && (cookie_path.ends_with('/') || request_path.as_bytes().get(cookie_path.len()) == Some(&b'/')))
}

/// RFC 6265, section 5.1.1: a cookie date (`Wed, 21 Oct 2015 07:28:00 GMT`, `Wednesday, 21-Oct-15
/// 07:28:00 GMT`, `Wed Oct 21 07:28:00 2015`...), in UTC.
fn parse_cookie_date(text: &str) -> Option<SystemTime> {
    // The delimiters of section 5.1.1: every printable non-alphanumeric but `:`.
    let delimiter = |c: char| matches!(c, '\t' | ' '..='/' | ';'..='@' | '['..='`' | '{'..='~');
    let (mut time, mut day, mut month, mut year) = (None, None, None, None);
    for token in text.split(delimiter).filter(|t| !t.is_empty()) {
        if time.is_none() {
            if let Some(t) = parse_time(token) {
                time = Some(t);
                continue;
            }
        }
        if day.is_none() {
            if let Some(d) = leading_digits(token, 1, 2) {
                day = Some(d);
                continue;
            }
        }
        if month.is_none() {
            if let Some(m) = parse_month(token) {
                month = Some(m);
                continue;
            }
        }
        if year.is_none() {
            if let Some(y) = leading_digits(token, 2, 4) {
                year = Some(y);
                continue;
            }
        }
    }
    let ((hour, minute, second), day, month, year) = (time?, day?, month?, year?);
    let year = match year {
        70..=99 => year + 1900,
        0..=69 => year + 2000,
        y => y,
    };
    if !(1..=31).contains(&day) || year < 1601 || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let days = days_from_civil(i64::from(year), i64::from(month), i64::from(day));
    let seconds = days * 86_400 + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    Some(u64::try_from(seconds).map_or(UNIX_EPOCH, |s| UNIX_EPOCH + Duration::from_secs(s)))
}

/// `hh:mm:ss` (one or two digits each), possibly followed by a non-digit and anything.
fn parse_time(token: &str) -> Option<(u32, u32, u32)> {
    let mut fields = token.splitn(3, ':');
    let hour = fields.next().and_then(|f| exact_digits(f, 1, 2))?;
    let minute = fields.next().and_then(|f| exact_digits(f, 1, 2))?;
    let second = leading_digits(fields.next()?, 1, 2)?;
    Some((hour, minute, second))
}

/// `min` to `max` digits and nothing else.
fn exact_digits(s: &str, min: usize, max: usize) -> Option<u32> {
    if s.len() < min || s.len() > max || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `min` to `max` digits, possibly followed by a non-digit and anything.
fn leading_digits(s: &str, min: usize, max: usize) -> Option<u32> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits < min || digits > max {
        return None;
    }
    s[..digits].parse().ok()
}

fn parse_month(token: &str) -> Option<u32> {
    const MONTHS: [&str; 12] =
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    let prefix = token.get(..3)?.to_ascii_lowercase();
    MONTHS.iter().position(|m| *m == prefix).map(|i| i as u32 + 1)
}

/// Days since 1970-01-01 of a date of the proleptic Gregorian calendar.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn cookie_dates_in_the_usual_formats() {
        let expected = Some(at(1_445_412_480)); // 2015-10-21T07:28:00Z
        assert_eq!(parse_cookie_date("Wed, 21 Oct 2015 07:28:00 GMT"), expected);
        assert_eq!(parse_cookie_date("Wednesday, 21-Oct-15 07:28:00 GMT"), expected);
        assert_eq!(parse_cookie_date("Wed, 21-Oct-2015 07:28:00 GMT"), expected);
        assert_eq!(parse_cookie_date("Wed Oct 21 07:28:00 2015"), expected);
        assert_eq!(parse_cookie_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(UNIX_EPOCH));
        assert_eq!(parse_cookie_date("Tue, 29 Feb 2000 12:00:00 GMT"), Some(at(951_825_600)));
        assert_eq!(parse_cookie_date("Mon, 01 Jan 1900 00:00:00 GMT"), Some(UNIX_EPOCH), "before 1970");
        assert_eq!(parse_cookie_date("tomorrow"), None);
        assert_eq!(parse_cookie_date("Wed, 32 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_cookie_date("Wed, 21 Oct 2015 24:28:00 GMT"), None);
    }

    #[test]
    fn attributes_path_expiry_and_secure() {
        let now = at(1_000_000);
        let c = parse_set_cookie("io=abc; Path=/; HttpOnly; SameSite=Lax", "/socket.io/", now).unwrap();
        assert_eq!((c.name.as_str(), c.value.as_str(), c.path.as_str(), c.expires), ("io", "abc", "/", None));
        let c = parse_set_cookie("a=1", "/socket.io/", now).unwrap();
        assert_eq!(c.path, "/socket.io", "the default path is the request's directory");
        let c = parse_set_cookie("a=1; path=relative; SECURE", "/x/y", now).unwrap();
        assert_eq!((c.path.as_str(), c.secure), ("/x", true));
        let c = parse_set_cookie("a=1; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "/", now).unwrap();
        assert_eq!(c.expires, Some(at(1_000_060)), "Max-Age wins over Expires");
        let c = parse_set_cookie("a=1; Max-Age=0", "/", now).unwrap();
        assert!(c.expired(now));
        let c = parse_set_cookie("a=1; Max-Age=soon; Expires=never", "/", now).unwrap();
        assert_eq!(c.expires, None, "unparseable attributes are ignored");
        assert!(parse_set_cookie("novalue", "/", now).is_none());
        assert!(parse_set_cookie("=1", "/", now).is_none());
        assert_eq!(parse_set_cookie("a=", "/", now).unwrap().value, "");
    }

    #[test]
    fn the_jar_replaces_deletes_and_matches_paths() {
        let jar = CookieJar::new();
        jar.store("io=1; Path=/", "/socket.io/");
        jar.store("lb=node-a; Path=/socket.io", "/socket.io/");
        jar.store("other=x; Path=/api", "/socket.io/");
        jar.store("tls=y; Path=/; Secure", "/socket.io/");
        assert_eq!(jar.header("/socket.io/", false).as_deref(), Some("lb=node-a; io=1"));
        assert_eq!(jar.header("/socket.io/", true).as_deref(), Some("lb=node-a; io=1; tls=y"));
        assert_eq!(jar.header("/socket.iox/", false).as_deref(), Some("io=1"));
        jar.store("io=2; Path=/", "/socket.io/");
        assert_eq!(jar.get("io").as_deref(), Some("2"));
        jar.store("io=gone; Path=/; Max-Age=0", "/socket.io/");
        jar.store("lb=gone; Path=/socket.io; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "/socket.io/");
        assert_eq!(jar.get("io"), None);
        assert_eq!(jar.header("/socket.io/", false), None);
        assert!(path_matches("/a/b", "/a") && path_matches("/a/", "/a/") && !path_matches("/ab", "/a"));
    }
}
