//! The axum_service example as a user runs it: HTTP requests reach the
//! actors and come back, and shutting the server down drains every
//! message it accepted.

mod support_cluster;

use std::net::SocketAddr;
use std::process::Stdio;

use support_cluster::{example_binary, within};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdout, Command};

/// One HTTP/1.1 request on a fresh connection; the status and the body.
async fn request(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr)
        .await
        .expect("connect to the service");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(head.as_bytes())
        .await
        .expect("send the request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .await
        .expect("read the response");
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("an HTTP response: {response:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("a status line: {head:?}"));
    (status, body.to_owned())
}

/// The example, running; killed on drop if the test fails first.
struct Service {
    child: Child,
    lines: Lines<BufReader<ChildStdout>>,
    addr: SocketAddr,
}

impl Service {
    async fn start() -> Self {
        let mut child = Command::new(example_binary("axum_service"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("start the axum_service example");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = within("the LISTENING line", lines.next_line())
            .await
            .expect("read its stdout")
            .expect("it prints LISTENING before anything else");
        let url = line
            .strip_prefix("LISTENING http://")
            .expect("LISTENING <url>");
        let addr = url.trim_end_matches('/').parse().expect("an address");
        Self { child, lines, addr }
    }

    /// Closes its stdin (its signal to shut down) and returns its last line.
    async fn shut_down(mut self) -> String {
        drop(self.child.stdin.take());
        let line = within("the DRAINED line", self.lines.next_line())
            .await
            .expect("read its stdout")
            .expect("it prints DRAINED before it exits");
        let status = within("the example to exit", self.child.wait())
            .await
            .expect("wait for it");
        assert!(status.success(), "it exits cleanly: {status}");
        line
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_reach_the_actors_and_come_back() {
    let service = Service::start().await;
    let addr = service.addr;
    assert_eq!(request(addr, "GET", "/count").await, (200, "0".to_owned()));
    for _ in 0..3 {
        assert_eq!(request(addr, "POST", "/count").await.0, 202);
    }
    // Each increment was queued before its 202; the ask queues behind them.
    assert_eq!(request(addr, "GET", "/count").await, (200, "3".to_owned()));

    let (status, hello) = request(addr, "GET", "/hash/hello").await;
    assert_eq!(status, 200);
    assert_eq!(hello.len(), 16, "a 64-bit hash in hex: {hello:?}");
    assert_eq!(request(addr, "GET", "/hash/hello").await.1, hello);
    assert_ne!(request(addr, "GET", "/hash/world").await.1, hello);
    assert_eq!(request(addr, "GET", "/nowhere").await.0, 404);
    #[cfg(feature = "dashboard")]
    {
        let (status, page) = request(addr, "GET", "/proscenium").await;
        assert_eq!(status, 200, "the live view is mounted: {page}");
        assert!(page.contains("<html"), "{page}");
    }
    assert_eq!(service.shut_down().await, "DRAINED count=3");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_drains_every_accepted_message() {
    let service = Service::start().await;
    let addr = service.addr;
    let mut accepted = 0;
    let burst: Vec<_> = (0..200)
        .map(|_| tokio::spawn(async move { request(addr, "POST", "/count").await.0 }))
        .collect();
    for request in burst {
        if request.await.expect("the request task") == 202 {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 200, "a bounded mailbox of 1024 takes them all");
    // Shut down at once, while increments may still be queued (each takes
    // a moment): every accepted one must still be counted.
    assert_eq!(
        service.shut_down().await,
        format!("DRAINED count={accepted}")
    );
}
