//! The dashboard over real HTTP on 127.0.0.1 (feature `dashboard`): the
//! page and its assets are served, `api/cluster` is the cluster snapshot,
//! `api/events` streams snapshots with rates and logs restarts, dead
//! letters and nodes that stop answering; the token, the loopback rule,
//! nesting under a prefix and shutdown with an open stream.
//!
//! A few lines of HTTP/1.1 by hand (below) are the client: enough for
//! GETs and a chunked event stream, and no HTTP client to build.

mod support_cluster;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use proscenium::net::dashboard::{Dashboard, DashboardError, DashboardServer};
use proscenium::net::{ClusterSnapshot, Node, NodeEvent};
use proscenium::prelude::*;
use serde_json::Value;
use support_cluster::{in_process_node, member_event, within};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Notify;

const LOOPBACK: ([u8; 4], u16) = ([127, 0, 0, 1], 0);

/// Two cluster members: `alpha`, which serves, and `beta`.
async fn two_members() -> (Node, Node) {
    let alpha = in_process_node("alpha", true, |b| b.cluster()).await;
    let seed = alpha.local_addr().expect("alpha listens");
    let mut events = alpha.events();
    let beta = in_process_node("beta", true, |b| b.cluster().seeds([seed])).await;
    if alpha.members().len() < 2 {
        member_event(
            &mut events,
            "beta up",
            |event| matches!(event, NodeEvent::MemberUp { name, .. } if name == "beta"),
        )
        .await;
    }
    (alpha, beta)
}

async fn serve(dashboard: Dashboard) -> DashboardServer {
    dashboard.serve(LOOPBACK).await.expect("serve on loopback")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_page_its_assets_and_the_cluster_snapshot() {
    let (alpha, beta) = two_members().await;
    let server = serve(Dashboard::new(alpha.clone())).await;
    let addr = server.local_addr();
    assert_eq!(server.url(), format!("http://{addr}/"));

    let page = get(addr, "/", &[]).await;
    assert_eq!(page.status, 200);
    assert!(page.header("content-type").starts_with("text/html"));
    for part in [
        "src=\"app.js\"",
        "href=\"style.css\"",
        "id=\"trees\"",
        "id=\"chart\"",
    ] {
        assert!(page.body.contains(part), "the page has {part}");
    }
    let script = get(addr, "/app.js", &[]).await;
    assert_eq!(script.status, 200);
    assert!(script.header("content-type").starts_with("text/javascript"));
    assert!(script.body.contains("api/events"));
    assert_eq!(get(addr, "/style.css", &[]).await.status, 200);

    let cluster = get(addr, "/api/cluster", &[]).await;
    assert_eq!(cluster.status, 200);
    let snapshot: ClusterSnapshot = serde_json::from_str(&cluster.body).expect("a ClusterSnapshot");
    assert_eq!(snapshot.taken_by, alpha.id());
    let names: Vec<_> = snapshot.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["alpha", "beta"]);
    assert_eq!(
        snapshot.answered().count(),
        2,
        "both answered: {snapshot:?}"
    );

    server.shutdown().await;
    beta.shutdown().await;
    alpha.shutdown().await;
}

/// Counts what it is told.
#[derive(Default)]
struct Tally(u64);
impl Actor for Tally {}
struct Count;
impl Message for Count {
    type Reply = u64;
}
impl Handler<Count> for Tally {
    async fn handle(&mut self, _: Count, _: &mut Context<Self>) -> u64 {
        self.0 += 1;
        self.0
    }
}

/// Panics when told to.
struct Crashy;
impl Actor for Crashy {}
struct Crash;
impl Message for Crash {
    type Reply = ();
}
impl Handler<Crash> for Crashy {
    async fn handle(&mut self, _: Crash, _: &mut Context<Self>) {
        panic!("crash on purpose");
    }
}

/// Holds each message until its gate opens, so the next ones wait.
struct Stuck(Arc<Notify>);
impl Actor for Stuck {}
struct Hold;
impl Message for Hold {
    type Reply = ();
}
impl Handler<Hold> for Stuck {
    async fn handle(&mut self, _: Hold, _: &mut Context<Self>) {
        self.0.notified().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_shows_rates_restarts_dead_letters_and_silent_nodes() {
    let (alpha, beta) = two_members().await;
    let shop = Supervisor::new(SupervisorStrategy::one_for_one())
        .child(ChildSpec::new(Tally::default).name("tally"))
        .child(ChildSpec::new(|| Crashy).name("crashy"));
    alpha
        .system()
        .spawn_named("shop", shop)
        .unwrap()
        .wait_started()
        .await
        .unwrap();
    let tally = alpha.system().lookup::<Tally>("tally").unwrap();
    let server = serve(Dashboard::new(alpha.clone()).interval(Duration::from_millis(50))).await;
    let mut events = EventStream::open(server.local_addr(), "/api/events", &[]).await;

    let hello = events.next_named("hello").await;
    assert_eq!(hello["interval_ms"], 50);
    let first = events.next_named("snapshot").await;
    let nodes: Vec<_> = first["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["name"].clone())
        .collect();
    assert_eq!(nodes, ["alpha", "beta"]);
    let tree = &first["nodes"][0]["tree"];
    let row = |name: &str| {
        tree.as_array()
            .unwrap()
            .iter()
            .find(|actor| actor["names"][0] == name)
            .unwrap_or_else(|| panic!("{name} in alpha's tree: {tree}"))
            .clone()
    };
    assert_eq!(row("shop")["depth"], 0);
    assert_eq!(row("tally")["depth"], 1);
    assert_eq!(row("crashy")["short_type"], "Crashy");

    for _ in 0..10 {
        tally.ask(Count).await.unwrap();
    }
    // The first snapshot that counts all ten has a previous one that did
    // not: its rate cannot be zero.
    let (tally_row, view) = loop {
        let view = events.next_named("snapshot").await;
        let tally_row = view["nodes"][0]["tree"]
            .as_array()
            .unwrap()
            .iter()
            .find(|actor| actor["names"][0] == "tally")
            .unwrap()
            .clone();
        if tally_row["messages_handled"] == 10 {
            break (tally_row, view);
        }
    };
    assert!(
        tally_row["rate"].as_f64().unwrap() > 0.0,
        "tally has a rate: {tally_row}"
    );
    assert!(view["nodes"][0]["rate"].as_f64().unwrap() > 0.0);
    assert!(view["total_rate"].as_f64().unwrap() > 0.0);

    let crashy = alpha.system().lookup::<Crashy>("crashy").unwrap();
    crashy.tell(Crash).await.unwrap();
    let restart = events.next_named("restart").await;
    assert_eq!(restart["node"], "alpha");
    assert_eq!(restart["actor"], crashy.id().to_string());

    // Killed with at least one `Hold` queued: a kill waits for the
    // handler under way, which waits for the gate.
    let gate = Arc::new(Notify::new());
    let stuck = alpha.system().spawn(Stuck(Arc::clone(&gate))).unwrap();
    stuck.tell(Hold).await.unwrap();
    stuck.tell(Hold).await.unwrap();
    stuck.kill();
    gate.notify_one();
    let letter = events.next_named("dead_letter").await;
    assert_eq!(letter["node"], "alpha");
    assert_eq!(letter["actor"], stuck.id().to_string());
    assert!(
        letter["text"].as_str().unwrap().contains("Hold"),
        "{letter}"
    );

    beta.shutdown().await;
    let silent = events.next_named("node").await;
    assert_eq!(silent["node"], "beta");
    loop {
        let view = events.next_named("snapshot").await;
        let beta = view["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["name"] == "beta")
            .cloned();
        // Gone from the member list, or listed without a snapshot.
        match beta {
            None => break,
            Some(beta) if !beta["error"].is_null() => break,
            Some(_) => continue,
        }
    }

    // An open stream does not hold the shutdown up: it ends.
    server.shutdown().await;
    events.until_end().await;
    alpha.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_guards_the_page_and_its_api() {
    let node = in_process_node("alpha", false, |b| b).await;
    let server = serve(Dashboard::new(node.clone()).token("let-me-in")).await;
    let addr = server.local_addr();
    for path in ["/", "/api/cluster", "/api/events"] {
        let refused = get(addr, path, &[]).await;
        assert_eq!(refused.status, 401, "{path} without the token");
        assert_eq!(refused.header("www-authenticate"), "Bearer");
        let wrong = get(addr, &format!("{path}?token=let-me-out"), &[]).await;
        assert_eq!(wrong.status, 401, "{path} with a wrong token");
    }
    assert_eq!(get(addr, "/?token=let-me-in", &[]).await.status, 200);
    let bearer = [("Authorization", "Bearer let-me-in")];
    assert_eq!(get(addr, "/api/cluster", &bearer).await.status, 200);
    let mut events = EventStream::open(addr, "/api/events?token=let-me-in", &[]).await;
    events.next_named("hello").await;
    // The assets hold no data and the page cannot pass the token to them.
    assert_eq!(get(addr, "/app.js", &[]).await.status, 200);
    drop(events);
    server.shutdown().await;
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_loopback_unless_allowed() {
    let node = in_process_node("alpha", false, |b| b).await;
    let anywhere: SocketAddr = "0.0.0.0:0".parse().unwrap();
    match Dashboard::new(node.clone()).serve(anywhere).await {
        Err(DashboardError::NotLoopback(addr)) => assert_eq!(addr, anywhere),
        other => panic!("0.0.0.0 refused, got {other:?}"),
    }
    let ipv6_loopback: SocketAddr = "[::1]:0".parse().unwrap();
    if let Ok(server) = Dashboard::new(node.clone()).serve(ipv6_loopback).await {
        // (A host without IPv6 cannot bind it, which is not the point here.)
        server.shutdown().await;
    }
    node.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nests_under_a_prefix() {
    let node = in_process_node("alpha", false, |b| b).await;
    let dashboard = Dashboard::new(node.clone());
    let app = axum::Router::new()
        .route("/", axum::routing::get(|| async { "the application" }))
        .nest("/proscenium", dashboard.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let closing = dashboard.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
                closing.close();
            })
            .await
    });

    // `nest` answers `/proscenium`, not `/proscenium/`: the page's base
    // puts its relative URLs under the prefix.
    let page = get(addr, "/proscenium?token=x", &[]).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<base href=\"proscenium/\">"));
    assert!(page.body.contains("src=\"app.js\""));
    assert_eq!(get(addr, "/proscenium/app.js", &[]).await.status, 200);
    assert_eq!(get(addr, "/proscenium/api/cluster", &[]).await.status, 200);
    assert_eq!(get(addr, "/", &[]).await.body, "the application");

    let mut events = EventStream::open(addr, "/proscenium/api/events", &[]).await;
    events.next_named("snapshot").await;
    stop.send(()).unwrap();
    events.until_end().await;
    within("the server's graceful shutdown", server)
        .await
        .unwrap()
        .unwrap();
    node.shutdown().await;
}

// ===== A minimal HTTP/1.1 client =====

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map_or("", |(_, v)| v.as_str())
    }
}

async fn send_request(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> TcpStream {
    let mut stream = within("connect", TcpStream::connect(addr)).await.unwrap();
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

/// The head of a response (with an empty body), and what followed it.
fn parse_head(raw: &[u8]) -> Option<(Response, Vec<u8>)> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let head = Response {
        status,
        headers,
        body: String::new(),
    };
    Some((head, raw[end + 4..].to_vec()))
}

/// Reads a response's head from `stream`; returns it and the bytes after it.
async fn read_head(stream: &mut TcpStream) -> (Response, Vec<u8>) {
    let mut raw = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        let n = within("a response's head", stream.read(&mut buffer))
            .await
            .unwrap();
        assert!(n > 0, "the connection closed before the response's head");
        raw.extend_from_slice(&buffer[..n]);
        if let Some(head) = parse_head(&raw) {
            return head;
        }
    }
}

/// GETs `path`; a streamed response is read only up to its head.
async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Response {
    let mut stream = send_request(addr, path, headers).await;
    let (mut response, mut body) = read_head(&mut stream).await;
    if response.header("content-type") != "text/event-stream" {
        within("the body", stream.read_to_end(&mut body))
            .await
            .unwrap();
        if response.header("transfer-encoding") == "chunked" {
            let mut raw = std::mem::take(&mut body);
            body = dechunk(&mut raw).0;
        }
    }
    response.body = String::from_utf8(body).unwrap();
    response
}

/// The data of the complete chunks in `raw` (removed from it), and
/// whether the last chunk was among them.
fn dechunk(raw: &mut Vec<u8>) -> (Vec<u8>, bool) {
    let mut data = Vec::new();
    loop {
        let Some(line_end) = raw.windows(2).position(|w| w == b"\r\n") else {
            return (data, false);
        };
        let size_text = std::str::from_utf8(&raw[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        let chunk_end = line_end + 2 + size + 2;
        if raw.len() < chunk_end {
            return (data, false);
        }
        data.extend_from_slice(&raw[line_end + 2..line_end + 2 + size]);
        raw.drain(..chunk_end);
        if size == 0 {
            return (data, true);
        }
    }
}

/// A server-sent event stream, read event by event.
struct EventStream {
    stream: TcpStream,
    /// Chunked bytes not decoded yet.
    raw: Vec<u8>,
    /// Decoded text not yet split into events.
    text: String,
    ended: bool,
}

impl EventStream {
    async fn open(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Self {
        let mut stream = send_request(addr, path, headers).await;
        let (head, rest) = read_head(&mut stream).await;
        assert_eq!(head.status, 200);
        assert_eq!(head.header("content-type"), "text/event-stream");
        Self {
            stream,
            raw: rest,
            text: String::new(),
            ended: false,
        }
    }

    /// The next event, name and data; `None` at the end of the stream.
    async fn next(&mut self) -> Option<(String, String)> {
        loop {
            if let Some(end) = self.text.find("\n\n") {
                let block: String = self.text.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = value.trim_start().to_owned();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim_start());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some((name, data));
            }
            if self.ended {
                return None;
            }
            let (data, last) = dechunk(&mut self.raw);
            self.text.push_str(std::str::from_utf8(&data).unwrap());
            if last {
                self.ended = true;
                continue;
            }
            let mut buffer = [0u8; 16384];
            let n = self.stream.read(&mut buffer).await.unwrap();
            if n == 0 {
                self.ended = true;
            }
            self.raw.extend_from_slice(&buffer[..n]);
        }
    }

    /// The data of the next event called `name`, as JSON.
    async fn next_named(&mut self, name: &str) -> Value {
        within(&format!("a `{name}` event"), async {
            loop {
                let (event, data) = self.next().await.expect("the stream ended");
                if event == name {
                    return serde_json::from_str(&data).unwrap();
                }
            }
        })
        .await
    }

    async fn until_end(&mut self) {
        within("the end of the stream", async {
            while self.next().await.is_some() {}
        })
        .await;
    }
}
