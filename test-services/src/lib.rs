//! Throwaway Redis and Postgres servers for the workspace's tests.
//!
//! Tests that need a bus never use a service the machine happens to run (on 6379 or 5432): they ask
//! this crate for one, and the first request in a test process starts a private server on a free
//! loopback port, in a temporary directory. Later requests get the same server. When the test process
//! ends, a small watchdog shell stops the server and removes its directory.
//!
//! When the program is not installed (`redis-server`; `initdb` and `postgres`, on `PATH` or in
//! Debian's `/usr/lib/postgresql/*/bin`), the request prints one line saying which tests are skipped
//! and why, and returns `None`, so a fresh machine without them still passes its tests. With
//! [`REQUIRE_SERVICES`] set (CI sets it), a missing program fails the test instead.
//!
//! ```no_run
//! # fn test() {
//! let Some(redis) = socketio_test_services::redis() else { return };
//! println!("talk to {}", redis.url());
//! # }
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The environment variable that turns a skip for a missing program into a failure: CI sets it to `1`,
/// so that no service test is ever skipped there.
pub const REQUIRE_SERVICES: &str = "SOCKETIO_REQUIRE_SERVICES";

/// A server started for this test process.
#[derive(Debug)]
pub struct Service {
    kind: &'static str,
    port: u16,
    url: String,
    dir: PathBuf,
    watchdog: Option<Child>,
    /// The server's process id, as its watchdog said.
    pid: Option<u32>,
}

impl Service {
    /// The URL clients connect with: `redis://127.0.0.1:PORT` or
    /// `postgres://postgres@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The TCP port, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The address, for raw connections.
    pub fn addr(&self) -> std::net::SocketAddr {
        std::net::SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// Kills the server with SIGKILL, as a crash would: no goodbye to its clients or its peers. The
    /// watchdog then removes its directory.
    pub fn kill(&self) -> Result<(), String> {
        self.signal("KILL")
    }

    /// Stops the server with SIGSTOP, as a long pause (a stalled machine, a partition) would: its
    /// connections stay open but nothing is answered until [`resume`](Self::resume).
    pub fn pause(&self) -> Result<(), String> {
        self.signal("STOP")
    }

    /// Lets a server stopped by [`pause`](Self::pause) run again (SIGCONT).
    pub fn resume(&self) -> Result<(), String> {
        self.signal("CONT")
    }

    /// Sends signal `name` (`KILL`, `STOP`, ...) to the server process.
    fn signal(&self, name: &str) -> Result<(), String> {
        let Some(pid) = self.pid else { return Err(format!("the pid of {self} is unknown")) };
        let status = Command::new("kill")
            .args([&format!("-{name}"), &pid.to_string()])
            .status()
            .map_err(|e| format!("cannot run kill: {e}"))?;
        if !status.success() {
            return Err(format!("kill -{name} {pid} failed ({status})"));
        }
        Ok(())
    }

    /// Starts a Redis of its own (not the shared one of [`redis()`]) with extra `redis-server`
    /// arguments, for tests that stop it or configure it, and for tools; it stops when dropped.
    /// `Ok(None)`, silently, when `redis-server` is not installed; an error when it does not start.
    pub fn start_redis(extra_args: &[&str]) -> Result<Option<Service>, String> {
        let Some(program) = find_program("redis-server", &[]) else { return Ok(None) };
        retry(|| start_redis_once(&program, extra_args)).map(Some)
    }

    /// Starts a Postgres of its own (not the shared one of [`postgres()`]); it stops when dropped.
    /// `Ok(None)`, silently, when Postgres is not installed; an error when it does not start.
    pub fn start_postgres() -> Result<Option<Service>, String> {
        let (Some(initdb), Some(postgres)) =
            (find_program("initdb", POSTGRES_DIRS), find_program("postgres", POSTGRES_DIRS))
        else {
            return Ok(None);
        };
        retry(|| start_postgres_once(&initdb, &postgres)).map(Some)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        // The watchdog stops the server and removes the directory once its `keep` file is gone.
        let _ = std::fs::remove_file(self.dir.join("keep"));
        if let Some(mut watchdog) = self.watchdog.take() {
            let _ = watchdog.wait();
        }
    }
}

/// The Redis of this test process (started on first use), or `None` after printing why its tests are
/// skipped. Panics if Redis is installed but does not start, or if it is missing and
/// [`REQUIRE_SERVICES`] is set.
pub fn redis() -> Option<&'static Service> {
    static REDIS: OnceLock<Option<Service>> = OnceLock::new();
    REDIS
        .get_or_init(|| {
            shared(Service::start_redis(&[]), || {
                skip("Redis", "`redis-server` is not on PATH", "install Redis (Debian: redis-server)")
            })
        })
        .as_ref()
}

/// The Postgres of this test process (started on first use; superuser `postgres`, no password,
/// database `postgres`), or `None` after printing why its tests are skipped. Panics as [`redis()`].
pub fn postgres() -> Option<&'static Service> {
    static POSTGRES: OnceLock<Option<Service>> = OnceLock::new();
    POSTGRES
        .get_or_init(|| {
            shared(Service::start_postgres(), || {
                skip(
                    "Postgres",
                    "`initdb` and `postgres` are not on PATH nor in /usr/lib/postgresql/*/bin",
                    "install PostgreSQL (Debian: postgresql)",
                )
            })
        })
        .as_ref()
}

/// The Redis Cluster of this test process (three primaries, started on first use), or `None` after
/// printing why its tests are skipped. Panics as [`redis()`].
pub fn redis_cluster() -> Option<&'static RedisCluster> {
    static CLUSTER: OnceLock<Option<RedisCluster>> = OnceLock::new();
    CLUSTER
        .get_or_init(|| match RedisCluster::start(3) {
            Ok(Some(mut cluster)) => {
                // Never dropped: the watchdogs clean up when the process ends.
                for node in &mut cluster.nodes {
                    std::mem::forget(node.watchdog.take());
                }
                Some(cluster)
            }
            Ok(None) => match skip(
                "Redis Cluster",
                "`redis-server` and `redis-cli` are not both on PATH",
                "install Redis (Debian: redis-server and redis-tools)",
            ) {
                Ok(()) => None,
                Err(e) => panic!("{e}"),
            },
            Err(e) => panic!("{e}"),
        })
        .as_ref()
}

/// A local Redis Cluster: every slot covered, each node a [`Service`] of its own (so that a test can
/// stop or kill one); primaries only, or with replicas ([`RedisCluster::start_with_replicas`]).
#[derive(Debug)]
pub struct RedisCluster {
    nodes: Vec<Service>,
    cli: PathBuf,
}

impl RedisCluster {
    /// Starts `size` (at least 3) `redis-server --cluster-enabled yes` on free ports, joins them with
    /// `redis-cli --cluster create` and waits until every node says `cluster_state:ok`; it stops when
    /// dropped. `Ok(None)`, silently, when `redis-server` or `redis-cli` is not installed.
    pub fn start(size: usize) -> Result<Option<RedisCluster>, String> {
        Self::start_with_replicas(size, 0)
    }

    /// Starts `primaries` (at least 3) primaries and `replicas` replicas of each, as
    /// [`start`](Self::start) does; it returns once every replica has synchronised with its primary,
    /// so that a replica can take over when its primary fails (the cluster's node timeout is 2 s).
    pub fn start_with_replicas(primaries: usize, replicas: usize) -> Result<Option<RedisCluster>, String> {
        let (Some(server), Some(cli)) = (find_program("redis-server", &[]), find_program("redis-cli", &[]))
        else {
            return Ok(None);
        };
        retry_cluster(|| start_cluster_once(&server, &cli, primaries.max(3), replicas)).map(Some)
    }

    /// The nodes, in the order they were created: the primaries first (each owning a share of the
    /// slots, in order), then the replicas.
    pub fn nodes(&self) -> &[Service] {
        &self.nodes
    }

    /// The URL of every node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(|n| n.url.clone()).collect()
    }

    /// The seed list of the nodes from the `first`-th on (wrapping around): `127.0.0.1:P1,127.0.0.1:P2,...`,
    /// so that clients given different `first` start from different nodes.
    pub fn seeds_from(&self, first: usize) -> String {
        let n = self.nodes.len().max(1);
        (0..self.nodes.len())
            .map(|i| format!("127.0.0.1:{}", self.nodes[(first + i) % n].port))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The hash slot of `key`, as the cluster computes it (`CLUSTER KEYSLOT`, asked of a live node).
    pub fn slot_of(&self, key: &str) -> Result<u16, String> {
        let reply = self.ask_any(&["CLUSTER", "KEYSLOT", key])?;
        reply.trim().parse().map_err(|_| format!("CLUSTER KEYSLOT {key} answered {reply:?}"))
    }

    /// The index (in [`nodes`](Self::nodes)) of the primary serving `key`'s slot, as the cluster sees it
    /// now (`CLUSTER NODES`, asked of a live node); `None` while no live primary serves it.
    pub fn primary_of(&self, key: &str) -> Result<Option<usize>, String> {
        let slot = self.slot_of(key)?;
        let table = self.ask_any(&["CLUSTER", "NODES"])?;
        for line in table.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 8 {
                continue;
            }
            let flags = fields[2];
            if !flags.split(',').any(|f| f == "master") || flags.contains("fail") {
                continue;
            }
            let serves = fields[8..].iter().any(|range| {
                let (low, high) = range.split_once('-').unwrap_or((range, range));
                matches!((low.parse::<u16>(), high.parse::<u16>()), (Ok(l), Ok(h)) if l <= slot && slot <= h)
            });
            if !serves {
                continue;
            }
            // `127.0.0.1:PORT@BUSPORT`
            let port =
                fields[1].split('@').next().and_then(|a| a.rsplit(':').next()).and_then(|p| p.parse().ok());
            return Ok(port.and_then(|p: u16| self.nodes.iter().position(|n| n.port == p)));
        }
        Ok(None)
    }

    /// The role node `index` says it has now (`ROLE`): `master` or `slave`.
    pub fn role_of(&self, index: usize) -> Result<String, String> {
        let node = self.nodes.get(index).ok_or_else(|| format!("no node {index}"))?;
        let reply = redis_cli(&self.cli, node.port, &["ROLE"])?;
        Ok(reply.lines().next().unwrap_or_default().trim().to_string())
    }

    /// Runs `redis-cli` with `args` against the first node that answers.
    fn ask_any(&self, args: &[&str]) -> Result<String, String> {
        let mut last = String::from("no node");
        for node in &self.nodes {
            match redis_cli(&self.cli, node.port, args) {
                Ok(reply) => return Ok(reply),
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

/// How long `redis-cli` may wait for a server (a paused one never answers).
const REDIS_CLI_TIMEOUT: Duration = Duration::from_secs(3);

/// The output of `redis-cli -p PORT ARGS...`, or an error when it fails or the server does not answer
/// within [`REDIS_CLI_TIMEOUT`].
fn redis_cli(cli: &Path, port: u16, args: &[&str]) -> Result<String, String> {
    let mut child = Command::new(cli)
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", cli.display()))?;
    // The replies asked for are small: they fit in the pipes while the program runs.
    let deadline = Instant::now() + REDIS_CLI_TIMEOUT;
    while child.try_wait().map_err(|e| e.to_string())?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "redis-cli -p {port} {}: no answer within {REDIS_CLI_TIMEOUT:?}",
                args.join(" ")
            ));
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() || text.starts_with("Could not connect") || text.starts_with("ERR") {
        return Err(format!(
            "redis-cli -p {port} {}: {text}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(text)
}

fn retry_cluster(mut start: impl FnMut() -> Result<RedisCluster, String>) -> Result<RedisCluster, String> {
    let mut last = String::new();
    for _ in 0..3 {
        match start() {
            Ok(cluster) => return Ok(cluster),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn start_cluster_once(
    server: &Path,
    cli: &Path,
    primaries: usize,
    replicas: usize,
) -> Result<RedisCluster, String> {
    let size = primaries * (1 + replicas);
    let mut nodes = Vec::with_capacity(size);
    for _ in 0..size {
        // The cluster bus gets a free port of its own rather than the default port + 10000.
        let bus_port = free_port()?.to_string();
        let args = [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            "nodes.conf",
            "--cluster-node-timeout",
            "2000",
            "--cluster-port",
            &bus_port,
        ];
        nodes.push(retry(|| start_redis_once(server, &args))?);
    }
    let mut create = Command::new(cli);
    create.arg("--cluster").arg("create");
    for node in &nodes {
        create.arg(format!("127.0.0.1:{}", node.port));
    }
    create.args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"]).stdin(Stdio::null());
    let out = create.output().map_err(|e| format!("cannot run {}: {e}", cli.display()))?;
    if !out.status.success() {
        return Err(format!(
            "redis-cli --cluster create failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    for node in &nodes {
        while !cluster_ok(node.port) {
            if Instant::now() > deadline {
                return Err(format!(
                    "the Redis Cluster on port {} did not reach cluster_state:ok",
                    node.port
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    // A replica that has not synchronised yet would not be elected when its primary fails.
    for node in &nodes {
        loop {
            let info = redis_cli(cli, node.port, &["INFO", "replication"])?;
            if info.contains("role:master") || info.contains("master_link_status:up") {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("the replica on port {} did not synchronise: {info}", node.port));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(RedisCluster { nodes, cli: cli.to_path_buf() })
}

/// Whether the node on `port` says `cluster_state:ok`.
fn cluster_ok(port: u16) -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"CLUSTER INFO\r\n").is_err() {
        return false;
    }
    let mut reply = Vec::new();
    let mut chunk = [0u8; 4096];
    // The reply is one bulk string; its first lines are all that is needed.
    while !reply.windows(16).any(|w| w == b"cluster_state:ok" || w == b"cluster_state:fa") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => reply.extend_from_slice(&chunk[..n]),
        }
    }
    reply.windows(16).any(|w| w == b"cluster_state:ok")
}

/// Whether CI asked that no service test be skipped ([`REQUIRE_SERVICES`]).
pub fn services_required() -> bool {
    std::env::var(REQUIRE_SERVICES).map(|v| !v.is_empty() && v != "0").unwrap_or(false)
}

fn shared(
    started: Result<Option<Service>, String>,
    missing: impl FnOnce() -> Result<(), String>,
) -> Option<Service> {
    match started {
        Ok(Some(mut service)) => {
            // Never dropped: the watchdog cleans up when the process ends.
            std::mem::forget(service.watchdog.take());
            Some(service)
        }
        Ok(None) => match missing() {
            Ok(()) => None,
            Err(e) => panic!("{e}"),
        },
        Err(e) => panic!("{e}"),
    }
}

const POSTGRES_DIRS: &[&str] = &["/usr/lib/postgresql"];

/// `name` on PATH, or in the newest `<dir>/<version>/bin` of `versioned_dirs`.
fn find_program(name: &str, versioned_dirs: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let candidate = dir.join(name);
        if is_executable(&candidate) {
            return Some(candidate);
        }
    }
    let mut found: Vec<(u32, PathBuf)> = Vec::new();
    for base in versioned_dirs {
        let Ok(entries) = std::fs::read_dir(base) else { continue };
        for entry in entries.flatten() {
            let version = entry.file_name().to_string_lossy().parse::<u32>().unwrap_or(0);
            let candidate = entry.path().join("bin").join(name);
            if is_executable(&candidate) {
                found.push((version, candidate));
            }
        }
    }
    found.into_iter().max_by_key(|(version, _)| *version).map(|(_, path)| path)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

/// Says once per process and service that its tests are skipped, straight to the terminal (the test
/// harness hides what passing tests print); an error instead when [`REQUIRE_SERVICES`] is set.
fn skip(service: &str, why: &str, fix: &str) -> Result<(), String> {
    if services_required() {
        return Err(format!("{service} is required ({REQUIRE_SERVICES} is set) but {why}: {fix}"));
    }
    static SAID: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if !said.iter().any(|s| s == service) {
        said.push(service.to_string());
        let line = format!(
            "\nSKIPPED: the {service} tests of this test binary pass without running: {why}. To run them, {fix}.\n"
        );
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
    Ok(())
}

/// Tries `start` up to three times: a free port found by binding may be taken before the server binds.
fn retry(mut start: impl FnMut() -> Result<Service, String>) -> Result<Service, String> {
    let mut last = String::new();
    for _ in 0..3 {
        match start() {
            Ok(service) => return Ok(service),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn free_port() -> Result<u16, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| format!("no free port: {e}"))
}

/// A new directory under the system's temporary directory, owned by `owner` when given.
fn new_dir(kind: &str, owner: Option<(u32, u32)>) -> Result<PathBuf, String> {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("socketio-test-{kind}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .map_err(|e| format!("cannot hand {} to uid {uid}: {e}", dir.display()))?;
    }
    std::fs::write(dir.join("keep"), b"").map_err(|e| format!("cannot write in {}: {e}", dir.display()))?;
    Ok(dir)
}

/// The shell that runs a server and outlives it: it prints the server's pid, waits while this process
/// lives, the server runs and `DIR/keep` exists, then stops the server with `SIGNAL`, removes `DIR` and,
/// if the server had exited by itself, prints its log.
const WATCHDOG: &str = r#"
parent=$1; dir=$2; signal=$3; shift 3
"$@" >"$dir/server.log" 2>&1 &
server=$!
echo "$server"
alive() { kill -0 "$1" 2>/dev/null || [ -d "/proc/$1" ]; }
while [ -e "$dir/keep" ] && alive "$parent" && kill -0 "$server" 2>/dev/null; do sleep 0.1; done
crashed=
kill -0 "$server" 2>/dev/null || crashed=1
kill -"$signal" "$server" 2>/dev/null
wait "$server"
log=$(tail -n 40 "$dir/server.log" 2>/dev/null)
rm -rf "$dir"
if [ -n "$crashed" ]; then printf '%s\n' "$log"; fi
"#;

fn spawn_watched(
    dir: &Path,
    signal: &str,
    user: Option<(u32, u32)>,
    program: &Path,
    args: &[String],
) -> Result<(Child, BufReader<ChildStdout>, Option<u32>), String> {
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(WATCHDOG)
        .arg("watchdog")
        .arg(std::process::id().to_string())
        .arg(dir)
        .arg(signal)
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    // The watchdog needs `sleep`, `tail` and `rm` whatever PATH the tests run with.
    let mut path = std::env::var_os("PATH").unwrap_or_default();
    path.push(":/usr/bin:/bin");
    command.env("PATH", path);
    if let Some((uid, gid)) = user {
        use std::os::unix::process::CommandExt;
        command.uid(uid).gid(gid);
    }
    let mut child = command.spawn().map_err(|e| format!("cannot run /bin/sh: {e}"))?;
    let Some(stdout) = child.stdout.take() else { return Err("no watchdog output".into()) };
    let mut stdout = BufReader::new(stdout);
    let mut pid = String::new();
    let _ = stdout.read_line(&mut pid);
    Ok((child, stdout, pid.trim().parse().ok()))
}

impl Service {
    /// Waits until `ready` says so, failing if the watchdog (so the server) ended first or after
    /// `limit`; on failure, dropping the service stops what is left.
    fn wait_ready(
        &mut self,
        what: &str,
        mut output: BufReader<ChildStdout>,
        limit: Duration,
        mut ready: impl FnMut() -> bool,
    ) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            if ready() {
                return Ok(());
            }
            let ended = self.watchdog.as_mut().map(|c| matches!(c.try_wait(), Ok(Some(_)))).unwrap_or(true);
            if ended {
                let mut log = String::new();
                let _ = output.read_to_string(&mut log);
                return Err(format!("{what} exited at start:\n{log}"));
            }
            if Instant::now() > deadline {
                return Err(format!("{what} was not ready after {limit:?}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn start_redis_once(program: &Path, extra_args: &[&str]) -> Result<Service, String> {
    let port = free_port()?;
    let dir = new_dir("redis", None)?;
    let mut args: Vec<String> = [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        &dir.to_string_lossy(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra_args.iter().map(|s| s.to_string()));
    let (child, output, pid) = spawn_watched(&dir, "TERM", None, program, &args)?;
    let mut service = Service {
        kind: "redis",
        port,
        url: format!("redis://127.0.0.1:{port}"),
        dir,
        watchdog: Some(child),
        pid,
    };
    let what = format!("redis-server on port {port}");
    service.wait_ready(&what, output, Duration::from_secs(10), || redis_pong(port))?;
    Ok(service)
}

/// Whether a Redis answers PING on `port`.
fn redis_pong(port: u16) -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

/// Postgres refuses to run as root: as root, the server runs as the `postgres` user (or `nobody`).
fn postgres_user() -> Result<Option<(u32, u32)>, String> {
    use std::os::unix::fs::MetadataExt;
    let me = std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(u32::MAX);
    if me != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    for name in ["postgres", "nobody"] {
        for line in passwd.lines() {
            let fields: Vec<&str> = line.split(':').collect();
            if fields.len() > 3 && fields[0] == name {
                if let (Ok(uid), Ok(gid)) = (fields[2].parse(), fields[3].parse()) {
                    return Ok(Some((uid, gid)));
                }
            }
        }
    }
    Err("running as root, and no `postgres` or `nobody` user to run Postgres as".into())
}

fn start_postgres_once(initdb: &Path, postgres: &Path) -> Result<Service, String> {
    let user = postgres_user()?;
    let port = free_port()?;
    let dir = new_dir("postgres", user)?;
    let data = dir.join("data");
    let mut init = Command::new(initdb);
    init.arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "-A", "trust", "--no-sync", "--encoding=UTF8", "--locale=C"])
        .stdin(Stdio::null());
    if let Some((uid, gid)) = user {
        use std::os::unix::process::CommandExt;
        init.uid(uid).gid(gid);
    }
    let out = init.output().map_err(|e| format!("cannot run {}: {e}", initdb.display()))?;
    if !out.status.success() {
        let _ = std::fs::remove_dir_all(&dir);
        return Err(format!(
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let args: Vec<String> = vec![
        "-D".into(),
        data.to_string_lossy().into_owned(),
        "-p".into(),
        port.to_string(),
        "-k".into(),
        dir.to_string_lossy().into_owned(),
        "-c".into(),
        "listen_addresses=127.0.0.1".into(),
        "-c".into(),
        "fsync=off".into(),
        "-c".into(),
        "synchronous_commit=off".into(),
        "-c".into(),
        "full_page_writes=off".into(),
        "-c".into(),
        "max_connections=200".into(),
    ];
    // SIGQUIT: immediate shutdown; the data is thrown away anyway.
    let (child, output, pid) = spawn_watched(&dir, "QUIT", user, postgres, &args)?;
    let mut service = Service {
        pid,
        kind: "postgres",
        port,
        url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        dir,
        watchdog: Some(child),
    };
    let pid_file = data.join("postmaster.pid");
    // The postmaster's pid file ends with its status, `ready` once it accepts connections.
    let ready = || {
        std::fs::read_to_string(&pid_file)
            .map(|s| s.lines().nth(7).map(|l| l.trim() == "ready").unwrap_or(false))
            .unwrap_or(false)
    };
    service.wait_ready(&format!("postgres on port {port}"), output, Duration::from_secs(30), ready)?;
    Ok(service)
}

impl std::fmt::Display for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at {}", self.kind, self.url)
    }
}
