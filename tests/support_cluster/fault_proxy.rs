//! A fault-injecting TCP proxy on 127.0.0.1, for tests and the chaos soak.
//!
//! [`FaultProxy::start`] listens on an OS-picked loopback port and forwards
//! every connection made to [`FaultProxy::addr`] to a target address. Its
//! controls take effect at once on every live connection and on every later
//! one, until changed again:
//!
//! | control | effect |
//! |---|---|
//! | [`delay`](FaultProxy::delay) | each chunk read is held this long before it is written (chunks are not pipelined, so a delay also caps throughput) |
//! | [`throttle`](FaultProxy::throttle) | at most this many bytes per second, in small chunks |
//! | [`stall_reads`](FaultProxy::stall_reads) | stop reading: the sender's socket buffers fill and its TCP window closes (zero window); sockets stay open |
//! | [`freeze`](FaultProxy::freeze) / [`thaw`](FaultProxy::thaw) | stall / resume reads in both directions |
//! | [`blackhole`](FaultProxy::blackhole) | new connections are accepted and held open, never read, never connected to the target |
//! | [`drop_connections`](FaultProxy::drop_connections) | close every live connection now; new ones are served |
//! | [`drop_client_sides`](FaultProxy::drop_client_sides) | close the client's socket of every live connection now, and hold the target's open and silent (a break only the client sees) |
//! | [`cut`](FaultProxy::cut) / [`heal`](FaultProxy::heal) | partition: close every live connection and close new ones at once, until healed (heal also ends a blackhole, closing the connections it held) |
//! | [`drop_probability`](FaultProxy::drop_probability) | each chunk read closes its connection instead, with this probability |
//!
//! Shaping controls ([`Flow`]) apply per direction: [`Direction::ToTarget`]
//! carries what the connecting side sends, [`Direction::ToClient`] what the
//! target answers. [`FaultProxy::stats`] counts connections and bytes, and
//! [`FaultProxy::wait_for`] lets a test wait for a count instead of sleeping.
//! Dropping the proxy closes everything it holds.
//!
//! It depends only on tokio so that any test crate of the workspace (and
//! the soak in `bench/`) can include it with `#[path = ...]`.
#![allow(dead_code, unreachable_pub)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// The most bytes read (and forwarded) at once.
const CHUNK: usize = 16 * 1024;

/// One direction of a proxied connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// What the connecting side (the client) sends to the target.
    ToTarget = 0,
    /// What the target sends back to the client.
    ToClient = 1,
}

/// The directions a shaping control applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Client to target only.
    ToTarget,
    /// Target to client only.
    ToClient,
    /// Both directions.
    Both,
}

impl Flow {
    fn directions(self) -> &'static [Direction] {
        match self {
            Flow::ToTarget => &[Direction::ToTarget],
            Flow::ToClient => &[Direction::ToClient],
            Flow::Both => &[Direction::ToTarget, Direction::ToClient],
        }
    }
}

/// How one direction is shaped.
#[derive(Debug, Clone, Copy, Default)]
struct Shaping {
    delay: Duration,
    bytes_per_sec: Option<u64>,
    stalled: bool,
}

/// What happens to a newly accepted connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Admission {
    #[default]
    Forward,
    Blackhole,
    Refuse,
}

/// Every control's current setting, watched by every connection.
#[derive(Debug, Clone, Default)]
struct Control {
    shaping: [Shaping; 2],
    admission: Admission,
    /// Bumped to close every connection accepted before.
    generation: u64,
    /// Bumped to close the client's side of every connection accepted
    /// before, holding the target's side open.
    client_generation: u64,
    /// Per chunk, in parts of `u64::MAX`.
    drop_threshold: u64,
}

/// What the proxy has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections accepted from clients.
    pub accepted: u64,
    /// Connections the proxy opened to the target.
    pub connected: u64,
    /// Accepted connections not yet closed.
    pub live: u64,
    /// Directions of live connections not reading now because of
    /// [`FaultProxy::stall_reads`] or [`FaultProxy::freeze`].
    pub stalled: u64,
    read: [u64; 2],
    forwarded: [u64; 2],
}

impl Stats {
    /// Bytes read from the sending side in `direction`.
    pub fn bytes_read(&self, direction: Direction) -> u64 {
        self.read[direction as usize]
    }

    /// Bytes written to the receiving side in `direction`.
    pub fn bytes_forwarded(&self, direction: Direction) -> u64 {
        self.forwarded[direction as usize]
    }
}

/// Shared by the accept loop and the connections (never the control's
/// sender, so that dropping the proxy ends them).
#[derive(Debug)]
struct Counters {
    stats: watch::Sender<Stats>,
    /// xorshift state for [`FaultProxy::drop_probability`].
    rng: AtomicU64,
}

impl Counters {
    fn update(&self, change: impl FnOnce(&mut Stats)) {
        self.stats.send_modify(change);
    }

    fn next_random(&self) -> u64 {
        let mut x = self.rng.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.store(x, Ordering::Relaxed);
        x
    }
}

/// A TCP proxy from [`addr`](Self::addr) to a target, with faults on demand.
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    control: watch::Sender<Control>,
    counters: Arc<Counters>,
    accept_loop: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts forwarding `127.0.0.1:<some port>` to `target`, with no fault.
    pub async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the proxy on 127.0.0.1");
        let addr = listener.local_addr().expect("the proxy's address");
        let (control, _) = watch::channel(Control::default());
        let counters = Arc::new(Counters {
            stats: watch::channel(Stats::default()).0,
            rng: AtomicU64::new(0x9e37_79b9_7f4a_7c15),
        });
        let accept_loop = tokio::spawn(accept(
            listener,
            target,
            control.subscribe(),
            counters.clone(),
        ));
        Self {
            addr,
            control,
            counters,
            accept_loop,
        }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Holds each chunk in `flow` for `delay` before writing it
    /// (`Duration::ZERO` for none). Chunks already held get the new delay.
    pub fn delay(&self, flow: Flow, delay: Duration) {
        self.shape(flow, |shaping| shaping.delay = delay);
    }

    /// Forwards at most `bytes_per_sec` in `flow`.
    pub fn throttle(&self, flow: Flow, bytes_per_sec: u64) {
        self.shape(flow, |shaping| {
            shaping.bytes_per_sec = Some(bytes_per_sec.max(1))
        });
    }

    /// Lifts [`throttle`](Self::throttle) in `flow`.
    pub fn unthrottle(&self, flow: Flow) {
        self.shape(flow, |shaping| shaping.bytes_per_sec = None);
    }

    /// Stops reading in `flow`: the sender's writes fill the socket buffers,
    /// then wait on a zero TCP window. Sockets stay open.
    pub fn stall_reads(&self, flow: Flow) {
        self.shape(flow, |shaping| shaping.stalled = true);
    }

    /// Reads (and forwards) again in `flow`.
    pub fn resume_reads(&self, flow: Flow) {
        self.shape(flow, |shaping| shaping.stalled = false);
    }

    /// Stops reading and forwarding in both directions; sockets stay open.
    pub fn freeze(&self) {
        self.stall_reads(Flow::Both);
    }

    /// Undoes [`freeze`](Self::freeze).
    pub fn thaw(&self) {
        self.resume_reads(Flow::Both);
    }

    /// Accepts new connections and holds them open without reading from
    /// them or connecting them to the target, until [`heal`](Self::heal).
    /// Live connections are not affected.
    pub fn blackhole(&self) {
        self.control
            .send_modify(|control| control.admission = Admission::Blackhole);
    }

    /// Closes every live connection (both sockets); new ones are served.
    pub fn drop_connections(&self) {
        self.control.send_modify(|control| control.generation += 1);
    }

    /// Closes the client's socket of every live connection, and holds the
    /// target's socket open without reading or writing it until the
    /// connection is dropped: the client sees the connection end, the
    /// target sees only silence. New connections are served.
    pub fn drop_client_sides(&self) {
        self.control
            .send_modify(|control| control.client_generation += 1);
    }

    /// A partition: closes every live connection, and every new one as soon
    /// as it is accepted, until [`heal`](Self::heal).
    pub fn cut(&self) {
        self.control.send_modify(|control| {
            control.admission = Admission::Refuse;
            control.generation += 1;
        });
    }

    /// Ends a [`cut`](Self::cut) or a [`blackhole`](Self::blackhole) (closing
    /// the connections it held): new connections are forwarded again.
    pub fn heal(&self) {
        self.control
            .send_modify(|control| control.admission = Admission::Forward);
    }

    /// Each chunk read closes its connection instead of being forwarded,
    /// with `probability` (0.0 to 1.0; 0.0, the default, never).
    pub fn drop_probability(&self, probability: f64) {
        let threshold = (probability.clamp(0.0, 1.0) * u64::MAX as f64) as u64;
        self.control
            .send_modify(|control| control.drop_threshold = threshold);
    }

    /// Seeds the random choices of [`drop_probability`](Self::drop_probability).
    pub fn seed(&self, seed: u64) {
        // xorshift must not start at zero.
        self.counters.rng.store(seed | 1, Ordering::Relaxed);
    }

    /// The counts so far.
    pub fn stats(&self) -> Stats {
        *self.counters.stats.borrow()
    }

    /// Waits until the counts satisfy `ready`, and returns them.
    pub async fn wait_for(&self, mut ready: impl FnMut(&Stats) -> bool) -> Stats {
        let mut stats = self.counters.stats.subscribe();
        let seen = stats
            .wait_for(|current| ready(current))
            .await
            .expect("the proxy's counters live as long as the proxy");
        *seen
    }

    fn shape(&self, flow: Flow, change: impl Fn(&mut Shaping)) {
        self.control.send_modify(|control| {
            for &direction in flow.directions() {
                change(&mut control.shaping[direction as usize]);
            }
        });
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Connections end when they see the control's sender gone.
        self.accept_loop.abort();
    }
}

async fn accept(
    listener: TcpListener,
    target: SocketAddr,
    control: watch::Receiver<Control>,
    counters: Arc<Counters>,
) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            // Out of descriptors, most likely: let some close first.
            tokio::task::yield_now().await;
            continue;
        };
        counters.update(|stats| {
            stats.accepted += 1;
            stats.live += 1;
        });
        tokio::spawn(serve(client, target, control.clone(), counters.clone()));
    }
}

/// Counts a connection as closed when its task ends, however it ends.
struct Live(Arc<Counters>);

impl Drop for Live {
    fn drop(&mut self) {
        self.0.update(|stats| stats.live -= 1);
    }
}

/// Counts a direction as stalled while it lives.
struct Stalled<'a>(&'a Counters);

impl<'a> Stalled<'a> {
    fn new(counters: &'a Counters) -> Self {
        counters.update(|stats| stats.stalled += 1);
        Self(counters)
    }
}

impl Drop for Stalled<'_> {
    fn drop(&mut self) {
        self.0.update(|stats| stats.stalled -= 1);
    }
}

async fn serve(
    client: TcpStream,
    target: SocketAddr,
    mut control: watch::Receiver<Control>,
    counters: Arc<Counters>,
) {
    let _live = Live(counters.clone());
    let (admission, generation) = {
        let current = control.borrow_and_update();
        (current.admission, current.generation)
    };
    match admission {
        Admission::Refuse => {}
        Admission::Blackhole => {
            // Hold `client` unread until the blackhole ends or connections drop.
            let _ = control
                .wait_for(|now| {
                    now.admission != Admission::Blackhole || now.generation != generation
                })
                .await;
        }
        Admission::Forward => {
            let outbound = tokio::select! {
                biased;
                _ = closed(&mut control, generation) => return,
                outbound = TcpStream::connect(target) => outbound,
            };
            let Ok(server) = outbound else { return };
            counters.update(|stats| stats.connected += 1);
            forward(client, server, generation, control, &counters).await;
        }
    }
}

/// Pumps both ways until the connection closes; if only the client's side
/// is dropped, holds the target's open and silent until every side is.
async fn forward(
    client: TcpStream,
    server: TcpStream,
    generation: u64,
    mut control: watch::Receiver<Control>,
    counters: &Counters,
) {
    let client_generation = control.borrow().client_generation;
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    // A direction that ends shuts its writer down, as dropping it would:
    // the far side reads the end and closes its own way.
    let to_target = async {
        pump(
            &mut client_read,
            &mut server_write,
            Direction::ToTarget,
            generation,
            control.clone(),
            counters,
        )
        .await;
        let _ = server_write.shutdown().await;
    };
    let to_client = async {
        pump(
            &mut server_read,
            &mut client_write,
            Direction::ToClient,
            generation,
            control.clone(),
            counters,
        )
        .await;
        let _ = client_write.shutdown().await;
    };
    let pumps = async {
        tokio::join!(to_target, to_client);
        false
    };
    let mut client_control = control.clone();
    let client_dropped = async {
        let _ = client_control
            .wait_for(|now| now.client_generation != client_generation)
            .await;
        true
    };
    let client_dropped = tokio::select! {
        biased;
        dropped = client_dropped => dropped,
        dropped = pumps => dropped,
    };
    if client_dropped {
        drop((client_read, client_write));
        closed(&mut control, generation).await;
    }
}

/// Resolves when connections of `generation` must close (or the proxy is gone).
async fn closed(control: &mut watch::Receiver<Control>, generation: u64) {
    let _ = control.wait_for(|now| now.generation != generation).await;
}

/// Copies `from` to `to` as the controls say, until the connection must close.
async fn pump(
    from: &mut OwnedReadHalf,
    to: &mut OwnedWriteHalf,
    direction: Direction,
    generation: u64,
    mut control: watch::Receiver<Control>,
    counters: &Counters,
) {
    let mut buffer = vec![0; CHUNK];
    while let Some(shaping) = readable(&mut control, direction, generation, counters).await {
        let limit = shaping
            .bytes_per_sec
            .map_or(CHUNK, |rate| (rate / 10).clamp(1, CHUNK as u64) as usize);
        let read = tokio::select! {
            // A control change first: a stall must win over bytes already there.
            biased;
            changed = control.changed() => match changed {
                Ok(()) => continue,
                Err(_) => return,
            },
            read = from.read(&mut buffer[..limit]) => read,
        };
        let n = match read {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        counters.update(|stats| stats.read[direction as usize] += n as u64);
        if !hold(&mut control, direction, generation, Instant::now(), n).await {
            return;
        }
        let drop_threshold = control.borrow().drop_threshold;
        if drop_threshold > 0 && counters.next_random() <= drop_threshold {
            return;
        }
        tokio::select! {
            biased;
            _ = closed(&mut control, generation) => return,
            written = to.write_all(&buffer[..n]) => if written.is_err() { return },
        }
        counters.update(|stats| stats.forwarded[direction as usize] += n as u64);
    }
}

/// Waits until `direction` may be read; `None` when the connection must close.
async fn readable(
    control: &mut watch::Receiver<Control>,
    direction: Direction,
    generation: u64,
    counters: &Counters,
) -> Option<Shaping> {
    let stalled = control.borrow_and_update().shaping[direction as usize].stalled;
    let _stalled = stalled.then(|| Stalled::new(counters));
    let now = control
        .wait_for(|now| now.generation != generation || !now.shaping[direction as usize].stalled)
        .await
        .ok()?;
    (now.generation == generation).then(|| now.shaping[direction as usize])
}

/// Holds a chunk of `n` bytes read at `read_at` for the delay and the
/// throttle, following changes to either; `false` when the connection must close.
async fn hold(
    control: &mut watch::Receiver<Control>,
    direction: Direction,
    generation: u64,
    read_at: Instant,
    n: usize,
) -> bool {
    loop {
        let (shaping, current) = {
            let now = control.borrow_and_update();
            (now.shaping[direction as usize], now.generation)
        };
        if current != generation {
            return false;
        }
        let pacing = shaping.bytes_per_sec.map_or(Duration::ZERO, |rate| {
            Duration::from_secs_f64(n as f64 / rate as f64)
        });
        let until = read_at + shaping.delay + pacing;
        if until <= Instant::now() {
            return true;
        }
        tokio::select! {
            biased;
            changed = control.changed() => if changed.is_err() { return false },
            () = tokio::time::sleep_until(until) => return true,
        }
    }
}
