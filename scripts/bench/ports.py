#!/usr/bin/env python3
"""ports.py - loopback TCP ports for the benchmark scripts.

    ports.py free N          N ports the kernel picks on 127.0.0.1, all held
                             at once so that they differ, on one line
    ports.py busy PORT...    the PORTs that cannot be bound on 127.0.0.1
                             right now, as a Python list ("[]": none)
"""
import socket
import sys


def free(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    return [s.getsockname()[1] for s in socks]


def busy(ports):
    out = []
    for p in ports:
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            out.append(p)
        finally:
            s.close()
    return out


def main(argv):
    if len(argv) >= 2 and argv[0] == "free":
        print(" ".join(str(p) for p in free(int(argv[1]))))
    elif argv and argv[0] == "busy":
        print(busy([int(p) for p in argv[1:]]))
    else:
        sys.exit(__doc__.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
