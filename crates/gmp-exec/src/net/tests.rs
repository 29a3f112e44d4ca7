//! Unit tests that look inside the runtime.

use super::*;
use crate::Runtime;

fn registrations(rt: &Runtime) -> usize {
    rt.handle().shared.netpoll.reactor.registrations()
}

#[test]
fn dropping_a_socket_deregisters_it() {
    let rt = Runtime::builder().procs(1).build().unwrap();
    let base = registrations(&rt);
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let (a, b) = UnixStream::pair().unwrap();
        assert_eq!(registrations(&rt), base + 6);

        let (read, write) = server.into_split();
        drop(read);
        assert_eq!(
            registrations(&rt),
            base + 6,
            "the write half still holds it"
        );
        drop(write);
        assert_eq!(registrations(&rt), base + 5);

        let std_client = client.into_std().unwrap();
        assert_eq!(registrations(&rt), base + 4, "into_std deregisters");
        let again = TcpStream::from_std(std_client).unwrap();
        assert_eq!(registrations(&rt), base + 5);

        drop((listener, udp, a, b, again));
        assert_eq!(registrations(&rt), base);
    });
}
