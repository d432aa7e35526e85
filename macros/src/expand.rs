//! Code generation. Each entry point parses, validates, and expands, or
//! falls back to a stand-in impl plus the errors.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit_mut::VisitMut;
use syn::{DeriveInput, Generics, Ident, ItemImpl, Type};

use crate::ast::{ActorInput, HandlerFn, HandlersInput, MessageInput};
use crate::fallback;
use crate::valid::{self, Errors};

pub(crate) fn derive_actor(input: &DeriveInput) -> TokenStream {
    let errors = Errors::default();
    let actor = ActorInput::from_syn(&errors, input);
    valid::actor(&errors, &actor);
    match errors.finish() {
        Ok(()) => actor_impl(&actor),
        Err(e) => fallback::actor(input, e),
    }
}

pub(crate) fn derive_message(input: &DeriveInput) -> TokenStream {
    let errors = Errors::default();
    let message = MessageInput::from_syn(&errors, input);
    valid::message(&errors, &message);
    match errors.finish() {
        Ok(()) => {
            let mut tokens = message_impl(message.input, &message.reply());
            if let Some((_, tag)) = &message.attrs.remote {
                tokens.extend(remote_message_impl(&message, tag.as_ref()));
            }
            tokens
        }
        Err(e) => fallback::message(input, &message.reply(), e),
    }
}

pub(crate) fn handlers(args: TokenStream, item: ItemImpl) -> TokenStream {
    let errors = Errors::default();
    let input = HandlersInput::from_syn(&errors, args, item);
    valid::handlers(&errors, &input);
    match errors.finish() {
        Ok(()) => handlers_impl(&input),
        Err(e) => fallback::handlers(&input, e),
    }
}

// ===== derive(Actor) =====

fn actor_impl(actor: &ActorInput<'_>) -> TokenStream {
    let attrs = &actor.attrs;
    let mailbox = match (&attrs.capacity, &attrs.unbounded) {
        (Some(capacity), _) => Some(quote! {
            fn mailbox() -> ::proscenium::__private::Mailbox {
                ::proscenium::__private::Mailbox::Bounded(#capacity)
            }
        }),
        (None, Some(_)) => Some(quote! {
            fn mailbox() -> ::proscenium::__private::Mailbox {
                ::proscenium::__private::Mailbox::Unbounded
            }
        }),
        (None, None) => None,
    };
    let name = attrs.name.as_ref().map(|name| {
        quote! {
            const DEFAULT_NAME: ::core::option::Option<&'static str> =
                ::core::option::Option::Some(#name);
        }
    });
    let mut tokens = trait_impl(
        actor.input,
        quote!(::proscenium::__private::Actor),
        quote!(#mailbox #name),
    );
    if let Some((_, messages)) = &attrs.remote {
        tokens.extend(remote_actor_registration(&actor.input.ident, messages));
    }
    tokens
}

/// Registers, at link time, that `actor` receives `messages` from other nodes.
fn remote_actor_registration(actor: &Ident, messages: &[Type]) -> TokenStream {
    // Spanned at each listed message, so that a listed message the actor
    // does not handle, or one not marked remote, is the token at fault.
    let registrations = messages.iter().map(|message| {
        quote_spanned! {message.span()=>
            registry.handler::<#actor, #message>();
        }
    });
    quote! {
        const _: () = {
            fn register(registry: &mut ::proscenium::__private::Registry) {
                #(#registrations)*
            }
            ::proscenium::__private::inventory::submit! {
                ::proscenium::__private::RemoteRegistration { register }
            }
        };
    }
}

/// `RemoteMessage` for a `#[message(remote)]` type, with the type's name
/// as its tag unless given.
fn remote_message_impl(message: &MessageInput<'_>, tag: Option<&syn::LitStr>) -> TokenStream {
    let ident = &message.input.ident;
    let reply_at = message
        .attrs
        .reply
        .as_ref()
        .map_or(ident.span(), Spanned::span);
    remote_impl(&RemoteItem {
        message: ident,
        tag: tag.map_or_else(|| ident.to_string(), syn::LitStr::value),
        handler: None,
        reply_at,
    })
}

/// A message that crosses the wire, as the macros saw it.
struct RemoteItem<'a> {
    message: &'a Ident,
    tag: String,
    /// For a `#[handler(remote)]` message: the actor and the argument types.
    handler: Option<(&'a Type, Vec<Type>)>,
    /// Where an error about the reply points.
    reply_at: Span,
}

/// `RemoteMessage` for the message, a check that names a missing serde
/// derive in one short error, and the link-time registration of the
/// message, with its handler for a `#[handler(remote)]` one (see
/// `proscenium::__private::remote`).
fn remote_impl(item: &RemoteItem<'_>) -> TokenStream {
    let RemoteItem { message, tag, .. } = item;
    let check = serde_check(item);
    let register = match &item.handler {
        Some((actor, _)) => quote!(register_handler::<#actor>(registry)),
        None => quote!(register_message(registry)),
    };
    quote! {
        const _: () = {
            #[automatically_derived]
            impl ::proscenium::__private::RemoteMessage for #message
            where
                // `for<'w>`: not checked here, so a missing serde derive is
                // reported once, by the check below.
                for<'w> #message: ::proscenium::__private::remote::Wire,
                for<'w> <#message as ::proscenium::__private::Message>::Reply:
                    ::proscenium::__private::remote::Wire,
            {
                const TAG: &'static str = #tag;
            }
            #check
            fn register(registry: &mut ::proscenium::__private::Registry) {
                #[allow(unused_imports)]
                use ::proscenium::__private::remote::{RegisterRemote as _, SkipRegister as _};
                (&&::proscenium::__private::remote::Probe::<#message>::new()).#register;
            }
            ::proscenium::__private::inventory::submit! {
                ::proscenium::__private::RemoteRegistration { register }
            }
        };
    }
}

/// Fails to compile, with an error that names the fix, when the message
/// of a `#[message(remote)]`, an argument of a `#[handler(remote)]`, or
/// the reply lacks serde.
fn serde_check(item: &RemoteItem<'_>) -> TokenStream {
    let message = item.message;
    let probe = quote!(::proscenium::__private::remote::Probe);
    let inputs = match &item.handler {
        None => vec![quote_spanned! {message.span()=>
            ::proscenium::__private::remote::message_serde::<#message, _>(
                (&&#probe::<#message>::new()).serde(),
            );
        }],
        Some((_, args)) => args
            .iter()
            .map(|ty| {
                quote_spanned! {ty.span()=>
                    ::proscenium::__private::remote::arg_serde::<#message, #ty, _>(
                        (&&#probe::<#ty>::new()).serde(),
                    );
                }
            })
            .collect(),
    };
    let reply = quote!(<#message as ::proscenium::__private::Message>::Reply);
    let reply_check = quote_spanned! {item.reply_at=>
        ::proscenium::__private::remote::reply_serde::<#message, #reply, _>(
            (&&#probe::<#reply>::new()).serde(),
        );
    };
    quote! {
        #[allow(dead_code)]
        fn check() {
            #[allow(unused_imports)]
            use ::proscenium::__private::remote::{ViaSerde as _, WithoutSerde as _};
            #(#inputs)*
            #reply_check
        }
    }
}

// ===== derive(Message) =====

pub(crate) fn message_impl(input: &DeriveInput, reply: &Type) -> TokenStream {
    trait_impl(input, quote!(::proscenium::__private::Message), {
        let tell_error = tell_error_fn();
        quote!(type Reply = #reply; #tell_error)
    })
}

/// `Message::tell_error` for any reply type: a `Result` reply's error
/// is reported (see `proscenium::__private::tell_error`).
fn tell_error_fn() -> TokenStream {
    quote! {
        fn tell_error(
            reply: &<Self as ::proscenium::__private::Message>::Reply,
        ) -> ::core::option::Option<::std::string::String> {
            #[allow(unused_imports)]
            use ::proscenium::__private::tell_error::{
                AnyError as _, DisplayError as _, NoError as _,
            };
            (&&&::proscenium::__private::tell_error::Probe(reply)).tell_error()
        }
    }
}

/// `impl Trait for Input { body }` in a `const _` block, with `Send +
/// 'static` bounds on the type parameters and `'static` on the lifetimes.
pub(crate) fn trait_impl(
    input: &DeriveInput,
    trait_path: TokenStream,
    body: TokenStream,
) -> TokenStream {
    let ident = &input.ident;
    let generics = static_bounds(&input.generics);
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    quote! {
        #[allow(non_local_definitions)]
        const _: () = {
            #[automatically_derived]
            impl #impl_generics #trait_path for #ident #ty_generics #where_clause {
                #body
            }
        };
    }
}

fn static_bounds(generics: &Generics) -> Generics {
    let mut generics = generics.clone();
    for param in generics.lifetimes_mut() {
        param.bounds.push(syn::parse_quote!('static));
    }
    for param in generics.type_params_mut() {
        param.bounds.push(syn::parse_quote!(::core::marker::Send));
        param.bounds.push(syn::parse_quote!('static));
    }
    generics
}

// ===== #[handlers] =====

fn handlers_impl(input: &HandlersInput) -> TokenStream {
    let item = &input.item;
    let self_ty = input.self_ty();
    let messages = input
        .handlers
        .iter()
        .map(|h| message_struct(h, self_ty, input.remote_tag(h).is_some()));
    let impls = input.handlers.iter().map(|h| handler_impls(h, self_ty));
    let remotes = input.handlers.iter().filter_map(|h| {
        let tag = input.remote_tag(h)?;
        let args = h
            .args
            .iter()
            .map(|arg| outside_impl(&arg.ty, self_ty))
            .collect();
        let reply_at = match &h.func.sig.output {
            syn::ReturnType::Type(_, ty) => ty.span(),
            syn::ReturnType::Default => h.ident().span(),
        };
        Some(remote_impl(&RemoteItem {
            message: &h.message,
            tag,
            handler: Some((self_ty, args)),
            reply_at,
        }))
    });
    let ext = ext_trait(input);
    quote! {
        #item
        #(#messages)*
        #[allow(non_local_definitions)]
        const _: () = {
            #(#impls)*
        };
        #(#remotes)*
        #ext
    }
}

/// Replaces `Self` with the actor type, for types moved out of the impl block.
struct ReplaceSelf<'a>(&'a Type);

impl VisitMut for ReplaceSelf<'_> {
    fn visit_type_mut(&mut self, ty: &mut Type) {
        if let Type::Path(p) = ty {
            if p.qself.is_none() && p.path.is_ident("Self") {
                *ty = self.0.clone();
                return;
            }
        }
        syn::visit_mut::visit_type_mut(self, ty);
    }
}

fn outside_impl(ty: &Type, self_ty: &Type) -> Type {
    let mut ty = ty.clone();
    ReplaceSelf(self_ty).visit_type_mut(&mut ty);
    ty
}

fn message_struct(handler: &HandlerFn, self_ty: &Type, remote: bool) -> TokenStream {
    let vis = handler.vis();
    let serde = remote.then(|| message_serde(handler, self_ty));
    let name = &handler.message;
    let method = handler.ident();
    let docs = handler.docs();
    let summary = format!(
        "The message that runs `{}::{method}` on the actor (generated by `#[handlers]`).",
        quote!(#self_ty)
    );
    let separator = handler.docs().next().map(|_| quote!(#[doc = ""]));
    if handler.args.is_empty() {
        return quote! {
            #(#docs)*
            #separator
            #[doc = #summary]
            #vis struct #name;
            #serde
        };
    }
    let fields = handler
        .args
        .iter()
        .zip(handler.arg_idents())
        .map(|(arg, ident)| {
            let ty = outside_impl(&arg.ty, self_ty);
            let doc = format!("The `{}` argument.", quote!(#ident));
            quote! {
                #[doc = #doc]
                #vis #ident: #ty
            }
        });
    quote! {
        #(#docs)*
        #separator
        #[doc = #summary]
        #vis struct #name {
            #(#fields,)*
        }
        #serde
    }
}

/// `Serialize` and `Deserialize` for a remote handler's message, as the
/// tuple of its fields. Written by hand rather than derived so that an
/// argument without serde fails only the short check of `remote_args_check`:
/// the `for<'w>` bounds are not checked at the impl.
fn message_serde(handler: &HandlerFn, self_ty: &Type) -> TokenStream {
    let name = &handler.message;
    let serde = quote!(::proscenium::__private::serde);
    let types: Vec<_> = handler
        .args
        .iter()
        .map(|arg| outside_impl(&arg.ty, self_ty))
        .collect();
    let fields: Vec<_> = handler.arg_idents().collect();
    let serializer = Ident::new("serializer", Span::mixed_site());
    let deserializer = Ident::new("deserializer", Span::mixed_site());
    let build = if fields.is_empty() {
        quote!(#name)
    } else {
        quote!(#name { #(#fields),* })
    };
    quote! {
        #[allow(non_local_definitions)]
        const _: () = {
            #[automatically_derived]
            impl #serde::Serialize for #name
            where
                #(for<'w> #types: #serde::Serialize,)*
            {
                fn serialize<S: #serde::Serializer>(
                    &self,
                    #serializer: S,
                ) -> ::core::result::Result<S::Ok, S::Error> {
                    #serde::Serialize::serialize(&(#(&self.#fields,)*), #serializer)
                }
            }

            #[automatically_derived]
            impl<'de> #serde::Deserialize<'de> for #name
            where
                #(for<'w> #types: #serde::de::DeserializeOwned,)*
            {
                fn deserialize<D: #serde::Deserializer<'de>>(
                    #deserializer: D,
                ) -> ::core::result::Result<Self, D::Error> {
                    let (#(#fields,)*) =
                        <(#(#types,)*) as #serde::Deserialize<'de>>::deserialize(#deserializer)?;
                    ::core::result::Result::Ok(#build)
                }
            }
        };
    }
}

fn handler_impls(handler: &HandlerFn, self_ty: &Type) -> TokenStream {
    let name = &handler.message;
    let method = handler.ident();
    let reply = outside_impl(&handler.reply, self_ty);
    let msg = Ident::new("msg", Span::mixed_site());
    let ctx = Ident::new("ctx", Span::mixed_site());
    let fields: Vec<_> = handler.arg_idents().collect();
    let destructure = if fields.is_empty() {
        quote!(let #name = #msg;)
    } else {
        quote!(let #name { #(#fields),* } = #msg;)
    };
    let pass_ctx = handler.ctx.as_ref().map(|_| quote!(#ctx));
    let unused_ctx = handler.ctx.is_none().then(|| quote!(let _ = #ctx;));
    let tell_error = tell_error_fn();
    quote! {
        #[automatically_derived]
        impl ::proscenium::__private::Message for #name {
            type Reply = #reply;
            #tell_error
        }

        #[automatically_derived]
        impl ::proscenium::__private::Handler<#name> for #self_ty {
            async fn handle(
                &mut self,
                #msg: #name,
                #ctx: &mut ::proscenium::__private::Context<Self>,
            ) -> #reply {
                #destructure
                #unused_ctx
                Self::#method(self, #(#fields,)* #pass_ctx).await
            }
        }
    }
}

fn ext_trait(input: &HandlersInput) -> TokenStream {
    let ext = &input.ext;
    let self_ty = input.self_ty();
    let vis = input.handlers.first().map(HandlerFn::vis);
    let actor = quote!(#self_ty).to_string();
    let doc = format!(
        "The handlers of `{actor}`, called through an `ActorRef<{actor}>` (generated by `#[handlers]`).\n\n\
         For each handler `foo`: `foo(..)` asks and waits for the reply, `foo_timeout(.., timeout)` \
         asks with a deadline, `tell_foo(..)` tells, and `try_tell_foo(..)` tells only if the mailbox \
         has room now. Bring the trait into scope to call them."
    );
    let timeout = Ident::new("timeout", Span::mixed_site());
    let mut decls = Vec::new();
    let mut defs = Vec::new();
    for handler in &input.handlers {
        let method = handler.ident();
        let message = &handler.message;
        let reply = outside_impl(&handler.reply, self_ty);
        let idents: Vec<_> = handler.arg_idents().collect();
        let params: Vec<_> = handler
            .args
            .iter()
            .zip(&idents)
            .map(|(arg, ident)| {
                let ty = outside_impl(&arg.ty, self_ty);
                quote!(#ident: #ty)
            })
            .collect();
        let build = if idents.is_empty() {
            quote!(#message)
        } else {
            quote!(#message { #(#idents),* })
        };
        let with_timeout = format_ident!("{}_timeout", method);
        let tell = format_ident!("tell_{}", method);
        let try_tell = format_ident!("try_tell_{}", method);
        let ask_doc = format!("Asks the actor to run `{actor}::{method}` and waits for its reply, for at most the default ask timeout.\n\n# Errors\n\nAs for `ActorRef::ask`.");
        let timeout_doc = format!("Asks the actor to run `{actor}::{method}` and waits for its reply, for at most `timeout`.\n\n# Errors\n\nAs for `ActorRef::ask_timeout`.");
        let tell_doc = format!("Tells the actor to run `{actor}::{method}`, waiting for room in its mailbox; the reply is dropped.\n\n# Errors\n\nAs for `ActorRef::tell`; the error holds the message.");
        let try_tell_doc = format!("Tells the actor to run `{actor}::{method}` if its mailbox has room now.\n\n# Errors\n\nAs for `ActorRef::try_tell`; the error holds the message.");
        let ask_sig = quote! {
            fn #method(&self, #(#params),*)
                -> impl ::core::future::Future<Output = ::core::result::Result<#reply, ::proscenium::__private::AskError>> + ::core::marker::Send
        };
        let timeout_sig = quote! {
            fn #with_timeout(&self, #(#params,)* #timeout: ::core::time::Duration)
                -> impl ::core::future::Future<Output = ::core::result::Result<#reply, ::proscenium::__private::AskError>> + ::core::marker::Send
        };
        let tell_sig = quote! {
            fn #tell(&self, #(#params),*)
                -> impl ::core::future::Future<Output = ::core::result::Result<(), ::proscenium::__private::SendError<#message>>> + ::core::marker::Send
        };
        let try_tell_sig = quote! {
            fn #try_tell(&self, #(#params),*)
                -> ::core::result::Result<(), ::proscenium::__private::TrySendError<#message>>
        };
        decls.push(quote! {
            #[doc = #ask_doc]
            #ask_sig;
            #[doc = #timeout_doc]
            #timeout_sig;
            #[doc = #tell_doc]
            #tell_sig;
            #[doc = #try_tell_doc]
            #try_tell_sig;
        });
        defs.push(quote! {
            #ask_sig {
                ::proscenium::__private::ActorRef::ask(self, #build)
            }
            #timeout_sig {
                ::proscenium::__private::ActorRef::ask_timeout(self, #build, #timeout)
            }
            #tell_sig {
                ::proscenium::__private::ActorRef::tell(self, #build)
            }
            #try_tell_sig {
                ::proscenium::__private::ActorRef::try_tell(self, #build)
            }
        });
    }
    quote! {
        #[doc = #doc]
        #vis trait #ext: ::proscenium::__private::Sealed {
            #(#decls)*
        }

        #[allow(non_local_definitions)]
        const _: () = {
            #[automatically_derived]
            impl #ext for ::proscenium::__private::ActorRef<#self_ty> {
                #(#defs)*
            }
        };
    }
}
