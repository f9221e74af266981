#!/usr/bin/env python3
"""tcp-relay.py ADDR PORT UNIX_SOCKET: accept TCP connections on ADDR:PORT and relay each one,
both ways, to a new connection to UNIX_SOCKET.  run-lab-extra.sh puts it between the source
daemon and the destination daemon's socket, so that the daemons' own connection travels over
TCP, where iptables can cut it like a network path between two hosts."""
import socket
import sys
import threading


def pipe(a: socket.socket, b: socket.socket) -> None:
    try:
        while True:
            data = a.recv(65536)
            if not data:
                break
            b.sendall(data)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def main() -> None:
    addr, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    server = socket.create_server((addr, port))
    print(f"relay {addr}:{port} -> {path}", flush=True)
    while True:
        conn, peer = server.accept()
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        upstream.connect(path)
        print(f"relay: connection from {peer[0]}:{peer[1]}", flush=True)
        threading.Thread(target=pipe, args=(conn, upstream), daemon=True).start()
        threading.Thread(target=pipe, args=(upstream, conn), daemon=True).start()


if __name__ == "__main__":
    main()
