//! Real `redis-server` processes for the shared-store tests (Debian's, installed by
//! `make tools`): one server, or a three-node Redis Cluster, on free loopback ports with
//! persistence off. Killed on drop.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port free on loopback right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("address").port()
}

fn spawn(port: u16, extra: &[&str], dir: &std::path::Path) -> Child {
    Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
        .args(["--dir", dir.to_str().expect("utf-8 temp dir")])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start redis-server (make tools installs it)")
}

fn wait_ready(port: u16) {
    let started = Instant::now();
    let url = format!("redis://127.0.0.1:{port}/");
    while started.elapsed() < Duration::from_secs(10) {
        if let Ok(mut c) = redis::Client::open(url.as_str()).and_then(|c| c.get_connection())
            && redis::cmd("PING").query::<String>(&mut c).is_ok()
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("redis-server on port {port} did not start");
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "byok-redis-{name}-{}-{}",
        std::process::id(),
        free_port()
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// One `redis-server`.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts a server on a free port.
    ///
    /// # Panics
    ///
    /// If it does not answer within ten seconds.
    #[must_use]
    pub fn start() -> Self {
        let port = free_port();
        let dir = temp_dir("single");
        let child = spawn(port, &[], &dir);
        wait_ready(port);
        Self {
            child: Some(child),
            port,
            dir,
        }
    }

    /// `redis://127.0.0.1:<port>`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops the server (its data is gone: persistence is off).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port, empty.
    ///
    /// # Panics
    ///
    /// If it does not answer within ten seconds.
    pub fn restart(&mut self) {
        self.stop();
        self.child = Some(spawn(self.port, &[], &self.dir));
        wait_ready(self.port);
    }

    /// Every key and a dump of its value (see [`dump_all`]).
    #[must_use]
    pub fn dump(&self) -> Vec<(String, Vec<u8>)> {
        dump_all(&[self.url()])
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A three-node Redis Cluster (no replicas) on loopback.
#[derive(Debug)]
pub struct RedisCluster {
    children: Vec<Child>,
    ports: Vec<u16>,
    dir: PathBuf,
}

impl RedisCluster {
    /// Starts three cluster-enabled servers and joins them with `redis-cli --cluster create`.
    ///
    /// # Panics
    ///
    /// If the cluster is not ready within twenty seconds.
    #[must_use]
    pub fn start() -> Self {
        let dir = temp_dir("cluster");
        let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let children = ports
            .iter()
            .map(|port| {
                let conf = format!("nodes-{port}.conf");
                spawn(
                    *port,
                    &["--cluster-enabled", "yes", "--cluster-config-file", &conf],
                    &dir,
                )
            })
            .collect();
        for port in &ports {
            wait_ready(*port);
        }
        let nodes: Vec<String> = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        let status = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(&nodes)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("run redis-cli --cluster create");
        assert!(status.success(), "redis-cli --cluster create failed");
        let cluster = Self {
            children,
            ports,
            dir,
        };
        let started = Instant::now();
        loop {
            let ok = cluster.ports.iter().all(|port| {
                redis::Client::open(format!("redis://127.0.0.1:{port}/"))
                    .and_then(|c| c.get_connection())
                    .and_then(|mut c| redis::cmd("CLUSTER").arg("INFO").query::<String>(&mut c))
                    .is_ok_and(|info| info.contains("cluster_state:ok"))
            });
            if ok {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the cluster did not become ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        cluster
    }

    /// The nodes' URLs, comma-separated, as `BYOK_REDIS_URL` takes them.
    #[must_use]
    pub fn urls(&self) -> String {
        self.node_urls().join(",")
    }

    /// One node's URL, as a managed service gives one address for a whole cluster.
    #[must_use]
    pub fn node_url(&self, node: usize) -> String {
        self.node_urls().swap_remove(node)
    }

    fn node_urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|p| format!("redis://127.0.0.1:{p}"))
            .collect()
    }

    /// Every key on every node and a dump of its value.
    #[must_use]
    pub fn dump(&self) -> Vec<(String, Vec<u8>)> {
        dump_all(&self.node_urls())
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Every key on each of `urls` (`SCAN`), with its value as Redis serializes it (`DUMP`) and, for
/// strings and hashes, the plain value too (`GET` / `HGETALL`), so a test can search both.
///
/// # Panics
///
/// If a server cannot be read.
#[must_use]
pub fn dump_all(urls: &[String]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for url in urls {
        let mut c = redis::Client::open(url.as_str())
            .and_then(|c| c.get_connection())
            .expect("connect to redis");
        let mut keys: Vec<String> = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("COUNT")
                .arg(100)
                .query(&mut c)
                .expect("SCAN");
            keys.extend(batch);
            if next == 0 {
                break;
            }
            cursor = next;
        }
        for key in keys {
            let mut value: Vec<u8> = redis::cmd("DUMP")
                .arg(&key)
                .query(&mut c)
                .unwrap_or_default();
            let kind: String = redis::cmd("TYPE").arg(&key).query(&mut c).expect("TYPE");
            match kind.as_str() {
                "string" => value.extend(
                    redis::cmd("GET")
                        .arg(&key)
                        .query::<Vec<u8>>(&mut c)
                        .unwrap_or_default(),
                ),
                "hash" => {
                    let fields: Vec<Vec<u8>> = redis::cmd("HGETALL")
                        .arg(&key)
                        .query(&mut c)
                        .unwrap_or_default();
                    fields.iter().for_each(|f| value.extend(f));
                }
                "zset" => {
                    let members: Vec<Vec<u8>> = redis::cmd("ZRANGE")
                        .arg(&key)
                        .arg(0)
                        .arg(-1)
                        .query(&mut c)
                        .unwrap_or_default();
                    members.iter().for_each(|m| value.extend(m));
                }
                _ => {}
            }
            out.push((key, value));
        }
    }
    out
}
