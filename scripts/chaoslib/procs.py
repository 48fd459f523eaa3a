"""Processes started in a namespace with `ip netns exec`, which execs: the
PID is the program's own; stopped by PID only."""

import os
import signal
import subprocess


class Proc:
    def __init__(self, ns, argv, log_path):
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.p = subprocess.Popen(["ip", "netns", "exec", ns] + argv,
                                  stdout=self.log, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL,
                                  start_new_session=True)
        self.pid = self.p.pid
        self.expected_exit = False

    def alive(self):
        return self.p.poll() is None

    def send(self, sig):
        if self.p.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def stop(self, sig=signal.SIGKILL, timeout=10.0):
        self.expected_exit = True
        self.send(signal.SIGCONT)
        self.send(sig)
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.send(signal.SIGKILL)
            self.p.wait()
        self.log.close()
        return self.p.returncode
