//! What is emitted next to the errors when the input has mistakes: a
//! stand-in impl, so that the user's other code (a `spawn`, an `ask`) does
//! not fail too and bury the real error under follow-on ones.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{DeriveInput, Type};

use crate::ast::{self, HandlersInput};
use crate::expand;

pub(crate) fn actor(input: &DeriveInput, error: syn::Error) -> TokenStream {
    let mut out = expand::trait_impl(input, quote!(::proscenium::__private::Actor), quote!());
    out.extend(error.to_compile_error());
    out
}

pub(crate) fn message(input: &DeriveInput, reply: &Type, error: syn::Error) -> TokenStream {
    let mut out = expand::message_impl(input, reply);
    out.extend(error.to_compile_error());
    out
}

/// The impl block itself, without the `#[handler]` markers, so its methods
/// still resolve; left out when its type is one no inherent impl can have.
pub(crate) fn handlers(input: &HandlersInput, error: syn::Error) -> TokenStream {
    let item = &input.item;
    let mut out = match ast::self_name(&item.self_ty) {
        Some(_) => quote!(#item),
        None => TokenStream::new(),
    };
    out.extend(error.to_compile_error());
    out
}

/// `#[handler]` outside a `#[handlers]` block: the item unchanged, and the error.
pub(crate) fn lone_handler(item: TokenStream) -> TokenStream {
    let error = syn::Error::new(
        proc_macro2::Span::call_site(),
        "`#[handler]` works only on a method of an `impl` block marked `#[handlers]`; add `#[handlers]` above the `impl`",
    );
    let mut out = error.to_compile_error();
    out.extend(item);
    out
}
