#!/usr/bin/env python3
"""Turns the raw outputs of bench/compare (one folder) into compare.md and PNG plots (gnuplot).

  bench/peer/compare_report.py --dir bench/results/qwen3-0.6b-q8 --title "qwen3-0.6b q8, 2 threads"
"""
import argparse
import glob
import json
import os
import re
import subprocess


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def engine_figures(path):
    """tierserve bench-engine's text: prefill tokens/s and aggregate decode tokens/s per batch."""
    prefill, decode = None, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"prefill (\d+) tokens: ([\d.]+) tokens/s", line)
            if m:
                prefill = float(m.group(2))
            m = re.match(r"decode batch (\d+) at context \d+: ([\d.]+) tokens/s aggregate", line)
            if m:
                decode[int(m.group(1))] = float(m.group(2))
    return prefill, decode


def ratio(a, b):
    return "%.2f×" % (a / b) if a and b else "—"


def fmt(v, digits=1):
    return v if isinstance(v, str) else "—" if v is None else ("%.*f" % (digits, v))


def plot(script, png):
    subprocess.run(["gnuplot"], input="set terminal pngcairo size 800,480 font 'DejaVu Sans,11'\n"
                   "set output '%s'\nset grid\nset key top left\n%s" % (png, script),
                   text=True, check=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", required=True)
    parser.add_argument("--title", default="")
    args = parser.parse_args()
    d = args.dir
    rows = []

    def at(name):
        return os.path.join(d, name)

    def optional(name):
        return load(at(name)) if os.path.exists(at(name)) else {}

    llama = optional("llama.json").get("figures", {})
    lpar = {p["streams"]: p["aggregate_tokens_per_s"] for p in llama.get("parallel", [])}
    if os.path.exists(at("tierserve-engine.txt")):
        ts_prefill, ts_decode = engine_figures(at("tierserve-engine.txt"))
        lp = llama.get("prefill", {}).get("tokens_per_s")
        rows.append(("prefill 512 tokens (tokens/s)", ts_prefill, lp, ratio(ts_prefill, lp)))
        ld = llama.get("decode", {}).get("tokens_per_s")
        rows.append(("decode, 1 stream (tokens/s)", ts_decode.get(1), ld, ratio(ts_decode.get(1), ld)))
        for n in sorted(set(ts_decode) | set(lpar)):
            if n == 1:
                continue
            rows.append(("decode, %d streams aggregate (tokens/s)" % n, ts_decode.get(n), lpar.get(n),
                         ratio(ts_decode.get(n), lpar.get(n))))

    # Aggregate decode at 1..64 streams (the streams step).
    streams = {}
    if os.path.exists(at("tierserve-streams.txt")):
        _, ts_streams = engine_figures(at("tierserve-streams.txt"))
        l_streams = {p["streams"]: p["aggregate_tokens_per_s"]
                     for p in optional("llama-streams.json").get("figures", {}).get("parallel", [])}
        for n in sorted(set(ts_streams) | set(l_streams)):
            streams[n] = (ts_streams.get(n), l_streams.get(n))
            rows.append(("decode aggregate, %d stream%s, context 32 (tokens/s)" % (n, "" if n == 1 else "s"),
                         streams[n][0], streams[n][1], ratio(*streams[n])))

    serve = optional("serve.json").get("runs", [{}])[0].get("metrics")
    if serve:
        ls = llama.get("serve", {})
        rows.append(("serving 32 × (256 + 64) at concurrency 8: output tokens/s (llama.cpp in-process, no HTTP)", serve["output_tokens_per_s"],
                     ls.get("output_tokens_per_s"), ratio(serve["output_tokens_per_s"], ls.get("output_tokens_per_s"))))
        rows.append(("  TTFT p50 (s)", serve["ttft_s"]["p50"], ls.get("ttft_p50_s"),
                     ratio(ls.get("ttft_p50_s"), serve["ttft_s"]["p50"]) + " speed-up"))
        rows.append(("  TTFT p90 (s)", serve["ttft_s"]["p90"], ls.get("ttft_p90_s"),
                     ratio(ls.get("ttft_p90_s"), serve["ttft_s"]["p90"]) + " speed-up"))

    # Shared-prefix TTFT: tierserve cold / RAM / SSD after a restart vs llama.cpp cold / prefix reused.
    def metrics(name):
        runs = optional(name).get("runs")
        return runs[0]["metrics"] if runs and runs[0]["metrics"]["num_ok"] else None

    ls = optional("llama-shared.json").get("figures", {}).get("shared")
    ts_shared = {k: metrics("shared-%s.json" % k) for k in ("cold", "ram", "ssd")}
    if any(ts_shared.values()) or ls:
        sp = optional("shared-ram.json")
        rows.append(("shared prefix, %s × (prefix %s of %s groups + question %s + %s out) at concurrency %s: "
                     "TTFT mean (s)" % (sp.get("num_requests"), sp.get("prefix_len"), sp.get("num_groups"),
                                         sp.get("input_len"), sp.get("output_len"),
                                         sp.get("runs", [{}])[0].get("concurrency")), "", "", ""))
        lc, lr = (ls or {}).get("cold", {}), (ls or {}).get("reused", {})
        kept = "llama.cpp: kept in its sequences, %s of %s requests" % (lr.get("prefix_hits"), lr.get("requests"))
        for key, name, lm in (("cold", "cache cold (tierserve: serve --no-prefix-cache)", lc),
                              ("ram", "prefix in RAM (%s)" % kept, lr),
                              ("ssd", "prefix on SSD after a restart (%s)" % kept, lr)):
            m = ts_shared[key]
            t = m["ttft_s"]["mean"] if m else None
            cached = " [cached RAM / SSD: %d / %d of %d prompt tokens]" % (
                m["cached_tokens_ram"], m["cached_tokens_ssd"], m["prompt_tokens"]) if m else ""
            rows.append(("  %s%s (s)" % (name, cached), t, lm.get("ttft_mean_s"),
                         ratio(lm.get("ttft_mean_s"), t) + " speed-up"))
        # After a restart the first request of each group reads its prefix from SSD, the later ones
        # find it in RAM again: the SSD readers' own TTFT.
        ssd_reqs = [r for r in optional("shared-ssd.json").get("runs", [{}])[0].get("requests", [])
                    if r["ok"] and r["cached_tokens_ssd"] > 0]
        if ssd_reqs:
            rows.append(("  of which the %d requests that read the prefix from SSD (s)" % len(ssd_reqs),
                         sum(r["ttft_s"] for r in ssd_reqs) / len(ssd_reqs), lr.get("ttft_mean_s"),
                         ratio(lr.get("ttft_mean_s"), sum(r["ttft_s"] for r in ssd_reqs) / len(ssd_reqs)) + " speed-up"))
        cold = ts_shared["cold"]
        for key in ("ram", "ssd"):
            m = ts_shared[key]
            rows.append(("  %s TTFT, %% of cold" % key.upper(),
                         100 * m["ttft_s"]["mean"] / cold["ttft_s"]["mean"] if m and cold else None,
                         100 * lr["ttft_mean_s"] / lc["ttft_mean_s"] if lr and lc else None, "—"))

    # The unique control with the cache on and off, and llama.cpp's in-process run of that shape.
    un, rnd = metrics("unique.json"), metrics("unique-off.json")
    lu = optional("llama-unique.json").get("figures", {}).get("serve", {})
    if un or rnd:
        shape = "%d × (%d + %d), concurrency %d" % (lu["requests"], lu["input_tokens"], lu["output_tokens"],
                                                    lu["concurrency"]) if lu else ""
        for label, m in (("unique", un), ("unique, cache off", rnd)):
            rows.append(("%s %s: output tokens/s%s" % (label, shape, " (llama.cpp: in-process)" if label == "unique" else ""),
                         m and m["output_tokens_per_s"], lu.get("output_tokens_per_s") if label == "unique" else None,
                         ratio(m and m["output_tokens_per_s"], lu.get("output_tokens_per_s")) if label == "unique" else "—"))
            rows.append(("  %s TTFT p50 (s) [cached tokens %d]" % (label, m["cached_tokens"] if m else 0),
                         m and m["ttft_s"]["p50"], lu.get("ttft_p50_s") if label == "unique" else None,
                         ratio(lu.get("ttft_p50_s"), m and m["ttft_s"]["p50"]) + " speed-up" if label == "unique" else "—"))
        if un and rnd:
            rows.append(("  cache on / off: output tokens/s, TTFT p50", None, None,
                         "%s, %s" % (ratio(un["output_tokens_per_s"], rnd["output_tokens_per_s"]),
                                     ratio(un["ttft_s"]["p50"], rnd["ttft_s"]["p50"]))))

    # TTFT vs prompt length: cold, SSD (after a restart), RAM.
    prefix_rows = []
    for path in sorted(glob.glob(os.path.join(d, "restart-*.json")),
                       key=lambda p: int(re.search(r"restart-(\d+)", p).group(1))):
        length = int(re.search(r"restart-(\d+)", path).group(1))
        runs = load(path)["runs"]
        ram_path = os.path.join(d, "ram-%d.json" % length)
        ram = load(ram_path)["runs"][0]["metrics"] if os.path.exists(ram_path) else None
        def ttft(m):
            return m["ttft_s"]["mean"] if m and m["num_ok"] else None  # None: every request failed

        prefix_rows.append((length, ttft(runs[0]["metrics"]), ttft(runs[1]["metrics"]), ttft(ram),
                            runs[1]["metrics"]["cached_tokens_ssd"], ram["cached_tokens_ram"] if ram else 0,
                            runs[1]["metrics"]["prompt_tokens"]))
    lpre = llama.get("prefix")
    by_len = {r[0]: r for r in prefix_rows}
    if lpre and lpre["prefix_tokens"] in by_len:
        r = by_len[lpre["prefix_tokens"]]
        rows.append(("cached %d-token prompt TTFT, %% of cold" % r[0], 100 * r[3] / r[1] if r[3] and r[1] else None,
                     100 * lpre["ttft_cached_s"] / lpre["ttft_cold_s"], "—"))

    with open(os.path.join(d, "compare.md"), "w", encoding="utf-8") as f:
        f.write("### %s\n\n" % args.title)
        f.write("| figure | tierserve | llama.cpp (node-llama-cpp 3.21.1) | tierserve / llama.cpp |\n")
        f.write("| --- | --- | --- | --- |\n")
        for name, a, b, r in rows:
            digits = 2 if "(s)" in name else 1
            f.write("| %s | %s | %s | %s |\n" % (name, fmt(a, digits), fmt(b, digits), r))
        if prefix_rows:
            f.write("\nTTFT (s, mean of 2) by prompt length; the repeat after a restart is served from the "
                    "SSD tier, the repeat after that from RAM:\n\n")
            f.write("| prompt tokens | cold | SSD hit (after restart) | RAM hit | cached tokens SSD / RAM of prompt |\n")
            f.write("| --- | --- | --- | --- | --- |\n")
            def share(t, cold):
                return "failed" if t is None else "%.3f (%.1f%%)" % (t, 100 * t / cold) if cold else "%.3f" % t

            for length, cold, ssd, ram, c_ssd, c_ram, prompt in prefix_rows:
                f.write("| %d | %s | %s | %s | %d / %d of %d |\n" % (
                    length, "failed" if cold is None else "%.3f" % cold, share(ssd, cold), share(ram, cold),
                    c_ssd, c_ram, prompt))

    # Plots.
    conc_path = os.path.join(d, "concurrency.json")
    if os.path.exists(conc_path) and lpar:
        runs = load(conc_path)["runs"]
        with open(os.path.join(d, "concurrency.dat"), "w") as f:
            for r in runs:
                m = r["metrics"]
                f.write("%d %f %f %f\n" % (r["concurrency"], m["output_tokens_per_s"], m["ttft_s"]["p50"],
                                           m["tpot_s"]["p50"] * 1e3))
        with open(os.path.join(d, "llama-parallel.dat"), "w") as f:
            for n in sorted(lpar):
                f.write("%d %f\n" % (n, lpar[n]))
        plot("set title 'Output tokens/s vs concurrency (%s)'\nset xlabel 'requests in flight / sequences'\n"
             "set ylabel 'output tokens/s'\nset logscale x 2\n"
             "plot '%s/concurrency.dat' u 1:2 w lp lw 2 pt 7 t 'tierserve serve (HTTP, 256 in + 64 out)', "
             "'%s/llama-parallel.dat' u 1:2 w lp lw 2 pt 5 t 'llama.cpp decode only (N sequences, in-process)'\n"
             % (args.title, d, d), os.path.join(d, "throughput_vs_concurrency.png"))
    if prefix_rows:
        with open(os.path.join(d, "prefix.dat"), "w") as f:
            for length, *ttfts, _, _, _ in prefix_rows:
                f.write("%d %s\n" % (length, " ".join("NaN" if t is None else "%f" % t for t in ttfts)))
        plot("set title 'TTFT vs prompt length, cache cold / SSD / RAM (%s)'\nset xlabel 'prompt tokens'\n"
             "set ylabel 'TTFT (s)'\nset logscale x 2\nset logscale y 10\n"
             "plot '%s/prefix.dat' u 1:2 w lp lw 2 pt 7 t 'cold', '' u 1:3 w lp lw 2 pt 5 t 'SSD hit (after restart)', "
             "'' u 1:4 w lp lw 2 pt 9 t 'RAM hit'\n" % (args.title, d), os.path.join(d, "ttft_vs_prefix.png"))
    if streams:
        with open(at("streams.dat"), "w") as f:
            for n, (a, b) in sorted(streams.items()):
                f.write("%d %s %s\n" % (n, "NaN" if a is None else a, "NaN" if b is None else b))
        plot("set title 'Aggregate decode tokens/s vs streams, context 32 (%s)'\nset xlabel 'streams'\n"
             "set ylabel 'decode tokens/s (all streams)'\nset logscale x 2\n"
             "plot '%s/streams.dat' u 1:2 w lp lw 2 pt 7 t 'tierserve (bench-engine)', "
             "'' u 1:3 w lp lw 2 pt 5 t 'llama.cpp (N sequences, in-process)'\n" % (args.title, d),
             at("decode_vs_streams.png"))
    if not serve:
        return
    with open(os.path.join(d, "latency.dat"), "w") as f:
        for name in ("ttft_s", "tpot_s", "itl_s", "e2e_s"):
            s = serve[name]
            f.write("%s %f %f %f\n" % (name.split("_")[0].upper(), s["p50"] * 1e3, s["p90"] * 1e3, s["p99"] * 1e3))
    plot("set title 'tierserve latency percentiles, 32 x (256 + 64) at concurrency 8 (%s)'\n"
         "set ylabel 'ms'\nset logscale y 10\nset style data histogram\nset style histogram clustered gap 1\n"
         "set style fill solid 0.8 border -1\nset boxwidth 0.9\n"
         "plot '%s/latency.dat' u 2:xtic(1) t 'p50', '' u 3 t 'p90', '' u 4 t 'p99'\n" % (args.title, d),
         os.path.join(d, "latency_percentiles.png"))


if __name__ == "__main__":
    main()
