import sys, torch
from transformers import BertConfig, BertModel
from torch.profiler import profile, ProfilerActivity
cfg = BertConfig(max_position_embeddings=4096)
cfg._attn_implementation = "sdpa"
m = BertModel(cfg, add_pooling_layer=True).half().cuda().eval()
print("attn", m.config._attn_implementation, "torch", torch.__version__, "flash", torch.backends.cuda.flash_sdp_enabled(), "cudnn", torch.backends.cuda.cudnn_sdp_enabled(), "mem_eff", torch.backends.cuda.mem_efficient_sdp_enabled())
for B, T in [(32, 256), (8, 4096)]:
    ids = torch.randint(0, cfg.vocab_size, (B, T), device="cuda")
    with torch.no_grad():
        for _ in range(5): m(ids)
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(3): m(ids)
            torch.cuda.synchronize()
    print(f"== torch BertModel sdpa f16 {B}x{T}: per 3 forwards")
    print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=14, max_name_column_width=90))
