//! Structured fuzzing on stable Rust: a seeded generator of valid inputs
//! plus byte-level mutation, run against the frame codec, the handshake and
//! a live node's inbound dispatcher. cargo-fuzz needs a nightly toolchain;
//! this needs none, and replays any failure from its seed.
//!
//! Each test runs `PROSCENIUM_FUZZ_INPUTS` inputs (a short run by default,
//! which CI does) from seed `PROSCENIUM_FUZZ_SEED`, and counts panics
//! anywhere in the process, including inside the node's tasks, where tokio
//! would otherwise swallow them. The soak (see BENCHMARKS.md, "Fuzzing"):
//!
//! ```text
//! PROSCENIUM_FUZZ_INPUTS=10000000 cargo test --release -p proscenium-net \
//!     --test fuzz_soak -- --nocapture --test-threads 1
//! ```
//!
//! * **codec**: streams of valid frames of every kind, mutated (bit flips,
//!   boundary values, huge varint lengths, cuts, splices) or replaced by
//!   random bytes, fed to `FrameCodec` in random pieces. Oracle: no panic,
//!   no reservation beyond one frame, and an unmutated stream decodes to
//!   exactly the frames that were encoded.
//! * **handshake**: two handshake machines with the same secret talk to
//!   each other while messages in transit are mutated, replaced, replayed
//!   or reflected to their sender. Oracle: no panic; untouched, both sides
//!   are established; whenever a side is established, it names the other
//!   side's real identity and the other side is established too.
//! * **dispatcher**: a real node on 127.0.0.1 with a registered message set
//!   (nested sequences, maps, enums, refs and recipients inside), reached
//!   through a real handshake. Frames of every kind with hostile contents
//!   (mutated payloads, unknown tags and actors, stray replies, lookups,
//!   spawns, watches, links) and, now and then, a corrupted frame, which
//!   closes the connection (the fuzzer then reconnects). Each batch ends
//!   with a lookup whose answer proves the node has handled it. Oracle: no
//!   panic, the node answers every batch, and afterwards its actor still
//!   answers a normal peer correctly, and the supervised actor the fuzzer
//!   linked to for real (so each reconnect fails it) is still restarted.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use proscenium_net::encryption::{EncryptedStream, Encryption};
use proscenium_net::handshake::{
    self, Handshake, HandshakeConfig, HandshakeMessage, Hello, Nonce, Outcome, Proof, RejectReason,
    MAGIC,
};
use proscenium_net::{
    wire, Frame, FrameCodec, FrameError, MessageTag, Node, Registry, RemoteMessage,
    RemoteSpawnError, HEADER_LEN, MAX_ASK_WAITS, PROTOCOL_VERSION,
};
use proscenium_runtime::remote::{Seal, WaitFor};
use proscenium_runtime::{
    Actor, ActorId, ActorRef, AskError, ChildSpec, Context, Handler, Message, NodeId, Recipient,
    StopReason, Supervisor, SupervisorStrategy,
};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_util::codec::{Decoder, Encoder, Framed};

// ===== run settings, panics, memory =====

/// Inputs per target: `PROSCENIUM_FUZZ_INPUTS`, or `short` for CI.
fn inputs(short: u64) -> u64 {
    std::env::var("PROSCENIUM_FUZZ_INPUTS")
        .ok()
        .and_then(|n| n.replace('_', "").parse().ok())
        .unwrap_or(short)
}

/// The run's seed: `PROSCENIUM_FUZZ_SEED`, or a fixed one.
fn seed() -> u64 {
    std::env::var("PROSCENIUM_FUZZ_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0x5eed_f022)
}

static PANICS: AtomicU64 = AtomicU64::new(0);

/// Counts every panic in the process, then reports it as usual.
fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let report = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.fetch_add(1, Ordering::SeqCst);
            report(info);
        }));
    });
}

/// The process's peak resident memory (`VmHWM`), where Linux reports it.
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmHWM:"))
                .map(|line| line["VmHWM:".len()..].trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn report(target: &str, inputs: u64, started: Instant, extra: &str) {
    println!(
        "fuzz {target}: {inputs} inputs, seed {:#x}, {} panics, {:.1?}, peak RSS {}{extra}",
        seed(),
        PANICS.load(Ordering::SeqCst),
        started.elapsed(),
        peak_rss()
    );
}

// ===== the generator =====

/// SplitMix64: small, fast, and the same on every platform, so a seed
/// replays its run.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// True once in `n`.
    fn one_in(&mut self, n: u64) -> bool {
        self.below(n) == 0
    }

    /// A number that is often small, sometimes at a varint boundary,
    /// sometimes anything.
    fn number(&mut self) -> u64 {
        const EDGES: [u64; 9] = [0, 1, 250, 251, 255, 256, 65_535, 65_536, u64::MAX];
        match self.below(4) {
            0 => EDGES[self.index(EDGES.len())],
            1 => self.next(),
            _ => self.below(64),
        }
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let len = self.index(max + 1);
        (0..len).map(|_| self.next() as u8).collect()
    }

    fn text(&mut self, max: usize) -> String {
        let len = self.index(max + 1);
        let mut text = String::new();
        for _ in 0..len {
            let c = if self.one_in(2) {
                char::from(b'a' + self.below(26) as u8)
            } else {
                char::from_u32(self.below(0x11_0000) as u32).unwrap_or('?')
            };
            text.push(c);
        }
        text
    }
}

/// Applies 1 to 4 byte-level mutations to `bytes`.
fn mutate(rng: &mut Rng, bytes: &mut Vec<u8>) {
    for _ in 0..=rng.below(4) {
        let len = bytes.len();
        match rng.below(8) {
            0 if len > 0 => {
                let at = rng.index(len);
                bytes[at] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                const EDGES: [u8; 8] = [0, 1, 0x7f, 0x80, 0xfb, 0xfc, 0xfd, 0xff];
                let at = rng.index(len);
                bytes[at] = EDGES[rng.index(EDGES.len())];
            }
            2 => {
                // A varint length claiming up to 2^64 elements or bytes.
                let at = rng.index(len + 1);
                let mut huge = vec![0xfd];
                huge.extend_from_slice(&rng.next().to_le_bytes());
                bytes.splice(at..at, huge);
            }
            3 => bytes.truncate(rng.index(len + 1)),
            4 if len > 0 => {
                let (from, to) = (rng.index(len), rng.index(len));
                let (from, to) = (from.min(to), from.max(to));
                let copy = bytes[from..=to].to_vec();
                let at = rng.index(len + 1);
                bytes.splice(at..at, copy);
            }
            5 if len > 0 => {
                let (from, to) = (rng.index(len), rng.index(len));
                bytes.drain(from.min(to)..from.max(to));
            }
            6 => {
                // A run of zeros: many elements that are one byte each.
                let at = rng.index(len + 1);
                let zeros = rng.index(8192);
                bytes.splice(at..at, std::iter::repeat_n(0, zeros));
            }
            _ => {
                let at = rng.index(len + 1);
                let noise = rng.bytes(8);
                bytes.splice(at..at, noise);
            }
        }
    }
}

fn node_id(rng: &mut Rng) -> NodeId {
    NodeId::new(rng.number(), rng.number())
}

fn actor_id(rng: &mut Rng) -> ActorId {
    ActorId::new(node_id(rng), rng.number())
}

/// A seal as a peer that was not given it would write one: none, or a guess.
fn guessed_seal(rng: &mut Rng) -> Seal {
    if rng.one_in(4) {
        Seal::NONE
    } else {
        Seal::new(rng.next().to_le_bytes())
    }
}

/// Wait-for edges as an ask carries them: none, a few, or more than a
/// node looks at.
fn waits(rng: &mut Rng, mut actor: impl FnMut(&mut Rng) -> ActorId) -> Vec<WaitFor> {
    let len = match rng.below(4) {
        0 => 0,
        1 | 2 => rng.below(4),
        _ => rng.below(MAX_ASK_WAITS as u64 * 2),
    };
    (0..len)
        .map(|_| WaitFor {
            asker: actor(rng),
            callee: actor(rng),
        })
        .collect()
}

fn ask_error(rng: &mut Rng) -> AskError {
    match rng.below(7) {
        0 => AskError::Stopped,
        1 => AskError::Timeout(Duration::from_millis(rng.number() % 1_000_000)),
        2 => AskError::Failed {
            reason: rng.text(16),
        },
        3 => AskError::Deadlock {
            cycle: (0..rng.below(4)).map(|_| actor_id(rng)).collect(),
        },
        4 => AskError::NodeDown,
        5 => AskError::NotRemote {
            message: rng.text(16),
        },
        _ => AskError::Remote(rng.text(16)),
    }
}

fn stop_reason(rng: &mut Rng) -> StopReason {
    match rng.below(4) {
        0 => StopReason::Normal,
        1 => StopReason::Killed,
        2 => StopReason::Failed(rng.text(16).into()),
        _ => StopReason::NodeDown,
    }
}

/// A frame of any kind with arbitrary contents.
fn frame(rng: &mut Rng) -> Frame {
    let tag = MessageTag::new(rng.number());
    let payload = Bytes::from(rng.bytes(32));
    match rng.below(22) {
        0 => Frame::Tell {
            to: actor_id(rng),
            seal: guessed_seal(rng),
            tag,
            payload,
        },
        1 => Frame::Ask {
            to: actor_id(rng),
            seal: guessed_seal(rng),
            correlation: rng.number(),
            tag,
            payload,
            waits: waits(rng, actor_id),
        },
        2 => Frame::Reply {
            correlation: rng.number(),
            result: if rng.one_in(2) {
                Ok(payload)
            } else {
                Err(ask_error(rng))
            },
        },
        3 => Frame::Stop {
            to: actor_id(rng),
            seal: guessed_seal(rng),
        },
        4 => Frame::Kill {
            to: actor_id(rng),
            seal: guessed_seal(rng),
        },
        5 => Frame::Watch {
            target: actor_id(rng),
            seal: guessed_seal(rng),
            watcher: actor_id(rng),
        },
        6 => Frame::Unwatch {
            target: actor_id(rng),
            watcher: actor_id(rng),
        },
        7 => Frame::Terminated {
            id: actor_id(rng),
            reason: stop_reason(rng),
        },
        8 => Frame::Heartbeat,
        9 => Frame::Goodbye,
        10 => Frame::Lookup {
            correlation: rng.number(),
            name: rng.text(12),
        },
        11 => Frame::Found {
            correlation: rng.number(),
            actor: rng
                .one_in(2)
                .then(|| (actor_id(rng), guessed_seal(rng), rng.text(12))),
        },
        12 => Frame::Spawn {
            correlation: rng.number(),
            actor: tag,
            args: payload,
        },
        13 => Frame::Pause {
            actor: actor_id(rng),
        },
        14 => Frame::Resume {
            actor: actor_id(rng),
        },
        15 => Frame::Ack {
            tells: rng.number(),
        },
        16 => Frame::Inspect {
            correlation: rng.number(),
        },
        17 => Frame::Inspected {
            correlation: rng.number(),
            snapshot: payload,
        },
        18 => Frame::Link {
            to: actor_id(rng),
            seal: guessed_seal(rng),
            from: actor_id(rng),
            token: rng.number(),
        },
        19 => Frame::Unlink {
            to: actor_id(rng),
            from: actor_id(rng),
            token: rng.number(),
        },
        20 => Frame::LinkDown {
            to: actor_id(rng),
            from: actor_id(rng),
            token: rng.number(),
            reason: stop_reason(rng),
        },
        _ => Frame::Spawned {
            correlation: rng.number(),
            result: match rng.below(5) {
                0 | 1 => Ok((actor_id(rng), guessed_seal(rng))),
                2 => Err(RemoteSpawnError::NotSpawnable {
                    tag,
                    node: rng.text(12),
                }),
                3 => Err(RemoteSpawnError::BadArguments(rng.text(12))),
                _ => Err(RemoteSpawnError::QuotaExceeded {
                    limit: rng.next() as u32,
                }),
            },
        },
    }
}

// ===== codec =====

/// Small, so generated frames often reach it.
const CODEC_MAX: usize = 512;

/// Feeds `bytes` in random pieces, as `FramedRead` would, checking that the
/// buffer never reserves beyond one frame; the frames, and whether it
/// ended in an error.
fn feed(rng: &mut Rng, bytes: &[u8]) -> (Vec<Frame>, bool) {
    let mut codec = FrameCodec::with_max_frame_length(CODEC_MAX);
    let (mut buf, mut frames, mut fed) = (BytesMut::new(), Vec::new(), 0);
    let mut rest = bytes;
    while !rest.is_empty() {
        let take = 1 + rng.index(rest.len().min(2 * CODEC_MAX));
        buf.extend_from_slice(&rest[..take]);
        rest = &rest[take..];
        fed += take;
        loop {
            let decoded = codec.decode(&mut buf);
            let bound = 2 * (fed + HEADER_LEN + CODEC_MAX) + 64;
            assert!(buf.capacity() <= bound, "reserved {}", buf.capacity());
            match decoded {
                Ok(Some(frame)) => frames.push(frame),
                Ok(None) => break,
                Err(_) => return (frames, true),
            }
        }
    }
    match codec.decode_eof(&mut buf) {
        Ok(Some(frame)) => frames.push(frame),
        Ok(None) => {}
        Err(_) => return (frames, true),
    }
    (frames, false)
}

#[test]
fn codec_survives_hostile_streams() {
    count_panics();
    let (total, started) = (inputs(20_000), Instant::now());
    let mut rng = Rng::new(seed());
    let (mut encoder, mut clean) = (FrameCodec::with_max_frame_length(CODEC_MAX), 0);
    for _ in 0..total {
        let frames: Vec<Frame> = (0..1 + rng.below(4)).map(|_| frame(&mut rng)).collect();
        let mut stream = BytesMut::new();
        let mut encoded = Vec::new();
        for frame in frames {
            // Frames over the limit are refused whole and write nothing.
            if encoder.encode(&frame, &mut stream).is_ok() {
                encoded.push(frame);
            }
        }
        let mut bytes = stream.to_vec();
        match rng.below(3) {
            0 => {
                let (decoded, failed) = feed(&mut rng, &bytes);
                assert!(!failed, "a valid stream failed to decode");
                assert_eq!(decoded, encoded);
                clean += 1;
            }
            1 => {
                mutate(&mut rng, &mut bytes);
                feed(&mut rng, &bytes);
            }
            _ => {
                let noise = rng.bytes(2 * CODEC_MAX);
                feed(&mut rng, &noise);
            }
        }
    }
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
    report("codec", total, started, &format!(", {clean} clean"));
}

// ===== handshake =====

fn config(name: &str, node: u64) -> HandshakeConfig {
    support::handshake::config(name, node, support::handshake::secret(7))
}

/// A handshake message of any kind, often a plausible one.
fn handshake_message(rng: &mut Rng) -> HandshakeMessage {
    match rng.below(3) {
        0 => HandshakeMessage::Hello(Hello {
            magic: if rng.one_in(8) { *b"XXXX" } else { MAGIC },
            version: if rng.one_in(8) {
                rng.next() as u16
            } else {
                PROTOCOL_VERSION
            },
            name: rng.text(12),
            node: node_id(rng),
            nonce: Nonce::from_bytes(rng.next().to_le_bytes().repeat(4).try_into().unwrap()),
            heartbeat_ms: if rng.one_in(8) {
                rng.next() as u32
            } else {
                1000
            },
            encryption: if rng.one_in(8) {
                Encryption::InsecurePlaintext
            } else {
                Encryption::Aes256Gcm
            },
        }),
        1 => {
            let mac: [u8; 32] = rng.next().to_le_bytes().repeat(4).try_into().unwrap();
            HandshakeMessage::Proof(Proof { mac })
        }
        _ => HandshakeMessage::Reject(match rng.below(4) {
            0 => RejectReason::VersionMismatch {
                version: rng.next() as u16,
            },
            1 => RejectReason::AuthFailed,
            2 => RejectReason::EncryptionMismatch {
                encryption: Encryption::InsecurePlaintext,
            },
            _ => RejectReason::ProtocolViolation,
        }),
    }
}

/// What an attacker on the path does to one message in transit.
fn tamper(rng: &mut Rng, body: Bytes, sent: &[Bytes]) -> Bytes {
    match rng.below(4) {
        0 => {
            let mut bytes = body.to_vec();
            mutate(rng, &mut bytes);
            Bytes::from(bytes)
        }
        1 => handshake_message(rng)
            .encode()
            .unwrap_or_else(|_| Bytes::from(rng.bytes(64))),
        2 if !sent.is_empty() => sent[rng.index(sent.len())].clone(),
        _ => Bytes::from(rng.bytes(64)),
    }
}

#[test]
fn handshake_survives_a_hostile_path() {
    count_panics();
    let (total, started) = (inputs(20_000), Instant::now());
    let mut rng = Rng::new(seed() ^ 0x4a5d);
    let (a, b) = (config("a", 1), config("b", 2));
    let mut established_clean = 0;
    for _ in 0..total {
        let nonce = |rng: &mut Rng| {
            Nonce::from_bytes(rng.next().to_le_bytes().repeat(4).try_into().unwrap())
        };
        let (initiator, hello) = Handshake::initiator(&a, nonce(&mut rng));
        let mut sides = [initiator, Handshake::acceptor(&b, nonce(&mut rng))];
        let names = [(a.name(), a.node()), (b.name(), b.node())];
        let mut peers: [Option<(String, NodeId)>; 2] = [None, None];
        let tamper_rate = if rng.one_in(4) { 0 } else { 1 + rng.below(4) };
        let mut tampered = false;
        let mut sent: Vec<Bytes> = Vec::new();
        // (to, body): the initiator's hello goes to the acceptor first.
        let mut in_flight = Some((1, hello.encode().expect("hello encodes")));
        let mut steps = 0;
        while let Some((to, body)) = in_flight.take() {
            steps += 1;
            let mut to = to;
            let mut body = body;
            if tamper_rate > 0 && rng.one_in(tamper_rate) {
                let changed = tamper(&mut rng, body.clone(), &sent);
                tampered |= changed != body;
                body = changed;
                if rng.one_in(4) {
                    // Reflected back to its sender.
                    to = 1 - to;
                    tampered = true;
                }
            }
            sent.push(body.clone());
            let transition = sides[to].receive(&body);
            if let Outcome::Established(peer) = transition.outcome {
                peers[to] = Some((peer.name, peer.node));
            }
            if steps < 8 {
                in_flight = transition.send.map(|message| {
                    let body = message.encode().expect("a machine's message encodes");
                    (1 - to, body)
                });
            }
        }
        for side in 0..2 {
            if let Some((name, node)) = &peers[side] {
                let (real_name, real_node) = names[1 - side];
                assert_eq!((name.as_str(), *node), (real_name, real_node));
                assert!(peers[1 - side].is_some() || tampered, "one side only");
            }
        }
        if !tampered {
            assert!(
                peers.iter().all(Option::is_some),
                "an untouched handshake failed"
            );
            established_clean += 1;
        }
    }
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
    report(
        "handshake",
        total,
        started,
        &format!(", {established_clean} untouched and established"),
    );
}

// ===== dispatcher =====

/// A message with a bit of everything a decoder can be asked to build.
#[derive(Debug, Serialize, Deserialize)]
struct Sample {
    n: u64,
    text: String,
    items: Vec<Option<[u64; 4]>>,
    nested: Vec<Vec<u32>>,
    map: BTreeMap<u16, String>,
    choice: Choice,
    blob: Bytes,
    owner: Option<ActorRef<Target>>,
    reply_to: Option<Recipient<Sample>>,
}

#[derive(Debug, Serialize, Deserialize)]
enum Choice {
    Nothing,
    Number(i64),
    Pair { left: u8, right: String },
}

impl Message for Sample {
    type Reply = u64;
}

impl RemoteMessage for Sample {
    const TAG: &'static str = "fuzz.Sample";
}

/// `Sample` as the fuzzer writes it: refs are ids and seals on the wire.
#[derive(Serialize)]
struct SampleWire {
    n: u64,
    text: String,
    items: Vec<Option<[u64; 4]>>,
    nested: Vec<Vec<u32>>,
    map: BTreeMap<u16, String>,
    choice: Choice,
    blob: Bytes,
    owner: Option<(ActorId, Seal)>,
    reply_to: Option<(ActorId, Seal)>,
}

/// The node's actor: sums what it is told, so a normal peer can check it
/// still works afterwards.
#[derive(Default)]
struct Target {
    handled: u64,
}

impl Actor for Target {}

impl Handler<Sample> for Target {
    async fn handle(&mut self, sample: Sample, _: &mut Context<Self>) -> u64 {
        // Use what was decoded, refs included, without sending anywhere.
        let alive = sample.reply_to.iter().filter(|r| r.is_alive()).count()
            + sample.owner.iter().filter(|r| r.is_alive()).count();
        self.handled += 1;
        sample
            .n
            .wrapping_add(sample.items.len() as u64)
            .wrapping_add(alive as u64)
    }
}

/// Asks how many samples the target has handled.
#[derive(Debug, Serialize, Deserialize)]
struct Handled;

impl Message for Handled {
    type Reply = u64;
}

impl RemoteMessage for Handled {
    const TAG: &'static str = "fuzz.Handled";
}

impl Handler<Handled> for Target {
    async fn handle(&mut self, _: Handled, _: &mut Context<Self>) -> u64 {
        self.handled
    }
}

fn registry() -> Registry {
    let mut registry = Registry::new();
    registry
        .handler::<Target, Sample>()
        .handler::<Target, Handled>();
    registry
}

const SECRET: [u8; 32] = *b"fuzz soak secret, 32 bytes long!";
const TARGET_NAME: &str = "fuzz-target";
const LINKABLE_NAME: &str = "fuzz-linkable";
/// The node's frame limit: small, so payloads reach it.
const NODE_MAX: usize = 16 * 1024;
/// Frames per batch; each batch ends with a lookup that must be answered.
const BATCH: u64 = 64;
/// Watcher ids the fuzzer uses: a few, since every distinct watcher of a
/// live actor is kept until it stops (see the soak's notes).
const WATCHERS: u64 = 8;

/// What the fuzzer knows about the node under test.
struct Known {
    node: NodeId,
    /// The target's id and the seal its lookup answered.
    target: (ActorId, Seal),
    /// An actor of the node whose ref the fuzzer is never given: frames
    /// of every kind name it, with guessed seals, and must not reach it.
    sentinel: ActorId,
    /// A supervised actor the fuzzer links to for real, with the seal its
    /// lookup answered: its links fail it and its supervisor restarts it.
    linkable: (ActorId, Seal),
}

impl Known {
    /// An actor to address and the seal to address it with: the target's
    /// own ref, or a guess (ids of the node's actors, the node's number,
    /// anything) with a guessed seal.
    fn address(&self, rng: &mut Rng) -> (ActorId, Seal) {
        match rng.below(8) {
            0..=2 => self.target,
            3 => (self.target.0, guessed_seal(rng)),
            4 => (self.sentinel, guessed_seal(rng)),
            5 => (ActorId::new(self.node, rng.below(64)), guessed_seal(rng)),
            6 => (
                ActorId::new(NodeId::new(self.node.number(), rng.number()), rng.number()),
                guessed_seal(rng),
            ),
            _ => (actor_id(rng), guessed_seal(rng)),
        }
    }

    fn actor(&self, rng: &mut Rng) -> ActorId {
        self.address(rng).0
    }

    fn sample(&self, rng: &mut Rng) -> Vec<u8> {
        let sample = SampleWire {
            n: rng.number(),
            text: rng.text(16),
            items: (0..rng.below(8))
                .map(|_| rng.one_in(2).then(|| [rng.number(); 4]))
                .collect(),
            nested: (0..rng.below(4))
                .map(|_| (0..rng.below(4)).map(|_| rng.number() as u32).collect())
                .collect(),
            map: (0..rng.below(4))
                .map(|_| (rng.number() as u16, rng.text(8)))
                .collect(),
            choice: match rng.below(3) {
                0 => Choice::Nothing,
                1 => Choice::Number(rng.next() as i64),
                _ => Choice::Pair {
                    left: rng.next() as u8,
                    right: rng.text(8),
                },
            },
            blob: Bytes::from(rng.bytes(32)),
            owner: rng.one_in(2).then(|| self.address(rng)),
            reply_to: rng.one_in(2).then(|| self.address(rng)),
        };
        let mut bytes = wire::encode(&sample, NODE_MAX as u64).expect("a sample encodes");
        if !rng.one_in(3) {
            mutate(rng, &mut bytes);
        }
        bytes
    }

    fn tag(&self, rng: &mut Rng) -> MessageTag {
        match rng.below(6) {
            0..=3 => MessageTag::from_name(Sample::TAG),
            4 => MessageTag::from_name(Handled::TAG),
            _ => MessageTag::new(rng.number()),
        }
    }

    /// The far end of a link frame: one of a few actors of the fuzzer's
    /// node run `peer`, or of another node, which the node must refuse.
    fn link_peer(rng: &mut Rng, peer: NodeId) -> ActorId {
        let node = match rng.below(4) {
            0..=2 => peer,
            _ => NodeId::new(peer.number(), rng.number()),
        };
        ActorId::new(node, rng.below(WATCHERS))
    }

    /// A link frame aimed at the node, from the fuzzer's node run `peer`.
    /// Only the linkable actor is linked for real: a link from the fuzzer
    /// to the target would fail it when the fuzzer reconnects, as it should.
    fn link_frame(&self, rng: &mut Rng, peer: NodeId) -> Frame {
        let (to, seal) = if rng.one_in(2) {
            self.linkable
        } else {
            self.address(rng)
        };
        let from = if to == self.target.0 {
            ActorId::new(NodeId::new(8, 8), rng.below(WATCHERS))
        } else {
            Self::link_peer(rng, peer)
        };
        let token = rng.below(64);
        match rng.below(4) {
            0 | 1 => Frame::Link {
                to,
                seal,
                from,
                token,
            },
            2 => Frame::Unlink { to, from, token },
            _ => Frame::LinkDown {
                to,
                from,
                token,
                reason: stop_reason(rng),
            },
        }
    }

    /// A frame of any kind but `Goodbye`, aimed at the node, which the
    /// fuzzer reaches as node run `peer`.
    fn frame(&self, rng: &mut Rng, peer: NodeId) -> Frame {
        match rng.below(14) {
            0..=3 => {
                let (to, seal) = self.address(rng);
                Frame::Tell {
                    to,
                    seal,
                    tag: self.tag(rng),
                    payload: Bytes::from(self.sample(rng)),
                }
            }
            4..=6 => {
                let (to, seal) = self.address(rng);
                Frame::Ask {
                    to,
                    seal,
                    correlation: rng.next(),
                    tag: self.tag(rng),
                    payload: Bytes::from(self.sample(rng)),
                    // Edges among the node's own actors too, so some close
                    // cycles where they are installed.
                    waits: waits(rng, |rng| {
                        if rng.one_in(2) {
                            self.actor(rng)
                        } else {
                            actor_id(rng)
                        }
                    }),
                }
            }
            7 => {
                let (target, seal) = self.address(rng);
                Frame::Watch {
                    target,
                    seal,
                    watcher: ActorId::new(NodeId::new(9, 9), rng.below(WATCHERS)),
                }
            }
            8 => Frame::Unwatch {
                target: self.actor(rng),
                watcher: ActorId::new(NodeId::new(9, 9), rng.below(WATCHERS)),
            },
            9 => Frame::Lookup {
                correlation: rng.next() >> 1,
                name: if rng.one_in(2) {
                    TARGET_NAME.to_owned()
                } else {
                    rng.text(12)
                },
            },
            10 => {
                // Guessed ids and seals, the sentinel's among them: these
                // stop nothing.
                let (to, _) = self.address(rng);
                let seal = guessed_seal(rng);
                if rng.one_in(2) {
                    Frame::Stop { to, seal }
                } else {
                    Frame::Kill { to, seal }
                }
            }
            11 => self.link_frame(rng, peer),
            _ => loop {
                // Anything else, except what would end the connection or
                // stop the target (an authenticated peer given its ref may
                // do both).
                let frame = frame(rng);
                let harmless = match &frame {
                    Frame::Goodbye => false,
                    Frame::Stop { to, seal } | Frame::Kill { to, seal } => {
                        (*to, *seal) != self.target
                    }
                    Frame::Link { to, seal, from, .. } => {
                        (*to, *seal) != self.target || from.node() != peer
                    }
                    _ => true,
                };
                if harmless {
                    break frame;
                }
            },
        }
    }
}

/// The fuzzer's end of a connection to the node.
type Peer = Framed<EncryptedStream<TcpStream>, FrameCodec>;

/// Connects and handshakes as a new incarnation of the fuzzer's node, so
/// the node replaces any old link at once.
async fn connect(addr: std::net::SocketAddr, incarnation: u64) -> Peer {
    let stream = TcpStream::connect(addr).await.expect("the node listens");
    let secret = handshake::ClusterSecret::new(SECRET).expect("a valid secret");
    let config = HandshakeConfig::new("fuzzer", NodeId::new(9, incarnation), secret)
        .expect("a valid config");
    let codec = FrameCodec::with_max_frame_length(NODE_MAX);
    handshake::initiate(stream, &config, codec)
        .await
        .expect("the node accepts the fuzzer")
        .framed
}

/// Sends a lookup and reads until its answer: `false` if the connection
/// ended first (the node closed it after a bad frame).
async fn sync(peer: &mut Peer, correlation: u64) -> bool {
    lookup(peer, correlation, TARGET_NAME).await.is_some()
}

/// Looks up the actor registered as `name`, as a peer that was told the
/// name: its id and seal, or `None` if the connection ended first.
async fn lookup(peer: &mut Peer, correlation: u64, name: &str) -> Option<(ActorId, Seal)> {
    let lookup = Frame::Lookup {
        correlation,
        name: name.to_owned(),
    };
    if peer.send(lookup).await.is_err() {
        return None;
    }
    let answer = async {
        loop {
            match peer.next().await {
                Some(Ok(Frame::Found {
                    correlation: c,
                    actor,
                })) if c == correlation => {
                    let (id, seal, _) = actor.expect("the actor looked up is gone");
                    return Some((id, seal));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return None,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), answer)
        .await
        .expect("the node stopped answering")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dispatcher_survives_hostile_frames() {
    count_panics();
    let (total, started) = (inputs(5_000), Instant::now());
    let mut rng = Rng::new(seed() ^ 0xd15c);
    let node = Node::builder("fuzzed")
        .secret(SECRET)
        .registry(registry())
        .max_frame_length(NODE_MAX)
        .listen("127.0.0.1:0".parse().expect("a loopback address"))
        .start()
        .await
        .expect("start the node");
    let target = node
        .system()
        .spawn_named(TARGET_NAME, Target::default())
        .expect("spawn the target");
    let sentinel = node
        .system()
        .spawn(Target::default())
        .expect("spawn the sentinel");
    // Restarted as often as the fuzzer's links fail it.
    let strategy = SupervisorStrategy::one_for_one().intensity(u32::MAX, Duration::from_secs(1));
    let linkable =
        Supervisor::new(strategy).child(ChildSpec::new(Target::default).name(LINKABLE_NAME));
    node.system()
        .spawn(linkable)
        .expect("spawn the linkable actor's supervisor")
        .wait_started()
        .await
        .expect("the linkable actor starts");
    let addr = node.local_addr().expect("the node listens");
    let mut incarnation = 1;
    let mut peer = connect(addr, incarnation).await;
    let found = lookup(&mut peer, 1 << 62, TARGET_NAME).await;
    let linkable = lookup(&mut peer, (1 << 62) + 1, LINKABLE_NAME).await;
    let known = Known {
        node: node.id(),
        target: found.expect("the target is registered"),
        sentinel: sentinel.id(),
        linkable: linkable.expect("the linkable actor is registered"),
    };
    let (mut sent, mut reconnects, mut corrupted) = (0, 0_u64, 0_u64);
    // Correlations of syncs have the top bit set; generated lookups do not.
    let mut next_sync = 1 << 63;
    while sent < total {
        let batch = BATCH.min(total - sent);
        let mut broken = false;
        for _ in 0..batch {
            let frame = known.frame(&mut rng, NodeId::new(9, incarnation));
            let written = if rng.one_in(500) {
                // A corrupted frame: the node closes the connection.
                corrupted += 1;
                let mut body = wire::encode(&frame, NODE_MAX as u64).unwrap_or_default();
                mutate(&mut rng, &mut body);
                let mut bytes = (body.len() as u32).to_be_bytes().to_vec();
                bytes.extend(body);
                let flushed = SinkExt::<Frame>::flush(&mut peer).await;
                match flushed {
                    Ok(()) => peer.get_mut().write_all(&bytes).await.map_err(Into::into),
                    Err(e) => Err(e),
                }
            } else {
                peer.feed(frame).await
            };
            sent += 1;
            match written {
                // Refused before anything was written: the link is fine.
                Ok(()) | Err(FrameError::Oversized { .. }) => {}
                Err(_) => {
                    broken = true;
                    break;
                }
            }
        }
        next_sync += 1;
        if broken || !sync(&mut peer, next_sync).await {
            incarnation += 1;
            reconnects += 1;
            peer = connect(addr, incarnation).await;
        }
    }
    drop(peer);

    // A normal peer still gets correct answers from the target.
    let client = Node::builder("client")
        .secret(SECRET)
        .registry(registry())
        .start()
        .await
        .expect("start the client");
    client.connect(addr).await.expect("the node accepts a peer");
    let remote = client
        .lookup::<Target>(TARGET_NAME)
        .await
        .expect("the target is still registered");
    let handled = remote.ask(Handled).await.expect("the target answers");
    assert_eq!(target.ask(Handled).await, Ok(handled));
    // Nothing reached the actor whose ref the fuzzer never had.
    assert_eq!(
        sentinel.ask(Handled).await,
        Ok(0),
        "a guessed seal reached it"
    );
    // The actor the fuzzer linked to for real failed and was restarted.
    let linkable = node
        .system()
        .lookup::<Target>(LINKABLE_NAME)
        .expect("the linkable actor is registered");
    assert!(
        linkable.ask(Handled).await.is_ok(),
        "its supervisor gave up"
    );
    assert_eq!(PANICS.load(Ordering::SeqCst), 0);
    report(
        "dispatcher",
        total,
        started,
        &format!(
            ", {handled} samples handled, {corrupted} corrupted frames, {reconnects} reconnects"
        ),
    );
    client.shutdown().await;
    node.shutdown().await;
}
