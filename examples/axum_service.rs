//! Proscenium inside an axum HTTP service: handlers ask actors, each
//! request's span follows it into the actor, the live dashboard is mounted
//! beside the API, and shutdown drains the actors.
//!
//! Run with:
//!
//! ```sh
//! cargo run --example axum_service --features dashboard -- [--port 8080]
//! ```
//!
//! Then try `curl -X POST localhost:8080/count`, `curl localhost:8080/count`,
//! `curl localhost:8080/hash/hello`, and open <http://127.0.0.1:8080/proscenium>
//! for the live view (with the `dashboard` feature; without it the rest
//! works the same). It prints `LISTENING <url>` once it
//! serves, and runs until Ctrl-C or until its standard input closes; then it
//! stops taking requests, lets every actor handle what is queued, and prints
//! `DRAINED count=<n>` (the counter's final value).
//!
//! - `GET /count` asks a supervised counter for its value;
//! - `POST /count` tells it to add one and answers `202 Accepted` once the
//!   message is queued (a bounded mailbox holds the request back when full);
//! - `GET /hash/{text}` asks a pool of four workers, least loaded first;
//! - every request runs in a `tracing` span (`request{id=7 route=...}`) that
//!   the message carries into the actor, so the actor's log lines sit in the
//!   span of the request they serve (`RUST_LOG=info` shows them).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use proscenium::net::Node;
use proscenium::prelude::*;
use proscenium::LeastLoaded;
use tokio::io::AsyncReadExt;
use tokio::sync::oneshot;
use tracing::Instrument;

/// Counts what the service was told to count.
struct Counter {
    count: u64,
    /// Where the final count goes when the counter stops for good.
    drained: Option<Arc<std::sync::Mutex<Option<oneshot::Sender<u64>>>>>,
}

impl Actor for Counter {
    fn mailbox() -> Mailbox {
        Mailbox::Bounded(1024)
    }

    async fn on_stop(&mut self, _: &mut Context<Self>, _: &StopReason) {
        let sender = self
            .drained
            .as_ref()
            .and_then(|slot| slot.lock().ok()?.take());
        if let Some(sender) = sender {
            let _ = sender.send(self.count);
        }
    }
}

/// Adds one; carries the span of the request that sent it.
#[derive(Message)]
struct Increment(tracing::Span);

impl Handler<Increment> for Counter {
    async fn handle(&mut self, Increment(span): Increment, _: &mut Context<Self>) {
        async {
            self.count += 1;
            // Slow enough that a burst queues up: shutdown must drain it.
            tokio::time::sleep(Duration::from_micros(200)).await;
            tracing::info!(count = self.count, "counted");
        }
        .instrument(span)
        .await;
    }
}

/// Asks for the count.
#[derive(Message)]
#[message(reply = u64)]
struct Count(tracing::Span);

impl Handler<Count> for Counter {
    async fn handle(&mut self, Count(span): Count, _: &mut Context<Self>) -> u64 {
        span.in_scope(|| tracing::info!(count = self.count, "read"));
        self.count
    }
}

/// Hashes text, a little expensively, on one of the pool's workers.
#[derive(Default)]
struct Hasher;

impl Actor for Hasher {}

#[derive(Message)]
#[message(reply = String)]
struct Hash {
    text: String,
    span: tracing::Span,
}

impl Handler<Hash> for Hasher {
    async fn handle(&mut self, Hash { text, span }: Hash, ctx: &mut Context<Self>) -> String {
        let _entered = span.enter();
        let digest = stretched_fnv1a(text.as_bytes());
        tracing::info!(worker = %ctx.id(), "hashed");
        format!("{digest:016x}")
    }
}

/// FNV-1a, applied a thousand times over: work worth a pool.
fn stretched_fnv1a(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325_u64;
    for _ in 0..1_000 {
        for &byte in bytes {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

/// What the HTTP handlers share: refs, which are cheap to clone.
#[derive(Clone)]
struct App {
    counter: Counters,
    hashers: Arc<Pool<Hasher, LeastLoaded>>,
    requests: Arc<AtomicU64>,
}

/// The counter, looked up by name on each request: its supervisor may
/// have restarted it (same ref), or replaced it after a stop.
#[derive(Clone)]
struct Counters(System);

impl Counters {
    fn get(&self) -> Result<ActorRef<Counter>, StatusCode> {
        self.0
            .lookup::<Counter>("counter")
            .ok_or(StatusCode::SERVICE_UNAVAILABLE)
    }
}

impl App {
    fn request_span(&self, route: &'static str) -> tracing::Span {
        let id = self.requests.fetch_add(1, Ordering::Relaxed);
        tracing::info_span!("request", id, route)
    }
}

async fn read_count(State(app): State<App>) -> Result<String, StatusCode> {
    let span = app.request_span("GET /count");
    let counter = app.counter.get()?;
    let count = counter
        .ask(Count(span.clone()))
        .instrument(span)
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    Ok(count.to_string())
}

async fn increment(State(app): State<App>) -> StatusCode {
    let span = app.request_span("POST /count");
    let Ok(counter) = app.counter.get() else {
        return StatusCode::SERVICE_UNAVAILABLE;
    };
    match counter.tell(Increment(span.clone())).instrument(span).await {
        Ok(()) => StatusCode::ACCEPTED,
        Err(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

async fn hash(State(app): State<App>, Path(text): Path<String>) -> Result<String, StatusCode> {
    let span = app.request_span("GET /hash");
    let message = Hash {
        text,
        span: span.clone(),
    };
    app.hashers
        .ask(message)
        .instrument(span)
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)
}

/// The port from `--port N`; 0 (any free port) by default.
fn port() -> Result<u16, Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    match (args.next().as_deref(), args.next()) {
        (None, _) => Ok(0),
        (Some("--port"), Some(port)) => Ok(port.parse()?),
        _ => Err("usage: axum_service [--port N]".into()),
    }
}

/// Resolves on Ctrl-C or when standard input closes.
async fn shutdown_requested() {
    let stdin_closed = async {
        let mut stdin = tokio::io::stdin();
        let mut buf = [0u8; 256];
        while matches!(stdin.read(&mut buf).await, Ok(n) if n > 0) {}
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = stdin_closed => {}
    }
}

/// A secret for a node that talks to no other: nobody else needs to know it.
fn private_secret() -> String {
    use std::hash::{BuildHasher, Hasher as _};
    (0..4)
        .map(|_| {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_u8(0);
            format!("{:016x}", hasher.finish())
        })
        .collect()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let node = Node::builder("web")
        .secret(private_secret())
        .start()
        .await?;
    let system = node.system().clone();

    let (drained_tx, drained) = oneshot::channel();
    let drained_slot = Arc::new(std::sync::Mutex::new(Some(drained_tx)));
    let counter = ChildSpec::new(move || Counter {
        count: 0,
        drained: Some(Arc::clone(&drained_slot)),
    })
    .name("counter");
    let app_supervisor = Supervisor::new(SupervisorStrategy::one_for_one()).child(counter);
    system
        .spawn_named("app", app_supervisor)?
        .wait_started()
        .await?;
    let hashers = Pool::builder(|| Hasher)
        .size(4)
        .router(LeastLoaded::default())
        .spawn(&system)
        .await?;

    let app = App {
        counter: Counters(system.clone()),
        hashers: Arc::new(hashers),
        requests: Arc::default(),
    };
    let api = Router::new()
        .route("/count", get(read_count).post(increment))
        .route("/hash/{text}", get(hash))
        .with_state(app);
    // The live view beside the API: the same node, read-only, under /proscenium.
    #[cfg(feature = "dashboard")]
    let dashboard = proscenium::net::dashboard::Dashboard::new(node.clone());
    #[cfg(feature = "dashboard")]
    let api = api.nest("/proscenium", dashboard.router());

    let listener =
        tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port()?))).await?;
    println!("LISTENING http://{}/", listener.local_addr()?);
    let shutdown = async move {
        shutdown_requested().await;
        // Open event streams of the live view would hold the server up.
        #[cfg(feature = "dashboard")]
        dashboard.close();
    };
    axum::serve(listener, api)
        .with_graceful_shutdown(shutdown)
        .await?;

    // No request is in flight any more: stop the actors, children first,
    // each after handling what is queued.
    node.shutdown().await;
    let count = drained.await?;
    println!("DRAINED count={count}");
    Ok(())
}
