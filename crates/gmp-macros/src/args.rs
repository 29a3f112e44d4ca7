//! The attribute's arguments: `procs = N`, tokio's `worker_threads = N`,
//! `flavor = "..."`, `start_paused = bool` and `tokio_compat = bool`, and
//! `crate = "path"`.
//!
//! Parsing is in two layers. The syntax — a comma-separated list of
//! `name = value` — stops at its first error, because after a stray token
//! nothing that follows can be trusted. The meaning of each pair is checked
//! separately and every mistake is collected, so a user who wrote three wrong
//! arguments hears about all three in one build.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Expr, ExprLit, Ident, Lit, LitStr, Path, Token};

use crate::Kind;

/// What the attribute was asked for.
pub(crate) struct Args {
    /// The number of Ps, if the user gave one (`procs` or `worker_threads`).
    pub(crate) procs: Option<usize>,
    /// Start with the runtime's clock paused (`start_paused = true`).
    pub(crate) start_paused: bool,
    /// `tokio_compat = true`: the value and the literal's span, which the
    /// generated `Builder::tokio_compat` call takes, so that without the
    /// feature the compile error (which names it) points at the attribute.
    pub(crate) tokio_compat: Option<(bool, proc_macro2::Span)>,
    /// `flavor = "current_thread"`: the body runs inside a `LocalSet`.
    pub(crate) current_thread: bool,
    /// Where the `gmp` crate is (`crate = "path"`); `::gmp` by default.
    pub(crate) krate: Path,
}

/// One `name = value` pair, before its meaning is checked.
struct Arg {
    name: Ident,
    value: Expr,
}

/// The settings every argument may touch, with the name that set each one
/// first (to report repeats at the second).
#[derive(Default)]
struct Seen {
    procs: Option<Ident>,
    flavor: Option<Ident>,
    start_paused: Option<Ident>,
    tokio_compat: Option<Ident>,
    krate: Option<Ident>,
}

impl Args {
    /// Parses and checks the attribute's arguments; the error holds every
    /// mistake found.
    pub(crate) fn parse(kind: Kind, tokens: TokenStream) -> syn::Result<Args> {
        let pairs = (|input: ParseStream<'_>| parse_pairs(kind, input)).parse2(tokens)?;
        let mut args = Args {
            procs: None,
            start_paused: false,
            tokio_compat: None,
            current_thread: false,
            krate: default_crate(),
        };
        let mut seen = Seen::default();
        let mut errors: Option<syn::Error> = None;
        for arg in pairs {
            if let Err(e) = args.apply(kind, &mut seen, arg) {
                match &mut errors {
                    Some(all) => all.combine(e),
                    None => errors = Some(e),
                }
            }
        }
        match errors {
            Some(e) => Err(e),
            None => Ok(args),
        }
    }

    /// Arguments that parse but are wrong are replaced by these defaults, so
    /// the function still expands and the user sees only the argument errors.
    pub(crate) fn fallback() -> Args {
        Args {
            procs: None,
            start_paused: false,
            tokio_compat: None,
            current_thread: false,
            krate: default_crate(),
        }
    }

    fn apply(&mut self, kind: Kind, seen: &mut Seen, arg: Arg) -> syn::Result<()> {
        let Arg { name, value } = arg;
        let key = name.to_string();
        match key.as_str() {
            "procs" | "worker_threads" => {
                if let Some(first) = seen.procs.replace(name.clone()) {
                    return Err(repeated(&name, &first));
                }
                self.procs = Some(procs_value(&key, &value)?);
            }
            "flavor" => {
                if let Some(first) = seen.flavor.replace(name.clone()) {
                    return Err(repeated(&name, &first));
                }
                self.current_thread = flavor_value(&value)?;
            }
            "start_paused" => {
                if let Some(first) = seen.start_paused.replace(name.clone()) {
                    return Err(repeated(&name, &first));
                }
                self.start_paused = bool_value(&key, &value)?;
            }
            "tokio_compat" => {
                if let Some(first) = seen.tokio_compat.replace(name.clone()) {
                    return Err(repeated(&name, &first));
                }
                let on = bool_value(&key, &value)?;
                self.tokio_compat = Some((on, value_span(&value)));
            }
            "crate" => {
                if let Some(first) = seen.krate.replace(name.clone()) {
                    return Err(repeated(&name, &first));
                }
                self.krate = crate_value(&value)?;
            }
            _ => {
                return Err(syn::Error::new(
                    name.span(),
                    format!(
                        "unknown argument `{key}`: {} takes `procs = N` (or tokio's \
                         `worker_threads = N`), `flavor = \"multi_thread\"` or \
                         `\"current_thread\"`, \
                         `start_paused = true`, `tokio_compat = true` and `crate = \"path\"`",
                        kind.attr()
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn default_crate() -> Path {
    syn::parse_quote!(::gmp)
}

/// `name = value, name = value, ...`, with an optional trailing comma.
fn parse_pairs(kind: Kind, input: ParseStream<'_>) -> syn::Result<Vec<Arg>> {
    let mut pairs = Vec::new();
    while !input.is_empty() {
        // `parse_any` so that the keyword `crate` is a name like the others.
        let name = Ident::parse_any(input).map_err(|e| {
            syn::Error::new(
                e.span(),
                format!(
                    "expected `name = value`, such as `procs = 4`: {} takes `procs`, \
                     `worker_threads`, `flavor`, `start_paused`, `tokio_compat` and `crate`",
                    kind.attr()
                ),
            )
        })?;
        if !input.peek(Token![=]) {
            return Err(syn::Error::new(
                name.span(),
                format!("`{name}` needs a value: write `{name} = ...`"),
            ));
        }
        input.parse::<Token![=]>()?;
        let value: Expr = input.parse()?;
        pairs.push(Arg { name, value });
        if input.is_empty() {
            break;
        }
        input.parse::<Token![,]>()?;
    }
    Ok(pairs)
}

/// The second of two arguments that set the same thing.
fn repeated(name: &Ident, first: &Ident) -> syn::Error {
    let msg = if name == first {
        format!("`{name}` is given twice")
    } else {
        format!("`{name}` repeats `{first}`: both set the number of Ps; keep one")
    };
    syn::Error::new(name.span(), msg)
}

/// `procs = N`: a positive integer literal.
fn procs_value(key: &str, value: &Expr) -> syn::Result<usize> {
    let not_a_count = || {
        syn::Error::new_spanned(
            value.to_token_stream(),
            format!("`{key}` must be an integer literal, such as `{key} = 4`"),
        )
    };
    let Expr::Lit(ExprLit {
        lit: Lit::Int(lit), ..
    }) = value
    else {
        return Err(not_a_count());
    };
    if !matches!(lit.suffix(), "" | "usize") {
        return Err(not_a_count());
    }
    let n: usize = lit.base10_parse()?;
    if n == 0 {
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "`{key} = 0`: a runtime needs at least one P to run anything \
                 (like Go's GOMAXPROCS, procs is at least 1)"
            ),
        ));
    }
    Ok(n)
}

/// Where a value is, for errors that belong to it.
fn value_span(value: &Expr) -> proc_macro2::Span {
    match value {
        Expr::Lit(ExprLit { lit, .. }) => lit.span(),
        _ => proc_macro2::Span::call_site(),
    }
}

/// `start_paused = true`, `tokio_compat = true`: a bool literal.
fn bool_value(key: &str, value: &Expr) -> syn::Result<bool> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Bool(b), ..
        }) => Ok(b.value),
        _ => Err(syn::Error::new_spanned(
            value.to_token_stream(),
            format!("`{key}` must be `true` or `false`"),
        )),
    }
}

/// `flavor = "multi_thread"` (the default) or `"current_thread"`: true for
/// the latter.
fn flavor_value(value: &Expr) -> syn::Result<bool> {
    let lit = string_value("flavor", "\"multi_thread\"", value)?;
    match lit.value().as_str() {
        "multi_thread" => Ok(false),
        "current_thread" => Ok(true),
        other => Err(syn::Error::new(
            lit.span(),
            format!(
                "unknown flavor `{other}`: gmp takes `multi_thread` (the default) and \
                 `current_thread` (the body runs in a LocalSet on the calling thread, with one \
                 P unless `procs` says otherwise); set the number of Ps with `procs = N`"
            ),
        )),
    }
}

/// `crate = "path"`: where the `gmp` crate is, for crates that re-export it.
fn crate_value(value: &Expr) -> syn::Result<Path> {
    let lit = string_value("crate", "\"::gmp\"", value)?;
    // The parsed path's tokens carry the string's span: a path that does not
    // resolve is reported at the string.
    lit.parse_with(Path::parse_mod_style).map_err(|_| {
        syn::Error::new(
            lit.span(),
            format!(
                "`crate = {:?}` is not a path; write where the gmp crate is, such as \
                 `crate = \"::gmp\"` or `crate = \"my_lib::gmp\"`",
                lit.value()
            ),
        )
    })
}

fn string_value<'a>(key: &str, example: &str, value: &'a Expr) -> syn::Result<&'a LitStr> {
    match value {
        Expr::Lit(ExprLit {
            lit: Lit::Str(lit), ..
        }) => Ok(lit),
        _ => Err(syn::Error::new_spanned(
            value.to_token_stream(),
            format!("`{key}` must be a string literal, such as `{key} = {example}`"),
        )),
    }
}
