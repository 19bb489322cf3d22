"""Refresh lesson 09's result paragraphs (English and Chinese) from the numbers the notebook wrote.

Run after executing the notebook:  .venv/bin/python scripts/fill09.py [--quoted FILE]
It reads $TMPDIR/vae_notebooks_09_quoted.json (written by the last check cell of section 5), rewrites
the result cells of notebooks/09_making_training_fast.ipynb (each found by the start of its
text, the keys of EN below), runs `translation extract 09`, puts the matching Chinese into
notebooks/zh/po/09_making_training_fast.po and runs `translation build 09` (not with --no-build).
"""
import json, re, subprocess, sys, tempfile
from pathlib import Path
import nbformat, polib

ROOT = Path(__file__).resolve().parents[1]
P = ROOT / 'notebooks/09_making_training_fast.ipynb'
PO = ROOT / 'notebooks/zh/po/09_making_training_fast.po'
QPATH = Path(sys.argv[sys.argv.index('--quoted') + 1]) if '--quoted' in sys.argv else \
    Path(tempfile.gettempdir()) / 'vae_notebooks_09_quoted.json'
Q = json.loads(QPATH.read_text())
V = dict(Q)
f = lambda k: float(Q[k])

# ---- words chosen by the numbers
cpu = re.sub(r'\s*\((R|TM)\)', '', Q.get('cpu') or 'unnamed CPU')
cpu = re.sub(r'\s+(Processor|CPU.*|\d+-Core.*)$', '', cpu).strip()
V['cpu_en'] = ('an ' if cpu[:1].upper() in 'AEIOU' else 'a ') + cpu + (' with native bfloat16' if Q['native_bf16'] else ' without native bfloat16')
V['cpu_zh'] = cpu + ('，原生支持 bfloat16' if Q['native_bf16'] else '，不原生支持 bfloat16')
n = int(Q['threads'].split()[0])
V['threads_zh'] = f"{n} 个线程"
if f('iqr_pct') >= 15:
    V['scatter_en'] = "on a machine shared with other work, one block can take much longer than the next"
    V['scatter_zh'] = "在与其他工作共享的机器上，一个块可能比下一个块慢得多"
else:
    V['scatter_en'] = "the blocks agree this well only while the load on a shared machine stays steady"
    V['scatter_zh'] = "只有当共享机器上的负载保持平稳时，各块才会这样一致"
import math
meds = [f('s2_step'), f('s4_step'), f('s5_step')]
spread = max(meds) / min(meds)
pct = round(100 * (spread - 1))
if spread > 1.15:
    V['spread_en'] = f"differ by up to {pct} %: on this busy machine the median moves from one minute to the next"
    V['spread_zh'] = f"相差多达 {pct}%：在这台繁忙的机器上，中位数一分钟和下一分钟就不一样"
else:
    V['spread_en'] = f"differ by about {pct} %"
    V['spread_zh'] = f"相差约 {pct}%"
# section 4: how much runs below the roofs
op = f('over_pct')
V['over_words_en'] = 'about half' if 43 <= op <= 57 else f"{Q['over_pct']} %"
V['over_words_zh'] = '大约一半' if 43 <= op <= 57 else f"{Q['over_pct']}%"
# section 5: fit's step against section 1's end-to-end ratio
if abs(f('f') - f('r21')) <= 0.1 * f('r21'):
    V['r21_en'] = f"Section 1 found about the same, {Q['r21']}×, end to end between `fit` and the memory-fed loop."
    V['r21_zh'] = f"第 1 节在端到端比较中，`fit` 相对从内存取数据的循环也快了差不多的 {Q['r21']}×。"
else:
    V['r21_en'] = (f"Section 1 found {Q['r21']}× end to end between `fit` and the memory-fed loop, measured at another "
                   "moment and with `fit`'s own batching.")
    V['r21_zh'] = (f"第 1 节在端到端比较中测得 `fit` 相对从内存取数据的循环快 {Q['r21']}×，那是在另一时刻、用 `fit` 自己的取批方式测得的。")
# section 3: the profiler's own cost
if f('prof_pct') >= 2:
    V['prof_en'] = (f"is {Q['prof_pct']} % longer than the median: recording each operation costs time, so the profiler "
                    "overstates the share of the many small ones.")
    V['prof_zh'] = (f"比中位数长 {Q['prof_pct']}%：记录每个运算都要花时间，所以性能分析器高估了众多小运算的占比。")
elif f('prof_pct') <= -2:
    V['prof_en'] = (f"is {-int(f('prof_pct'))} % shorter than the median, which was timed minutes earlier on a machine "
                    "whose load changed: compare the profile's shares, not its total.")
    V['prof_zh'] = (f"比中位数短 {-int(f('prof_pct'))}%：中位数是几分钟前在负载已经变化的机器上测的，所以要比较性能分析的占比，而不是它的总时间。")
else:
    V['prof_en'] = "agrees with the median within 2 %: here recording each operation cost little."
    V['prof_zh'] = "与中位数相差不到 2%：这里记录每个运算几乎不花时间。"
# section 4: Adam against its roof; where the overhead lies
if f('roof_ad') >= 0.7 * f('ms_ad'):
    V['adam_en'] = (f"Adam's kernel takes {Q['ms_ad']} ms, close to the {Q['roof_ad']} ms its roof allows: "
                    "only fewer bytes could shorten it much.")
    V['adam_zh'] = f"Adam 的核函数用了 {Q['ms_ad']} ms，接近它的屋顶所允许的 {Q['roof_ad']} ms：只有更少的字节才能明显缩短它。"
else:
    V['adam_en'] = f"Adam's kernel takes {Q['ms_ad']} ms where its roof allows {Q['roof_ad']} ms."
    V['adam_zh'] = f"Adam 的核函数用了 {Q['ms_ad']} ms，而它的屋顶允许 {Q['roof_ad']} ms。"
# the cache sizes are the stored run's machine's (lscpu: 2 MiB of L2 per core, 4 MiB in all; 480 MiB of L3)
V['adam_en'] += (" That roof is optimistic: it was measured on a 2.6 MB buffer, which fits in the 4 MiB of L2, while "
                 "Adam works on four arrays of that size (weights, gradients and two moments: 10.4 MB), which do not.")
V['adam_zh'] += ("这个屋顶偏乐观：它是在 2.6 MB 的缓冲区上测得的，放得进 4 MiB 的 L2；而 Adam 要处理四个这样大的数组"
                 "（权重、梯度和两个矩：10.4 MB），放不进去。")
above = {k: f(f'ms_{k}') - f(f'roof_{k}') for k in ('mm', 'ad', 'el')}
worst = max(above, key=above.get)
V['worst_en'] = {'mm': 'the products', 'ad': "Adam's kernel", 'el': 'the other operators'}[worst]
V['worst_zh'] = {'mm': '矩阵乘法', 'ad': 'Adam 的核函数', 'el': '其他运算'}[worst]
# section 5
lo, hi = f('infl_lo'), f('infl_hi')
if lo >= 0:
    V['infl_en'], V['infl_zh'] = f"{Q['infl_lo']} % to {Q['infl_hi']} % longer than their medians", f"比各自的中位数长 {Q['infl_lo']}% 到 {Q['infl_hi']}%"
else:
    V['infl_en'] = f"between {-lo:.0f} % shorter and {Q['infl_hi']} % longer than their medians"
    V['infl_zh'] = f"比各自的中位数短 {-lo:.0f}% 到长 {Q['infl_hi']}% 不等"
# section 5: the table of what changed, ms saved, where (signed numbers with a true minus sign)
sg = lambda v: f"{v:+.2f}".replace('-', '−')  # a change: signed
sv = lambda v: f"{v:.2f}".replace('-', '−')  # ms saved: a minus sign only where time was lost
V['sv_fa'] = sv(f('s5_tut') - f('ms_tf'))
V['sv_loss'] = sv(f('ms_tf') - f('s5_step'))
V['sv_man'] = sv(f('s5_step') - f('man_ms'))
V['dmm_man'] = sg(f('mm_man') - f('mm_fit'))
V['doo_man'] = sg(f('oo_man') - f('oo_fit'))
V['dap_man'] = sg(f('ad_man') + f('py_man') - f('ad_fit') - f('py_fit'))
tcb_en = (f", and {Q['tcb']} `ToCopyBackward0` nodes cast the gradients back to float32" if f('tcb') > 0 else "")
tcb_zh = (f"，另有 {Q['tcb']} 个 `ToCopyBackward0` 节点把梯度转换回 float32" if f('tcb') > 0 else "")
if Q['native_bf16']:
    gain = f('s5_step') / f('bf_ms')
    save, grow = f('mm_fit') - f('mm_bf'), f('oo_bf') - f('oo_fit')
    d_adam = f('ad_bf') - f('ad_fit')  # autocast leaves Adam in float32: its change is the profile's noise
    V['bf_row_en'] = (f"\n| `fit`'s step → bfloat16 (autocast) | {Q['s5_step']} → {Q['bf_ms']} | {sv(f('s5_step') - f('bf_ms'))} "
                      f"| products {sg(-save)}, other ops {sg(grow)} (the casts), Adam {sg(d_adam)} ms |")
    V['bf_row_zh'] = (f"\n| `fit` 的训练步 → bfloat16（autocast） | {Q['s5_step']} → {Q['bf_ms']} | {sv(f('s5_step') - f('bf_ms'))} "
                      f"| 矩阵乘法 {sg(-save)}，其他运算 {sg(grow)}（类型转换），Adam {sg(d_adam)} ms |")
    share = round(100 * grow / save) if save > 0 else None
    V['bf16_en'] = (("Autocast to bfloat16 gains little here" if gain < 1.05 else
                     f"Autocast to bfloat16 makes the step {gain:.2f}× as fast here")
                    + (f": the casts take back about {share} % of what bfloat16 saves on the products." if share and share > 0 else ".")
                    + f" `aten::_to_copy` grows from {Q['cp_a']} to {Q['cp_b']} calls per step.")
    V['bf16_zh'] = (("用 bfloat16 的 autocast 在这里几乎没有带来加速" if gain < 1.05 else
                     f"用 bfloat16 的 autocast 在这里让训练步快了 {gain:.2f}×")
                    + (f"：类型转换又吃掉了 bfloat16 在矩阵乘法上省下的时间的约 {share}%。" if share and share > 0 else "。")
                    + f"`aten::_to_copy` 从每步 {Q['cp_a']} 次调用增加到 {Q['cp_b']} 次。")
    if f('tcb') > 0 and abs(f('ops_bf') - f('ops_fit') - f('tcb')) < 0.5 and f('cp_lin') > 0:
        V['bf16_en'] += (f" The profile's {Q['tcb']} extra operations are the backward pass's casts (`ToCopyBackward0` "
                         f"nodes, gradients back to float32); autocast's {Q['cp_lin']} casts in the forward pass run inside "
                         "`aten::linear`, where the count does not look.")
        V['bf16_zh'] += (f"性能分析中多出的 {Q['tcb']} 个运算是反向传播中的类型转换（`ToCopyBackward0` 节点，把梯度转换回 float32）；"
                         f"autocast 在前向传播中的 {Q['cp_lin']} 次类型转换在 `aten::linear` 内部运行，运算计数看不到那里。")
    else:
        V['bf16_en'] += f" Many of them run inside other operators, where the operation count does not look{tcb_en}."
        V['bf16_zh'] += f"其中许多在其他运算内部运行，运算计数看不到它们{tcb_zh}。"
else:
    V['bf_row_en'] = V['bf_row_zh'] = ""
    V['bf16_en'] = "This CPU has no native bfloat16, so the ladder leaves it out."
    V['bf16_zh'] = "这颗 CPU 不原生支持 bfloat16，所以阶梯图里没有它。"
V['prec_en'] = 'bfloat16' if Q['precision'] == 'bf16' else 'float32'
n_var = 1 + bool(Q['native_bf16']) + bool(Q['can_compile'])  # the rungs after fit's step
V['n_var_en'] = {1: 'one more variant', 2: 'two more variants', 3: 'three more variants'}[n_var]
V['n_var_zh'] = {1: '另一个变体', 2: '另外两个变体', 3: '另外三个变体'}[n_var]
V['n_prof_en'] = {True: 'five', False: 'four'}[bool(Q['native_bf16'])]
V['n_prof_zh'] = {True: '五', False: '四'}[bool(Q['native_bf16'])]
man_en = ['a hand-written backward pass'] + (['bfloat16'] if Q['precision'] == 'bf16' else []) + \
    (['compiled Adam'] if Q['can_compile'] else []) + ['the μ and log σ² heads merged into one product']
man_zh = ['手写的反向传播'] + (['bfloat16'] if Q['precision'] == 'bf16' else []) + \
    (['编译版 Adam'] if Q['can_compile'] else []) + ['把 μ 和 log σ² 两个头合并成一次矩阵乘法']
V['man_en'] = f"{ {2: 'two', 3: 'three', 4: 'four'}[len(man_en)]} things at once: " + ', '.join(man_en[:-1]) + ', and ' + man_en[-1]
V['man_zh'] = f"{ {2: '两', 3: '三', 4: '四'}[len(man_zh)]}处：" + '、'.join(man_zh[:-1]) + '，以及' + man_zh[-1]
mms = [f('mm_tut'), f('mm_tf'), f('mm_fit')]
V['mm_spread'] = f"{max(mms) - min(mms):.2f}"
d_ad = abs(f('ad_bf') - f('ad_fit')) if Q['native_bf16'] else 0.0
if d_ad > max(mms) - min(mms):
    V['adam_noise_en'] = (f" Adam's kernel, which autocast leaves in float32, moves by {d_ad:.2f} ms between `fit`'s step "
                          f"and its bfloat16 rung: read gaps below about {d_ad:.1f} ms as noise.")
    V['adam_noise_zh'] = (f"autocast 并不改变 Adam 的 float32 计算，它的核函数在 `fit` 的训练步和 bfloat16 那一级之间却变了 "
                          f"{d_ad:.2f} ms：低于约 {d_ad:.1f} ms 的差别都应看作噪声。")
else:
    V['adam_noise_en'] = V['adam_noise_zh'] = ""
if Q['native_bf16'] and Q['precision'] == 'bf16' and f('oo_man') < f('oo_bf'):
    like = abs(f('mm_man') - f('mm_bf')) < max(mms) - min(mms)
    flat = f('oo_man') <= f('oo_fit')
    V['man_prof_en'] = (" Its products gain " + ("about as much as under autocast" if like else "from bfloat16 too")
                        + ", but its other operators " + ("do not grow" if flat else "grow less than under autocast")
                        + ": it casts all weights in one copy of the flat buffer.")
    V['man_prof_zh'] = ("它的矩阵乘法" + ("省下的与 autocast 下相当" if like else "也从 bfloat16 中获益")
                        + "，但其他运算" + ("没有变多" if flat else "比 autocast 下增加得少")
                        + "：它用一次复制就把扁平缓冲区中的所有权重转换好。")
else:
    V['man_prof_en'] = V['man_prof_zh'] = ""
V['s1note_en'] = " Section 1's hand-written step ran Adam uncompiled." if Q['can_compile'] else ""
V['s1note_zh'] = "第 1 节中手写的训练步运行的是未编译的 Adam。" if Q['can_compile'] else ""
# section 5, first paragraphs: fused Adam's share, the loss, the noisy reference
V['most_en'] = ", and fused Adam does most of it" if math.log(f('r_tf')) >= 0.5 * math.log(f('f')) else ""
V['most_zh'] = "，其中大部分来自融合版 Adam" if V['most_en'] else ""
gain_pct, d_ops = 100 * (f('ms_tf') / f('s5_step') - 1), int(f('ops_fit') - f('ops_tf'))
noise = abs(gain_pct) <= pct
V['loss_row_en'] = "; ".join((["within the spread of `fit`'s own medians"] if noise else [])
                             + [f"other ops {Q['oo_tf']} → {Q['oo_fit']} ms"]
                             + ([f"{d_ops} more operations"] if d_ops > 0 else [f"{-d_ops} fewer operations"] if d_ops < 0 else []))
V['loss_row_zh'] = "；".join((["在 `fit` 自身各中位数的波动范围之内"] if noise else [])
                             + [f"其他运算 {Q['oo_tf']} → {Q['oo_fit']} ms"]
                             + ([f"运算多了 {d_ops} 个"] if d_ops > 0 else [f"运算少了 {-d_ops} 个"] if d_ops < 0 else []))
if abs(f('tut_ms') / f('s5_tut') - 1) > max(0.05, spread - 1):
    V['ref_en'] = (f" The original tutorial's step is the noisiest contender: {Q['tut_ms']} ms in section 4, {Q['s5_tut']} ms here "
                   f"(IQR {Q['iqr_tut']} ms), and every ratio divides by it.")
    V['ref_zh'] = (f"原教程的训练步是噪声最大的竞争者：第 4 节中为 {Q['tut_ms']} ms，这里为 {Q['s5_tut']} ms（IQR {Q['iqr_tut']} ms），"
                   "而每个比值都要除以它。")
elif Q.get('iqr_tut') and f('iqr_tut') >= 0.1 * f('s5_tut'):
    V['ref_en'] = f" The reference is noisy too (IQR {Q['iqr_tut']} ms of its {Q['s5_tut']} ms), and every ratio divides by it."
    V['ref_zh'] = f"基准本身也有噪声（它的 {Q['s5_tut']} ms 中 IQR 为 {Q['iqr_tut']} ms），而每个比值都要除以它。"
else:
    V['ref_en'] = V['ref_zh'] = ""
V['compnote_en'] = " (its compiled Adam counts under Python and autograd)" if Q['can_compile'] else ""
V['compnote_zh'] = "（它的编译版 Adam 计入 Python 和 autograd 一栏）" if Q['can_compile'] else ""
if Q['can_compile']:
    _steps = float(f"{f('cs') / f('c_save') * 1e3:.2g}") if f('c_save') > 0 else 0
    V['payback_en'] = (f", repaid after about {_steps:,.0f} steps" if _steps else ", never repaid here")
    V['payback_zh'] = (f"，要约 {_steps:,.0f} 步才能赚回来" if _steps else "，在这里永远赚不回来")
    V['c_row_en'] = (f"\n| `fit`'s step → `torch.compile` | {Q['s5_step']} → {Q['c_ms']} | {sv(f('c_save'))} "
                     "| not profiled: its generated loops would count as Python |")
    V['c_row_zh'] = (f"\n| `fit` 的训练步 → `torch.compile` | {Q['s5_step']} → {Q['c_ms']} | {sv(f('c_save'))} "
                     "| 未做性能分析：它生成的循环会被计入 Python |")
    V['compile_en'] = (f"\n\n`torch.compile` spent {Q['cs']} s compiling{V['payback_en']}. Its products stay calls to the same kernels, "
                       "and `zero_grad` and fused Adam run outside the graph: what it fuses is element-wise work "
                       f"among the other operators' {Q['oo_fit']} ms.")
    V['compile_zh'] = (f"\n\n`torch.compile` 花了 {Q['cs']} s 编译{V['payback_zh']}。它的矩阵乘法仍然调用同样的核函数，`zero_grad` 和融合版 Adam "
                       f"在计算图之外运行：它融合的只是其他运算那 {Q['oo_fit']} ms 中的逐元素运算。")
else:
    V['c_row_en'] = V['c_row_zh'] = ""
    V['compile_en'] = "\n\n`torch.compile` was skipped on this machine (`COMPILE` or no compiler)."
    V['compile_zh'] = "\n\n这台机器上跳过了 `torch.compile`（`COMPILE` 或没有编译器）。"
# section 4: the original tutorial's step beside fit's
V['tut_para_en'] = (f"\n\nThe original tutorial's step, drawn beside `fit`'s, runs {Q['tut_over']} of its {Q['tut_ms']} ms "
                    "below the roofs. Its default Adam's operations count among its other operators: "
                    f"{Q['tut_oo']} ms, against {Q['ms_el']} ms plus {Q['ms_ad']} ms of fused Adam in `fit`'s step. "
                    "Section 5 measures what fusing Adam saves.")
V['tut_para_zh'] = (f"\n\n原教程的训练步画在 `fit` 的旁边：它的 {Q['tut_ms']} ms 中有 {Q['tut_over']} ms 运行在屋顶之下。"
                    f"它的默认 Adam 的运算计入其他运算：{Q['tut_oo']} ms，而 `fit` 的训练步是 {Q['ms_el']} ms，"
                    f"再加上融合版 Adam 的 {Q['ms_ad']} ms。第 5 节测量融合 Adam 省下多少。")
# section 6: GPU arithmetic (60 TFLOP/s float32, 5 µs per launch: round figures for a current data-centre GPU)
V['gpu_us'] = f"{f('gflop') * 1e9 / 60e12 * 1e6:.0f}"
V['launch_ms'] = f"{f('ops') * 5e-3:.1f}"
V['pipe_x'] = f"{f('pipe_ms') / 0.5:.0f}"
V['pipe_round'] = f"{f('pipe_ms'):.0f}"


V['threads_en'] = Q['threads'].replace(' threads', '-thread').replace(' thread', '-thread')
if Q['native_bf16']:
    _save, _grow = f('mm_fit') - f('mm_bf'), f('oo_bf') - f('oo_fit')
    _share = round(100 * _grow / _save) if _save > 0 else 0
    V['bf_sum_en'] = (f"took back about {_share} % of what bfloat16 saved" if _share > 0 else "cost less than bfloat16 saved")
    V['bf_sum_zh'] = (f"类型转换吃掉了 bfloat16 省下的时间的约 {_share}%" if _share > 0 else "类型转换的代价小于 bfloat16 省下的时间")
else:
    V['bf_sum_en'] = "were not measured, as this CPU has no native bfloat16"
    V['bf_sum_zh'] = "没有测量，因为这颗 CPU 不原生支持 bfloat16"
EN = {
"On the machine that ran this notebook (": '''On the machine that ran this notebook ({cpu_en}, timed on {threads}), feeding the same
loop from memory made it {r1}× as fast: at least {share} % of the original tutorial's time went into building
batches, not into training. For every image of every epoch, that pipeline builds a PIL image, converts
it back into a tensor and stacks 128 of them, in Python. The in-memory pipeline pays this once.

`fit` went further: {r2}× with its defaults and {r3}× with its hand-written step. A stopwatch around the loop
shows that `fit` is faster, not why; the next sections look inside the training step.''',
"`fit`'s step of 128 images has a median of": '''`fit`'s step of 128 images has a median of {s2_step} ms and an IQR of {iqr} ms over {blocks} blocks:
{scatter_en}. So each comparison below times its contenders in one alternating session, taking turns round after round:
load then slows all of them alike.''',
"The matrix products (`aten::addmm`": '''The matrix products (`aten::addmm` in the forward pass, `aten::mm` in the backward) take {p} % of the self
time, and Adam's fused kernel (`aten::_fused_adam_`) {a} %. The other operators take {e} %: the bias
gradients' sums, copies, and the element-wise work of the loss, the reparameterization and the ReLUs. The
last {w} % is Python and autograd's bookkeeping, `Optimizer.step`'s own Python among it.

A step asks for {ops} operations, some of them views (transposes, detaches) that move no data but cost a
dispatch. The
profile's total, {prof_ms} ms per step, {prof_en}''',
"The products are compute-bound, the rest": '''The products are compute-bound, the rest memory- or overhead-bound.

Here the product ran at {gf} GFLOP/s and the in-place pass at {gb} GB/s: a balance point of {bp}
FLOP/byte. That "memory" speed is a cache's, not the main memory's (DRAM): the 2.6 MB buffer stays in this
machine's L2 caches (4 MiB in all). The products, at {I_mm} FLOP/byte, lie right of the balance point: they are compute-bound, and only
cheaper arithmetic (bfloat16) shortens them much. Their roof is the speed of their largest product measured
alone, not the CPU's nominal peak.

Adam's fused kernel ({I_ad} FLOP/byte: about a dozen FLOPs per weight for 28 bytes, four float32 numbers read
and three written) and the other operators (about {I_el} FLOP/byte: about one FLOP per element, for 8 to 12
bytes read and written in float32) lie far left of it: they are memory-bound. {adam_en}

The second figure adds it up. Of the step's {s4_step} ms, {over} ms ({over_words_en}) runs below the roofs.
Only part of that is **overhead** in He's sense: a cost per operation that does not grow with the batch.
A one-element `add_`, timed from Python, takes {per_op_us} µs; {ops} of them plus the {ms_bk} ms of Python and
autograd make {fixed_ms} ms at most (the `add_`'s Python is partly in the {ms_bk} ms already). So roughly {rest_ms} ms is kernels below their roof: the element-wise operators, the skinny
backward and head products, and Adam.

The profiler's bias moves time between the groups, not the total below the roofs (median minus
time at the roofs); Adam's optimistic roof, if anything, inflates that total.
Fusion attacks both parts: fewer passes, fewer operations.{tut_para_en}''',
"The loss moves by": '''The loss moves by {rel} of itself, and the gradient by {gdiff} % of its norm, on the untrained model,
at its first step. Now the ladder: the original tutorial's step, the same step with fused Adam, `fit`'s step and
{n_var_en}, timed in one alternating session. The rungs are not cumulative; each is measured as a whole.
A profile of {n_prof_en} of them follows, as in section 3.''',
"`fit`'s step is ": '''`fit`'s step is {f}× as fast as the original tutorial's step{most_en}. {r21_en} The table compares
each rung with the step it changes; its last column reads the profile above.

| what changed | ms per step | saved (ms) | where, by the profile |
|:--|:--|--:|:--|
| tutorial's step → fused Adam | {s5_tut} → {ms_tf} | {sv_fa} | other ops {oo_tut} → {oo_tf} ms; operations {ops_tut} → {ops_tf} |
| → the loss on the logits (`fit`'s step) | {ms_tf} → {s5_step} | {sv_loss} | {loss_row_en} |{bf_row_en}{c_row_en}
| `fit`'s step → hand-written step | {s5_step} → {man_ms} | {sv_man} | products {dmm_man}, Adam and Python {dap_man}, other ops {doo_man} ms |

{bf16_en}

The profile's column is coarse: the three float32 steps run the same products, yet it gives them {mm_tut},
{mm_tf} and {mm_fit} ms, so gaps there below about {mm_spread} ms mean nothing.{adam_noise_en} Section 4's figure gives
the tutorial's step {tut_bk} ms of Python and autograd; this profile, {py_tut} ms.{ref_en} `fit`'s own medians in
sections 2, 4 and 5 ({s2_step}, {s4_step} and {s5_step} ms) {spread_en}.

The hand-written step changes {man_en}, so its row does not isolate the backward pass. It runs {ops_man}
operations instead of {ops_fit}{compnote_en}.{man_prof_en}{s1note_en}{compile_en}''',
"## 6 · What changes on a GPU": '''## 6 · What changes on a GPU · GPU上有什么不同

The stored run had no GPU, and the cells above have not been run on one (their profile groups were written
for a CPU's operators), so this section predicts rather than measures. At roughly 60 TFLOP/s (float32, a round figure for a current data-centre GPU), the
step's {gflop} GFLOP of products take about {gpu_us} µs. Dispatching about a hundred operations at an assumed
5 µs each costs about 0.5 ms. So nearly all of the step should be overhead, which fusion and CUDA graphs
attack. The original tutorial's input pipeline stays on the CPU: in section 1 it cost about {pipe_round} ms per batch
(the two loops' difference, per step, of fastest rounds), about {pipe_x} times such a step.''',
"## Summary · 小结": '''## Summary · 小结

- Measure before you optimize, side by side, on the machine that matters: `torch.utils.benchmark` (warm-up,
  synchronization, median and IQR; pass `num_threads`), contenders alternating in one session, then
  `torch.profiler` for what the time is spent on.
- `fit`'s speed-up over the original tutorial comes from two places: the input pipeline ({r1}× from feeding
  the same loop from memory, section 1) and a shorter step ({r21}× end to end in section 1, so {r1} × {r21} ≈ {r2}×;
  {f}× timed alone in section 5, where fused Adam by itself gives {r_tf}×). `fit`'s hand-written step reaches {r3}× end to end on this
  {threads_en} Xeon.
- Place each kind of work on the measured roofline: FLOPs over bytes says which roof limits it. Time below
  the roof is partly overhead proper (a cost per operation, the same at any batch) and partly kernels slower
  than their roof. Here the products are compute-bound; Adam and the element-wise work are memory-bound.
- The input pipeline can cost as much as the step: keep the data as one tensor on the device when it fits.
- Each speed-up attacks one of these: fusion and the hand-written step remove passes and operations;
  bfloat16 targets the products, but autocast adds casts around them: here they {bf_sum_en}.
- On a GPU a model this small is expected to become overhead-bound: fuse, compile, capture the step in a CUDA graph.''',
}
ZH = {
"On the machine that ran this notebook (": "在运行本笔记本的机器上（{cpu_zh}，用 {threads_zh}计时），同一个循环改为从内存取数据后快了 {r1}×：原教程至少 {share}% 的时间花在构造小批量上，而不是训练上。对每个轮次的每张图像，那条输入管道都要构造一张 PIL 图像，再把它转换回张量，然后在 Python 中把 128 张堆叠起来。内存中的输入管道只付一次这个代价。\n\n`fit` 更进一步：默认设置下 {r2}×，用手写的训练步时 {r3}×。围着循环掐秒表只能看出 `fit` 更快，看不出为什么；下面几节深入训练步内部。",
"`fit`'s step of 128 images has a median of": "`fit` 处理 128 张图像的一个训练步，在 {blocks} 个块上的中位数是 {s2_step} ms，IQR 为 {iqr} ms：{scatter_zh}。所以下面的每个比较都把各个竞争者放在同一次交替计时中，它们一轮接一轮地轮流运行：负载对它们的拖慢是一样的。",
"The matrix products (`aten::addmm`": "矩阵乘法（前向传播中的 `aten::addmm`、反向传播中的 `aten::mm`）占 self 时间的 {p}%，Adam 的融合核函数（`aten::_fused_adam_`）占 {a}%。其他运算占 {e}%：偏置梯度的求和、复制，以及损失、重参数化和 ReLU 的逐元素运算。最后的 {w}% 是 Python 和 autograd 的记录工作，其中包括 `Optimizer.step` 自身的 Python 代码。\n\n一个训练步发起 {ops} 个运算，其中一些是视图（转置、detach），不移动数据，却仍要付一次分派的代价。性能分析的总时间是每步 {prof_ms} ms，{prof_zh}",
"The products are compute-bound, the rest": "矩阵乘法受计算限制，其余受内存或开销限制。\n\n这里矩阵乘法的速度是 {gf} GFLOP/s，原地遍历的速度是 {gb} GB/s：平衡点为 {bp} FLOP/byte。这个“内存”速度其实是缓存的速度，而不是主存（DRAM）的：2.6 MB 的缓冲区留在这台机器的 L2 缓存里（共 4 MiB）。矩阵乘法的 {I_mm} FLOP/byte 位于平衡点右侧：它们受计算限制，只有更便宜的算术（bfloat16）才能明显缩短它们。它们的屋顶是其中最大的一次矩阵乘法单独测得的速度，而不是这颗 CPU 的标称峰值。\n\nAdam 的融合核函数（{I_ad} FLOP/byte：每个权重约十几次浮点运算，对应 28 个字节，即读四个、写三个 float32 数）和其他运算（约 {I_el} FLOP/byte：每个元素约一次浮点运算，在 float32 下要读写 8 到 12 个字节）远在平衡点左侧：它们受内存限制。{adam_zh}\n\n第二张图把这些加在一起。训练步的 {s4_step} ms 中，有 {over} ms（{over_words_zh}）运行在屋顶之下。其中只有一部分是 He 所说的**开销**：每个运算的固定代价，不随小批量增大。从 Python 计时，一次单元素的 `add_` 用时 {per_op_us} µs；{ops} 次这样的运算再加上 Python 和 autograd 的 {ms_bk} ms，共 {fixed_ms} ms 以内（`add_` 的 Python 代价有一部分已经算在那 {ms_bk} ms 里了）。所以大约有 {rest_ms} ms 是低于屋顶运行的核函数：逐元素运算、反向传播和两个头中细长的矩阵乘法，以及 Adam。\n\n性能分析器的偏差只是在各组之间挪动时间，并不改变屋顶之下的总时间（中位数减去在屋顶上所需的时间）；Adam 偏乐观的屋顶若有影响，也只会让这个总时间偏大。融合同时对付这两部分：更少的遍历，更少的运算。{tut_para_zh}",
"The loss moves by": "在未经训练的模型上、在它的第一步，损失只相对变化了 {rel}，梯度只变化了其范数的 {gdiff}%。现在来看阶梯：原教程的训练步、换用融合版 Adam 的同一个训练步、`fit` 的训练步和{n_var_zh}，在同一次交替计时中测量。各级并不累加；每一级作为一个整体来衡量。随后是其中{n_prof_zh}个的性能分析，做法与第 3 节相同。",
"`fit`'s step is ": "`fit` 的训练步是原教程训练步的 {f}× 快{most_zh}。{r21_zh}下表把每一级与它所改动的训练步相比；最后一栏取自上面的性能分析。\n\n| 改变了什么 | 每步 ms | 省下（ms） | 性能分析显示在哪里 |\n|:--|:--|--:|:--|\n| 原教程的训练步 → 融合版 Adam | {s5_tut} → {ms_tf} | {sv_fa} | 其他运算 {oo_tut} → {oo_tf} ms；运算数 {ops_tut} → {ops_tf} |\n| → 基于对数几率的损失（`fit` 的训练步） | {ms_tf} → {s5_step} | {sv_loss} | {loss_row_zh} |{bf_row_zh}{c_row_zh}\n| `fit` 的训练步 → 手写的训练步 | {s5_step} → {man_ms} | {sv_man} | 矩阵乘法 {dmm_man}，Adam 和 Python {dap_man}，其他运算 {doo_man} ms |\n\n{bf16_zh}\n\n性能分析这一栏是粗略的：三个 float32 训练步运行同样的矩阵乘法，它却给出 {mm_tut}、{mm_tf} 和 {mm_fit} ms，所以这一栏中小于约 {mm_spread} ms 的差距没有意义。{adam_noise_zh}第 4 节的图给原教程训练步的 Python 和 autograd 记了 {tut_bk} ms；这次性能分析给的是 {py_tut} ms。{ref_zh}`fit` 自己在第 2、4、5 节的中位数（{s2_step}、{s4_step} 和 {s5_step} ms）{spread_zh}。\n\n手写的训练步同时改变了{man_zh}，所以它这一行并不能单独衡量反向传播。它运行 {ops_man} 个运算而不是 {ops_fit} 个{compnote_zh}。{man_prof_zh}{s1note_zh}{compile_zh}",
"## 6 · What changes on a GPU": "## 6 · GPU 上有什么不同\n\n本笔记本保存的运行没有 GPU，上面的单元格也没有在 GPU 上运行过（性能分析的分组是按 CPU 上的运算写的），所以这一节是预测，而不是测量。以约 60 TFLOP/s（float32，当前数据中心 GPU 的一个整数估计）的速度，训练步中 {gflop} GFLOP 的矩阵乘法只需约 {gpu_us} µs。按假定的每个 5 µs 分派大约一百个运算，共需约 0.5 ms。所以训练步应当几乎全是开销，而这正是融合和 CUDA 图所对付的。原教程的输入管道仍留在 CPU 上：在第 1 节中它每个小批量约花 {pipe_round} ms（两个循环各自最快一轮之差，按每步计），约为这样一个训练步的 {pipe_x} 倍。",
"## Summary · 小结": "## 小结 · Summary\n\n- 优化之前先测量，并排比较，在真正要用的机器上：`torch.utils.benchmark`（预热、同步、中位数和 IQR；要传入 `num_threads`），各个竞争者在同一次计时中交替运行，然后用 `torch.profiler` 看时间花在哪里。\n- `fit` 相对原教程的加速来自两处：输入管道（同一个循环改为从内存取数据，{r1}×，第 1 节）和更短的训练步（第 1 节端到端 {r21}×，所以 {r1} × {r21} ≈ {r2}×；第 5 节单独计时为 {f}×，其中融合版 Adam 单独就带来 {r_tf}×）。在这台 {threads_zh}的 Xeon 上，`fit` 手写的训练步端到端达到 {r3}×。\n- 把每类工作放到测得的屋顶线上：浮点运算数除以字节数，说明是哪个屋顶在限制它。屋顶之下的时间，一部分是真正的开销（每个运算的固定代价，与小批量大小无关），一部分是低于屋顶运行的核函数。这里矩阵乘法受计算限制；Adam 和逐元素运算受内存限制。\n- 输入管道的代价可能和训练步一样大：放得下时，把数据作为一个张量放在设备上。\n- 每种加速各对付其中一项：融合和手写的训练步减少遍历和运算；bfloat16 针对矩阵乘法，但 autocast 在它们周围加了类型转换：这里{bf_sum_zh}。\n- 在 GPU 上，这么小的模型预计会受开销限制：融合、编译，把训练步录制成 CUDA 图。",
}

nb = nbformat.read(P, as_version=4)
pairs = []  # (English paragraph, Chinese paragraph): the translation catalog has one entry per paragraph
for key, tmpl in EN.items():
    hits = [c for c in nb.cells if c.cell_type == 'markdown' and c.source.startswith(key)]
    assert len(hits) == 1, (key, len(hits))
    hits[0].source = tmpl.format(**V)
    en, zh = hits[0].source.split('\n\n'), ZH[key].format(**V).split('\n\n')
    assert len(en) == len(zh), (key, len(en), len(zh))
    pairs += [(a, b) for a, b in zip(en, zh) if not a.startswith('#')]
nbformat.write(nb, P)
print('English filled')
py = sys.executable
subprocess.run([py, '-m', 'vae_helpers.translation', 'extract', '09'], cwd=ROOT, check=True)
po = polib.pofile(str(PO), wrapwidth=0)
norm = lambda t: ' '.join(t.split())
done = set()
for e in po:
    if e.obsolete:
        continue
    hits = [i for i, (a, _) in enumerate(pairs) if norm(e.msgid) == norm(a)]
    if len(hits) == 1:
        e.msgstr = pairs[hits[0]][1]
        if 'fuzzy' in e.flags:
            e.flags.remove('fuzzy')
        e.previous_msgid = e.previous_msgid_plural = e.previous_msgctxt = None
        done.add(hits[0])
po.save(str(PO))
print('Chinese filled:', len(done), 'of', len(pairs), 'paragraphs',
      '' if len(done) == len(pairs) else [pairs[i][0][:50] for i in range(len(pairs)) if i not in done])
if '--no-build' not in sys.argv:
    subprocess.run([py, '-m', 'vae_helpers.translation', 'build', '09'], cwd=ROOT, check=True)
