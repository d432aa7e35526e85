//! Checks on the parsed input. Every mistake is recorded with the span of
//! the tokens at fault, and all of them are reported together.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Display;

use quote::ToTokens;
use syn::{Data, FnArg, Lit, ReturnType, Type};

use crate::ast::{self, ActorInput, HandlersInput, MessageInput};

/// The mistakes found so far.
#[derive(Default)]
pub(crate) struct Errors {
    errors: RefCell<Vec<syn::Error>>,
}

impl Errors {
    pub(crate) fn push(&self, error: syn::Error) {
        self.errors.borrow_mut().push(error);
    }

    pub(crate) fn spanned(&self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// All mistakes combined into one error, or `Ok` when there were none.
    pub(crate) fn finish(self) -> syn::Result<()> {
        let mut errors = self.errors.into_inner().into_iter();
        let Some(mut first) = errors.next() else {
            return Ok(());
        };
        first.extend(errors);
        Err(first)
    }
}

pub(crate) fn actor(errors: &Errors, actor: &ActorInput<'_>) {
    match &actor.input.data {
        Data::Struct(_) => {}
        Data::Enum(data) => errors.spanned(
            data.enum_token,
            "`#[derive(Actor)]` works on structs only; keep the enum in a field of a struct (`struct Machine { state: State }`)",
        ),
        Data::Union(data) => errors.spanned(
            data.union_token,
            "`#[derive(Actor)]` works on structs only; keep the union in a field of a struct",
        ),
    }
    let attrs = &actor.attrs;
    if let Some((key, types)) = &attrs.remote {
        if !actor.input.generics.params.is_empty() {
            errors.spanned(key, "a `remote` actor cannot be generic: register each concrete type with `Registry::handler`");
        }
        if types.is_empty() {
            errors.spanned(key, "`remote()` lists no message; name the remote messages it handles, such as `remote(Add)`");
        }
    }
    if let (Some(unbounded), Some(_)) = (&attrs.unbounded, &attrs.capacity) {
        errors.spanned(
            unbounded,
            "`unbounded` and `mailbox = ..` contradict each other; keep one",
        );
    }
    if let Some(syn::Expr::Lit(syn::ExprLit {
        lit: Lit::Int(n), ..
    })) = &attrs.capacity
    {
        if n.base10_parse::<usize>().is_ok_and(|n| n == 0) {
            errors.spanned(
                n,
                "a mailbox holds at least one message; use `mailbox = 1` or more",
            );
        }
    }
    if let Some(name) = &attrs.name {
        if name.value().is_empty() {
            errors.spanned(name, "an actor's default name cannot be empty");
        }
    }
}

pub(crate) fn message(errors: &Errors, message: &MessageInput<'_>) {
    // Any type can be a message; `Send + 'static` is left to the compiler,
    // whose error names the field at fault. A remote one needs a single
    // wire tag, so it cannot be generic.
    if let Some((key, _)) = &message.attrs.remote {
        if !message.input.generics.params.is_empty() {
            errors.spanned(
                key,
                "a `remote` message cannot be generic: give each concrete message its own type",
            );
        }
    }
}

/// Methods of `ActorRef` that a generated method of the same name would be
/// shadowed by, silently.
const REF_METHODS: &[&str] = &[
    "ask",
    "ask_timeout",
    "id",
    "is_alive",
    "is_local",
    "kill",
    "stop",
    "tell",
    "try_tell",
    "wait_stopped",
];

pub(crate) fn handlers(errors: &Errors, input: &HandlersInput) {
    let item = &input.item;
    if let Some((_, path, _)) = &item.trait_ {
        errors.spanned(
            path,
            "`#[handlers]` goes on an inherent `impl Actor { .. }` block, not on a trait impl",
        );
    }
    if !item.generics.params.is_empty() {
        errors.spanned(
            &item.generics,
            "`#[handlers]` does not support generic impl blocks yet; implement `Handler<M>` by hand for generic actors",
        );
    }
    if ast::self_name(&item.self_ty).is_none() && input.attrs.ext.is_none() {
        errors.spanned(
            &item.self_ty,
            "`#[handlers]` needs a named actor type, as in `impl Counter { .. }`",
        );
    }
    for attr in &input.misplaced {
        errors.spanned(attr, "`#[handler]` goes on `async fn` methods only");
    }
    if input.handlers.is_empty() && item.trait_.is_none() {
        errors.spanned(
            &item.self_ty,
            "this `#[handlers]` block has no `#[handler]` methods; mark the methods that handle messages with `#[handler]`",
        );
    }
    for handler in &input.handlers {
        handler_fn(errors, handler);
    }
    same_visibility(errors, input);
    unique_names(errors, input);
}

fn handler_fn(errors: &Errors, handler: &ast::HandlerFn) {
    let sig = &handler.func.sig;
    if sig.asyncness.is_none() {
        errors.spanned(
            sig.fn_token,
            "a `#[handler]` method must be `async fn`; add `async`",
        );
    }
    if let Some(unsafety) = sig.unsafety {
        errors.spanned(unsafety, "a `#[handler]` method cannot be `unsafe`");
    }
    if !sig.generics.params.is_empty() {
        errors.spanned(
            &sig.generics,
            "a `#[handler]` method cannot be generic: its arguments become the fields of a message type",
        );
    }
    match sig.inputs.first() {
        Some(FnArg::Receiver(r)) if r.reference.is_some() && r.mutability.is_some() => {}
        Some(FnArg::Receiver(r)) => errors.spanned(
            r,
            "a `#[handler]` method takes `&mut self`: the actor keeps its state from one message to the next",
        ),
        _ => errors.spanned(
            &sig.ident,
            "a `#[handler]` method takes `&mut self` first; add it",
        ),
    }
    if ast::upper_camel(&sig.ident).is_empty() && handler.attrs.message.is_none() {
        errors.spanned(
            &sig.ident,
            "cannot build a message name from this method name; name it with `#[handler(message = Name)]`",
        );
    }
    for (arg, ident) in handler.args.iter().zip(handler.arg_idents()) {
        if ident.is_none() {
            errors.spanned(
                &arg.pat,
                "a `#[handler]` argument needs a plain name, which becomes the message field; destructure it in the body",
            );
        }
        if ast::is_context(&arg.ty) {
            errors.spanned(
                &arg.ty,
                "the context goes last: `ctx: &mut Context<Self>` after the other arguments",
            );
        } else if let Type::Reference(r) = &arg.ty {
            errors.spanned(
                r,
                "a `#[handler]` argument becomes a message field, which must own its data; take an owned type (`String` for `&str`, `Vec<T>` for `&[T]`)",
            );
        } else if let Type::ImplTrait(t) = &arg.ty {
            errors.spanned(
                t,
                "a `#[handler]` argument becomes a message field, which needs a concrete type instead of `impl Trait`",
            );
        }
    }
    if let ReturnType::Type(_, ty) = &sig.output {
        if let Type::ImplTrait(t) = &**ty {
            errors.spanned(
                t,
                "a `#[handler]` return type becomes the reply type, which needs a concrete type instead of `impl Trait`",
            );
        }
    }
}

fn same_visibility(errors: &Errors, input: &HandlersInput) {
    let Some(first) = input.handlers.first() else {
        return;
    };
    let first_vis = first.vis().to_token_stream().to_string();
    for handler in &input.handlers[1..] {
        if handler.vis().to_token_stream().to_string() != first_vis {
            let shown = if first_vis.is_empty() {
                "private".to_owned()
            } else {
                format!("`{first_vis}`")
            };
            errors.spanned(
                &handler.func.sig.ident,
                format!(
                    "the `#[handler]` methods of one block share one visibility, because the `{}` trait carries them all; make this one {shown} like `{}`, or move it to another block with `#[handlers(ext = OtherName)]`",
                    input.ext,
                    first.ident(),
                ),
            );
        }
    }
}

fn unique_names(errors: &Errors, input: &HandlersInput) {
    let mut messages = HashMap::new();
    let mut methods = HashMap::new();
    for handler in &input.handlers {
        let name = handler.ident();
        if let Some(other) = messages.insert(handler.message.to_string(), name) {
            errors.spanned(
                name,
                format!(
                    "handlers `{other}` and `{name}` would both define the message type `{}`; rename one, or name its message with `#[handler(message = Name)]`",
                    handler.message,
                ),
            );
        }
        if REF_METHODS.contains(&name.to_string().as_str()) {
            errors.spanned(
                name,
                format!("a handler named `{name}` would be hidden behind `ActorRef::{name}`; rename the method"),
            );
        }
        let generated = [
            name.to_string(),
            format!("{name}_timeout"),
            format!("tell_{name}"),
            format!("try_tell_{name}"),
        ];
        for method in generated {
            if let Some(other) = methods.insert(method.clone(), name) {
                if other != name {
                    errors.spanned(
                        name,
                        format!(
                            "handlers `{other}` and `{name}` would both define `{}::{method}`; rename one",
                            input.ext
                        ),
                    );
                }
            }
        }
    }
}
