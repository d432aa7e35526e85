//! An `Err` returned by the handler of a tell, which nobody receives, is
//! logged as a warning naming the actor, the message type and the error;
//! an `Err` that an asker receives, and an `Ok`, are not. The actor keeps
//! running.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use proscenium::prelude::*;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Level, Metadata, Subscriber};

/// Keeps the fields of every warning, as `name=value` lines.
#[derive(Clone, Default)]
struct Warnings(Arc<Mutex<Vec<String>>>);

impl Warnings {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.push_str(&format!("{}={value:?} ", field.name()));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push_str(&format!("{}={value} ", field.name()));
    }
}

impl Subscriber for Warnings {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if *event.metadata().level() == Level::WARN {
            let mut fields = Fields(String::new());
            event.record(&mut fields);
            let mut warnings = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            warnings.push(fields.0);
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[derive(Message)]
#[message(reply = Result<u32, String>)]
struct Withdraw(u32);

/// An error type without `Display`.
#[derive(Debug)]
struct Overdrawn;

#[derive(Message)]
#[message(reply = Result<(), Overdrawn>)]
struct Check;

#[derive(Actor)]
struct Account {
    balance: u32,
}

impl Handler<Withdraw> for Account {
    async fn handle(
        &mut self,
        Withdraw(amount): Withdraw,
        _: &mut Context<Self>,
    ) -> Result<u32, String> {
        self.balance = self
            .balance
            .checked_sub(amount)
            .ok_or_else(|| format!("cannot withdraw {amount} from {}", self.balance))?;
        Ok(self.balance)
    }
}

impl Handler<Check> for Account {
    async fn handle(&mut self, _: Check, _: &mut Context<Self>) -> Result<(), Overdrawn> {
        Err(Overdrawn)
    }
}

#[handlers]
impl Account {
    #[handler]
    async fn deposit(&mut self, amount: u32) -> Result<u32, String> {
        self.balance = self
            .balance
            .checked_add(amount)
            .ok_or("the balance would overflow")?;
        Ok(self.balance)
    }
}

#[tokio::test]
async fn an_error_from_a_told_handler_is_logged_with_actor_and_message_type() {
    let warnings = Warnings::default();
    let _guard = tracing::subscriber::set_default(warnings.clone());
    let system = System::new();
    let account = system.spawn(Account { balance: 10 }).unwrap();

    account.tell(Withdraw(4)).await.unwrap();
    account.tell(Withdraw(100)).await.unwrap();
    // Handled in order: once this answers, both tells are handled, and the
    // actor is still up after the error.
    assert_eq!(account.ask(Withdraw(1)).await, Ok(Ok(5)));

    let logged = warnings.take();
    assert_eq!(logged.len(), 1, "one warning expected: {logged:?}");
    let warning = &logged[0];
    assert!(
        warning.contains(&format!("actor={}", account.id())),
        "{warning}"
    );
    assert!(warning.contains("Withdraw"), "{warning}");
    assert!(
        warning.contains("error=cannot withdraw 100 from 6"),
        "{warning}"
    );
}

#[tokio::test]
async fn an_error_an_asker_receives_is_not_logged() {
    let warnings = Warnings::default();
    let _guard = tracing::subscriber::set_default(warnings.clone());
    let system = System::new();
    let account = system.spawn(Account { balance: 1 }).unwrap();

    let refused = account.ask(Withdraw(2)).await.unwrap();
    assert_eq!(refused, Err("cannot withdraw 2 from 1".to_owned()));
    assert_eq!(warnings.take(), Vec::<String>::new());
}

#[tokio::test]
async fn an_error_without_display_is_logged_by_type_and_handlers_report_too() {
    let warnings = Warnings::default();
    let _guard = tracing::subscriber::set_default(warnings.clone());
    let system = System::new();
    let account = system.spawn(Account { balance: u32::MAX }).unwrap();

    account.tell(Check).await.unwrap();
    account.tell_deposit(1).await.unwrap();
    assert_eq!(account.ask(Withdraw(0)).await, Ok(Ok(u32::MAX)));

    let logged = warnings.take();
    assert_eq!(logged.len(), 2, "two warnings expected: {logged:?}");
    assert!(logged[0].contains("Check"), "{}", logged[0]);
    assert!(
        logged[0].contains("an error of type tell_errors_are_logged::Overdrawn"),
        "{}",
        logged[0]
    );
    assert!(logged[1].contains("Deposit"), "{}", logged[1]);
    assert!(
        logged[1].contains("error=the balance would overflow"),
        "{}",
        logged[1]
    );
}
