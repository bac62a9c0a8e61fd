#!/usr/bin/env python3
# Measurement on another host (bench/other-host/kit.sh): berth (no agent, warm agent, BERTH_AGENT=auto), runc, crun,
# interleaved, medians. Mirrors bench/ (same config, same figures) without Bun.
import ctypes, json, os, shutil, statistics, subprocess, sys, time

K = os.path.dirname(os.path.abspath(__file__))
W = "/tmp/bdev"
OUT = os.environ.get("OUT", "/tmp")
REPS = int(os.environ.get("REPS", "20"))
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: we waitpid() containers, as a shim does
DEVNULL = subprocess.DEVNULL
TEMPLATE = json.load(open(f"{K}/config-template.json"))


class Peer:
    def __init__(self, name, argv0, env=None):
        self.name, self.bin, self.root = name, argv0, f"{W}/root-{name}"
        self.env = dict(os.environ, **(env or {}))
        os.makedirs(self.root, exist_ok=True)
        self.err = f"{W}/{name}.err"

    def call(self, *args, check=True):
        t = time.perf_counter()
        with open(self.err, "w") as e:
            r = subprocess.run([self.bin, "--root", self.root, *args], stdin=DEVNULL, stdout=DEVNULL, stderr=e, env=self.env)
        ms = (time.perf_counter() - t) * 1000
        if check and r.returncode != 0:
            raise RuntimeError(f"{self.name} {args[0]}: exit {r.returncode}: {open(self.err).read()[:300]}")
        return ms


def bundle(peer, tag, args, mem=None):
    d = f"{W}/b-{peer.name}-{tag}"
    os.makedirs(d, exist_ok=True)
    c = json.loads(json.dumps(TEMPLATE))
    c["root"]["path"] = f"{W}/rootfs"
    c["process"]["args"] = args
    c["linux"]["cgroupsPath"] = f"/bdev/{peer.name}-{tag}"
    if mem:
        c["linux"]["resources"]["memory"] = {"limit": mem}
    json.dump(c, open(f"{d}/config.json", "w"))
    return d


def med(v):
    return statistics.median(v) if v else float("nan")


def table(title, rows, unit="ms"):
    print(f"\n### {title}\n| peer | median ({unit}) | min-max | N |\n|---|---:|---:|---:|")
    for n, v in rows.items():
        if isinstance(v, str):
            print(f"| {n} | n/a: {v} | | |")
        else:
            print(f"| {n} | {med(v):.1f} | {min(v):.1f}-{max(v):.1f} | {len(v)} |")


def interleave(peers, fn, reps=REPS, warm=2):
    res = {p.name: [] for p in peers}
    for i in range(warm + reps):
        for p in peers:
            if isinstance(res[p.name], str):
                continue
            try:
                v = fn(p, i)
                if i >= warm:
                    res[p.name].append(v)
            except Exception as e:
                res[p.name] = str(e)[:200]
    return res


def phases(peers, berth, results, b=None):
    import re
    if b is None:
        b = bundle(peers[1], "run", ["true"])
        subprocess.Popen([berth, "--root", peers[1].root, "agent"], stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)
        time.sleep(1)
    deltas = {}
    for i in range(REPS):
        e = subprocess.run([berth, "--root", peers[1].root, "run", "--bundle", b, f"tr{i}"], stdin=DEVNULL, stdout=DEVNULL, stderr=subprocess.PIPE, text=True, env=dict(os.environ, BERTH_TRACE="1")).stderr
        pts = [(float(m.group(1)), m.group(2)) for m in re.finditer(r"\[trace ([0-9.]+) ms\] (.*)", e)]
        for (t0, _), (t1, lab) in zip(pts, pts[1:]):
            deltas.setdefault(lab, []).append(t1 - t0)
    print("\n### run through the agent, agent-side phases (ms, median of %d)" % REPS)
    for lab, v in deltas.items():
        print(f"| {lab} | {med(v):.2f} |")
    results["phases"] = deltas


def main():
    shutil.rmtree(W, ignore_errors=True)
    os.makedirs(f"{W}/rootfs/bin", exist_ok=True)
    for d in ["proc", "dev", "tmp", "etc"]:
        os.makedirs(f"{W}/rootfs/{d}", exist_ok=True)
    shutil.copy(f"{K}/busybox", f"{W}/rootfs/bin/busybox")
    for a in ["sh", "true", "sleep", "cat"]:
        os.symlink("busybox", f"{W}/rootfs/bin/{a}")
    berth = f"{K}/berth"
    crun_env = {"LD_LIBRARY_PATH": f"{K}/lib"}
    peers = [
        Peer("berth", berth),
        Peer("berth-agent", berth),
        Peer("berth-auto", berth, {"BERTH_AGENT": "auto"}),
        Peer("runc", f"{K}/runc"),
        Peer("crun", f"{K}/crun", crun_env),
    ]
    for p in peers:
        try:
            v = subprocess.run([p.bin, "--version"], capture_output=True, env=p.env, text=True, timeout=20)
            print(f"{p.name}: {(v.stdout or v.stderr).splitlines()[0] if (v.stdout or v.stderr) else v.returncode}")
        except Exception as e:
            print(f"{p.name}: --version failed: {e}")
    ag = subprocess.Popen([berth, "--root", peers[1].root, "agent"], stdin=DEVNULL, stdout=DEVNULL, stderr=open(f"{W}/agent.log", "w"))
    for _ in range(500):
        if "listening on" in open(f"{W}/agent.log").read():
            break
        time.sleep(0.01)
    print("agent:", open(f"{W}/agent.log").read().strip())
    results = {}
    if os.environ.get("PHASES_ONLY"):
        return phases(peers, berth, results)

    # Bun's start as berth pays it: berth-bun --version (loads berth's entry), the door in front of it, native true
    def floor(p, i):
        t = time.perf_counter()
        subprocess.run(p, stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL)
        return (time.perf_counter() - t) * 1000

    fl = {}
    for name, argv in [("berth-bun --version", [f"{K}/berth-bun", "--version"]), ("door + berth-bun --version", [berth, "--version"]), ("busybox true", [f"{K}/busybox", "true"]), ("runc --version", [f"{K}/runc", "--version"]), ("crun --version", ["env", f"LD_LIBRARY_PATH={K}/lib", f"{K}/crun", "--version"]),
                       # the kernel's part of a container, roughly: new pid, mount, network, ipc and uts namespaces, a fresh /proc, a program, its exit
                       ("unshare -fpmniu --mount-proc true", ["unshare", "-fpmniu", "--mount-proc", "true"])]:
        fl[name] = [floor(argv, i) for i in range(REPS + 2)][2:]
    table("process floors", fl)
    results["floors"] = fl

    runb = {p.name: bundle(p, "run", ["true"]) for p in peers}
    r = interleave(peers, lambda p, i: p.call("run", "--bundle", runb[p.name], f"run{i}"))
    table("run of /bin/true, start to exit", r)
    results["run"] = r

    cyb = {p.name: bundle(p, "cyc", ["true"]) for p in peers}

    def cycle(p, i):
        cid = f"cyc{i}"
        pidf = f"{W}/{p.name}-{cid}.pid"
        t = time.perf_counter()
        p.call("create", "--bundle", cyb[p.name], "--pid-file", pidf, cid)
        p.call("start", cid)
        pid = int(open(pidf).read().strip())
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            while os.path.exists(f"/proc/{pid}"):
                time.sleep(0.0005)
        p.call("delete", cid)
        return (time.perf_counter() - t) * 1000

    c = interleave(peers, cycle)
    table("create + start + wait + delete of /bin/true", c)
    results["cycle"] = c

    upd = {}
    for p in peers:
        try:
            b = bundle(p, "upd", ["sleep", "1000000"], 256 << 20)
            p.call("create", "--bundle", b, "--pid-file", f"{W}/{p.name}-upd.pid", "upd")
            p.call("start", "upd")
            upd[p.name] = True
        except Exception as e:
            upd[p.name] = str(e)[:200]
    u = interleave([p for p in peers if upd[p.name] is True], lambda p, i: p.call("update", "--memory", str((128 if i % 2 else 192) << 20), "upd"))
    for p in peers:
        if upd[p.name] is not True:
            u[p.name] = upd[p.name]
    table("update --memory of a running container", u)
    results["update"] = u

    phases(peers, berth, results, runb["berth-agent"])

    def cpu_ms(pid):
        f = open(f"/proc/{pid}/stat").read().split(") ")[1].split()
        return (int(f[11]) + int(f[12])) * 1000 / os.sysconf("SC_CLK_TCK")

    tpb = {p.name: [bundle(p, f"tp{w}", ["true"]) for w in range(2)] for p in peers}

    def throughput(p, i, n=40):
        nxt = [0]
        t = time.perf_counter()
        running = []
        while nxt[0] < n or running:
            while len(running) < 2 and nxt[0] < n:
                k = nxt[0]
                nxt[0] += 1
                # two bundles (cgroupsPaths) by parity: the two running are always k and k+1
                w = k % 2
                pr = subprocess.Popen([p.bin, "--root", p.root, "run", "--bundle", tpb[p.name][w], f"tp{i}-{k}"], stdin=DEVNULL, stdout=DEVNULL, stderr=DEVNULL, env=p.env)
                running.append((pr, w))
            pr, w = running.pop(0)
            if pr.wait() != 0:
                raise RuntimeError(f"{p.name} run (throughput): exit {pr.returncode}")
        return n / (time.perf_counter() - t)

    a0 = cpu_ms(ag.pid)
    tp = interleave(peers, throughput, reps=max(5, REPS // 3), warm=1)
    print(f"\nagent CPU during the throughput figure: {cpu_ms(ag.pid) - a0:.0f} ms for {40 * (max(5, REPS // 3) + 1)} containers")
    table("containers per second, run of /bin/true, 2 at a time", tp, "per s")
    results["throughput"] = tp

    for p in peers:
        for cid in ["upd"]:
            p.call("delete", "--force", cid, check=False)
    ag.terminate()
    ag.wait()
    subprocess.run(["pkill", "-f", "--", f"--root {peers[2].root} agent"])
    json.dump(results, open(f"{OUT}/other-host-results.json", "w"), indent=1)
    print("\ndone")


if __name__ == "__main__":
    main()
