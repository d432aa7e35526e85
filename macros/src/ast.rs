//! The typed form of each macro's input, borrowing from `syn`.

use proc_macro2::{Span, TokenStream};
use syn::{
    Attribute, DeriveInput, FnArg, Ident, ImplItem, ImplItemFn, ItemImpl, Pat, ReturnType, Type,
    Visibility,
};

use crate::attr::{self, ActorAttrs, HandlerAttrs, HandlersAttrs, MessageAttrs};
use crate::valid::Errors;

/// A `#[derive(Actor)]` input.
pub(crate) struct ActorInput<'a> {
    pub(crate) input: &'a DeriveInput,
    pub(crate) attrs: ActorAttrs,
}

/// A `#[derive(Message)]` input.
pub(crate) struct MessageInput<'a> {
    pub(crate) input: &'a DeriveInput,
    pub(crate) attrs: MessageAttrs,
}

/// A `#[handlers]` impl block.
pub(crate) struct HandlersInput {
    /// The block as the user wrote it, minus the `#[handler]` attributes.
    pub(crate) item: ItemImpl,
    pub(crate) attrs: HandlersAttrs,
    /// The trait generated for `ActorRef<Self>`.
    pub(crate) ext: Ident,
    pub(crate) handlers: Vec<HandlerFn>,
    /// `#[handler]` attributes found on items other than methods, removed.
    pub(crate) misplaced: Vec<Attribute>,
}

/// One `#[handler]` method.
pub(crate) struct HandlerFn {
    pub(crate) func: ImplItemFn,
    pub(crate) attrs: HandlerAttrs,
    /// The generated message type.
    pub(crate) message: Ident,
    /// Every argument but the receiver and the context.
    pub(crate) args: Vec<Arg>,
    /// The trailing `&mut Context<Self>` argument, when there is one.
    pub(crate) ctx: Option<Type>,
    pub(crate) reply: Type,
}

/// A handler argument, which becomes a message field.
pub(crate) struct Arg {
    pub(crate) pat: Pat,
    pub(crate) ty: Type,
}

impl<'a> ActorInput<'a> {
    pub(crate) fn from_syn(errors: &Errors, input: &'a DeriveInput) -> Self {
        let attrs = attr::actor(errors, &input.attrs);
        Self { input, attrs }
    }
}

impl<'a> MessageInput<'a> {
    pub(crate) fn from_syn(errors: &Errors, input: &'a DeriveInput) -> Self {
        let attrs = attr::message(errors, &input.attrs);
        Self { input, attrs }
    }

    pub(crate) fn reply(&self) -> Type {
        self.attrs
            .reply
            .clone()
            .unwrap_or_else(|| syn::parse_quote!(()))
    }
}

impl HandlersInput {
    pub(crate) fn from_syn(errors: &Errors, args: TokenStream, mut item: ItemImpl) -> Self {
        let attrs = attr::handlers(errors, args);
        let mut handlers = Vec::new();
        let mut misplaced = Vec::new();
        for impl_item in &mut item.items {
            let item_attrs = match impl_item {
                ImplItem::Fn(func) => {
                    if let Some(marker) = take_handler_attr(&mut func.attrs) {
                        let attrs = attr::handler(errors, &marker);
                        handlers.push(HandlerFn::new(func.clone(), attrs));
                    }
                    continue;
                }
                ImplItem::Const(c) => &mut c.attrs,
                ImplItem::Type(t) => &mut t.attrs,
                ImplItem::Macro(m) => &mut m.attrs,
                _ => continue,
            };
            misplaced.extend(take_handler_attr(item_attrs));
        }
        let ext = attrs.ext.clone().unwrap_or_else(|| {
            let name = self_name(&item.self_ty).unwrap_or_else(|| "Actor".to_owned());
            Ident::new(&format!("{name}Ref"), Span::call_site())
        });
        Self {
            item,
            attrs,
            ext,
            handlers,
            misplaced,
        }
    }

    /// The type the block is for.
    pub(crate) fn self_ty(&self) -> &Type {
        &self.item.self_ty
    }

    /// The wire tag of `handler`'s message when it is remote (marked on
    /// the method or the block): the tag given, or `Actor::Message`, so
    /// that two actors' `get` handlers do not claim the same tag.
    pub(crate) fn remote_tag(&self, handler: &HandlerFn) -> Option<String> {
        match &handler.attrs.remote {
            Some((_, Some(tag))) => Some(tag.value()),
            Some((_, None)) => Some(self.default_tag(handler)),
            None => self
                .attrs
                .remote
                .as_ref()
                .map(|_| self.default_tag(handler)),
        }
    }

    fn default_tag(&self, handler: &HandlerFn) -> String {
        let actor = self_name(self.self_ty()).unwrap_or_else(|| self.ext.to_string());
        format!("{actor}::{}", handler.message)
    }
}

impl HandlerFn {
    fn new(func: ImplItemFn, attrs: HandlerAttrs) -> Self {
        let message = attrs.message.clone().unwrap_or_else(|| {
            let name = upper_camel(&func.sig.ident);
            // `fn __()` has no letters to build a name from; `valid` reports it.
            let name = if name.is_empty() {
                "Unnamed".to_owned()
            } else {
                name
            };
            Ident::new(&name, func.sig.ident.span())
        });
        let mut args = Vec::new();
        let mut ctx = None;
        let inputs: Vec<_> = func.sig.inputs.iter().collect();
        for (i, input) in inputs.iter().enumerate() {
            let FnArg::Typed(typed) = input else { continue };
            if i + 1 == inputs.len() && is_context(&typed.ty) {
                ctx = Some((*typed.ty).clone());
            } else {
                args.push(Arg {
                    pat: (*typed.pat).clone(),
                    ty: (*typed.ty).clone(),
                });
            }
        }
        let reply = match &func.sig.output {
            ReturnType::Default => syn::parse_quote!(()),
            ReturnType::Type(_, ty) => (**ty).clone(),
        };
        Self {
            func,
            attrs,
            message,
            args,
            ctx,
            reply,
        }
    }

    pub(crate) fn ident(&self) -> &Ident {
        &self.func.sig.ident
    }

    pub(crate) fn vis(&self) -> &Visibility {
        &self.func.vis
    }

    /// The method's doc comments, copied onto what is generated for it.
    pub(crate) fn docs(&self) -> impl Iterator<Item = &Attribute> {
        self.func.attrs.iter().filter(|a| a.path().is_ident("doc"))
    }

    /// The name each argument is bound to; `None` for a pattern that is not a plain name.
    pub(crate) fn arg_idents(&self) -> impl Iterator<Item = Option<&Ident>> {
        self.args.iter().map(|arg| match &arg.pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => Some(&p.ident),
            _ => None,
        })
    }
}

/// Removes and returns the first `#[handler]` attribute of an item.
fn take_handler_attr(attrs: &mut Vec<Attribute>) -> Option<Attribute> {
    let at = attrs.iter().position(|a| a.path().is_ident("handler"))?;
    Some(attrs.remove(at))
}

/// Whether `ty` is `&mut Context<..>` (by the last path segment's name).
pub(crate) fn is_context(ty: &Type) -> bool {
    let Type::Reference(r) = ty else { return false };
    let Type::Path(path) = &*r.elem else {
        return false;
    };
    r.mutability.is_some()
        && path
            .path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Context")
}

/// The name of the last path segment of `ty` (`Counter` for `crate::Counter`).
pub(crate) fn self_name(ty: &Type) -> Option<String> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last().map(|s| s.ident.to_string()),
        // `$ty` from a `macro_rules!` arrives wrapped in a group.
        Type::Group(g) => self_name(&g.elem),
        Type::Paren(p) => self_name(&p.elem),
        _ => None,
    }
}

/// `reset_all` → `ResetAll`; `r#type` → `Type`.
pub(crate) fn upper_camel(ident: &Ident) -> String {
    let name = ident.to_string();
    name.trim_start_matches("r#")
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|first| first.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect()
}
