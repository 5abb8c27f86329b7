#!/usr/bin/env python3
"""The peers of infonce's benchmarks, in PyTorch, on the same shapes:

  naive   the symmetric contrastive loss written the obvious way (normalise, logits = s·U·Vᵀ as a full
          M×N matrix, cross-entropy along rows and columns), forward + backward;
  matmul  one M×D by D×N product: the rate the machine's matrix multiply reaches (the roofline).

Prints one JSON object on stdout: the median seconds of the repetitions and the peak memory, or
{"error": ...} when PyTorch is missing or the shape does not fit. Run by bench/peers.ts in a fresh
process per measurement, so the CPU peak RSS belongs to this measurement alone.
"""
import argparse
import json
import math
import os
import resource
import statistics
import sys
import time


def available_memory_bytes():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["naive", "matmul"])
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--cols", type=int)
    parser.add_argument("--dim", type=int, required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--library", default="torch", choices=["torch", "numpy"], help="for matmul: whose product")
    args = parser.parse_args()
    m, d = args.rows, args.dim
    n = args.cols or m

    try:
        import torch
        import torch.nn.functional as F
    except ImportError as error:
        print(json.dumps({"error": f"PyTorch is not installed for {sys.executable} ({error})"}))
        return
    if args.device == "cuda" and not torch.cuda.is_available():
        print(json.dumps({"error": "PyTorch sees no GPU"}))
        return
    if args.device == "cpu":
        if args.threads:
            torch.set_num_threads(args.threads)
        # The naive loss holds S and its softmax gradients: a few M×N fp32 matrices at once.
        need = 4 * m * n * (3 if args.what == "naive" else 1)
        free = available_memory_bytes()
        if free is not None and need > 0.8 * free:
            print(json.dumps({"error": "out of memory", "detail": f"needs about {need / 2**30:.1f} GiB for the M×N matrices, {free / 2**30:.1f} GiB available"}))
            return
    dtype = getattr(torch, args.dtype)
    device = torch.device(args.device)
    torch.manual_seed(0)

    def synchronize():
        if device.type == "cuda":
            torch.cuda.synchronize()

    try:
        if args.what == "matmul" and args.library == "numpy":
            import numpy

            a = numpy.random.standard_normal((m, d)).astype(numpy.float32)
            b = numpy.random.standard_normal((n, d)).astype(numpy.float32)

            def step():
                return a @ b.T

            flops = 2.0 * m * n * d
        elif args.what == "matmul":
            a = torch.randn(m, d, device=device, dtype=dtype)
            b = torch.randn(n, d, device=device, dtype=dtype)

            def step():
                return a @ b.T

            flops = 2.0 * m * n * d
        else:
            x = torch.randn(m, d, device=device, dtype=dtype, requires_grad=True)
            y = torch.randn(n, d, device=device, dtype=dtype, requires_grad=True)
            log_scale = torch.tensor(math.log(1 / 0.07), device=device, dtype=torch.float32, requires_grad=True)
            labels = torch.arange(m, device=device)

            def step():
                x.grad = y.grad = log_scale.grad = None
                u = F.normalize(x, dim=1)
                v = F.normalize(y, dim=1)
                logits = (u @ v.T) * log_scale.exp().to(dtype)
                loss = (F.cross_entropy(logits, labels) + F.cross_entropy(logits[:, :m].T, labels)) / 2
                loss.backward()
                return loss

            flops = 6.0 * m * n * d
        step()  # warm-up (and the allocator's first growth)
        synchronize()
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        times = []
        for _ in range(args.repeats):
            synchronize()
            start = time.perf_counter()
            step()
            synchronize()
            times.append(time.perf_counter() - start)
    except (RuntimeError, MemoryError) as error:  # torch.cuda.OutOfMemoryError is a RuntimeError
        text = str(error)
        print(json.dumps({"error": "out of memory" if "out of memory" in text.lower() else text.splitlines()[0]}))
        return
    median = statistics.median(times)
    result = {
        "what": args.what,
        "device": args.device,
        "dtype": args.dtype,
        "rows": m,
        "cols": n,
        "dim": d,
        "medianSeconds": median,
        "seconds": times,
        "flopsPerSecond": flops / median,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    if device.type == "cuda":
        result["peakDeviceBytes"] = torch.cuda.max_memory_allocated()
        result["gpu"] = torch.cuda.get_device_name()
    else:
        result["peakResidentBytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        result["library"] = args.library if args.what == "matmul" else "torch"
        try:  # which BLAS kernel ran (OpenBLAS picks one per CPU; OPENBLAS_CORETYPE forces one)
            import threadpoolctl

            result["blas"] = [f"{i.get('internal_api')} {i.get('architecture', '')}".strip() for i in threadpoolctl.threadpool_info()]
        except Exception:
            pass
    print(json.dumps(result))


if __name__ == "__main__":
    main()
