//! Running the real `byok-proxy` binary and reading its logs.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Builds the proxy binary once per test run and returns its path.
fn binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let status = Command::new(env!("CARGO"))
                .args([
                    "build",
                    "--quiet",
                    "-p",
                    "byok-proxy",
                    "--bin",
                    "byok-proxy",
                ])
                .status()
                .expect("cargo runs");
            assert!(status.success(), "building byok-proxy failed");
            // This test binary lives in target/<profile>/deps/.
            let exe = std::env::current_exe().expect("current exe");
            let profile_dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
            profile_dir.join("byok-proxy")
        })
        .clone()
}

/// Runs the proxy with `args` (and an empty environment) until it exits, as a bad setting
/// makes it at start: its exit code, and what it wrote.
///
/// # Panics
///
/// If it does not exit within ten seconds (it is killed first).
#[must_use]
pub fn run_to_exit(args: &[&str]) -> (Option<i32>, String) {
    let mut child = Command::new(binary())
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn byok-proxy");
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("byok-proxy did not exit with {args:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("output");
    let text = String::from_utf8_lossy(&output.stderr).into_owned()
        + &String::from_utf8_lossy(&output.stdout);
    (output.status.code(), text)
}

/// A running proxy; killed on drop.
#[derive(Debug)]
pub struct ProxyProcess {
    child: Child,
    addr: SocketAddr,
    logs: Arc<Mutex<String>>,
}

impl ProxyProcess {
    /// Starts the proxy with `args` and `env`, listening on a free loopback port, logging at
    /// `RUST_LOG` from `env` (TRACE unless given).
    ///
    /// # Panics
    ///
    /// If it does not start within ten seconds.
    #[must_use]
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(binary());
        command
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .env_clear()
            .env("RUST_LOG", "trace")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("spawn byok-proxy");
        let logs = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        for stream in [
            Box::new(child.stderr.take().expect("stderr")) as Box<dyn Read + Send>,
            Box::new(child.stdout.take().expect("stdout")),
        ] {
            let logs = logs.clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(at) = line.find("listening on http://") {
                        let rest = &line[at + "listening on http://".len()..];
                        let addr = rest
                            .trim_end_matches('/')
                            .split('/')
                            .next()
                            .unwrap_or_default();
                        let _ = tx.send(addr.to_owned());
                    }
                    let mut logs = logs.lock().expect("lock");
                    logs.push_str(&line);
                    logs.push('\n');
                }
            });
        }
        let addr = match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(addr) => addr.parse().expect("address"),
            Err(_) => {
                let _ = child.kill();
                let output = logs.lock().expect("lock").clone();
                panic!("byok-proxy did not start:\n{output}");
            }
        };
        Self { child, addr, logs }
    }

    /// The base URL, e.g. `http://127.0.0.1:40123`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The listening address.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The names of the process's threads (Linux: `/proc/<pid>/task/*/comm`), sorted.
    ///
    /// # Panics
    ///
    /// If `/proc` cannot be read.
    #[must_use]
    pub fn thread_names(&self) -> Vec<String> {
        let tasks = format!("/proc/{}/task", self.child.id());
        let mut names: Vec<String> = std::fs::read_dir(tasks)
            .expect("read /proc")
            .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("comm")).ok())
            .map(|name| name.trim().to_owned())
            .collect();
        names.sort();
        names
    }

    /// Everything logged so far, after a short pause for the log threads to catch up.
    #[must_use]
    pub fn logs(&self) -> String {
        std::thread::sleep(Duration::from_millis(200));
        self.logs.lock().expect("lock").clone()
    }
}

impl ProxyProcess {
    /// Sends SIGTERM, as a service manager would on shutdown.
    ///
    /// # Panics
    ///
    /// If `kill` cannot be run.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits up to `limit` for the process to exit; its exit code, if it did.
    ///
    /// # Panics
    ///
    /// If the process cannot be polled.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Some(status) = self.child.try_wait().expect("poll child") {
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for ProxyProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `request` (raw HTTP/1.1 text) to `addr` and returns the status code, so tests can
/// send request targets that HTTP clients would normalize away (`..`, absolute-form).
///
/// # Panics
///
/// If the connection fails or the answer is not HTTP.
#[must_use]
pub fn raw_request(addr: SocketAddr, request: &str) -> u16 {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("write");
    let started = Instant::now();
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    while !response.windows(4).any(|w| w == b"\r\n\r\n")
        && started.elapsed() < Duration::from_secs(10)
    {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&response);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("an HTTP status line")
}
