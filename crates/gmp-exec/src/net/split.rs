//! Split halves of a stream, borrowed and owned, for TCP and Unix streams.
//!
//! A stream's registration keeps one waker per direction, so one task may
//! wait to read while another waits to write: the halves need no lock. They
//! are generated for each stream type by [`split_halves!`].

/// Defines `ReadHalf`, `WriteHalf`, `OwnedReadHalf`, `OwnedWriteHalf` and
/// `ReuniteError` for the stream type `$stream` in the calling module.
macro_rules! split_halves {
    ($stream:ident) => {
        #[doc = concat!("The read half of a borrowed [`", stringify!($stream), "`], from [`", stringify!($stream), "::split`].")]
        ///
        /// Reads go to the stream; one task at a time may wait on them.
        #[derive(Debug)]
        pub struct ReadHalf<'a>(&'a $stream);

        #[doc = concat!("The write half of a borrowed [`", stringify!($stream), "`], from [`", stringify!($stream), "::split`].")]
        ///
        /// `poll_close` (`close().await`) shuts the stream's write side down.
        #[derive(Debug)]
        pub struct WriteHalf<'a>(&'a $stream);

        #[doc = concat!("The read half of an owned [`", stringify!($stream), "`], from [`", stringify!($stream), "::into_split`].")]
        ///
        /// [`reunite`](OwnedReadHalf::reunite) it with its write half to get
        /// the stream back.
        #[derive(Debug)]
        pub struct OwnedReadHalf {
            inner: std::sync::Arc<$stream>,
        }

        #[doc = concat!("The write half of an owned [`", stringify!($stream), "`], from [`", stringify!($stream), "::into_split`].")]
        ///
        /// Dropping it shuts the stream's write side down (the peer reads end
        /// of file), as closing it does; reuniting it does not.
        #[derive(Debug)]
        pub struct OwnedWriteHalf {
            inner: std::sync::Arc<$stream>,
            shutdown_on_drop: bool,
        }

        /// The halves given to `reunite` came from different streams; both
        /// are handed back.
        #[derive(Debug)]
        pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

        impl std::fmt::Display for ReuniteError {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("tried to reunite halves that are not from the same stream")
            }
        }

        impl std::error::Error for ReuniteError {}

        pub(crate) fn split(stream: &$stream) -> (ReadHalf<'_>, WriteHalf<'_>) {
            (ReadHalf(stream), WriteHalf(stream))
        }

        pub(crate) fn into_split(stream: $stream) -> (OwnedReadHalf, OwnedWriteHalf) {
            let inner = std::sync::Arc::new(stream);
            (
                OwnedReadHalf {
                    inner: inner.clone(),
                },
                OwnedWriteHalf {
                    inner,
                    shutdown_on_drop: true,
                },
            )
        }

        impl AsRef<$stream> for ReadHalf<'_> {
            fn as_ref(&self) -> &$stream {
                self.0
            }
        }

        impl AsRef<$stream> for WriteHalf<'_> {
            fn as_ref(&self) -> &$stream {
                self.0
            }
        }

        impl AsRef<$stream> for OwnedReadHalf {
            fn as_ref(&self) -> &$stream {
                &self.inner
            }
        }

        impl AsRef<$stream> for OwnedWriteHalf {
            fn as_ref(&self) -> &$stream {
                &self.inner
            }
        }

        impl OwnedReadHalf {
            /// Puts the stream back together; `Err` (with both halves) if
            /// `write` belongs to another stream.
            pub fn reunite(self, write: OwnedWriteHalf) -> Result<$stream, ReuniteError> {
                if !std::sync::Arc::ptr_eq(&self.inner, &write.inner) {
                    return Err(ReuniteError(self, write));
                }
                let mut write = write;
                write.shutdown_on_drop = false;
                drop(write);
                Ok(std::sync::Arc::try_unwrap(self.inner)
                    .expect("a stream has exactly two owned halves"))
            }
        }

        impl OwnedWriteHalf {
            /// Puts the stream back together (see [`OwnedReadHalf::reunite`]).
            pub fn reunite(self, read: OwnedReadHalf) -> Result<$stream, ReuniteError> {
                read.reunite(self)
            }
        }

        impl Drop for OwnedWriteHalf {
            fn drop(&mut self) {
                if self.shutdown_on_drop {
                    // The peer may be gone already (NotConnected): nothing to
                    // report from a drop.
                    let _ = self.inner.io.shutdown(std::net::Shutdown::Write);
                }
            }
        }

        $crate::net::stream::async_read!([] ReadHalf<'_>, |s| s.0.io);
        $crate::net::stream::async_read!([] OwnedReadHalf, |s| s.inner.io);
        $crate::net::stream::async_write!([] WriteHalf<'_>, |s| s.0.io);
        $crate::net::stream::async_write!([] OwnedWriteHalf, |s| s.inner.io);
    };
}

pub(crate) use split_halves;
