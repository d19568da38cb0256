"""All-reduce latency and bandwidth between the GPUs of one host through NCCL (PyTorch's
bindings), for sizing tensor parallelism (issue 10): a decode step of an 8B model all-reduces
two hidden-state vectors per layer (4096 bf16 values per token).

Usage, on the device machine (nvidia-h200-x2 or -x4):
  NCCL_NVLS_ENABLE=0 torchrun --nproc-per-node 2 bench/gpu/allreduce_latency.py
"""
import os
import time

import torch
import torch.distributed as dist


def main():
    dist.init_process_group("nccl")
    rank = dist.get_rank()
    torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    for elements in (4096, 4096 * 8, 4096 * 64, 4096 * 256, 4096 * 8192):
        x = torch.ones(elements, dtype=torch.bfloat16, device="cuda")
        for _ in range(20):
            dist.all_reduce(x)
        torch.cuda.synchronize()
        iters = 200 if elements <= 4096 * 256 else 20
        start = time.perf_counter()
        for _ in range(iters):
            dist.all_reduce(x)
        torch.cuda.synchronize()
        seconds = (time.perf_counter() - start) / iters
        if rank == 0:
            size = elements * 2
            print(f"{dist.get_world_size()} GPUs, {elements} bf16 ({size / 1024:.0f} KiB): "
                  f"{seconds * 1e6:.1f} us, {size / seconds / 1e9:.1f} GB/s algorithm bandwidth")
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
