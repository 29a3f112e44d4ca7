//! From `async fn` to a sync `fn` that runs it on a fresh runtime.
//!
//! The user's function is kept whole, as a nested item of the function that
//! replaces it:
//!
//! ```text
//! #[attrs] vis fn name() -> Output {
//!     async fn name() -> Output { body }
//!     let runtime = match <build the runtime> { Ok(rt) => rt, Err(e) => panic!(..) };
//!     runtime.block_on(name())
//! }
//! ```
//!
//! Keeping the signature (rather than pasting the body into an `async {}`
//! block, whose output type rustc must infer) makes `?` and `return` in the
//! body type-check exactly as they do in any `async fn`, and puts type errors
//! at the user's own `-> Output`. The body is never parsed: its tokens pass
//! through untouched, so expansion costs the same for a one-line test and a
//! thousand-line one, and a syntax error inside it is reported by rustc
//! itself, at its place.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned};
use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Signature, Visibility};

use crate::args::Args;
use crate::Kind;

/// The function under the attribute, body left as tokens.
struct AsyncFn {
    attrs: Vec<Attribute>,
    vis: Visibility,
    sig: Signature,
    /// The `{ ... }` group, unparsed.
    body: proc_macro2::Group,
}

impl Parse for AsyncFn {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis = input.parse()?;
        let sig = input.parse()?;
        let body: proc_macro2::Group = input.parse()?;
        if body.delimiter() != proc_macro2::Delimiter::Brace {
            return Err(syn::Error::new(body.span(), "expected the function's body"));
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the function's body"));
        }
        Ok(AsyncFn {
            attrs,
            vis,
            sig,
            body,
        })
    }
}

/// Expands `#[gmp::main(args)]` or `#[gmp::test(args)]` on `item`.
pub(crate) fn expand(kind: Kind, args: TokenStream, item: TokenStream) -> TokenStream {
    let (args, errors) = match Args::parse(kind, args) {
        Ok(args) => (args, None),
        Err(e) => (Args::fallback(), Some(e)),
    };
    let func: AsyncFn = match syn::parse2(item.clone()) {
        Ok(func) => func,
        Err(e) => {
            let e = syn::Error::new(
                e.span(),
                format!("{} goes on an `async fn`: {e}", kind.attr()),
            );
            let errors = combine(errors, e);
            // Leave whatever it was in place, so that only this error shows.
            return quote!(#item #errors);
        }
    };
    if let Err(e) = check(kind, &func) {
        let errors = combine(errors, e);
        let placeholder = placeholder(kind, &func, &item);
        return quote!(#placeholder #errors);
    }
    let out = emit(kind, &args, func);
    match errors {
        Some(e) => {
            let e = e.into_compile_error();
            quote!(#out #e)
        }
        None => out,
    }
}

/// `errors` (the arguments' errors, if any) followed by `e`.
fn combine(errors: Option<syn::Error>, e: syn::Error) -> TokenStream {
    let all = match errors {
        Some(mut all) => {
            all.combine(e);
            all
        }
        None => e,
    };
    all.into_compile_error()
}

/// What stands in for a function the attribute could not expand, so that the
/// attribute's error is the only one: a main-shaped `fn main() {}` (else
/// rustc adds "`main` function not found"), nothing for a test, the item as it
/// was for a `#[gmp::main]` on some other function (its callers still
/// resolve).
fn placeholder(kind: Kind, func: &AsyncFn, item: &TokenStream) -> TokenStream {
    match kind {
        Kind::Test => TokenStream::new(),
        Kind::Main if func.sig.ident == "main" => {
            let ident = &func.sig.ident;
            quote!(fn #ident() {})
        }
        Kind::Main => item.clone(),
    }
}

/// Every way the function can be wrong for the attribute; all are reported.
fn check(kind: Kind, func: &AsyncFn) -> syn::Result<()> {
    let attr = kind.attr();
    let sig = &func.sig;
    let mut errors = Vec::new();
    if sig.asyncness.is_none() {
        let mut msg = format!(
            "{attr} goes on an `async fn`; `{}` is not async: write `async fn {}`",
            sig.ident, sig.ident
        );
        if kind == Kind::Test {
            msg.push_str(
                " (if you meant the built-in `#[test]`, a `use gmp::*` may be shadowing it)",
            );
        }
        errors.push(syn::Error::new(sig.fn_token.span, msg));
    }
    if let Some(c) = &sig.constness {
        errors.push(syn::Error::new(
            c.span,
            format!("{attr} cannot go on a `const fn`"),
        ));
    }
    if let syn::Safety::Unsafe(u) = &sig.safety {
        errors.push(syn::Error::new(
            u.span,
            format!("{attr} cannot go on an `unsafe fn`: its body would run from safe code"),
        ));
    }
    if let Some(abi) = &sig.abi {
        errors.push(syn::Error::new_spanned(
            abi,
            format!("{attr} cannot go on an `extern` fn"),
        ));
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        // `Generics` prints without its `where` clause: span both.
        let where_clause = &sig.generics.where_clause;
        let generics = &sig.generics;
        errors.push(syn::Error::new_spanned(
            quote!(#generics #where_clause),
            format!("{attr} functions cannot be generic: nothing would choose the parameters"),
        ));
    }
    if !sig.inputs.is_empty() || sig.variadic.is_some() {
        let msg = match kind {
            Kind::Main if sig.ident == "main" => {
                "`main` takes no arguments: read the command line with `std::env::args()`"
                    .to_string()
            }
            Kind::Main => format!(
                "{attr} functions take no arguments: nothing would pass them \
                 (read the command line with `std::env::args()`)"
            ),
            Kind::Test => {
                "test functions take no arguments: the test harness passes none".to_string()
            }
        };
        errors.push(syn::Error::new(sig.paren_token.span.join(), msg));
    }
    if kind == Kind::Test {
        for a in &func.attrs {
            if a.path().is_ident("test") {
                errors.push(syn::Error::new_spanned(
                    a,
                    "`#[gmp::test]` already marks the function as a test: remove this `#[test]`",
                ));
            }
        }
    }
    let mut errors = errors.into_iter();
    match errors.next() {
        None => Ok(()),
        Some(mut first) => {
            first.extend(errors);
            Err(first)
        }
    }
}

/// The expansion proper; `func` has passed [`check`].
fn emit(kind: Kind, args: &Args, func: AsyncFn) -> TokenStream {
    let AsyncFn {
        attrs,
        vis,
        sig,
        body,
    } = func;
    let krate = &args.krate;
    let ident = &sig.ident;
    let output = &sig.output;
    let procs = match (kind, args.procs) {
        (_, Some(n)) => Some(n),
        // One P: the body and its local tasks run on the calling thread, as
        // in a tokio current-thread runtime; `spawn`ed Gs on the one M.
        (_, None) if args.current_thread => Some(1),
        (Kind::Test, None) => Some(crate::TEST_PROCS),
        (Kind::Main, None) => None,
    };
    let paused = args.start_paused.then(|| quote!(.start_paused(true)));
    // The call takes the literal's span: without gmp's `tokio-compat`
    // feature, its compile error (which names the feature) points at the
    // attribute's argument.
    let tokio_compat = args.tokio_compat.map(|(on, span)| {
        let on = syn::LitBool::new(on, span);
        quote_spanned!(span=> .tokio_compat(#on))
    });
    let build = if procs.is_none() && paused.is_none() && tokio_compat.is_none() {
        quote!(#krate::Runtime::new())
    } else {
        let procs = procs.map(|n| {
            let n = Literal::usize_unsuffixed(n);
            quote!(.procs(#n))
        });
        quote!(#krate::Runtime::builder() #procs #paused #tokio_compat .build())
    };
    let test_attr = match kind {
        // The full path: a `use gmp::test;` in scope would otherwise make a bare
        // `#[test]` mean this attribute again.
        Kind::Test => quote!(#[::core::prelude::v1::test]),
        Kind::Main => TokenStream::new(),
    };
    let run = if args.current_thread {
        quote!(#krate::task::LocalSet::new().block_on(&runtime, #ident()))
    } else {
        quote!(runtime.block_on(#ident()))
    };
    let panic_msg = format!("{} could not start its gmp runtime: {{}}", kind.attr());
    quote! {
        #test_attr
        #(#attrs)*
        #vis fn #ident() #output {
            #sig #body
            let runtime = match #build {
                ::core::result::Result::Ok(runtime) => runtime,
                ::core::result::Result::Err(error) => ::core::panic!(#panic_msg, error),
            };
            #run
        }
    }
}
