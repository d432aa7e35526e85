//! A distributed task queue on Proscenium: a broker hands work to worker
//! processes that find it on their own, the load balances itself, and a
//! worker (or the broker) killed with `kill -9` loses no task.
//!
//! Run with:
//!
//! ```sh
//! cargo run --release --example task_queue            # broker + 3 workers + a batch
//! cargo run --release --example task_queue -- --chaos # workers and the broker killed meanwhile
//! ```
//!
//! One command starts a broker and three worker processes on 127.0.0.1
//! (OS-picked ports), submits a batch (the sum of the primes below N in
//! ranges, Parallel Python's classic, with a chord callback adding the
//! ranges up), shows progress, checks every result against a direct
//! computation, prints a summary and exits 0. The roles also run on their
//! own, on several hosts:
//!
//! ```sh
//! task_queue --broker --listen 0.0.0.0:7000 --data /var/lib/tq
//! task_queue --worker --seed broker-host:7000 --listen 0.0.0.0:7001 [--workers 8] [--prefetch 1]
//! task_queue --client --seed broker-host:7000 --listen 0.0.0.0:7002 [batch options]
//! ```
//!
//! How it works: see the modules. `protocol` (the messages), `broker`
//! (queue, at-least-once delivery, retries, dead letters, chords),
//! `journal` (redb), `worker` (pull with prefetch, a local pool),
//! `discovery` (finding the broker through a process group), `client`,
//! `batch`, `work`, `progress`, `launcher` (child processes) and `demo`
//! (the one-command run, and `--chaos`).

// Each module's API is `pub`, as a crate's would be.
#![allow(unreachable_pub)]

mod batch;
mod broker;
mod client;
mod demo;
mod discovery;
mod journal;
#[allow(dead_code)] // shared with tests/task_queue.rs, which uses all of it
mod launcher;
mod options;
mod progress;
mod protocol;
mod work;
mod worker;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::mpsc;

use crate::options::{Options, Role};

/// The demo's error type: any error, as text.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("{error}\n\n{}", options::USAGE);
            std::process::exit(2);
        }
    };
    match options.role {
        Role::Help => {
            println!("{}", options::USAGE);
            Ok(())
        }
        Role::Broker => broker::serve(options.broker(), options.lifeline).await,
        Role::Worker => worker::serve(options.worker()?, options.lifeline).await,
        Role::Client => {
            client::run(options.client(), progress::Printer::default()).await?;
            Ok(())
        }
        Role::Demo => demo::run(options).await,
    }
}

/// Lines from stdin, until `quit`, or until stdin closes if `lifeline`
/// (the parent is gone); without `lifeline` a closed stdin (a shell's
/// `< /dev/null`) leaves the process running until it is stopped.
pub fn stdin_commands(lifeline: bool) -> mpsc::UnboundedReceiver<String> {
    let (sender, commands) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut lines = BufReader::new(tokio::io::stdin()).lines();
        loop {
            match lines.next_line().await {
                Ok(Some(line)) if line.trim() == "quit" => return,
                Ok(Some(line)) => {
                    if sender.send(line.trim().to_owned()).is_err() {
                        return;
                    }
                }
                Ok(None) | Err(_) if lifeline => return,
                Ok(None) | Err(_) => break,
            }
        }
        // Keep the channel open: the process runs until it is stopped.
        sender.closed().await;
    });
    commands
}

/// Waits for `quit` on stdin (or its end, with `lifeline`).
pub async fn wait_for_quit(lifeline: bool) {
    let mut commands = stdin_commands(lifeline);
    while commands.recv().await.is_some() {}
}
