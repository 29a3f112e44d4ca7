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
        ///
        /// ```
        /// use futures::io::{AsyncReadExt, AsyncWriteExt};
        /// # use std::io::Result;
        /// # trait Connected: Sized {
        /// #     async fn connected() -> Result<(Self, Self)>;
        /// # }
        /// # impl Connected for gmp_exec::net::TcpStream {
        /// #     async fn connected() -> Result<(Self, Self)> {
        /// #         let l = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
        /// #         let c = Self::connect(l.local_addr()?).await?;
        /// #         Ok((c, l.accept().await?.0))
        /// #     }
        /// # }
        /// # impl Connected for gmp_exec::net::UnixStream {
        /// #     async fn connected() -> Result<(Self, Self)> {
        /// #         Self::pair()
        /// #     }
        /// # }
        /// # gmp_exec::block_on(async {
        #[doc = concat!("# let (mut a, mut b) = <gmp_exec::net::", stringify!($stream), " as Connected>::connected().await?;")]
        #[doc = concat!("// `a` and `b`: the two ends of a connected `", stringify!($stream), "`.")]
        #[doc = concat!("let (mut reader, _writer) = gmp_exec::net::", stringify!($stream), "::split(&mut a);")]
        /// b.write_all(b"in").await?;
        /// let mut buf = [0; 2];
        /// reader.read_exact(&mut buf).await?;
        /// assert_eq!(&buf, b"in");
        /// # std::io::Result::Ok(())
        /// # }).unwrap();
        /// ```
        #[derive(Debug)]
        pub struct ReadHalf<'a>(&'a $stream);

        #[doc = concat!("The write half of a borrowed [`", stringify!($stream), "`], from [`", stringify!($stream), "::split`].")]
        ///
        /// `poll_close` (`close().await`) shuts the stream's write side down.
        ///
        /// ```
        /// use futures::io::{AsyncReadExt, AsyncWriteExt};
        /// # use std::io::Result;
        /// # trait Connected: Sized {
        /// #     async fn connected() -> Result<(Self, Self)>;
        /// # }
        /// # impl Connected for gmp_exec::net::TcpStream {
        /// #     async fn connected() -> Result<(Self, Self)> {
        /// #         let l = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
        /// #         let c = Self::connect(l.local_addr()?).await?;
        /// #         Ok((c, l.accept().await?.0))
        /// #     }
        /// # }
        /// # impl Connected for gmp_exec::net::UnixStream {
        /// #     async fn connected() -> Result<(Self, Self)> {
        /// #         Self::pair()
        /// #     }
        /// # }
        /// # gmp_exec::block_on(async {
        #[doc = concat!("# let (mut a, mut b) = <gmp_exec::net::", stringify!($stream), " as Connected>::connected().await?;")]
        #[doc = concat!("// `a` and `b`: the two ends of a connected `", stringify!($stream), "`.")]
        #[doc = concat!("let (_reader, mut writer) = gmp_exec::net::", stringify!($stream), "::split(&mut a);")]
        /// writer.write_all(b"out").await?;
        /// writer.close().await?; // the peer now reads end of file
        /// let mut got = Vec::new();
        /// b.read_to_end(&mut got).await?;
        /// assert_eq!(got, b"out");
        /// # std::io::Result::Ok(())
        /// # }).unwrap();
        /// ```
        #[derive(Debug)]
        pub struct WriteHalf<'a>(&'a $stream);

        #[doc = concat!("The read half of an owned [`", stringify!($stream), "`], from [`", stringify!($stream), "::into_split`].")]
        ///
        /// [`reunite`](OwnedReadHalf::reunite) it with its write half to get
        /// the stream back.
        ///
        /// ```
        /// use futures::io::{AsyncReadExt, AsyncWriteExt};
        /// # use std::io::Result;
        /// # trait Connected: Sized {
        /// #     async fn connected() -> Result<(Self, Self)>;
        /// # }
        /// # impl Connected for gmp_exec::net::TcpStream {
        /// #     async fn connected() -> Result<(Self, Self)> {
        /// #         let l = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
        /// #         let c = Self::connect(l.local_addr()?).await?;
        /// #         Ok((c, l.accept().await?.0))
        /// #     }
        /// # }
        /// # impl Connected for gmp_exec::net::UnixStream {
        /// #     async fn connected() -> Result<(Self, Self)> {
        /// #         Self::pair()
        /// #     }
        /// # }
        /// # gmp_exec::block_on(async {
        #[doc = concat!("# let (mut a, mut b) = <gmp_exec::net::", stringify!($stream), " as Connected>::connected().await?;")]
        #[doc = concat!("// `a` and `b`: the two ends of a connected `", stringify!($stream), "`.")]
        /// let (mut reader, _writer) = a.into_split();
        /// let task = gmp_exec::spawn(async move {
        ///     let mut buf = [0; 4];
        ///     reader.read_exact(&mut buf).await.map(|()| buf)
        /// });
        /// b.write_all(b"task").await?;
        /// assert_eq!(&task.await??, b"task");
        /// # std::io::Result::Ok(())
        /// # }).unwrap();
        /// ```
        #[derive(Debug)]
        pub struct OwnedReadHalf {
            inner: std::sync::Arc<$stream>,
        }

        #[doc = concat!("The write half of an owned [`", stringify!($stream), "`], from [`", stringify!($stream), "::into_split`].")]
        ///
        /// Dropping it shuts the stream's write side down (the peer reads end
        /// of file), as closing it does; reuniting it does not.
        ///
        /// ```
        /// use futures::io::{AsyncReadExt, AsyncWriteExt};
        /// # use std::io::Result;
        /// # trait Connected: Sized {
        /// #     async fn connected() -> Result<(Self, Self)>;
        /// # }
        /// # impl Connected for gmp_exec::net::TcpStream {
        /// #     async fn connected() -> Result<(Self, Self)> {
        /// #         let l = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
        /// #         let c = Self::connect(l.local_addr()?).await?;
        /// #         Ok((c, l.accept().await?.0))
        /// #     }
        /// # }
        /// # impl Connected for gmp_exec::net::UnixStream {
        /// #     async fn connected() -> Result<(Self, Self)> {
        /// #         Self::pair()
        /// #     }
        /// # }
        /// # gmp_exec::block_on(async {
        #[doc = concat!("# let (mut a, mut b) = <gmp_exec::net::", stringify!($stream), " as Connected>::connected().await?;")]
        #[doc = concat!("// `a` and `b`: the two ends of a connected `", stringify!($stream), "`.")]
        /// let (_reader, mut writer) = a.into_split();
        /// let task = gmp_exec::spawn(async move { writer.write_all(b"bye").await });
        /// task.await??; // the task dropped the write half: the peer reads end of file
        /// let mut got = Vec::new();
        /// b.read_to_end(&mut got).await?;
        /// assert_eq!(got, b"bye");
        /// # std::io::Result::Ok(())
        /// # }).unwrap();
        /// ```
        #[derive(Debug)]
        pub struct OwnedWriteHalf {
            inner: std::sync::Arc<$stream>,
            shutdown_on_drop: bool,
        }

        /// The halves given to `reunite` came from different streams; both
        /// are handed back.
        ///
        /// ```
        /// # use std::io::Result;
        /// # trait Connected: Sized {
        /// #     async fn connected() -> Result<(Self, Self)>;
        /// # }
        /// # impl Connected for gmp_exec::net::TcpStream {
        /// #     async fn connected() -> Result<(Self, Self)> {
        /// #         let l = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
        /// #         let c = Self::connect(l.local_addr()?).await?;
        /// #         Ok((c, l.accept().await?.0))
        /// #     }
        /// # }
        /// # impl Connected for gmp_exec::net::UnixStream {
        /// #     async fn connected() -> Result<(Self, Self)> {
        /// #         Self::pair()
        /// #     }
        /// # }
        /// # gmp_exec::block_on(async {
        #[doc = concat!("# let (mut a, mut b) = <gmp_exec::net::", stringify!($stream), " as Connected>::connected().await?;")]
        #[doc = concat!("// `a` and `b`: the two ends of a connected `", stringify!($stream), "`.")]
        #[doc = concat!("# let (c, _d) = <gmp_exec::net::", stringify!($stream), " as Connected>::connected().await?;")]
        /// // `c`: one end of another connection.
        /// # let _ = &mut b;
        /// let (read_a, _write_a) = a.into_split();
        /// let (_read_c, write_c) = c.into_split();
        /// let err = read_a.reunite(write_c).unwrap_err();
        /// assert_eq!(err.to_string(), "tried to reunite halves that are not from the same stream");
        /// let (read_a, _write_c) = (err.0, err.1); // both halves come back
        /// # let _ = read_a;
        /// # std::io::Result::Ok(())
        /// # }).unwrap();
        /// ```
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
            ///
            /// ```
            /// use futures::io::{AsyncReadExt, AsyncWriteExt};
            /// # use std::io::Result;
            /// # trait Connected: Sized {
            /// #     async fn connected() -> Result<(Self, Self)>;
            /// # }
            /// # impl Connected for gmp_exec::net::TcpStream {
            /// #     async fn connected() -> Result<(Self, Self)> {
            /// #         let l = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
            /// #         let c = Self::connect(l.local_addr()?).await?;
            /// #         Ok((c, l.accept().await?.0))
            /// #     }
            /// # }
            /// # impl Connected for gmp_exec::net::UnixStream {
            /// #     async fn connected() -> Result<(Self, Self)> {
            /// #         Self::pair()
            /// #     }
            /// # }
            /// # gmp_exec::block_on(async {
            #[doc = concat!("# let (mut a, mut b) = <gmp_exec::net::", stringify!($stream), " as Connected>::connected().await?;")]
            #[doc = concat!("// `a` and `b`: the two ends of a connected `", stringify!($stream), "`.")]
            /// let (reader, writer) = a.into_split();
            /// let mut a = reader.reunite(writer).expect("halves of one stream");
            /// // Reuniting does not shut the write side down.
            /// a.write_all(b"whole").await?;
            /// let mut buf = [0; 5];
            /// b.read_exact(&mut buf).await?;
            /// assert_eq!(&buf, b"whole");
            /// # std::io::Result::Ok(())
            /// # }).unwrap();
            /// ```
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
            ///
            /// ```
            /// # use std::io::Result;
            /// # trait Connected: Sized {
            /// #     async fn connected() -> Result<(Self, Self)>;
            /// # }
            /// # impl Connected for gmp_exec::net::TcpStream {
            /// #     async fn connected() -> Result<(Self, Self)> {
            /// #         let l = gmp_exec::net::TcpListener::bind("127.0.0.1:0").await?;
            /// #         let c = Self::connect(l.local_addr()?).await?;
            /// #         Ok((c, l.accept().await?.0))
            /// #     }
            /// # }
            /// # impl Connected for gmp_exec::net::UnixStream {
            /// #     async fn connected() -> Result<(Self, Self)> {
            /// #         Self::pair()
            /// #     }
            /// # }
            /// # gmp_exec::block_on(async {
            #[doc = concat!("# let (mut a, mut b) = <gmp_exec::net::", stringify!($stream), " as Connected>::connected().await?;")]
            #[doc = concat!("// `a` and `b`: the two ends of a connected `", stringify!($stream), "`.")]
            /// # let _ = &mut b;
            /// let (reader, writer) = a.into_split();
            /// let a = writer.reunite(reader).expect("halves of one stream");
            /// assert!(a.take_error()?.is_none());
            /// # std::io::Result::Ok(())
            /// # }).unwrap();
            /// ```
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
