//! `#[handlers]`: generated messages, handlers and ref methods for methods
//! with zero, one or several arguments, with and without the context.

use std::time::Duration;

use proscenium::prelude::*;

#[derive(Actor, Default, Clone, Debug, PartialEq)]
struct Counter {
    total: u64,
    log: Vec<String>,
}

#[handlers]
impl Counter {
    /// Adds `by` to the total and returns it.
    #[handler]
    async fn add(&mut self, by: u64) -> u64 {
        self.total += by;
        self.total
    }

    #[handler]
    async fn total(&mut self) -> u64 {
        self.total
    }

    #[handler]
    async fn add_scaled(&mut self, by: u64, mut times: u64, note: String) -> (u64, usize) {
        while times > 0 {
            self.total += by;
            times -= 1;
        }
        self.log.push(note);
        (self.total, self.log.len())
    }

    #[handler]
    async fn reset(&mut self, ctx: &mut Context<Self>) -> ActorId {
        self.total = 0;
        ctx.id()
    }

    #[handler]
    async fn add_from(&mut self, by: u64, ctx: &mut Context<Counter>) -> String {
        self.total += by;
        format!("{} now {}", ctx.id(), self.total)
    }

    #[handler]
    async fn note(&mut self, line: String) {
        self.log.push(line);
    }

    #[handler]
    async fn last(&mut self, n: usize) -> Option<Vec<String>> {
        let len = self.log.len();
        (n <= len).then(|| self.log[len - n..].to_vec())
    }

    #[handler]
    async fn parse(&mut self, text: String) -> Result<u64, std::num::ParseIntError> {
        let n = text.parse::<u64>()?;
        self.total += n;
        Ok(self.total)
    }

    #[handler]
    async fn snapshot(&mut self) -> Self {
        self.clone()
    }

    #[handler(message = Halt)]
    async fn shut(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }

    /// Not a handler: left alone.
    fn doubled(&self) -> u64 {
        self.total * 2
    }
}

#[tokio::test]
async fn ref_methods_ask_and_return_the_reply() {
    let counter = System::new().spawn(Counter::default()).unwrap();
    assert_eq!(counter.add(2).await.unwrap(), 2);
    assert_eq!(counter.total().await.unwrap(), 2);
    assert_eq!(counter.add_scaled(3, 2, "x".into()).await.unwrap(), (8, 1));
    assert_eq!(
        counter.add_from(1,).await.unwrap(),
        format!("{} now 9", counter.id())
    );
    assert_eq!(counter.reset().await.unwrap(), counter.id());
    counter.note("y".into()).await.unwrap();
    assert_eq!(
        counter.last(2).await.unwrap(),
        Some(vec!["x".into(), "y".into()])
    );
    assert_eq!(counter.last(3).await.unwrap(), None);
    assert_eq!(counter.parse("5".into()).await.unwrap(), Ok(5));
    assert!(counter.parse("five".into()).await.unwrap().is_err());
    let snapshot = counter.snapshot().await.unwrap();
    assert_eq!(snapshot.total, 5);
    assert_eq!(snapshot.doubled(), 10);
}

#[tokio::test]
async fn tell_try_tell_and_timeout_variants() {
    let counter = System::new().spawn(Counter::default()).unwrap();
    counter.tell_add(1).await.unwrap();
    counter.try_tell_add(2).unwrap();
    counter.tell_note("told".into()).await.unwrap();
    let total = counter.total_timeout(Duration::from_secs(5)).await.unwrap();
    assert_eq!(total, 3);
    let sum = counter
        .add_timeout(4, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(sum, 7);
}

#[tokio::test]
async fn generated_messages_work_with_the_plain_ref_api() {
    let counter = System::new().spawn(Counter::default()).unwrap();
    counter.tell(Add { by: 4 }).await.unwrap();
    assert_eq!(counter.ask(Total).await.unwrap(), 4);
    let reply = counter
        .ask(AddScaled {
            by: 1,
            times: 3,
            note: "n".into(),
        })
        .await
        .unwrap();
    assert_eq!(reply, (7, 1));
    let recipient: Recipient<Add> = counter.clone().into();
    recipient.tell(Add { by: 1 }).await.unwrap();
    assert_eq!(counter.ask(Total).await.unwrap(), 8);
}

#[tokio::test]
async fn renamed_message_and_context_use() {
    let counter = System::new().spawn(Counter::default()).unwrap();
    counter.tell(Halt).await.unwrap();
    assert_eq!(counter.wait_stopped().await, StopReason::Normal);
    let refused = counter.tell_shut().await.unwrap_err().into_inner();
    assert!(matches!(refused, Halt));
    assert!(matches!(counter.shut().await, Err(AskError::Stopped)));
}

#[tokio::test]
async fn methods_stay_callable_directly() {
    let mut counter = Counter::default();
    assert_eq!(counter.add(5).await, 5);
    assert_eq!(counter.total().await, 5);
    counter.note("direct".into()).await;
    assert_eq!(counter.log, vec!["direct".to_owned()]);
}

// ===== visibility and a second block with its own trait =====

/// Public items, so the lints on public surface (`missing_docs`,
/// `unreachable_pub`) check what the macros generate.
pub mod bank {
    use proscenium::prelude::*;

    /// A bank account.
    #[derive(Actor, Default, Debug)]
    pub struct Account {
        balance: i64,
    }

    #[handlers]
    impl Account {
        /// Adds `amount` and returns the new balance.
        #[handler]
        pub async fn deposit(&mut self, amount: i64) -> i64 {
            self.balance += amount;
            self.balance
        }

        /// The balance.
        #[handler]
        pub async fn balance(&mut self) -> i64 {
            self.balance
        }
    }

    #[handlers(ext = AccountAdmin)]
    impl Account {
        #[handler]
        pub(crate) async fn freeze(&mut self, ctx: &mut Context<Self>) -> bool {
            ctx.stop();
            true
        }
    }
}

#[tokio::test]
async fn public_handlers_are_usable_from_another_module() {
    use bank::{AccountAdmin, AccountRef};

    let account = System::new().spawn(bank::Account::default()).unwrap();
    assert_eq!(account.deposit(10).await.unwrap(), 10);
    assert_eq!(account.ask(bank::Deposit { amount: -3 }).await.unwrap(), 7);
    assert_eq!(account.ask(bank::Balance).await.unwrap(), 7);
    assert!(account.freeze().await.unwrap());
    account.wait_stopped().await;
}
