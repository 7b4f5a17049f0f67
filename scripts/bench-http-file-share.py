#!/usr/bin/env python3
"""100 MB upload and download: Lilt's http_file_share vs nginx serving the same file.

Usage: scripts/bench-http-file-share.py [path/to/lilt] [size_mb] [rounds]
(default target/release/lilt, 100, 3). Needs nginx and curl. Everything runs on
loopback ports in a temp dir; both servers are stopped at the end.

nginx: PUT through ngx_http_dav_module into a directory, GET as a static file.
Lilt: the slot record is written the way Prosody's internal storage keeps it and the
token is signed with the configured secret (what a slot request would produce), then
curl PUTs and GETs like a client. Lilt's RSS (VmRSS and peak VmHWM from /proc) is
read before and after: it must not grow by the file size.
"""
import base64, hashlib, hmac, json, os, shutil, socket, subprocess, sys, tempfile, time

LILT = sys.argv[1] if len(sys.argv) > 1 else "target/release/lilt"
SIZE = int(sys.argv[2] if len(sys.argv) > 2 else 100) * 1024 * 1024
ROUNDS = int(sys.argv[3]) if len(sys.argv) > 3 else 3
SECRET = "bench-secret"
HOST = "upload.bench.test"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on {port}")


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def token(slot, size):
    now = int(time.time())
    claims = {"sub": "a@bench.test", "iat": now, "exp": now + 3600, "slot": slot,
              "filename": "f.bin", "filesize": size, "filetype": "application/octet-stream"}
    signed = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims).encode())
    sig = hmac.new(SECRET.encode(), signed.encode(), hashlib.sha256).digest()
    return signed + "." + b64(sig)


def curl(args):
    """Seconds curl took for one transfer."""
    out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_total}"]
                         + args, check=True, capture_output=True, text=True).stdout.split()
    return int(out[0]), float(out[1])


def rss(pid):
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                fields[k] = int(v.split()[0]) // 1024
    return fields


def best(results):
    ok = [t for code, t in results if code in (200, 201, 204)]
    if len(ok) != len(results):
        raise SystemExit(f"a transfer failed: {results}")
    return min(ok)


def main():
    tmp = tempfile.mkdtemp(prefix="lilt-upbench-")
    procs = []
    try:
        src = os.path.join(tmp, "file.bin")
        with open(src, "wb") as f:
            for _ in range(SIZE // (1 << 20)):
                f.write(os.urandom(1 << 20))
        mb = SIZE / (1 << 20)

        # nginx
        www = os.path.join(tmp, "www")
        os.makedirs(os.path.join(www, "up"))
        os.makedirs(os.path.join(tmp, "ntmp"))
        nport = free_port()
        with open(os.path.join(tmp, "nginx.conf"), "w") as f:
            user = "user root;" if os.geteuid() == 0 else ""
            f.write(f"""{user} worker_processes 1; pid {tmp}/nginx.pid; error_log stderr warn; daemon off;
events {{ worker_connections 64; }}
http {{ access_log off; client_body_temp_path {tmp}/ntmp; proxy_temp_path {tmp}/ntmp;
 fastcgi_temp_path {tmp}/ntmp; uwsgi_temp_path {tmp}/ntmp; scgi_temp_path {tmp}/ntmp;
 server {{ listen 127.0.0.1:{nport}; root {www}; client_max_body_size 0;
  location /up/ {{ dav_methods PUT; create_full_put_path on; }} }} }}
""")
        procs.append(subprocess.Popen(["nginx", "-p", tmp, "-c", os.path.join(tmp, "nginx.conf")]))
        wait_port(nport)

        # Lilt
        lport = free_port()
        data = os.path.join(tmp, "data")
        os.makedirs(os.path.join(data, "upload%2ebench%2etest"))
        with open(os.path.join(tmp, "lilt.cfg.lua"), "w") as f:
            f.write(f"""run_as_root = true
http_ports = {{ {lport} }}
http_interfaces = {{ "127.0.0.1" }}
https_ports = {{ }}
c2s_ports = {{ }}
s2s_ports = {{ }}
data_path = "{data}"
log = {{ warn = "*console" }}
VirtualHost "bench.test"
Component "{HOST}" "http_file_share"
    http_file_share_size_limit = {SIZE}
    http_file_share_secret = "{SECRET}"
""")
        slots = [f"benchslot{i:015d}" for i in range(ROUNDS)]
        with open(os.path.join(data, "upload%2ebench%2etest", "uploads.list"), "w") as f:
            for s in slots:
                f.write(f'item({{["key"]="{s}";["when"]={int(time.time())};["with"]="a@bench.test";'
                        f'["name"]="request";["attr"]={{["xmlns"]="urn:xmpp:http:upload:0";'
                        f'["filename"]="f.bin";["size"]="{SIZE}";}};}});\n')
        lilt = subprocess.Popen([LILT, "--config", os.path.join(tmp, "lilt.cfg.lua")])
        procs.append(lilt)
        wait_port(lport)
        base_rss = rss(lilt.pid)

        n_put, n_get, l_put, l_get = [], [], [], []
        for i, s in enumerate(slots):
            n_put.append(curl(["-T", src, f"http://127.0.0.1:{nport}/up/f{i}.bin"]))
            n_get.append(curl([f"http://127.0.0.1:{nport}/up/f{i}.bin"]))
            auth = f"Authorization: Bearer {token(s, SIZE)}"
            url = f"http://127.0.0.1:{lport}/file_share/{s}/f.bin"
            l_put.append(curl(["-T", src, "-H", auth, "-H", f"Host: {HOST}", url]))
            l_get.append(curl(["-H", f"Host: {HOST}", url]))
        after = rss(lilt.pid)
        for name, n, l in (("upload", n_put, l_put), ("download", n_get, l_get)):
            tn, tl = best(n), best(l)
            print(f"{name:8} {mb:.0f} MB: nginx {tn:.3f}s ({mb/tn:.0f} MB/s)  "
                  f"lilt {tl:.3f}s ({mb/tl:.0f} MB/s)  lilt/nginx {tn/tl*100:.0f}%")
        print(f"lilt RSS before {base_rss['VmRSS']} MB, after {after['VmRSS']} MB, "
              f"peak {after['VmHWM']} MB (file {mb:.0f} MB, {ROUNDS} rounds)")
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
