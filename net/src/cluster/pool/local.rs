//! A local [`Pool`]'s workers in a process group, following its resizes
//! and replacements, so a cluster pool routes to supervised workers.

use proscenium_runtime::{Actor, ActorRef, Handler, Pool};

use crate::cluster::GroupError;
use crate::{Node, RemoteMessage};

impl Node {
    /// Puts every worker of the local `pool` into `group` as a receiver of
    /// `M`, now and as the pool changes: workers a resize adds or that
    /// replace stopped ones join, workers a resize retires leave at once
    /// (they finish their queued messages unseen by other nodes' pools),
    /// and all leave when the pool stops. This is how a node offers a
    /// supervised, resizable set of workers to a
    /// [`ClusterPool`](crate::ClusterPool).
    ///
    /// # Errors
    ///
    /// As [`join_group`](Self::join_group) for the workers there now; a
    /// later join that fails is logged and skipped.
    ///
    /// # Examples
    ///
    /// ```
    /// use proscenium_net::{ClusterPool, Node, RemoteMessage};
    /// use proscenium_runtime::{Actor, Context, Handler, Message, Pool};
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Default)]
    /// struct Echo;
    /// impl Actor for Echo {}
    ///
    /// #[derive(Serialize, Deserialize)]
    /// struct Say(String);
    /// impl Message for Say {
    ///     type Reply = String;
    /// }
    /// impl RemoteMessage for Say {
    ///     const TAG: &'static str = "doc::Say";
    /// }
    /// impl Handler<Say> for Echo {
    ///     async fn handle(&mut self, Say(s): Say, _: &mut Context<Self>) -> String {
    ///         s
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let node = Node::builder("a")
    ///     .secret(*b"an example secret, 32 bytes long")
    ///     .listen("127.0.0.1:0".parse()?)
    ///     .cluster()
    ///     .start()
    ///     .await?;
    /// let echoes = Pool::builder(Echo::default).size(3).spawn(node.system()).await?;
    /// node.join_pool_to_group::<Say, _, _>("echoes", &echoes)?;
    /// let everywhere = ClusterPool::<Say>::builder("echoes").start(&node)?;
    /// assert_eq!(everywhere.size(), 3);
    /// assert_eq!(everywhere.ask(Say("hi".into())).await?, "hi");
    /// # node.shutdown().await;
    /// # Ok(())
    /// # }
    /// ```
    pub fn join_pool_to_group<M, A, R>(
        &self,
        group: &str,
        pool: &Pool<A, R>,
    ) -> Result<(), GroupError>
    where
        M: RemoteMessage,
        A: Handler<M>,
    {
        let mut workers = pool.watch_workers();
        let now: Vec<ActorRef<A>> = workers.borrow_and_update().to_vec();
        for worker in &now {
            self.join_group::<M, A>(group, worker)?;
        }
        let follower = PoolFollower {
            node: self.clone(),
            group: group.to_owned(),
            joined: now,
        };
        let cancel = self.shared().cancel.clone();
        self.shared().tasks.spawn(async move {
            let mut follower = follower;
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    changed = workers.changed() => {
                        // The pool is gone: its workers stopped and left.
                        if changed.is_err() {
                            return;
                        }
                    }
                }
                let now: Vec<ActorRef<A>> = workers.borrow_and_update().to_vec();
                follower.follow::<M>(&now);
            }
        });
        Ok(())
    }
}

/// Keeps a group in step with a pool's workers.
struct PoolFollower<A: Actor> {
    node: Node,
    group: String,
    /// The workers put in the group and not taken out.
    joined: Vec<ActorRef<A>>,
}

impl<A: Actor> PoolFollower<A> {
    fn follow<M>(&mut self, workers: &[ActorRef<A>])
    where
        M: RemoteMessage,
        A: Handler<M>,
    {
        let (kept, retired): (Vec<_>, Vec<_>) = std::mem::take(&mut self.joined)
            .into_iter()
            .partition(|joined| workers.contains(joined));
        self.joined = kept;
        for worker in retired {
            self.node.leave_group(&self.group, &worker);
        }
        for worker in workers {
            if self.joined.contains(worker) {
                continue;
            }
            match self.node.join_group::<M, A>(&self.group, worker) {
                Ok(()) => self.joined.push(worker.clone()),
                Err(error) => {
                    tracing::warn!(group = %self.group, worker = %worker.id(), %error, "a pool worker could not join its group");
                }
            }
        }
    }
}
