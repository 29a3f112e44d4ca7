// The Go side of gmp's `echo` benchmark: a TCP echo server, a goroutine per
// connection, the way a Go program is written. It prints "listening <addr>"
// once it accepts connections; the Rust benchmark drives it with the same
// load generator as the Rust servers and stops it by closing its stdin.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
)

func serve(conn net.Conn) {
	defer conn.Close()
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetNoDelay(true)
	}
	buf := make([]byte, 16*1024)
	for {
		n, err := conn.Read(buf)
		if n > 0 {
			if _, werr := conn.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func main() {
	procs := flag.Int("procs", 1, "GOMAXPROCS")
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	runtime.GOMAXPROCS(*procs)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("listening %s\n", ln.Addr())
	// Exit when the benchmark closes our stdin (or dies).
	go func() {
		io.Copy(io.Discard, bufio.NewReader(os.Stdin))
		os.Exit(0)
	}()
	for {
		conn, err := ln.Accept()
		if err != nil {
			continue
		}
		go serve(conn)
	}
}
