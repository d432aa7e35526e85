//! Parsing of `#[actor(..)]`, `#[message(..)]`, `#[handlers(..)]` and
//! `#[handler(..)]`. Every bad key or value is recorded and parsing goes on,
//! so one compile shows every mistake.

use proc_macro2::{TokenStream, TokenTree};
use syn::meta::ParseNestedMeta;
use syn::parse::{Parse, Parser};
use syn::{Attribute, Expr, ExprLit, Ident, Lit, LitStr, Token, Type};

use crate::valid::Errors;

/// `#[actor(mailbox = N, unbounded, name = "..", remote(M1, M2))]`.
#[derive(Default)]
pub(crate) struct ActorAttrs {
    pub(crate) capacity: Option<Expr>,
    pub(crate) unbounded: Option<Ident>,
    pub(crate) name: Option<LitStr>,
    /// The `remote` key and the message types it lists.
    pub(crate) remote: Option<(Ident, Vec<Type>)>,
}

/// `#[message(reply = T, remote)]` or `#[message(remote = "tag")]`.
#[derive(Default)]
pub(crate) struct MessageAttrs {
    pub(crate) reply: Option<Type>,
    /// The `remote` key and its explicit tag, if given.
    pub(crate) remote: Option<(Ident, Option<LitStr>)>,
}

/// `#[handlers(ext = Name, remote)]`.
#[derive(Default)]
pub(crate) struct HandlersAttrs {
    pub(crate) ext: Option<Ident>,
    /// The `remote` key: every handler of the block is remote.
    pub(crate) remote: Option<Ident>,
}

/// `#[handler(message = Name, remote)]` or `#[handler(remote = "tag")]`.
#[derive(Default)]
pub(crate) struct HandlerAttrs {
    pub(crate) message: Option<Ident>,
    /// The `remote` key and its explicit tag, if given.
    pub(crate) remote: Option<(Ident, Option<LitStr>)>,
}

pub(crate) fn actor(errors: &Errors, attrs: &[Attribute]) -> ActorAttrs {
    let mut out = ActorAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("actor")) {
        let parser = keys(errors, |key, meta| {
            match key.to_string().as_str() {
            "mailbox" => {
                let capacity: Expr = value_of(key, meta, CAPACITY)?;
                if let Expr::Lit(lit) = &capacity {
                    if !matches!(lit.lit, Lit::Int(_)) {
                        let message = format!("`mailbox` takes {CAPACITY}");
                        return Err(syn::Error::new_spanned(lit, message));
                    }
                }
                set_once(errors, &mut out.capacity, key, capacity);
                Ok(())
            }
            "unbounded" => {
                no_value(key, meta, "write `#[actor(unbounded)]`")?;
                set_once(errors, &mut out.unbounded, key, key.clone());
                Ok(())
            }
            "name" => {
                let lit = lit_str(key, meta, "a string literal, such as `name = \"counter\"`")?;
                set_once(errors, &mut out.name, key, lit);
                Ok(())
            }
            "remote" => {
                let types = type_list(key, meta)?;
                set_once(errors, &mut out.remote, key, (key.clone(), types));
                Ok(())
            }
            _ => Err(syn::Error::new_spanned(
                key,
                format!("unknown `actor` attribute `{key}`; expected `mailbox = N`, `unbounded`, `name = \"...\"` or `remote(Message, ..)`"),
            )),
        }
        });
        parse_attr(errors, attr, parser);
    }
    out
}

pub(crate) fn message(errors: &Errors, attrs: &[Attribute]) -> MessageAttrs {
    let mut out = MessageAttrs::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("message")) {
        let parser = keys(errors, |key, meta| match key.to_string().as_str() {
            "reply" => {
                let reply: Type = value_of(key, meta, "a type, such as `reply = u64`")?;
                set_once(errors, &mut out.reply, key, reply);
                Ok(())
            }
            "remote" => {
                let tag = remote_tag(key, meta)?;
                set_once(errors, &mut out.remote, key, (key.clone(), tag));
                Ok(())
            }
            _ => Err(syn::Error::new_spanned(
                key,
                format!("unknown `message` attribute `{key}`; expected `reply = Type` or `remote`"),
            )),
        });
        parse_attr(errors, attr, parser);
    }
    out
}

pub(crate) fn handlers(errors: &Errors, args: TokenStream) -> HandlersAttrs {
    let mut out = HandlersAttrs::default();
    let parser = keys(errors, |key, meta| match key.to_string().as_str() {
        "ext" => {
            let ext = ident_value(key, meta, "a trait name, such as `ext = CounterExt`")?;
            set_once(errors, &mut out.ext, key, ext);
            Ok(())
        }
        "remote" => {
            no_value(
                key,
                meta,
                "write `#[handlers(remote)]`, and give tags on each `#[handler(remote = \"..\")]`",
            )?;
            set_once(errors, &mut out.remote, key, key.clone());
            Ok(())
        }
        _ => Err(syn::Error::new_spanned(
            key,
            format!("unknown `handlers` attribute `{key}`; expected `ext = TraitName` or `remote`"),
        )),
    });
    if let Err(e) = syn::meta::parser(parser).parse2(args) {
        errors.push(e);
    }
    out
}

pub(crate) fn handler(errors: &Errors, attr: &Attribute) -> HandlerAttrs {
    let mut out = HandlerAttrs::default();
    if matches!(attr.meta, syn::Meta::Path(_)) {
        return out;
    }
    let parser = keys(errors, |key, meta| match key.to_string().as_str() {
        "message" => {
            let message = ident_value(key, meta, "a type name, such as `message = Plus`")?;
            set_once(errors, &mut out.message, key, message);
            Ok(())
        }
        "remote" => {
            let tag = remote_tag(key, meta)?;
            set_once(errors, &mut out.remote, key, (key.clone(), tag));
            Ok(())
        }
        _ => Err(syn::Error::new_spanned(
            key,
            format!(
                "unknown `handler` attribute `{key}`; expected `message = TypeName` or `remote`"
            ),
        )),
    });
    parse_attr(errors, attr, parser);
    out
}

// ===== helpers =====

const CAPACITY: &str = "a capacity: an integer such as `mailbox = 256`, or a `usize` constant";

/// Wraps a per-key parser: a key's error is recorded and its value skipped,
/// so the keys after it are still read.
fn keys<'a>(
    errors: &'a Errors,
    mut each: impl FnMut(&Ident, &ParseNestedMeta<'_>) -> syn::Result<()> + 'a,
) -> impl FnMut(ParseNestedMeta<'_>) -> syn::Result<()> + 'a {
    move |meta| {
        let Some(key) = meta.path.get_ident().cloned() else {
            errors.spanned(
                &meta.path,
                "expected a single key such as `name`, not a path",
            );
            skip_value(&meta);
            return Ok(());
        };
        if let Err(e) = each(&key, &meta) {
            errors.push(e);
            skip_value(&meta);
        }
        Ok(())
    }
}

fn parse_attr(
    errors: &Errors,
    attr: &Attribute,
    parser: impl FnMut(ParseNestedMeta<'_>) -> syn::Result<()>,
) {
    if let Err(e) = attr.parse_nested_meta(parser) {
        errors.push(e);
    }
}

/// Parses `= value` after `key`, or says what value `key` takes.
fn value_of<T: Parse>(key: &Ident, meta: &ParseNestedMeta<'_>, expected: &str) -> syn::Result<T> {
    if !meta.input.peek(Token![=]) {
        let message = format!("`{key}` needs a value; it takes {expected}");
        return Err(syn::Error::new_spanned(key, message));
    }
    meta.input.parse::<Token![=]>()?;
    meta.input.parse::<T>().map_err(|e| {
        let at = if meta.input.is_empty() || meta.input.peek(Token![,]) {
            key.span()
        } else {
            e.span()
        };
        syn::Error::new(at, format!("`{key}` takes {expected}"))
    })
}

fn no_value(key: &Ident, meta: &ParseNestedMeta<'_>, fix: &str) -> syn::Result<()> {
    if meta.input.is_empty() || meta.input.peek(Token![,]) {
        Ok(())
    } else {
        Err(syn::Error::new_spanned(
            key,
            format!("`{key}` takes no value; {fix}"),
        ))
    }
}

fn lit_str(key: &Ident, meta: &ParseNestedMeta<'_>, expected: &str) -> syn::Result<LitStr> {
    match value_of::<Expr>(key, meta, expected)? {
        Expr::Lit(ExprLit {
            lit: Lit::Str(s), ..
        }) => Ok(s),
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` takes {expected}"),
        )),
    }
}

fn ident_value(key: &Ident, meta: &ParseNestedMeta<'_>, expected: &str) -> syn::Result<Ident> {
    match value_of::<Expr>(key, meta, expected)? {
        Expr::Path(p) if p.qself.is_none() && p.path.get_ident().is_some() => {
            Ok(p.path.segments[0].ident.clone())
        }
        other => Err(syn::Error::new_spanned(
            other,
            format!("`{key}` takes {expected}"),
        )),
    }
}

/// The tag of `remote = "tag"`, or `None` for a bare `remote`.
fn remote_tag(key: &Ident, meta: &ParseNestedMeta<'_>) -> syn::Result<Option<LitStr>> {
    if !meta.input.peek(Token![=]) {
        return Ok(None);
    }
    lit_str(key, meta, "a stable tag, such as `remote = \"shop.Order\"`").map(Some)
}

/// Parses `(Type, Type, ..)` after `key`.
fn type_list(key: &Ident, meta: &ParseNestedMeta<'_>) -> syn::Result<Vec<Type>> {
    if !meta.input.peek(syn::token::Paren) {
        let message = format!(
            "`{key}` lists the remote messages the actor handles, such as `{key}(Add, Get)`"
        );
        return Err(syn::Error::new_spanned(key, message));
    }
    let content;
    syn::parenthesized!(content in meta.input);
    let types = content.parse_terminated(Type::parse, Token![,])?;
    Ok(types.into_iter().collect())
}

/// Consumes what is left of a key that failed, so the next key parses.
fn skip_value(meta: &ParseNestedMeta<'_>) {
    while !meta.input.is_empty() && !meta.input.peek(Token![,]) {
        if meta.input.parse::<TokenTree>().is_err() {
            return;
        }
    }
}

fn set_once<T>(errors: &Errors, slot: &mut Option<T>, key: &Ident, value: T) {
    if slot.is_some() {
        errors.spanned(key, format!("`{key}` is given twice; keep one"));
    } else {
        *slot = Some(value);
    }
}
