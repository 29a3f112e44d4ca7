#!/usr/bin/env bash
# Ready to publish: what `cargo publish` and docs.rs will ask of the crates,
# checked without publishing anything.
#  1. metadata: every published crate (the workspace members not marked
#     `publish = false`) has a description, keywords, categories, a readme,
#     documentation, repository, license and rust-version, and a
#     [package.metadata.docs.rs] section;
#  2. packaging: `cargo package --workspace` packs every published crate and
#     builds each .crate against the others' packed versions (cargo >= 1.90
#     verifies path dependencies together; an older cargo can only pack them
#     with --no-verify, because the unpublished siblings are not on crates.io
#     yet, and the step says so);
#  3. docs.rs: rustdoc with --cfg docsrs and every feature, on nightly (as
#     docs.rs builds), for every published crate, if the nightly toolchain is
#     there (ci/tools.sh installs it); SKIPPED otherwise;
#  4. MSRV: the declared rust-version's toolchain, installed with
#     `rustup toolchain install <msrv> --profile minimal` under `timeout`
#     (CI_INSTALL_TIMEOUT, default 600 s), then `cargo +<msrv> check -p gmp`,
#     with no features and with all; SKIPPED with the reason if the toolchain
#     cannot be had.
# Measured on the 2-core development machine (warm registry, other builds
# beside it): packaging with verification from an empty target directory
# 53 s, the docs.rs builds about 1 min cold, the MSRV toolchain's
# download 30 s and its two checks 30 s.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never
t0=$SECONDS
step() { printf -- '-- %s (%ds elapsed)\n' "$*" "$((SECONDS - t0))"; }
skip() { printf 'SKIPPED: %s\n' "$*"; }

# The published crates, in dependency order (each after what it depends on).
crates=(gmp-core gmp-coro gmp-netpoll gmp-exec gmp-macros gmp gmp-trace)
# Members that must stay unpublished.
unpublished=(benches interop)

step "metadata"
missing=0
field() { # crate manifest, field name: present directly or from the workspace
    grep -Eq "^$2(\.workspace)? *=" "$1"
}
for c in "${crates[@]}"; do
    m="crates/$c/Cargo.toml"
    for f in description keywords categories readme documentation repository license rust-version; do
        if ! field "$m" "$f"; then
            echo "$c: no $f in $m"
            missing=1
        fi
    done
    if ! grep -q '^\[package.metadata.docs.rs\]' "$m"; then
        echo "$c: no [package.metadata.docs.rs] in $m"
        missing=1
    fi
    readme=$(sed -n 's/^readme *= *"\(.*\)"/\1/p' "$m")
    if [ -n "$readme" ] && [ ! -f "crates/$c/$readme" ]; then
        echo "$c: readme $readme does not exist"
        missing=1
    fi
done
for u in "${unpublished[@]}"; do
    if ! grep -q '^publish = false' "$u/Cargo.toml"; then
        echo "$u: must say publish = false"
        missing=1
    fi
done
[ "$missing" = 0 ] || { echo "metadata incomplete (above)"; exit 1; }
echo "complete for ${crates[*]}"

step "cargo package"
excludes=()
for u in "${unpublished[@]}"; do
    excludes+=(--exclude "gmp-$u")
done
# cargo verifies each packed crate against the others as registry packages,
# and a registry package of a given name and version is taken to never
# change: a later run reused the sources it had unpacked into
# $CARGO_HOME/registry/src/-<hash>/ and the libraries it had built (`gmp`
# then failed against an older `gmp-exec`). So every run starts from an
# empty target directory of its own (the dependencies' build costs about a
# minute), and those unpacked copies of our own crates go; crates.io's
# sources stay.
export CARGO_TARGET_DIR=target/publish
rm -rf "$CARGO_TARGET_DIR" "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/gmp-*
cargo_minor=$(cargo --version | sed -n 's/^cargo 1\.\([0-9]*\).*/\1/p')
# --allow-dirty: a check, not a release (a developer may run it with edits).
if [ "${cargo_minor:-0}" -ge 90 ]; then
    cargo package --workspace "${excludes[@]}" --allow-dirty
else
    echo "cargo $(cargo --version) cannot verify crates whose path dependencies are not"
    echo "on crates.io yet: packing without --verify"
    cargo package --workspace "${excludes[@]}" --allow-dirty --no-verify
fi

step "docs.rs build (nightly, --cfg docsrs, all features)"
if rustup run nightly rustc --version >/dev/null 2>&1 || ci/tools.sh rust-src >/dev/null 2>&1; then
    for c in "${crates[@]}"; do
        echo "   $c"
        # --cap-lints: nightly's new compiler lints (a deprecation) are not
        # docs.rs's business; rustdoc's own warnings fail the step.
        CARGO_TARGET_DIR=target/docsrs RUSTFLAGS="--cap-lints=allow" \
            RUSTDOCFLAGS="--cfg docsrs -D warnings" \
            cargo +nightly doc --no-deps -p "$c" --all-features --quiet
    done
else
    skip "no nightly toolchain (ci/tools.sh could not install it): docs.rs's build not checked"
fi

step "MSRV"
msrv=$(sed -n 's/^rust-version *= *"\(.*\)"/\1/p' Cargo.toml | head -n 1)
if [ -z "$msrv" ]; then
    echo "no rust-version in the workspace's Cargo.toml"
    exit 1
fi
if rustup run "$msrv" rustc --version >/dev/null 2>&1; then
    echo "have $(rustup run "$msrv" rustc --version)"
elif ! command -v rustup >/dev/null 2>&1; then
    skip "no rustup to install Rust $msrv with"
    msrv=
elif timeout "${CI_INSTALL_TIMEOUT:-600}" rustup toolchain install "$msrv" --profile minimal >/tmp/gmp-msrv-install.log 2>&1; then
    echo "installed $(rustup run "$msrv" rustc --version)"
else
    skip "Rust $msrv could not be downloaded within ${CI_INSTALL_TIMEOUT:-600} s: $(tail -n 1 /tmp/gmp-msrv-install.log)"
    msrv=
fi
if [ -n "$msrv" ]; then
    CARGO_TARGET_DIR=target/msrv cargo "+$msrv" check -p gmp
    CARGO_TARGET_DIR=target/msrv cargo "+$msrv" check -p gmp --all-features
    echo "gmp builds on Rust $msrv, with no features and with all"
fi

step "done"
