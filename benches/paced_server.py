#!/usr/bin/env python3
"""A local OpenAI-compatible server that streams one reply at a steady pace, and
measures the CPU a client process spends on it (benches/paced_cpu.sh runs it).

    paced_server.py PORT PIDFILE [TOKENS] [RATE]

POST /v1/chat/completions answers with TOKENS chunks (default 300) of one word each,
RATE a second (default 50), in the OpenAI chat-completions SSE format, ended by
`data: [DONE]`; GET /v1/models lists the model `m`. The process whose id is in PIDFILE
is measured: its user+system CPU (/proc/PID/stat, utime+stime) when the request
arrives and 0.5 s after the last chunk (the final frame is drawn by then), printed as
one line on stdout, with the same span measured from the threads' schedstat (ns
resolution, but only threads still alive at the end count):

    paced: tokens=300 rate=50 reply_s=6.00 cpu_s=0.150 cpu_pct_of_reply=2.50 schedstat_s=0.1480

With PACED_BURST=1 the chunks are written in one go rather than paced. With
PACED_THINK=N in the environment, the first N of the TOKENS chunks are thinking
(`delta.reasoning_content`, as DeepSeek and vLLM send it) and the rest the answer.

The server serves one reply, then exits.
"""
import json, os, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer

PORT = int(sys.argv[1])
PIDFILE = sys.argv[2]
TOKENS = int(sys.argv[3]) if len(sys.argv) > 3 else 300
RATE = float(sys.argv[4]) if len(sys.argv) > 4 else 50.0
TICK = os.sysconf("SC_CLK_TCK")
THINK = int(os.environ.get("PACED_THINK", "0"))
# With PACED_BURST=1 the whole reply is written at once (a burst at network speed).
BURST = os.environ.get("PACED_BURST") == "1"
WORDS = ("ownership borrowing lifetimes traits generics closures iterators slices "
         "vectors strings modules crates macros errors results options threads").split()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # After the command name: state is field 3, utime 14 and stime 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / TICK


def on_cpu_seconds(pid):
    """Time on the CPU of the threads alive now, in ns resolution (schedstat)."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total / 1e9


def chunk(delta, finish=None):
    body = {
        "id": "chatcmpl-paced",
        "object": "chat.completion.chunk",
        "created": 1767225600,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = json.dumps({"object": "list", "data": [{"id": "m", "object": "model"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(PIDFILE) as f:
            pid = int(f.read().strip())
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        start_cpu, start = cpu_seconds(pid), time.monotonic()
        start_on_cpu = on_cpu_seconds(pid)
        self.wfile.write(chunk({"role": "assistant", "content": ""}))
        self.wfile.flush()
        period = 1.0 / RATE
        burst = []
        for i in range(TOKENS):
            # Paced against the start, so a late write does not shift the rest.
            if not BURST:
                time.sleep(max(0.0, start + (i + 1) * period - time.monotonic()))
            word = WORDS[i % len(WORDS)]
            text = f" {word}" if i else word.capitalize()
            if i == TOKENS - 1:
                text += " PACED-END."
            field = "reasoning_content" if i < THINK else "content"
            if BURST:
                burst.append(chunk({field: text}))
                continue
            self.wfile.write(chunk({field: text}))
            self.wfile.flush()
        if burst:
            self.wfile.write(b"".join(burst))
        self.wfile.write(chunk({}, "stop"))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True
        reply = time.monotonic() - start
        time.sleep(0.5)
        cpu = cpu_seconds(pid) - start_cpu
        on_cpu = on_cpu_seconds(pid) - start_on_cpu
        print(f"paced: tokens={TOKENS} rate={RATE:g} reply_s={reply:.2f} cpu_s={cpu:.3f} "
              f"cpu_pct_of_reply={100 * cpu / reply:.2f} schedstat_s={on_cpu:.4f}", flush=True)
        self.server.done = True


server = HTTPServer(("127.0.0.1", PORT), Handler)
server.done = False
while not server.done:
    server.handle_request()
