//! A rogue peer: it holds the cluster secret and passes the handshake, then
//! sends whatever frames a test hands it, to check that a node trusts a
//! frame only as far as the peer that sent it.

use std::net::SocketAddr;

use proscenium::net::encryption::EncryptedStream;
use proscenium::net::handshake::{self, ClusterSecret, HandshakeConfig};
use proscenium::net::{wire, Frame, FrameCodec, DEFAULT_MAX_FRAME_LENGTH};
use proscenium::runtime::remote::Seal;
use proscenium::{ActorId, NodeId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{cluster, within};

/// The correlation of the lookup [`Rogue::sync`] sends; no node picks it.
const SYNC: u64 = u64::MAX;

/// The correlation of the lookups [`Rogue::lookup`] sends.
const LOOKUP: u64 = u64::MAX - 1;

const LIMIT: u64 = DEFAULT_MAX_FRAME_LENGTH as u64;

/// An authenticated connection that speaks raw frames.
#[derive(Debug)]
pub struct Rogue {
    /// The rogue's node id, as it claimed in the handshake.
    pub id: NodeId,
    /// Sealed like every connection: only its frames are rogue.
    stream: EncryptedStream<TcpStream>,
}

impl Rogue {
    /// Connects to `addr` and passes the handshake as node `name`.
    pub async fn connect(addr: SocketAddr, name: &str) -> Self {
        let secret = ClusterSecret::allowing_weak(cluster::secret()).expect("the cluster secret");
        let id = NodeId::new(0x0bad_0bad, 1);
        let config = HandshakeConfig::new(name, id, secret).expect("a handshake config");
        let stream = within("the rogue to connect", TcpStream::connect(addr))
            .await
            .expect("connect");
        let established = within(
            "the rogue's handshake",
            handshake::initiate(stream, &config, FrameCodec::new()),
        )
        .await
        .expect("a handshake with the right secret");
        let parts = established.framed.into_parts();
        assert!(parts.read_buf.is_empty(), "frames before the first sync");
        Self {
            id,
            stream: parts.io,
        }
    }

    /// Sends `frame`.
    pub async fn send(&mut self, frame: Frame) {
        let body = wire::encode(&frame, LIMIT).expect("encode a frame");
        let mut bytes = u32::try_from(body.len())
            .expect("a small frame")
            .to_be_bytes()
            .to_vec();
        bytes.extend_from_slice(&body);
        within("the rogue to send", async {
            self.stream.write_all(&bytes).await?;
            self.stream.flush().await
        })
        .await
        .expect("send a frame");
    }

    /// Returns once the node has handled every frame sent before: it reads
    /// a link's frames in order, so its answer to a lookup sent last comes
    /// after it has dealt with all of them.
    pub async fn sync(&mut self) {
        self.send(Frame::Lookup {
            correlation: SYNC,
            name: "nobody by this name".to_owned(),
        })
        .await;
        self.next(|frame| {
            matches!(
                frame,
                Frame::Found {
                    correlation: SYNC,
                    ..
                }
            )
        })
        .await;
    }

    /// Looks `name` up on the node, as a peer that was told the name: the
    /// actor's id and the seal that reaches it, if the name is registered.
    pub async fn lookup(&mut self, name: &str) -> Option<(ActorId, Seal)> {
        self.send(Frame::Lookup {
            correlation: LOOKUP,
            name: name.to_owned(),
        })
        .await;
        let found = self
            .next(|frame| {
                matches!(
                    frame,
                    Frame::Found {
                        correlation: LOOKUP,
                        ..
                    }
                )
            })
            .await;
        match found {
            Frame::Found { actor, .. } => actor.map(|(id, seal, _)| (id, seal)),
            _ => unreachable!("`next` picked a Found"),
        }
    }

    /// The next frame from the node that `wanted` picks, skipping others
    /// (heartbeats, answers to earlier frames).
    pub async fn next(&mut self, wanted: impl Fn(&Frame) -> bool) -> Frame {
        within("the node to send the rogue a frame", async {
            loop {
                let len = self.stream.read_u32().await.expect("the node's next frame");
                let mut body = vec![0; len as usize];
                self.stream
                    .read_exact(&mut body)
                    .await
                    .expect("the node's next frame");
                match wire::decode::<Frame>(&body, LIMIT) {
                    Ok(frame) if wanted(&frame) => return frame,
                    _ => {}
                }
            }
        })
        .await
    }
}
