#!/usr/bin/env python3
"""References for the GPU run, measured the same way as `gpusoak bench`: the PCIe limit (pinned
host-to-device copies) and cuDNN float32 conv2d (TF32 off), end to end (upload, conv, download,
synchronised) and conv alone, on the shapes `gpusoak bench conv2d` uses. Needs PyTorch + CUDA."""
import argparse
import json
import re
import statistics
import sys
import time

import torch
import torch.nn.functional as F

SHAPES = ["N1 C3 32x32 K16 3x3 p1", "N1 C16 64x64 K16 3x3 p1", "N1 C64 56x56 K64 3x3 p1",
          "N8 C64 56x56 K64 3x3 p1", "N32 C64 56x56 K64 3x3 p1", "N32 C128 28x28 K128 3x3 p1",
          "N1 C256 14x14 K256 1x1"]


def parse_shape(text):
    """'N1 C3 32x32 K16 3x3 p1 s2 d1 g1' -> dict; the grammar of parse_conv2d_shape."""
    shape = {"s": 1, "p": 0, "d": 1, "g": 1}
    for token in text.split():
        if m := re.fullmatch(r"([NCK])(\d+)", token):
            shape[m[1]] = int(m[2])
        elif m := re.fullmatch(r"(\d+)x(\d+)", token):
            key = "hw" if "hw" not in shape else "rs"
            shape[key] = (int(m[1]), int(m[2]))
        elif m := re.fullmatch(r"([spdg])(\d+)", token):
            shape[m[1]] = int(m[2])
        elif token != "bias":
            raise SystemExit(f"shape '{text}': unknown token '{token}'")
    return shape


def pcie_limit(sizes, trials):
    rows = []
    for n in sizes:
        host = torch.empty(n, dtype=torch.uint8, pin_memory=True)
        dev = torch.empty(n, dtype=torch.uint8, device="cuda")
        for _ in range(3):
            dev.copy_(host, non_blocking=True)
        torch.cuda.synchronize()
        times = []
        for _ in range(trials):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            dev.copy_(host, non_blocking=True)
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) * 1e-3)
        med = statistics.median(times)
        rows.append({"bytes": n, "median_s": med, "gbps": n / med / 1e9})
    return rows


def pcie_with_writer(size, iterations, writers):
    """The copy engine streaming `size`-byte batches from three pinned buffers in turn while
    `writers` CPU threads fill the next one (torch's parallel fill_): CUDA's side of
    what the upload bench's pipelined rows measure, where the GPU reads host memory that the
    producer threads share. Returns GB/s end to end and of the fill alone."""
    threads_before = torch.get_num_threads()  # restored below: the conv references come after
    torch.set_num_threads(writers)
    n = size // 4
    ring = [torch.empty(n, dtype=torch.int32, pin_memory=True) for _ in range(3)]
    dev = torch.empty(n, dtype=torch.int32, device="cuda")
    stream = torch.cuda.Stream()
    copied = [None] * len(ring)

    def step(i):
        b = i % len(ring)
        if copied[b] is not None:
            copied[b].synchronize()  # the copy that last read this buffer is done
        ring[b].fill_(i)
        with torch.cuda.stream(stream):
            dev.copy_(ring[b], non_blocking=True)
            copied[b] = torch.cuda.Event()
            copied[b].record(stream)

    for i in range(len(ring)):
        step(i)
    torch.cuda.synchronize()
    start = time.perf_counter()
    for i in range(len(ring), len(ring) + iterations):
        step(i)
    torch.cuda.synchronize()
    elapsed = time.perf_counter() - start
    fills = []
    for i in range(5):
        t0 = time.perf_counter()
        ring[0].fill_(i)
        fills.append(time.perf_counter() - t0)
    torch.set_num_threads(threads_before)
    if int(dev[-1].item()) != len(ring) + iterations - 1:
        raise SystemExit("pcie_with_writer: the device copy does not hold the last batch")
    return {"bytes": size, "writers": writers, "gbps": size * iterations / elapsed / 1e9,
            "fill_gbps": size / statistics.median(fills) / 1e9}


def conv(shape_text, trials):
    s = parse_shape(shape_text)
    h, w = s["hw"]
    r, q = s["rs"]
    x_host = torch.randn(s["N"], s["C"], h, w).pin_memory()
    weight = torch.randn(s["K"], s["C"] // s["g"], r, q, device="cuda")
    run = lambda x: F.conv2d(x, weight, stride=s["s"], padding=s["p"], dilation=s["d"], groups=s["g"])
    out = run(x_host.cuda())
    out_host = torch.empty(out.shape, pin_memory=True)
    p_out, q_out = out.shape[2], out.shape[3]
    flops = 2 * s["N"] * s["K"] * p_out * q_out * (s["C"] // s["g"]) * r * q
    for _ in range(5):
        out_host.copy_(run(x_host.cuda(non_blocking=True)))
    torch.cuda.synchronize()
    e2e = []
    for _ in range(trials):  # synchronous end to end: upload, conv, download, wait
        t0 = time.perf_counter()
        out_host.copy_(run(x_host.to("cuda", non_blocking=True)), non_blocking=True)
        torch.cuda.synchronize()
        e2e.append(time.perf_counter() - t0)
    x_dev = x_host.cuda()
    alone = []
    for _ in range(trials):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        run(x_dev)
        end.record()
        end.synchronize()
        alone.append(start.elapsed_time(end) * 1e-3)
    e2e.sort()
    alone.sort()
    p99 = lambda v: v[min(len(v) - 1, int(0.99 * len(v)))]
    return {"shape": shape_text, "flops": flops,
            "e2e_us": {"median": statistics.median(e2e) * 1e6, "p99": p99(e2e) * 1e6},
            "conv_us": {"median": statistics.median(alone) * 1e6, "p99": p99(alone) * 1e6},
            "conv_tflops": flops / statistics.median(alone) / 1e12}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shapes", default=";".join(SHAPES), help="';'-separated conv2d shapes; '' for none")
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--writers", default="3,16",
                        help="','-separated CPU thread counts filling pinned buffers beside the copies; '' for none")
    parser.add_argument("--json", help="write results here")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("torch_reference: no CUDA device", file=sys.stderr)
        return 2
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    result = {"device": torch.cuda.get_device_name(), "torch": torch.__version__,
              "cudnn": torch.backends.cudnn.version(),
              "pcie": pcie_limit([4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20], args.trials),
              "pcie_with_writer": [pcie_with_writer(64 << 20, 20, int(w)) for w in args.writers.split(",") if w],
              "conv2d": [conv(s, args.trials) for s in args.shapes.split(";") if s.strip()]}
    print(f"device {result['device']}, torch {result['torch']}, cuDNN {result['cudnn']}, TF32 off")
    print(f"{'pinned H2D bytes':>18} {'median us':>10} {'GB/s':>7}")
    for row in result["pcie"]:
        print(f"{row['bytes']:>18} {row['median_s'] * 1e6:>10.2f} {row['gbps']:>7.2f}")
    print(f"{'pinned H2D, CPU filling the next':>34} {'writers':>7} {'GB/s':>7} {'fill GB/s':>9}")
    for row in result["pcie_with_writer"]:
        print(f"{row['bytes']:>34} {row['writers']:>7} {row['gbps']:>7.2f} {row['fill_gbps']:>9.2f}")
    print(f"{'cuDNN conv2d':<30} {'e2e med us':>10} {'e2e p99':>9} {'conv us':>9} {'TFLOP/s':>8}")
    for row in result["conv2d"]:
        print(f"{row['shape']:<30} {row['e2e_us']['median']:>10.1f} {row['e2e_us']['p99']:>9.1f} "
              f"{row['conv_us']['median']:>9.1f} {row['conv_tflops']:>8.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
